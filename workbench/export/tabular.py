"""Write a DataFrame to CSV or XLSX bytes that spreadsheet apps open safely and correctly.

Text cells that a spreadsheet would run as a formula are neutralised (OWASP "CSV
injection"); numbers, dates and booleans keep their real types in XLSX so people can
sort, filter and sum them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from workbench.errors import WorkbenchError

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet app read a cell as a formula."""

FLOAT_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
TIME_FORMAT = "hh:mm:ss"

MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 6
META_SHEET = "about"

TimestampsAs = Literal["datetime", "date", "auto"]

_EXCEL_MAX_TEXT = 32_767
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_FORMAT_BY_TYPE: dict[type, str] = {
    float: FLOAT_FORMAT,
    Decimal: FLOAT_FORMAT,
    date: DATE_FORMAT,
    datetime: DATETIME_FORMAT,
    time: TIME_FORMAT,
}
_SHEET_NAME_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def neutralise(value: object) -> object:
    """Make a text cell safe to open in a spreadsheet app.

    A text value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading single quote, so Excel, LibreOffice and Google Sheets show
    it as text instead of running it as a formula. Only ``str`` values change: real
    numbers (including negative ones stored as numbers) are returned as they are.
    Text that merely looks like a number, such as ``"-12"``, is still text and is
    neutralised too; store numbers as numbers to keep them numeric.

    Args:
        value: Any cell value.

    Returns:
        The value, with a ``'`` prefix when it is risky text.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Encode a table as CSV for spreadsheet apps.

    UTF-8 with a byte-order mark (so Excel detects the encoding), CRLF line ends,
    neutralised text and headers, ISO dates (``2024-05-01``, or
    ``2024-05-01 13:45:00`` when a column has times). Missing values are empty.
    The index is not written: call ``reset_index()`` first to keep it.

    Args:
        df: The table to write.

    Returns:
        The CSV file's bytes.
    """
    df = df.reset_index(drop=True)
    out = pd.DataFrame({i: _csv_column(df.iloc[:, i]) for i in range(df.shape[1])})
    header = [str(neutralise(str(c))) for c in df.columns]
    text = out.to_csv(index=False, header=header if header else False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def to_xlsx_bytes(
    df: pd.DataFrame, sheet_name: str = "data", meta: Mapping[str, str] | None = None
) -> bytes:
    """Encode a table as an Excel workbook with real cell types.

    The data sheet has a bold, filled, frozen header row with an autofilter and
    column widths fitted to the content (at most 60 characters). Integers and floats
    are numbers (floats shown with a thousands separator), dates and datetimes are
    Excel dates (``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm``; a datetime column whose
    values are all at midnight counts as dates, as DuckDB ``DATE`` columns arrive in
    pandas as datetimes), booleans are booleans and missing values are empty cells.
    Timezone-aware datetimes are written as wall-clock time in their own zone (Excel
    has no time zones). Text is neutralised. The index is not written.

    Args:
        df: The table to write.
        sheet_name: Name of the data sheet (characters Excel forbids become ``_``).
        meta: Optional key/value pairs written to a second sheet ``about`` so the
            export can be reproduced (query SQL, workspace, generated at, ...).

    Returns:
        The XLSX file's bytes.

    Raises:
        WorkbenchError: If ``sheet_name`` would clash with the ``about`` sheet.
    """
    title = _sheet_title(sheet_name)
    if meta is not None and title.lower() == META_SHEET:
        raise WorkbenchError(
            f"The data sheet cannot be called '{title}' when export details are added.",
            f"Choose another sheet name; '{META_SHEET}' holds the export details.",
        )
    columns = [_xlsx_column(df.iloc[:, i]) for i in range(df.shape[1])]
    headers = [_xlsx_text(str(c)) for c in df.columns]

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    # Write-only sheets take layout before the first row is appended.
    for idx, (header, values) in enumerate(zip(headers, columns, strict=True), start=1):
        ws.column_dimensions[get_column_letter(idx)].width = _column_width(header, values)
    if headers:
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(df) + 1}"
    ws.append([_header_cell(ws, h) for h in headers])
    _append_rows(ws, columns)

    if meta is not None:
        _write_meta(wb, meta)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_table(df: pd.DataFrame, path: Path, meta: Mapping[str, str] | None = None) -> Path:
    """Write a table to a ``.csv`` or ``.xlsx`` file chosen by the path's suffix.

    Args:
        df: The table to write.
        path: Target file; its parent folder is created if needed.
        meta: Export details for the XLSX ``about`` sheet (not written to CSV, which
            has no place for them).

    Returns:
        The path written.

    Raises:
        WorkbenchError: If the suffix is neither ``.csv`` nor ``.xlsx``.
    """
    suffix = path.suffix.lower()
    writers: dict[str, Callable[[], bytes]] = {
        ".csv": lambda: to_csv_bytes(df),
        ".xlsx": lambda: to_xlsx_bytes(df, meta=meta),
    }
    if suffix not in writers:
        raise WorkbenchError(
            f"Cannot export to '{path.name}': unknown file type '{suffix or '(none)'}'.",
            "Use a file name ending in .csv or .xlsx.",
        )
    data = writers[suffix]()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise WorkbenchError(
            f"Cannot write {path}: {exc.strerror or exc}.",
            "Choose a file name in a folder you can write to (not an existing folder).",
        ) from None
    return path


# --- CSV -------------------------------------------------------------------------------


def _csv_column(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _iso_datetimes(s)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s
    return s.astype(object).map(_csv_value)


def _iso_datetimes(s: pd.Series) -> pd.Series:
    if s.dt.tz is not None:
        return s.map(lambda t: None if pd.isna(t) else t.isoformat(sep=" "))
    present = s.dropna()
    if (present == present.dt.normalize()).all():
        return s.dt.strftime("%Y-%m-%d")
    if (present.dt.microsecond != 0).any():
        return s.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return s.dt.strftime("%Y-%m-%d %H:%M:%S")


def _is_missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _csv_value(value: object) -> object:
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool | int | float | Decimal | np.bool_ | np.number):
        return value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, np.ndarray):  # DuckDB LIST columns
        value = value.tolist()
    # Anything else is written as its text, so it is neutralised like text.
    return neutralise(str(value))


# --- XLSX ------------------------------------------------------------------------------


def _sheet_title(name: str) -> str:
    cleaned = name.translate(_SHEET_NAME_FORBIDDEN).strip("'")[:31]
    return cleaned or "data"


def _xlsx_text(value: str) -> str:
    # openpyxl refuses XML-illegal control characters; Excel caps a cell's text.
    text = ILLEGAL_CHARACTERS_RE.sub("", value)[:_EXCEL_MAX_TEXT]
    return str(neutralise(text))


def _xlsx_column(s: pd.Series) -> list[object]:
    """Python values openpyxl understands, with None for every kind of missing."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return [None if v is pd.NA or v is None else bool(v) for v in s.tolist()]
    if pd.api.types.is_integer_dtype(dtype):
        return [None if v is pd.NA or v is None else int(v) for v in s.tolist()]
    if pd.api.types.is_float_dtype(dtype):
        return [_finite(v) for v in s.tolist()]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if s.dt.tz is not None:
            s = s.dt.tz_localize(None)
        present = s.dropna()
        as_dates = bool((present == present.dt.normalize()).all())
        return [
            None if pd.isna(v) else (v.date() if as_dates else v.to_pydatetime())
            for v in s.tolist()
        ]
    return [excel_value(v) for v in s.astype(object).tolist()]


def _finite(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def excel_value(value: object, timestamps: TimestampsAs = "datetime") -> Any:
    """One value as openpyxl writes it with its real type: the one converter of the exports.

    Missing values become empty cells, numpy scalars Python ones, non-finite floats empty;
    text loses XML-illegal characters, is cut to Excel's limit and is neutralised (see
    ``neutralise``). Timestamps stay ``datetime`` (no time zone), become ``date``
    (``timestamps="date"``), or become ``date`` when at midnight (``"auto"``).
    """
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return _xlsx_text(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _finite(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
        midnight = moment.time() == time()
        if timestamps == "date" or (timestamps == "auto" and midnight):
            return moment.date()
        return moment
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if isinstance(value, np.ndarray):  # DuckDB LIST columns
        value = value.tolist()
    return _xlsx_text(str(value))


def _display_width(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    if isinstance(value, bool):
        return 5
    if isinstance(value, float | Decimal):
        return len(f"{value:,.2f}")
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return len(str(value))


def _column_width(header: str, values: list[object]) -> float:
    widest = max(len(header), max(map(_display_width, values), default=0))
    return float(min(max(widest + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH))


def _header_cell(ws: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL
    return cell


def _append_rows(ws: WriteOnlyWorksheet, columns: list[list[object]]) -> None:
    # One styled cell per (column, format), reused row after row: a write-only sheet
    # serialises each appended row at once, so reuse is safe and saves creating a
    # styled cell for every float and date (the slow part at 100k rows).
    styled: dict[tuple[int, str], Cell] = {}
    for row in zip(*columns, strict=True):
        out: list[object] = list(row)
        for idx, value in enumerate(row):
            fmt = _FORMAT_BY_TYPE.get(type(value))
            if fmt is None:
                continue
            cell = styled.get((idx, fmt))
            if cell is None:
                cell = WriteOnlyCell(ws)
                cell.number_format = fmt
                styled[(idx, fmt)] = cell
            cell.value = value
            out[idx] = cell
        ws.append(out)


def _write_meta(wb: Workbook, meta: Mapping[str, str]) -> None:
    ws = wb.create_sheet(META_SHEET)
    keys = [_xlsx_text(str(k)) for k in meta]
    values = [_xlsx_text(str(v)) for v in meta.values()]
    ws.column_dimensions["A"].width = _column_width("key", list(keys))
    ws.column_dimensions["B"].width = _column_width("value", list(values))
    ws.append([_header_cell(ws, "key"), _header_cell(ws, "value")])
    for key, value in zip(keys, values, strict=True):
        ws.append([key, value])
