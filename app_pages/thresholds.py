"""Thresholds: move one numeric condition and see how many accounts, how much ARR, which routes."""

import streamlit as st

from workbench import ui
from workbench.ui import explore_cache as cache
from workbench.ui import thresholds_view as view
from workbench.ui.workflow_state import require_workflow

PICK = "threshold_pick"  # the slider; a benchmark moves it by this key

ctx = ui.bootstrap()
st.title("Thresholds")
st.markdown(
    "Move one numeric condition of the workflow and see what it would do on today's data: "
    "how many accounts fire, how much ARR they hold, and which route each takes. Where renewal "
    "outcomes exist, precision and recall show how well each threshold would have caught churn."
)

with ui.user_errors():
    version = require_workflow(ctx)
    choices = view.sweepable(ctx, version)
    if not choices:
        st.stop()
    st.caption(f"Workflow “{version.name}” v{version.version}. Counts are for today's data.")
    choice = view.condition_picker(version, choices)
    start, stop, step = view.range_inputs(choice)

    sweep = cache.current_sweep(ctx, version, choice.id, start, stop, step)
    axis = view.Axis.of(sweep, step, choice.unit)
    view.start_pick(PICK, choice, axis, version)  # before the slider exists
    picked = st.slider(
        f"Threshold{axis.unit}",
        min_value=axis.lo,
        max_value=axis.hi,
        step=axis.step,
        format=axis.format,
        key=PICK,
        persist_state="session",
        help=f"The workflow's current threshold is {choice.threshold:g} (the dashed line).",
    )
    pick = view.Picked.of(choice, sweep, picked)
    view.figures(choice, sweep, pick)
    view.charts(choice, sweep, axis, picked)

    st.subheader("Suggested threshold")
    view.suggestion(PICK, sweep, axis)

    st.subheader("Catching churn")
    with ui.user_errors():
        labelled = cache.labelled_sweep(ctx, version, choice.id, start, stop, step)
        view.catching_churn(labelled, choice, axis, picked)

    st.subheader("Apply this threshold")
    view.apply(ctx, version, choice, sweep, pick)
