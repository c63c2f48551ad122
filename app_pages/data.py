"""Data: import exports into the workspace, browse and manage the tables."""

import streamlit as st

from workbench import ui
from workbench.ui.importer import import_all, import_panel
from workbench.ui.tables_browser import history_section, reset_section, tables_section
from workbench.ui.uploads import save_upload

ctx = ui.bootstrap()
st.title("Data")
st.markdown(
    "Drop in CSV or XLSX exports (accounts, usage, tickets, NPS/CSAT, renewal outcomes, CSM activity). "
    "Each file is checked before anything changes: an import either completes or leaves the workspace "
    "exactly as it was."
)

files = st.file_uploader(
    "Upload files",
    type=["csv", "tsv", "txt", "xlsx", "xlsm"],
    accept_multiple_files=True,
    help="Several files at once are fine; each gets its own tab.",
)
if files:
    ready = []
    tabs = st.tabs([f.name for f in files])
    for tab, file in zip(tabs, files, strict=True):
        with tab, ui.user_errors():
            upload = save_upload(ctx.workspace, file.name, file.getvalue())
            item = import_panel(ctx, upload)
            if item:
                ready.append(item)
    if len(files) > 1:
        with ui.user_errors():
            import_all(ctx, ready, len(files))

st.header("Tables")
with ui.user_errors():
    tables_section(ctx)

with st.expander("Import history"), ui.user_errors():
    history_section(ctx)

with st.expander("Reset to sample workspace"), ui.user_errors():
    reset_section(ctx)
