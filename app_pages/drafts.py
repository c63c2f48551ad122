"""Drafts: what the workflow's action would say for each account it fires on (never sent)."""

import streamlit as st

from workbench import ui
from workbench.ui import drafts_detail as detail
from workbench.ui import drafts_view as view
from workbench.ui.workflow_state import latest_as_of, require_workflow, workflow_of
from workbench.ui.workflow_view import as_of_input, evaluate_or_stop, require_accounts

ctx = ui.bootstrap()
st.title("Drafts")
st.markdown(
    "What the workflow's action would say for each account it fires on: the email, brief, "
    "CRM note or alert, checked against the output policy. **Drafts are never sent**: they "
    "stay in this workspace for you to read, edit and export."
)

with ui.user_errors():
    require_accounts(ctx, "draft")
    settings = view.drafter_status()
    version = require_workflow(ctx)
    wf = workflow_of(version)
    as_of = as_of_input(
        latest_as_of(ctx),
        "dr:as-of",
        "Draft for the accounts the workflow fires on as of this morning. The default is "
        "the day after the newest data, as on the Preview page.",
    )
    ev = evaluate_or_stop(ctx, version, wf, as_of)
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
