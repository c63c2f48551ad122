"""Governance: the month at a glance, the guardrails, the audit chain, the rollback plan and the
monthly pack."""

import streamlit as st

from workbench import ui
from workbench.ui import governance_view as view

ctx = ui.bootstrap()
st.title("Governance")
st.markdown(
    "The playbook's monthly review: what the workflow did this month, how reviewers judged it, "
    "whether the autonomy gate holds, whether the experiment's guardrails hold (the AI arm doing "
    "no harm against control and CSM), whether the audit log is intact, and the way back to an "
    "earlier version if it is needed."
)

with ui.user_errors():
    view.render(ctx)
