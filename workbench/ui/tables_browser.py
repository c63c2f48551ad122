"""The table browser of the Data page: counts, preview, column profile, export, delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.ingest.sample import reset_to_sample
from workbench.storage import history, tables
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx, download_button
from workbench.ui.errors import flash
from workbench.ui.workflow_state import actor_name


def tables_section(ctx: Context) -> None:
    """List the tables; for the chosen one show preview, profile, downloads and delete."""
    infos = tables.list_tables(ctx.con)
    if not infos:
        st.info(
            "No tables yet. Upload files above, or reset to the sample workspace below.",
            icon=":material/inbox:",
        )
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "table": t.name,
                    "kind": t.kind or "",
                    "rows": t.rows,
                    "columns": t.columns,
                    "updated": t.updated_at,
                }
                for t in infos
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    names = [t.name for t in infos]
    if st.session_state.get("tables:chosen") not in names:
        # After a delete: choose again before the widget exists (Streamlit forbids it after).
        st.session_state["tables:chosen"] = names[0]
    name = st.selectbox("Table", names, key="tables:chosen")
    if not name:
        return
    preview, prof, export, delete = st.tabs(["Preview", "Column profile", "Export", "Delete"])
    with preview:
        st.dataframe(tables.preview(ctx.con, name, ctx.settings.preview_rows), height=320)
        st.caption(f"First {ctx.settings.preview_rows} rows.")
    with prof:
        st.dataframe(tables.profile(ctx.con, name), hide_index=True, width="stretch")
    with export:
        st.caption(
            "Exports neutralise spreadsheet formulas in text cells and keep real dates and numbers."
        )
        if st.toggle("Prepare downloads", key=f"tables:prep:{name}"):
            df = ctx.con.execute(f"SELECT * FROM {tables.require_table(ctx.con, name)}").df()
            csv_and_xlsx(
                ctx,
                name,
                to_csv_bytes(df),
                to_xlsx_bytes(
                    df, sheet_name=name, meta={"table": name, "workspace": str(ctx.workspace.root)}
                ),
                what=f"table {name}",
                rows=len(df),
                keys=(f"tables:csv:{name}", f"tables:xlsx:{name}"),
                labels=("Download CSV", "Download XLSX"),
            )
    with delete:
        st.warning(
            f"Deleting `{name}` removes the table from the workspace. It cannot be undone "
            "(re-import the file to get it back).",
            icon=":material/delete:",
        )
        typed = st.text_input(f"Type `{name}` to confirm", key=f"tables:confirm:{name}")
        if st.button(
            "Delete table", type="primary", disabled=typed != name, key=f"tables:del:{name}"
        ):
            n = tables.drop_table(ctx.con, name, actor=actor_name())
            flash(f"Deleted table '{name}' ({n:,} rows).")
            st.rerun()


def history_section(ctx: Context) -> None:
    """The import history, newest first."""
    df = history.history_frame(ctx.con)
    if df.empty:
        st.caption("Nothing imported yet.")
        return
    st.dataframe(history.history_display(ctx.con), hide_index=True, width="stretch")
    download_button(
        "Download history (CSV)",
        to_csv_bytes(df),
        "import-history.csv",
        "text/csv",
        ctx=ctx,
        what="import history",
        rows=len(df),
        key="tables:history-csv",
    )


def reset_section(ctx: Context) -> None:
    """Reset to the sample workspace, after confirmation."""
    st.caption(
        "Replaces every table, the import history and the mapping profiles with the bundled sample "
        "book of business. Notebooks are kept."
    )
    if st.session_state.pop("reset:done", False):
        st.session_state["reset:sure"] = False  # untick before the widget exists
    sure = st.checkbox("I understand this replaces all tables", key="reset:sure")
    if st.button("Reset to sample workspace", disabled=not sure, key="reset:go"):
        bar = st.progress(0.0, text="Resetting…")

        def report(fraction: float, message: str) -> None:
            bar.progress(fraction, text=message)

        counts = reset_to_sample(ctx.con, progress=report, actor=actor_name())
        st.session_state["reset:done"] = True
        flash("Sample workspace loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        st.rerun()
