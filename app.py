"""Bounded workbench: entry point. Run with `streamlit run app.py` (or the README's first command)."""

import streamlit as st

from workbench import ui
from workbench.ui.sidebar import render_sidebar

st.set_page_config(page_title="Bounded workbench", page_icon="🧭", layout="wide")

ctx = ui.bootstrap()

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/explore:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/upload_file:"),
    st.Page("app_pages/notebook.py", title="Notebook", icon=":material/menu_book:"),
    st.Page("app_pages/workflow.py", title="Workflow", icon=":material/rule_settings:"),
    st.Page("app_pages/preview.py", title="Preview", icon=":material/visibility:"),
    st.Page("app_pages/thresholds.py", title="Thresholds", icon=":material/tune:"),
    st.Page("app_pages/backtest.py", title="Backtest", icon=":material/history:"),
    st.Page("app_pages/drafts.py", title="Drafts", icon=":material/edit_note:"),
    st.Page("app_pages/review.py", title="Review", icon=":material/fact_check:"),
    st.Page("app_pages/approval.py", title="Approval & gate", icon=":material/verified:"),
    st.Page("app_pages/outcomes.py", title="Outcomes", icon=":material/monitoring:"),
    st.Page("app_pages/governance.py", title="Governance", icon=":material/policy:"),
    st.Page("app_pages/audit_log.py", title="Audit log", icon=":material/receipt_long:"),
    st.Page("app_pages/settings.py", title="Model & prompts", icon=":material/smart_toy:"),
]
nav = st.navigation(pages)
render_sidebar(ctx)
nav.run()
