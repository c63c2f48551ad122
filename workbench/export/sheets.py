"""Formatted workbook sheets shared by the monthly pack and the experiment report.

A table sheet has a bold, frozen, shaded header, typed cells (numbers stay numbers, rates
are numbers shown as percentages, moments are Excel dates), an auto filter and columns as
wide as their text; a label/value sheet holds bold labels and typed values. Every value
goes through ``tabular.excel_value``, so text a spreadsheet would run as a formula is
neutralised.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from workbench.export.tabular import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    FLOAT_FORMAT,
    excel_value,
)

PERCENT_FORMAT = "0.0%"
CellFormat = Callable[[int, str], str | None]
"""(row position in the frame, column name) -> a number format for that cell, or None."""

BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="7F7F7F")
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_WIDE = 60


class Labelled(Protocol):
    """A labelled value (``governance.Figure``); ``percent`` marks a rate between 0 and 1."""

    @property
    def label(self) -> str: ...

    @property
    def value(self) -> Any: ...

    @property
    def percent(self) -> bool: ...


def percent_columns(columns: Collection[str]) -> CellFormat:
    """A cell format putting the named columns in percent."""
    chosen = frozenset(columns)
    return lambda _row, column: PERCENT_FORMAT if column in chosen else None


def as_dates(df: pd.DataFrame) -> set[str]:
    """Datetime columns whose values are all at midnight: DuckDB DATEs read by pandas."""
    out = set()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c].dtype):
            present = df[c].dropna()
            if len(present) and (present == present.dt.normalize()).all():
                out.add(str(c))
    return out


def style(
    cell: Any, percent: bool = False, dates: bool = False, number_format: str | None = None
) -> None:
    """The number format of one written cell, by its value's type (or the one given)."""
    value = cell.value
    if isinstance(value, bool):
        return
    if isinstance(value, int | float) and (number_format or percent):
        cell.number_format = number_format or PERCENT_FORMAT
    elif isinstance(value, float):
        cell.number_format = FLOAT_FORMAT
    elif isinstance(value, datetime):
        cell.number_format = DATE_FORMAT if dates else DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT


def _width(values: Iterable[Any]) -> float:
    longest = 0
    for v in values:
        if v is None:
            continue
        text = f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else str(v)
        longest = max(longest, max((len(line) for line in text.splitlines()), default=0))
    return float(min(max(longest + 2, 8), _WIDE))


def header(ws: Worksheet, headers: Sequence[str]) -> None:
    """The first row: bold, shaded and frozen."""
    ws.append([excel_value(h) for h in headers])
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = _HEADER_FILL
    ws.freeze_panes = "A2"


def fit(ws: Worksheet) -> None:
    """Columns as wide as their longest line (up to a limit, then wrapped)."""
    for index, column in enumerate(ws.iter_cols(), start=1):
        letter = get_column_letter(index)
        width = _width(c.value for c in column)
        ws.column_dimensions[letter].width = width
        for c in column[1:]:
            c.alignment = _WRAP if width >= _WIDE else _TOP


def note(ws: Worksheet, text: str | None) -> None:
    """A grey, italic line (what is missing, what to do)."""
    if text:
        ws.append([excel_value(text)])
        ws.cell(ws.max_row, 1).font = _NOTE


def table(
    wb: Workbook,
    title: str,
    df: pd.DataFrame,
    missing: str | None = None,
    *,
    formats: CellFormat | None = None,
) -> Worksheet:
    """A sheet holding ``df`` with typed cells; when empty, ``missing`` says what is missing.

    Args:
        wb: The workbook to add the sheet to.
        title: The sheet's name (31 characters at most).
        df: The table; its column names are the header.
        missing: The note written under the header when ``df`` has no rows.
        formats: Number formats per cell (``percent_columns(...)`` for rate columns).
    """
    ws = wb.create_sheet(title)
    headers = [str(c) for c in df.columns]
    header(ws, headers)
    dates = as_dates(df)
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        ws.append([excel_value(v) for v in row])
        for cell, column in zip(ws[ws.max_row], headers, strict=False):
            fmt = formats(i, column) if formats is not None else None
            style(cell, dates=column in dates, number_format=fmt)
    if headers and len(df):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(df) + 1}"
    if df.empty:
        note(ws, missing or "Nothing here for this month.")
    fit(ws)
    return ws


def pairs(ws: Worksheet, rows: Iterable[Labelled]) -> None:
    """Label/value rows (after a header) with typed, formatted values."""
    for f in rows:
        ws.append([excel_value(f.label), excel_value(f.value)])
        style(ws.cell(ws.max_row, 2), f.percent)
        ws.cell(ws.max_row, 1).font = BOLD
