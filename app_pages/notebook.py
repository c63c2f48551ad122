"""Notebook: SQL and Markdown cells over the workspace (read-only: cells cannot change data)."""

import streamlit as st

from workbench import ui
from workbench.ui.notebook_view import pick_notebook, render_cells, toolbar

ctx = ui.bootstrap()
st.title("Notebook")
st.caption(
    "SQL and Markdown cells over the workspace tables. Cells are read-only: they cannot change "
    "imported data (use the Data page for that). Notebooks are saved in the workspace as you type."
)
with ui.user_errors():
    nb = pick_notebook(ctx)
    toolbar(ctx, nb)
    render_cells(ctx, nb)
