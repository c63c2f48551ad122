"""The backtest as a workbook: Summary (headline, figures, how to reproduce), Per date,
Churn events and Lift by decile. Text cells are neutralised against formula injection.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from workbench.export.tabular import excel_value
from workbench.workflow.backtest import BacktestResult

_BOLD = Font(bold=True)
_PERCENT_FIGURES = ("Recall", "Random-rule recall", "Precision", "Base churn rate")


def _fit(ws: Any, rows: list[list[Any]], cap: int = 60) -> None:
    widths: dict[int, int] = {}
    for row in rows:
        for i, v in enumerate(row, start=1):
            text = "" if v is None else str(v)
            longest = max((len(line) for line in text.splitlines()), default=0)
            widths[i] = max(widths.get(i, 0), longest)
    for i, w in widths.items():
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), cap)


def _table_sheet(wb: Workbook, title: str, df: pd.DataFrame) -> None:
    ws = wb.create_sheet(title)
    header = [str(excel_value(str(c), "date")) for c in df.columns]
    body = [[excel_value(v, "date") for v in row] for row in df.itertuples(index=False)]
    ws.append(header)
    for cell in ws[1]:
        cell.font = _BOLD
    for row in body:
        ws.append(row)
    ws.freeze_panes = "A2"
    for i, c in enumerate(df.columns, start=1):
        fmt = "yyyy-mm-dd" if pd.api.types.is_datetime64_any_dtype(df[c]) else None
        if c in ("precision", "recall", "churn_rate", "random_catch_prob"):
            fmt = "0.0%"
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
    _fit(ws, [header, *body])


def backtest_workbook(
    result: BacktestResult,
    workflow_name: str,
    workflow_version: str,
    yaml_text: str,
    data_version: str,
) -> bytes:
    """The backtest as an xlsx: Summary, Per date, Churn events, Lift by decile.

    The Summary sheet holds the headline, the figures and what reproduces them: the
    workflow's name, version and YAML, the run dates, label_days, the data version and
    the evaluated SQL. Text that a spreadsheet would run as a formula is neutralised.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    rows: list[list[Any]] = [["Backtest", result.sentence()], []]
    rows += [[label, value] for label, value in result.figures()]
    rows += [
        [],
        ["Workflow", workflow_name],
        ["Workflow version", workflow_version],
        ["Data version", data_version],
        ["Run dates", ", ".join(d.isoformat() for d in result.dates)],
        ["Label days", result.label_days],
        ["Cooldown days", result.cooldown_days],
        ["Workflow YAML", yaml_text],
        ["SQL", result.sql],
    ]
    for row in rows:
        ws.append([excel_value(v, "date") for v in row])
    for name, value in ws.iter_rows(min_col=1, max_col=2):
        name.font = _BOLD
        value.alignment = Alignment(wrap_text=True, vertical="top")
        if isinstance(value.value, float):
            value.number_format = "0.0%" if name.value in _PERCENT_FIGURES else "#,##0.0"
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
    _table_sheet(wb, "Per date", result.per_date)
    _table_sheet(wb, "Churn events", result.events)
    _table_sheet(wb, "Lift by decile", result.lift_by_decile)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
