"""Approval & gate: what the reviews add up to, whether the autonomy gate passes, the mode."""

import streamlit as st

from workbench import ui
from workbench.review import store
from workbench.review.control import gate_rule, gate_verdict
from workbench.review.metrics import approval_metrics
from workbench.ui import approval_view as view
from workbench.ui.review_run import mode_control
from workbench.ui.workflow_state import require_workflow, workflow_of

ctx = ui.bootstrap()
st.title("Approval & gate")
st.markdown(
    "How often reviewers approved what the workflow proposed, with 95% intervals, and the "
    "autonomy gate that turns that rate into permission to act without a person deciding "
    "each action."
)

with ui.user_errors():
    version = require_workflow(ctx)
    wf = workflow_of(version)
    rule = gate_rule(wf)
    view.verdict(wf, gate_verdict(ctx.con, wf))

    st.subheader("Approval metrics")
    metrics = approval_metrics(store.reviewed(ctx.con, wf.name), rule)
    if metrics.empty:
        view.no_reviews()
    else:
        view.metrics(metrics, rule)

    st.subheader("Mode")
    mode_control(ctx, wf, version)

    st.subheader("History")
    view.mode_history(ctx, wf)
    view.gate_history(ctx, wf)

    if not metrics.empty:
        st.subheader("Downloads")
        view.downloads(ctx, wf, version, metrics)
