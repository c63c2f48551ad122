"""Workflow: the one bounded workflow in words, its YAML editor and its version history."""

import streamlit as st

from workbench import ui
from workbench.ui import workflow_view as view
from workbench.ui.workflow_state import require_workflow
from workbench.ui.workflow_versions import versions_section

ctx = ui.bootstrap()
st.title("Workflow")
st.markdown(
    "One bounded workflow, written as policy-as-code: which accounts it acts on, why, who "
    "handles each one, and the limits it keeps. Every save is a new version with your name "
    "and reason; see what it would do on the **Preview** page."
)

with ui.user_errors():
    version = require_workflow(ctx)
    view.header(ctx, version)
    view.downloads(ctx, version)
    words, edit, versions = st.tabs(["In words", "Edit YAML", "Versions"])
    with words, ui.user_errors():
        view.in_words(ctx, version)
    with edit, ui.user_errors():
        view.editor(ctx, version)
        with st.expander("Facts you can use in conditions and health inputs"):
            view.facts_list(ctx)
    with versions, ui.user_errors():
        versions_section(ctx, version)
