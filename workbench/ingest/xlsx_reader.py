"""Read one sheet of an Excel workbook into a DuckDB temp table of text.

python-calamine parses the workbook (formula cells come back as the values
Excel cached). Cells are turned into text column by column, packed into an
Arrow table and copied into DuckDB in one statement, so staging costs little
more than ``pandas.read_excel``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from workbench.errors import InputFileError
from workbench.ingest.staged import StagedTable, quote_ident, unique_names

ROW_COLUMN = "_row"
HEADER_SCAN = 50  # rows searched for the header
WINDOW = 20  # non-blank rows after a candidate header that it is compared with

Cell = Any  # str, float, int, bool, date, datetime, time or timedelta from calamine
Merge = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class _Staged:
    data: pa.Table  # the staged columns plus _row
    columns: tuple[str, ...]
    unnamed: tuple[str, ...]  # names given to columns without a header


@dataclass(frozen=True)
class _Header:
    index: int  # 0-based row of the (first) header row
    depth: int  # 1, or 2 for a group row above a sub-header row
    names: list[str]


def list_sheets(path: Path) -> list[str]:
    """Names of the worksheets in a workbook: visible ones first, then hidden ones.

    Args:
        path: The workbook (.xlsx, .xlsm, .xls, .ods).

    Returns:
        Worksheet names; chart and macro sheets are left out.

    Raises:
        InputFileError: The file is not a workbook calamine can open.
    """
    workbook = _open(path)
    try:
        return _sheet_names(workbook)
    finally:
        workbook.close()


def stage_xlsx(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    sheet: str | None = None,
) -> StagedTable:
    """Load one sheet into a DuckDB TEMP table with every column VARCHAR.

    The table is replaced if it exists. Besides the columns in ``columns`` it
    holds ``_row`` (BIGINT), the row number Excel shows; fully blank rows are
    dropped, so ``_row`` may skip numbers.

    Args:
        con: DuckDB connection (or cursor) that will own the temp table.
        path: The workbook.
        table: Name of the temp table to create.
        sheet: Sheet to read; None for the first sheet holding data.

    Returns:
        What was staged and detected.

    Raises:
        InputFileError: The workbook cannot be opened, the sheet does not
            exist or is empty, or it has a header but no data rows.
    """
    sheet, rows, merges = _load_sheet(path, sheet)
    header = _find_header(rows, merges)
    first = header.index + header.depth
    staged = _to_arrow(rows[first:], header.names, first)
    n_rows = staged.data.num_rows
    if n_rows == 0:
        raise InputFileError(
            f"{path.name}, sheet {sheet!r}: the header is on row {header.index + 1} "
            "but no data rows follow it.",
            "Choose the sheet that holds the data, or add the rows and save the file again.",
        )
    _copy_to_duckdb(con, staged.data, table)
    return StagedTable(
        table=table,
        columns=staged.columns,
        row_expr=quote_ident(ROW_COLUMN),
        n_rows=n_rows,
        file_name=path.name,
        sheet=sheet,
        header_row=header.index + 1,
        decimal=".",
        encoding=None,
        delimiter=None,
        notes=tuple(_notes(header, first, staged)),
    )


# --- workbook access ---------------------------------------------------------


def _open(path: Path) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except OSError as exc:
        raise InputFileError(
            f"{path.name}: the file could not be opened ({exc}).",
            "Check that the file exists and is not open exclusively in another program.",
        ) from exc
    except CalamineError as exc:
        raise InputFileError(
            f"{path.name}: the file could not be read as an Excel workbook ({exc}).",
            "Open it in Excel and save it as .xlsx (without a password), or export it as CSV.",
        ) from exc


def _load_sheet(path: Path, sheet: str | None) -> tuple[str, list[list[Cell]], list[Merge]]:
    """The chosen sheet, or the first one holding data: its name, rows and merged ranges."""
    workbook = _open(path)
    try:
        names = _sheet_names(workbook)
        if sheet is None:
            for name in names:
                rows, merges = _read_sheet(path, workbook, name)
                if _has_data(rows):
                    return name, rows, merges
            raise InputFileError(
                f"{path.name}: every sheet in the workbook is empty.",
                "Open the file in Excel, check that it holds the table, save it and try again.",
            )
        if sheet not in workbook.sheet_names:
            raise InputFileError(
                f"{path.name}: there is no sheet named {sheet!r}.",
                f"Choose one of the sheets in this workbook: {_listing(names)}.",
            )
        rows, merges = _read_sheet(path, workbook, sheet)
        if not _has_data(rows):
            raise InputFileError(
                f"{path.name}, sheet {sheet!r}: the sheet is empty.",
                f"Choose a sheet that holds the table: {_listing(names)}.",
            )
        return sheet, rows, merges
    finally:
        workbook.close()


def _sheet_names(workbook: CalamineWorkbook) -> list[str]:
    sheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    visible = [m.name for m in sheets if m.visible == SheetVisibleEnum.Visible]
    hidden = [m.name for m in sheets if m.visible != SheetVisibleEnum.Visible]
    return visible + hidden


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "(none)"


def _read_sheet(
    path: Path, workbook: CalamineWorkbook, sheet: str
) -> tuple[list[list[Cell]], list[Merge]]:
    """All rows of a sheet from A1 (row i is Excel row i + 1) and its merged ranges."""
    try:
        data = workbook.get_sheet_by_name(sheet)
        rows = data.to_python(skip_empty_area=False)
        merges = data.merged_cell_ranges or []
    except CalamineError as exc:
        raise InputFileError(
            f"{path.name}, sheet {sheet!r}: the sheet could not be read ({exc}).",
            "Open the file in Excel, save it again as .xlsx and retry, or export the sheet as CSV.",
        ) from exc
    return rows, list(merges)


def _has_data(rows: list[list[Cell]]) -> bool:
    return any(not _blank(v) for row in rows for v in row)


# --- header ------------------------------------------------------------------


def _blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _filled(row: Sequence[Cell]) -> int:
    return sum(not _blank(v) for v in row)


def _find_header(rows: list[list[Cell]], merges: list[Merge]) -> _Header:
    """Find the header row below any title, note and blank rows.

    The header is the first row with at least half as many filled cells as
    the typical row below it, most of them text; failing that, the first row
    of that width, then the first non-blank row.
    """
    wide: int | None = None
    first: int | None = None
    for i, row in enumerate(rows[:HEADER_SCAN]):
        filled = _filled(row)
        if not filled:
            continue
        if first is None:
            first = i
        if not _wide_enough(filled, rows, i):
            continue
        if wide is None:
            wide = i
        if sum(isinstance(v, str) for v in row if not _blank(v)) * 2 >= filled:
            return _header_at(rows, i, merges)
    index = wide if wide is not None else first
    assert index is not None  # the caller checked that the sheet has data
    return _header_at(rows, index, merges)


def _wide_enough(filled: int, rows: list[list[Cell]], index: int) -> bool:
    below: list[int] = []
    for row in islice(rows, index + 1, None):
        n = _filled(row)
        if n:
            below.append(n)
            if len(below) == WINDOW:
                break
    if not below:
        return True
    typical = sorted(below)[len(below) // 2]
    return filled * 2 >= typical and (filled >= 2 or typical <= 1)


def _header_at(rows: list[list[Cell]], index: int, merges: list[Merge]) -> _Header:
    """Header names at ``index``, spreading merged cells and joining a sub-header row."""
    top = [_text(v) or "" for v in rows[index]]
    spans = [(c0, c1) for (r0, c0), (_r1, c1) in merges if r0 == index and c1 > c0]
    spread = list(top)
    for c0, c1 in spans:
        for c in range(c0 + 1, min(c1 + 1, len(spread))):
            spread[c] = top[c0]
    if index + 1 < len(rows) and _is_sub_header(rows[index + 1], top, spans):
        sub = [_text(v) or "" for v in rows[index + 1]]
        names = [
            " ".join(p for p in (a.strip(), b.strip()) if p)
            for a, b in zip(spread, sub, strict=False)
        ]
        return _Header(index, 2, names)
    return _Header(index, 1, spread)


def _is_sub_header(row: Sequence[Cell], top: list[str], spans: list[tuple[int, int]]) -> bool:
    """Whether ``row`` names the columns under merged group cells of the header.

    It must hold text under every merged group, and nothing under the header's
    stand-alone names (of which there must be one, or a data row of text under
    a merged title would be mistaken for sub-headers).
    """
    if not spans:
        return False
    grouped = {c for c0, c1 in spans for c in range(c0, c1 + 1)}
    if any(not isinstance(row[c], str) or _blank(row[c]) for c in grouped if c < len(row)):
        return False
    if any(not _blank(v) and not isinstance(v, str) for v in row):
        return False
    standalone = [c for c, name in enumerate(top) if name.strip() and c not in grouped]
    return bool(standalone) and all(_blank(row[c]) for c in standalone if c < len(row))


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- cells to text -----------------------------------------------------------


def _str_text(value: str) -> str | None:
    return value if value and not value.isspace() else None


def _float_text(value: float) -> str:
    # Integral values up to 1e18 print as integers (so '123', and '0' for -0.0);
    # beyond that Excel itself shows an exponent.
    if value.is_integer() and -1e18 < value < 1e18:
        return str(int(value))
    return repr(value)


def _datetime_text(value: dt.datetime) -> str:
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date().isoformat()
    return value.isoformat(sep=" ")


def _duration_text(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


_FORMATTERS: dict[type, Callable[[Any], str | None]] = {
    str: _str_text,
    float: _float_text,
    int: str,
    bool: lambda b: "true" if b else "false",
    dt.date: dt.date.isoformat,
    dt.datetime: _datetime_text,
    dt.time: dt.time.isoformat,
    dt.timedelta: _duration_text,
    type(None): lambda _: None,
}


def _text(value: Cell) -> str | None:
    """One cell as staged text; None for a blank cell."""
    return _FORMATTERS.get(type(value), str)(value)


def _column_text(values: Sequence[Cell]) -> list[str | None]:
    """A column of cells as staged text, with fast paths for the common types."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return [v if v and not v.isspace() else None for v in values]
    if kinds <= {str, float}:
        return [
            _float_text(v) if type(v) is float else (v if v and not v.isspace() else None)
            for v in values
        ]
    get = _FORMATTERS.get
    return [get(type(v), str)(v) for v in values]


def _to_arrow(data: list[list[Cell]], header: list[str], first: int) -> _Staged:
    """Data rows as an Arrow table of text plus ``_row``.

    Fully blank rows are dropped, and so are columns with neither a header nor
    any data (spacer columns, or the used range reaching past the table).
    """
    width = max(len(header), max((len(r) for r in data), default=0))
    cells = list(zip_longest(*data, fillvalue=None)) if data else []
    arrays = [pa.array(_column_text(col), type=pa.string()) for col in cells]
    arrays += [pa.nulls(len(data), pa.string())] * (width - len(arrays))
    names = list(header) + [""] * (width - len(header))
    # Named before dropping, so "Column F" still points at spreadsheet column F.
    all_columns = unique_names(names, _column_name, reserved=(ROW_COLUMN,))
    kept = [i for i in range(width) if names[i].strip() or arrays[i].null_count < len(data)]
    columns = tuple(all_columns[i] for i in kept)
    unnamed = tuple(all_columns[i] for i in kept if not names[i].strip())
    rownum = pa.array(np.arange(first + 1, first + 1 + len(data), dtype=np.int64))
    table = pa.Table.from_arrays([*(arrays[i] for i in kept), rownum], names=[*columns, ROW_COLUMN])
    if kept:
        keep = pc.is_valid(arrays[kept[0]])
        for i in kept[1:]:
            keep = pc.or_(keep, pc.is_valid(arrays[i]))
        table = table.filter(keep)
    return _Staged(table, columns, unnamed)


def _column_name(index: int) -> str:
    return f"Column {_column_letter(index)}"


def _copy_to_duckdb(con: duckdb.DuckDBPyConnection, data: pa.Table, table: str) -> None:
    view = f"__bounded_stage_{uuid.uuid4().hex}"
    con.register(view, data)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT * FROM {quote_ident(view)}"
        )
    finally:
        con.unregister(view)


def _notes(header: _Header, first: int, staged: _Staged) -> list[str]:
    notes: list[str] = []
    if header.index:
        notes.append(
            f"Skipped {_plural(header.index, 'row')} (titles, notes or blank rows) "
            f"above the header on row {header.index + 1}."
        )
    if header.depth == 2:
        notes.append(
            f"The header spans rows {header.index + 1}-{header.index + 2}; merged group "
            "names were joined with the names below them."
        )
    last_row = pc.max(staged.data.column(ROW_COLUMN)).as_py()
    inner_blank = last_row - first - staged.data.num_rows
    if inner_blank:
        notes.append(
            f"Dropped {_plural(inner_blank, 'blank row')} inside the data; "
            "row numbers still match the spreadsheet."
        )
    if staged.unnamed:
        notes.append(
            f"Named {_plural(len(staged.unnamed), 'column')} without a header after "
            f"{'its' if len(staged.unnamed) == 1 else 'their'} letter: {', '.join(staged.unnamed)}."
        )
    return notes


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
