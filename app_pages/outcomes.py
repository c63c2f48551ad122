"""Outcomes: AI-handled vs CSM-handled vs control on the metrics that matter, with the checks
that say whether to trust the comparison and the accounts a clear answer needs."""

import streamlit as st

from workbench import ui
from workbench.ui import outcomes_charts as card
from workbench.ui import outcomes_view as view
from workbench.ui.experiment_cache import experiment_report
from workbench.ui.workflow_state import require_workflow, workflow_of

ctx = ui.bootstrap()
st.title("Outcomes")
st.markdown(
    "Did the workflow make renewals better? Accounts on the automated route that the workflow "
    "fires on are split into three arms, balanced within segment and ARR band and by a hash "
    "nobody can steer: **AI-handled** (the automated action), **CSM-handled** (a person "
    "handles it as usual) and **control** (no intervention). The control group is what makes the "
    "answer possible: without accounts left alone you can neither prove nor disprove that the "
    "workflow improves results, because renewals move for many reasons besides it."
)

with ui.user_errors():
    wf = workflow_of(require_workflow(ctx))
    labels, default, metrics = view.metric_choice(ctx, wf)
    segment = view.segment_choice()
    whole = experiment_report(ctx, wf, metrics)
    if segment not in whole.segments:
        segment = None
    report = whole if segment is None else experiment_report(ctx, wf, metrics, segment)

    view.guardrail_banner(ctx, whole)
    view.experiment(report)
    view.problems(report)
    if report.empty:
        view.next_step(report)
        st.stop()
    waiting = view.next_step(report)
    view.split(report)
    if waiting:
        st.subheader("Power calculator")
        view.power_calculator(report)
        st.stop()

    st.subheader("Results")
    view.filters(report, labels, default)
    assert report.analysis is not None
    for metric in report.analysis.metrics:
        card.metric_card(report, metric, segment)
    if not report.analysis.metrics:
        st.caption("Choose at least one metric to compare the arms on.")

    st.subheader("Power calculator")
    view.power_calculator(report)

    st.subheader("Downloads")
    view.report_downloads(ctx, report)
