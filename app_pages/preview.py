"""Preview: which accounts the workflow would fire on, why, on which route, and the load."""

from datetime import date

import streamlit as st

from workbench import ui
from workbench.errors import WorkflowInvalid
from workbench.ui import preview_view as view
from workbench.ui.workflow_state import (
    evaluated,
    has_accounts,
    latest_as_of,
    require_workflow,
    workflow_of,
)
from workbench.ui.workflow_view import show_invalid

ctx = ui.bootstrap()
st.title("Preview")
st.markdown(
    "What the current workflow would do on your data: the accounts it fires on and why, who "
    "gets each one, and whether the guardrails hold. Nothing is sent anywhere."
)

with ui.user_errors():
    if not has_accounts(ctx):
        st.info(
            "There is no `accounts` table yet, so there is nothing to preview. Import an "
            "accounts export on the **Data** page (or reset to the sample book there).",
            icon=":material/upload_file:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    version = require_workflow(ctx)
    wf = workflow_of(version)
    latest = latest_as_of(ctx)
    as_of = st.columns([1, 3])[0].date_input(
        "As of",
        value=latest,
        max_value=latest,
        key=f"pv:as-of:{latest}",
        format="YYYY-MM-DD",
        help="The morning of this date: only data dated before it counts. The default is the "
        "day after the newest data; pick an earlier date to see what the workflow would have done.",
    )
    if not isinstance(as_of, date):  # a cleared date input means the default
        as_of = latest
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
    pv = ev.preview
    view.headline(pv, version, latest)
    view.caps(pv)
    view.charts(pv)

    st.subheader("Accounts it fires on")
    view.fired_table(pv)
    view.downloads(ctx, ev, version)

    st.subheader("Why this account?")
    view.why(ev, wf)

    st.subheader("Near misses")
    view.near_misses(ctx, ev, wf)

    st.subheader("Changes")
    view.changes(ctx, ev, version, wf, latest)

    with st.expander("The SQL behind this preview"):
        view.sql(pv)
