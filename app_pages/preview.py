"""Preview: which accounts the workflow would fire on, why, on which route, and the load."""

import streamlit as st

from workbench import ui
from workbench.ui import preview_view as view
from workbench.ui.workflow_state import latest_as_of, require_workflow, workflow_of
from workbench.ui.workflow_view import as_of_input, evaluate_or_stop, require_accounts

ctx = ui.bootstrap()
st.title("Preview")
st.markdown(
    "What the current workflow would do on your data: the accounts it fires on and why, who "
    "gets each one, and whether the guardrails hold. Nothing is sent anywhere."
)

with ui.user_errors():
    require_accounts(ctx, "preview")
    version = require_workflow(ctx)
    wf = workflow_of(version)
    latest = latest_as_of(ctx)
    as_of = as_of_input(
        latest,
        "pv:as-of",
        "The morning of this date: only data dated before it counts. The default is the "
        "day after the newest data; pick an earlier date to see what the workflow would have done.",
    )
    ev = evaluate_or_stop(ctx, version, wf, as_of)
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
