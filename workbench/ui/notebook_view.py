"""Widgets of the Notebook page: notebook picker, cells, results, charts."""

from __future__ import annotations

import streamlit as st

from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.notebook import model, store
from workbench.notebook.charts import chart_for
from workbench.notebook.runner import CellResult, run_sql
from workbench.storage.tables import list_tables
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx
from workbench.ui.errors import flash

MARKS = ["bar", "line", "point", "area"]
NEW = "+ New notebook…"


def _results() -> dict[str, CellResult]:
    return st.session_state.setdefault("nb:results", {})


def pick_notebook(ctx: Context) -> model.Notebook:
    """Choose (or create) the notebook to show; the first visit gets a starter notebook."""
    directory = ctx.workspace.notebooks_dir
    names = store.list_notebooks(directory)
    if not names:
        store.save_notebook(directory, store.default_notebook())
        names = store.list_notebooks(directory)
    pending = st.session_state.pop("nb:pending", None)
    if pending in names:
        st.session_state["nb:choice"] = pending  # set before the widget exists
    c1, c2 = st.columns([3, 2])
    choice = c1.selectbox("Notebook", [*names, NEW], key="nb:choice")
    if choice == NEW:
        name = c2.text_input("Name of the new notebook", key="nb:new-name")
        if c2.button("Create", disabled=not name.strip(), key="nb:create"):
            nb = model.new_notebook(
                name.strip(), (model.new_cell("sql", "SELECT * FROM accounts LIMIT 100"),)
            )
            store.save_notebook(directory, nb)
            st.session_state["nb:pending"] = nb.name
            st.rerun()
        st.stop()
    return store.load_notebook(directory, choice)


def save(ctx: Context, nb: model.Notebook) -> None:
    store.save_notebook(ctx.workspace.notebooks_dir, nb)


def run_cell(ctx: Context, cell: model.Cell) -> None:
    _results()[cell.id] = run_sql(ctx.con, cell.source, max_rows=ctx.settings.notebook_max_rows)


def toolbar(ctx: Context, nb: model.Notebook) -> None:
    """Run all, add cells, delete the notebook (with confirmation)."""
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
    if c1.button(":material/play_arrow: Run all", type="primary", key="nb:run-all"):
        sql_cells = [c for c in nb.cells if c.kind == "sql"]
        bar = st.progress(0.0, text="Running cells…")
        for i, cell in enumerate(sql_cells, 1):
            run_cell(ctx, cell)
            bar.progress(i / len(sql_cells), text=f"Ran {i} of {len(sql_cells)} cells")
        bar.empty()
    if c2.button(":material/add: SQL cell", key="nb:add-sql"):
        save(ctx, model.add_cell(nb, model.new_cell("sql", "SELECT ")))
        st.rerun()
    if c3.button(":material/add: Markdown cell", key="nb:add-md"):
        save(ctx, model.add_cell(nb, model.new_cell("markdown", "Notes…")))
        st.rerun()
    with c4.popover("Delete notebook"):
        st.write(f"Delete **{nb.name}** and all its cells? Tables are not affected.")
        if st.button("Yes, delete it", key="nb:delete"):
            store.delete_notebook(ctx.workspace.notebooks_dir, nb.name)
            st.session_state.pop("nb:choice", None)
            flash(f"Deleted notebook '{nb.name}'.")
            st.rerun()


def _cell_controls(ctx: Context, nb: model.Notebook, cell: model.Cell, index: int) -> None:
    cols = st.columns([6, 1, 1, 1])
    cols[0].caption(f"[{index + 1}] {cell.kind.upper()}")
    if cols[1].button(
        ":material/arrow_upward:", key=f"nb:up:{cell.id}", help="Move up", disabled=index == 0
    ):
        save(ctx, model.move_cell(nb, cell.id, -1))
        st.rerun()
    if cols[2].button(
        ":material/arrow_downward:",
        key=f"nb:down:{cell.id}",
        help="Move down",
        disabled=index == len(nb.cells) - 1,
    ):
        save(ctx, model.move_cell(nb, cell.id, 1))
        st.rerun()
    if cols[3].button(":material/delete:", key=f"nb:del:{cell.id}", help="Delete this cell"):
        save(ctx, model.remove_cell(nb, cell.id))
        _results().pop(cell.id, None)
        st.rerun()


def _result_view(nb: model.Notebook, cell: model.Cell, result: CellResult, ctx: Context) -> None:
    if not result.ok or result.df is None:
        first, _, detail = (result.error or "The query failed.").partition("\n")
        if "does not exist" in first and "Table" in first:
            names = ", ".join(t.name for t in list_tables(ctx.con)) or "none yet"
            first += f"\n\nTables in this workspace: {names}. Import more on the Data page."
        st.error(first, icon=":material/error:")
        if detail.strip():
            st.code(detail.strip("\n"), language=None)  # keeps DuckDB's caret under the right spot
        return
    shown = f"showing the first {len(result.df):,}" if result.truncated else "all shown"
    st.caption(f"{result.row_count:,} rows ({shown}) · {result.elapsed_ms:,.0f} ms")
    st.dataframe(result.df, height=min(38 + 35 * len(result.df), 400), width="stretch")
    csv_and_xlsx(
        ctx,
        f"{nb.name}-cell{cell.id}",
        to_csv_bytes(result.df),
        to_xlsx_bytes(result.df, meta={"notebook": nb.name, "query": cell.source}),
        what=f"notebook {nb.name}, cell {cell.id}",
        rows=len(result.df),
        keys=(f"nb:csv:{cell.id}", f"nb:xlsx:{cell.id}"),
        labels=("CSV", "XLSX"),
        extra={"query": cell.source},
    )
    columns = list(result.df.columns)
    with st.expander("Chart", expanded=cell.chart is not None):
        spec = cell.chart
        c1, c2, c3, c4 = st.columns(4)
        mark = c1.selectbox(
            "Mark",
            ["(none)", *MARKS],
            index=(MARKS.index(spec.mark) + 1) if spec else 0,
            key=f"nb:mark:{cell.id}",
        )
        x = c2.selectbox(
            "X",
            columns,
            index=columns.index(spec.x) if spec and spec.x in columns else 0,
            key=f"nb:x:{cell.id}",
        )
        y = c3.selectbox(
            "Y",
            columns,
            index=columns.index(spec.y) if spec and spec.y in columns else min(1, len(columns) - 1),
            key=f"nb:y:{cell.id}",
        )
        color_opts = ["(none)", *columns]
        color = c4.selectbox(
            "Colour",
            color_opts,
            index=color_opts.index(spec.color) if spec and spec.color in columns else 0,
            key=f"nb:color:{cell.id}",
        )
        new_spec = (
            None
            if mark == "(none)"
            else model.ChartSpec(
                mark,  # type: ignore[arg-type]
                x,
                y,
                None if color == "(none)" else color,
            )
        )
        if new_spec != spec:
            save(ctx, model.set_chart(nb, cell.id, new_spec))
        chart = chart_for(result.df, new_spec) if new_spec else None
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        elif new_spec is not None:
            st.caption("Those columns cannot be charted.")


def render_cells(ctx: Context, nb: model.Notebook) -> None:
    """Every cell with its editor, controls and last result (run once on the first visit)."""
    seen = st.session_state.setdefault("nb:auto-ran", set())
    if nb.name not in seen:
        seen.add(nb.name)
        for cell in nb.cells:
            if cell.kind == "sql" and cell.id not in _results():
                run_cell(ctx, cell)
    if not nb.cells:
        st.info(
            "This notebook is empty. Add a SQL or Markdown cell above.", icon=":material/menu_book:"
        )
    for index, cell in enumerate(nb.cells):
        with st.container(border=True):
            _cell_controls(ctx, nb, cell, index)
            if cell.kind == "markdown":
                editing = st.toggle("Edit", key=f"nb:edit:{cell.id}")
                if editing:
                    text = st.text_area(
                        "Markdown",
                        cell.source,
                        key=f"nb:src:{cell.id}",
                        label_visibility="collapsed",
                        height=120,
                    )
                    if text != cell.source:
                        save(ctx, model.update_source(nb, cell.id, text))
                st.markdown(cell.source if not editing else text)
                continue
            sql = st.text_area(
                "SQL",
                cell.source,
                key=f"nb:src:{cell.id}",
                label_visibility="collapsed",
                height=max(80, 22 * (cell.source.count("\n") + 2)),
            )
            if sql != cell.source:
                nb = model.update_source(nb, cell.id, sql)
                save(ctx, nb)
                cell = model.get_cell(nb, cell.id)
            if st.button(":material/play_arrow: Run", key=f"nb:run:{cell.id}"):
                run_cell(ctx, cell)
            result = _results().get(cell.id)
            if result is not None:
                _result_view(nb, cell, result, ctx)
