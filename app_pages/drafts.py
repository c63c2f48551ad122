"""Drafts: what the workflow's action would say for each account it fires on (never sent)."""

import streamlit as st

from workbench import ui
from workbench.errors import WorkflowInvalid
from workbench.ui import drafts_detail as detail
from workbench.ui import drafts_view as view
from workbench.ui.workflow_state import (
    evaluated,
    has_accounts,
    latest_as_of,
    require_workflow,
    workflow_of,
)
from workbench.ui.workflow_view import show_invalid

ctx = ui.bootstrap()
st.title("Drafts")
st.markdown(
    "What the workflow's action would say for each account it fires on: the email, brief, "
    "CRM note or alert, checked against the output policy. **Drafts are never sent**: they "
    "stay in this workspace for you to read, edit and export."
)

with ui.user_errors():
    if not has_accounts(ctx):
        st.info(
            "There is no `accounts` table yet, so there is nothing to draft. Import an "
            "accounts export on the **Data** page (or reset to the sample book there).",
            icon=":material/upload_file:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    settings = view.drafter_status()
    version = require_workflow(ctx)
    wf = workflow_of(version)
    as_of = view.as_of_input(latest_as_of(ctx))
    try:
        ev = evaluated(ctx, wf, as_of)
    except WorkflowInvalid as exc:
        st.warning(
            f"{version.name} v{version.version} does not run on this workspace's data.",
            icon=":material/warning:",
        )
        show_invalid(exc)
        st.page_link("app_pages/workflow.py", label="Fix it on Workflow", icon=":material/edit:")
        st.stop()
    view.draft_controls(ctx, wf, ev, version, settings)

    st.subheader("Runs")
    run = view.run_picker(ctx)
    if run is None:
        view.no_run_yet(ev)
        st.stop()
    drafts, traces = view.load(ctx, run)
    view.run_status(run, drafts)
    view.totals(run, drafts, traces)

    st.subheader("Drafts")
    view.table(drafts)
    view.downloads(ctx, run, drafts, traces)

    st.subheader("One account")
    draft = detail.pick_account(run, drafts)
    if draft is not None:
        detail.flag(draft)
        detail.packet_and_prompt(ctx, wf, ev, run, draft, traces, settings)
        detail.draft_and_checks(draft)
        st.markdown("#### Edit")
        detail.edit(ctx, wf, run, draft)
