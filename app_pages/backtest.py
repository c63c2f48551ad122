"""Backtest: replay the workflow as of past dates and measure it against the churn that followed."""

import streamlit as st

from workbench import ui
from workbench.ui import backtest_view as view
from workbench.ui import explore_cache as cache
from workbench.ui.workflow_state import require_workflow

ctx = ui.bootstrap()
st.title("Backtest")
st.markdown(
    "Replay the workflow as of past dates, as if it had run then, and compare what it flagged "
    "with the renewals that churned afterwards: how many churners it would have caught, how "
    "early, how often a flag was right, and how much work it would have created."
)

with ui.user_errors():
    version = require_workflow(ctx)
    if not cache.has_outcomes(ctx):
        view.no_outcomes()
        st.stop()
    last = view.inputs_form(ctx, version)
    if last is None:
        st.caption("Choose the dates and click **Run backtest**.")
        st.stop()
    if last.sha != version.sha256:
        st.info(
            f"“{version.name}” changed since the last run (now v{version.version}). "
            "Click **Run backtest** to replay the current version.",
            icon=":material/update:",
        )
        st.stop()

    result = cache.backtest(ctx, version, last)
    st.subheader(f"“{version.name}” v{version.version}")
    with st.container(border=True):
        st.markdown(result.sentence())
        for warning in result.warnings:
            st.warning(warning, icon=":material/warning:")
    view.figures(result)
    view.charts(result)

    st.subheader("Details")
    view.details(result)
    view.download(ctx, version, last, result)
    with st.expander("The SQL behind these figures"):
        st.code(result.sql, language="sql")
