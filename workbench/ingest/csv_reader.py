"""Read a CSV file into a DuckDB temp table of text, detecting its dialect first.

Detection (encoding, delimiter, quoting, decimal comma, title lines above the
header) looks at a sample of about 1 MB in Python, in
:mod:`workbench.ingest.csv_sniff`. The rows themselves are parsed by DuckDB's
``read_csv``, so staging a million rows stays well under a second; only
non-UTF-8 files are first transcoded, in chunks, to a temporary UTF-8 copy.
"""

from __future__ import annotations

import codecs
import mmap
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from workbench.errors import InputFileError
from workbench.ingest.csv_sniff import (
    CHECK_RECORDS,
    DECIMAL_RECORDS,
    DELIMITERS,
    DIALECT_RECORDS,
    HEADER_SCAN,
    SAMPLE_BYTES,
    WINDOW,
    CsvDialect,
    CsvLayout,
    _Record,
    detection_notes,
    layout_csv,
    sniff_csv,
)
from workbench.ingest.staged import StagedTable, quote_ident

__all__ = [
    "CHECK_RECORDS",
    "DECIMAL_RECORDS",
    "DELIMITERS",
    "DIALECT_RECORDS",
    "HEADER_SCAN",
    "SAMPLE_BYTES",
    "TRANSCODE_CHUNK",
    "WINDOW",
    "CsvDialect",
    "CsvLayout",
    "detection_notes",
    "layout_csv",
    "read_options",
    "sniff_csv",
    "stage_csv",
]

TRANSCODE_CHUNK = 4 << 20

_DUCKDB_LINE = re.compile(r"Line: (\d+)")
_DUCKDB_ORIGINAL = re.compile(r"Original Line: (.*)")
_DUCKDB_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_BLANK_LINE = re.compile(rb"\n\r?\n")


def read_options(dialect: CsvDialect, column_types: dict[str, str]) -> tuple[str, list[object]]:
    """The strict ``read_csv`` options (after the path parameter) and their parameters.

    Use as ``read_csv(?, <options>)`` with ``[path, *params]``.
    """
    options = (
        "delim = ?, quote = ?, escape = ?, skip = ?, header = true, columns = ?, "
        "auto_detect = false"
    )
    return options, [
        dialect.delimiter,
        dialect.quote,
        dialect.escape,
        dialect.skip_lines,
        column_types,
    ]


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    dialect: CsvDialect | None = None,
) -> StagedTable:
    """Load a whole CSV file into a DuckDB TEMP table with every column VARCHAR.

    The table is replaced if it exists. Its ``rowid`` is the 0-based record
    index, so the row the user sees is ``rowid + header_line + 1``. When a
    quoted field holds a line break, that counts records the way a spreadsheet
    shows them (one row per record), not physical lines. DuckDB skips blank
    lines between records; a note says so when the file has them.

    Args:
        con: DuckDB connection (or cursor) that will own the temp table.
        path: The CSV file.
        table: Name of the temp table to create.
        dialect: A dialect to use instead of detecting one.

    Returns:
        What was staged and detected.

    Raises:
        InputFileError: The file is empty, has only a header, is binary, or
            has a line DuckDB cannot parse.
    """
    layout = layout_csv(path, dialect)
    dialect, columns, expected = layout.dialect, layout.columns, layout.expected
    records, truncated, header = layout.records, layout.truncated, layout.header
    notes = list(detection_notes(dialect, header, columns))
    load = _load(con, path, table, dialect, columns, expected)
    notes.extend(load.notes)
    if _blank_lines_in(records[dialect.skip_lines + 1 :]) or (
        truncated and load.blank_lines_after_sample
    ):
        notes.append(
            "Blank lines between rows were skipped; row numbers after them count rows, not lines."
        )
    n_rows = _count(con, table)
    if n_rows == 0:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        raise InputFileError(
            f"{path.name}: the file has a header on line {dialect.header_line} but no data rows.",
            "Export the file again with its data, or choose another file.",
        )
    return StagedTable(
        table=table,
        columns=columns,
        row_expr=f"(rowid + {dialect.header_line + 1})",
        n_rows=n_rows,
        file_name=path.name,
        sheet=None,
        header_row=dialect.header_line,
        decimal=dialect.decimal,
        encoding=load.encoding,
        delimiter=dialect.delimiter,
        notes=tuple(notes),
    )


# --- staging -----------------------------------------------------------------


@dataclass(frozen=True)
class _Load:
    encoding: str
    notes: tuple[str, ...]
    blank_lines_after_sample: bool


class _NotUtf8(Exception):
    """DuckDB met bytes that are not UTF-8 (the message names the line)."""


def _load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    dialect: CsvDialect,
    columns: tuple[str, ...],
    expected: int,
) -> _Load:
    """Run ``read_csv``, transcoding to UTF-8 first (or after all) when needed."""
    encoding = dialect.encoding
    notes: list[str] = []
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            _read_checked(con, path, path, table, dialect, columns, expected)
        except _NotUtf8 as exc:
            # The sample was UTF-8 but a later line is not: typically an export
            # that is mostly ASCII with a few Windows-1252 characters further down.
            line = _error_line(str(exc))
            where = f" (first on line {line})" if line else ""
            notes.append(f"Read as Windows-1252 (cp1252): the file is not valid UTF-8{where}.")
            encoding = "cp1252"
        else:
            return _Load(encoding, tuple(notes), _has_blank_line_after(path, SAMPLE_BYTES))
    utf8_copy, encoding = _transcode(path, encoding, skip_bom=dialect.has_bom)
    try:
        _read_checked(con, path, utf8_copy, table, dialect, columns, expected)
        blank_lines = _has_blank_line_after(utf8_copy, SAMPLE_BYTES)
    except _NotUtf8 as exc:
        raise _csv_error(path, str(exc)) from exc
    finally:
        utf8_copy.unlink(missing_ok=True)
    return _Load(encoding, tuple(notes), blank_lines)


def _read_checked(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    table: str,
    dialect: CsvDialect,
    columns: tuple[str, ...],
    expected: int,
) -> None:
    """Read with DuckDB, then make sure it found at least the rows the sample holds.

    DuckDB guesses the line ending from the first line break in the file, even
    one inside a quoted header cell; a wrong guess silently yields (almost) no
    rows. Each explicit line ending is then tried in turn.
    """
    _read_csv(con, path, source, table, dialect, columns)
    if _count(con, table) >= expected:
        return
    for new_line in (r"\n", r"\r\n"):
        try:
            _read_csv(con, path, source, table, dialect, columns, new_line)
        except InputFileError:
            continue
        if _count(con, table) >= expected:
            return
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    raise InputFileError(
        f"{path.name}: the lines of the file could not be split into rows reliably "
        "(mixed line endings?).",
        "Open the file in Excel or a text editor, save it again as CSV and import that copy.",
    )


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    table: str,
    dialect: CsvDialect,
    columns: tuple[str, ...],
    new_line: str | None = None,
) -> None:
    """Create the temp table from ``source`` with DuckDB's reader.

    The strict, parallel reader goes first. Short rows need ``null_padding``,
    which the parallel reader refuses once quoted line breaks appear; the
    serial reader then copes, but it silently drops the rest of the file after
    an unterminated quote, so a strict scan that records rejected lines checks
    for that first.

    Raises:
        _NotUtf8: DuckDB met bytes that are not UTF-8.
        InputFileError: Any other line DuckDB cannot parse.
    """
    options = (
        "delim = ?, quote = ?, escape = ?, skip = ?, header = true, columns = ?, "
        "auto_detect = false"
    )
    params: list[object] = [
        str(source),
        dialect.delimiter,
        dialect.quote,
        dialect.escape,
        dialect.skip_lines,
        dict.fromkeys(columns, "VARCHAR"),
    ]
    if new_line is not None:
        options += ", new_line = ?"
        params.append(new_line)
    create = f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT * FROM read_csv"
    try:
        con.execute(f"{create}(?, {options})", params)
        return
    except duckdb.Error as exc:
        if not _is_short_row(str(exc)):
            raise _read_error(path, str(exc)) from exc
    try:
        con.execute(f"{create}(?, {options}, null_padding = true)", params)
        return
    except duckdb.Error as exc:
        if "does not support null_padding" not in str(exc):
            raise _read_error(path, str(exc)) from exc
    _check_rejects(con, path, f"read_csv(?, {options}", params)
    try:
        con.execute(f"{create}(?, {options}, null_padding = true, parallel = false)", params)
    except duckdb.Error as exc:
        raise _read_error(path, str(exc)) from exc


def _check_rejects(
    con: duckdb.DuckDBPyConnection, path: Path, reader: str, params: list[object]
) -> None:
    """Raise for the first line a strict scan rejects for anything but missing fields."""
    suffix = uuid.uuid4().hex
    errors, scans = f"__bounded_rejects_{suffix}", f"__bounded_scans_{suffix}"
    try:
        con.execute(
            f"SELECT count(*) FROM {reader}, ignore_errors = true, store_rejects = true, "
            "rejects_table = ?, rejects_scan = ?)",
            [*params, errors, scans],
        ).fetchall()  # the rejects table appears only once the result is exhausted
        first = con.execute(
            f"SELECT line, error_type, csv_line, error_message FROM {quote_ident(errors)} "
            "WHERE error_type <> 'MISSING COLUMNS' ORDER BY line LIMIT 1"
        ).fetchone()
    except duckdb.Error as exc:
        raise _read_error(path, str(exc)) from exc
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(errors)}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(scans)}")
    if first:
        line, kind, text, message = first
        raise _read_error(path, f"CSV Error on Line: {line}\nOriginal Line: {text}\n{message}")


def _is_short_row(message: str) -> bool:
    match = _DUCKDB_COLUMNS.search(message)
    return match is not None and int(match.group(2)) < int(match.group(1))


def _read_error(path: Path, message: str) -> Exception:
    if "Invalid unicode" in message or "UNICODE" in message:
        return _NotUtf8(message)
    return _csv_error(path, message)


def _transcode(path: Path, encoding: str, skip_bom: bool) -> tuple[Path, str]:
    """Copy the file to a temporary UTF-8 file, in chunks.

    Falls back from cp1252 to Latin-1 when a byte undefined in cp1252 appears
    beyond the sample.

    Returns:
        The temporary file (the caller deletes it) and the encoding used.
    """
    fd, name = tempfile.mkstemp(prefix="bounded-", suffix=".csv")
    os.close(fd)
    target = Path(name)
    try:
        try:
            _transcode_to(path, target, encoding, skip_bom)
        except UnicodeDecodeError as exc:
            if encoding != "cp1252":
                raise InputFileError(
                    f"{path.name}: the file is not valid {encoding} text "
                    f"(byte offset {exc.start}).",
                    "Save the file again as CSV UTF-8 and import that.",
                ) from exc
            encoding = "latin-1"
            _transcode_to(path, target, encoding, skip_bom)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, encoding


def _transcode_to(path: Path, target: Path, encoding: str, skip_bom: bool) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    # Encoding explicitly and writing bytes is faster than a text-mode file.
    with path.open("rb") as src, target.open("wb") as dst:
        if skip_bom and encoding != "utf-16":
            src.read(len(codecs.BOM_UTF8))
        while chunk := src.read(TRANSCODE_CHUNK):
            dst.write(decoder.decode(chunk).encode("utf-8"))
        dst.write(decoder.decode(b"", final=True).encode("utf-8"))


def _csv_error(path: Path, text: str) -> InputFileError:
    """Translate a DuckDB ``read_csv`` failure into a message for the user."""
    line = _error_line(text)
    where = f"line {line}" if line else "a line"
    original = _DUCKDB_ORIGINAL.search(text)
    shown = f": {original.group(1).strip()[:80]!r}" if original else ""
    if "Expected Number of Columns" in text:
        return InputFileError(
            f"{path.name}: {where} has more fields than the header{shown}.",
            "A value probably contains the delimiter without quotes around it; "
            "fix that line or export the file again with quoted values.",
        )
    if "unterminated quote" in text:
        return InputFileError(
            f"{path.name}: {where} opens a quoted value that never closes{shown}.",
            "Fix the stray quote character on that line, or export the file again.",
        )
    if "Invalid unicode" in text:
        return InputFileError(
            f"{path.name}: {where} is not valid text in the detected encoding.",
            "Save the file again as CSV UTF-8 and import that.",
        )
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return InputFileError(
        f"{path.name}: the file could not be read as CSV ({first}).",
        "Check that it is a CSV export; open it in a text editor to look for damaged lines.",
    )


def _error_line(text: str) -> int | None:
    match = _DUCKDB_LINE.search(text)
    return int(match.group(1)) if match else None


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()
    return int(row[0]) if row else 0


def _blank_lines_in(records: list[_Record]) -> bool:
    """Whether an empty line (which DuckDB skips) sits between data records."""
    last = max((i for i, r in enumerate(records) if not r.blank), default=-1)
    return any(not r.fields for r in records[:last])


def _has_blank_line_after(path: Path, offset: int) -> bool:
    """Whether an empty line followed by more text occurs after ``offset`` bytes.

    Used past the sample only; a quoted value holding an empty line also counts.
    """
    size = path.stat().st_size
    if size <= offset:
        return False
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        match = _BLANK_LINE.search(mm, offset)  # a regex scans faster than mmap.find
        return match is not None and _has_text_after(mm, match.start())


def _has_text_after(mm: mmap.mmap, pos: int) -> bool:
    step = 1 << 16
    while pos < len(mm):
        if mm[pos : pos + step].strip():
            return True
        pos += step
    return False
