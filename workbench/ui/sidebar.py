"""The shared sidebar: which workspace, its tables, the last import."""

from __future__ import annotations

import streamlit as st

from workbench.storage.history import last_import
from workbench.storage.tables import list_tables
from workbench.ui.bootstrap import Context


def render_sidebar(ctx: Context) -> None:
    """Workspace path, tables with row counts, and the last import."""
    with st.sidebar:
        st.caption("Workspace")
        st.code(str(ctx.workspace.root), language=None)
        infos = list_tables(ctx.con)
        if infos:
            lines = "\n".join(f"| `{t.name}` | {t.rows:,} |" for t in infos)
            st.markdown("| table | rows |\n|---|---:|\n" + lines)
        else:
            st.info(
                "No tables yet. Import files on the **Data** page.", icon=":material/upload_file:"
            )
        last = last_import(ctx.con)
        if last:
            change = (
                f"deleted `{last.table_name}`"
                if last.mode == "delete"
                else f"{last.file_name} → `{last.table_name}`"
            )
            st.caption(f"Last change: {change} · {last.imported_at:%Y-%m-%d %H:%M}")
