"""Read a CSV file's dialect and header from a sample of about 1 MB, in Python.

Detection covers the encoding, delimiter, quoting, decimal comma and title
lines above the header; the layout names the columns and counts the records
the sample shows. :mod:`workbench.ingest.csv_reader` then hands the rows
themselves to DuckDB.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputFileError
from workbench.ingest.staged import unique_names

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
HEADER_SCAN = 50  # records searched for the header
WINDOW = 50  # records after a candidate header that must agree with it
DIALECT_RECORDS = 300
DECIMAL_RECORDS = 1000
CHECK_RECORDS = 2000  # sample records DuckDB's row count is checked against

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes (|)"}
_ENCODING_NOTES = {
    "utf-8-sig": "The file starts with a UTF-8 byte-order mark; it was removed.",
    "cp1252": "Read as Windows-1252 (cp1252) because the file is not valid UTF-8.",
    "latin-1": "Read as Latin-1 (ISO-8859-1) because the file is neither UTF-8 nor Windows-1252.",
    "utf-16": "Read as UTF-16 (the file starts with a UTF-16 byte-order mark).",
}
_NUMERIC = re.compile(r"^[-+]?[$€£]?\s*(\d[\d.,\s']*)?\d(\s*%)?$|^[-+]?\d*[.,]\d+$")
_CURRENCY = re.compile(r"[$€£%\s]")
_COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)\.\d+$")
_AMBIGUOUS = re.compile(r"^[-+]?\d{1,3}[.,]\d{3}$")
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written, as detected by :func:`sniff_csv`.

    Attributes:
        encoding: ``utf-8``, ``utf-8-sig``, ``cp1252``, ``latin-1`` or ``utf-16``.
        delimiter: Field separator: ``,``, ``;``, tab or ``|``.
        quote: Quote character, ``"`` or ``'``.
        escape: Character escaping a quote inside a quoted field (the quote
            itself for doubled quotes, or a backslash).
        decimal: Decimal separator used by numbers, ``.`` or ``,``.
        header_line: 1-based physical line on which the header starts.
        skip_lines: Records (title, note and blank lines) before the header.
            Equals ``header_line - 1`` unless a title holds a quoted line break.
        has_bom: The file starts with a byte-order mark.
    """

    encoding: str
    delimiter: str
    quote: str
    escape: str
    decimal: str
    header_line: int
    skip_lines: int
    has_bom: bool


@dataclass(frozen=True)
class _Record:
    line: int  # 1-based physical line where the record starts
    fields: list[str]

    @property
    def blank(self) -> bool:
        return not any(f.strip() for f in self.fields)


def sniff_csv(path: Path) -> CsvDialect:
    """Detect the encoding, delimiter, quoting, decimal separator and header line.

    Args:
        path: The CSV file.

    Returns:
        The detected dialect.

    Raises:
        InputFileError: The file is empty, binary, or holds no header.
    """
    raw, truncated = _read_sample(path)
    encoding, has_bom = _detect_encoding(path, raw)
    text = _decode_sample(path, raw, encoding, truncated)
    delimiter, quote, escape = _detect_format(text)
    records = list(_parse(text, delimiter, quote, escape, limit=HEADER_SCAN + WINDOW + 1))
    header_index = _find_header(path, records)
    header = records[header_index]
    after = _parse(text, delimiter, quote, escape, limit=header_index + 1 + DECIMAL_RECORDS)
    data = [r.fields for r in after if r.line > header.line]
    return CsvDialect(
        encoding=encoding,
        delimiter=delimiter,
        quote=quote,
        escape=escape,
        decimal=_detect_decimal(data, delimiter),
        header_line=header.line,
        skip_lines=header_index,
        has_bom=has_bom,
    )


@dataclass(frozen=True)
class CsvLayout:
    """A CSV file's dialect and header as read from its sample.

    Attributes:
        dialect: The detected (or given) dialect.
        columns: Unique column names for the header, in file order.
        expected: Records DuckDB must find at least (those the sample shows).
        header: The header cells as written.
        records: The sample records (for notes on blank lines).
        truncated: Whether the sample stops before the end of the file.
    """

    dialect: CsvDialect
    columns: tuple[str, ...]
    expected: int
    header: list[str]
    records: list[_Record]
    truncated: bool


def layout_csv(path: Path, dialect: CsvDialect | None = None) -> CsvLayout:
    """Detect the dialect (unless given) and name the columns, from the ~1 MB sample.

    Raises:
        InputFileError: No header was found.
    """
    dialect = dialect or sniff_csv(path)
    raw, truncated = _read_sample(path)
    text = _decode_sample(path, raw, dialect.encoding, truncated)
    records = list(
        _parse(
            text,
            dialect.delimiter,
            dialect.quote,
            dialect.escape,
            limit=dialect.skip_lines + 1 + CHECK_RECORDS,
        )
    )
    if len(records) <= dialect.skip_lines:
        raise InputFileError(
            f"{path.name}: no header found on line {dialect.header_line}.",
            "Check that the file holds a table with a header row.",
        )
    header = records[dialect.skip_lines].fields
    following = [r.fields for r in records[dialect.skip_lines + 1 :] if not r.blank]
    width = max(len(header), _modal_width(following[:WINDOW]) or 0)
    # DuckDB must find at least the records the sample shows (the last one
    # may be cut off by the end of the sample).
    expected = max(len(following) - 1, 0) if truncated else len(following)
    columns = unique_names(header + [""] * (width - len(header)), lambda i: f"column_{i + 1}")
    return CsvLayout(dialect, columns, expected, header, records, truncated)


def detection_notes(
    dialect: CsvDialect, header: list[str], columns: tuple[str, ...]
) -> Iterator[str]:
    if dialect.encoding in _ENCODING_NOTES:
        yield _ENCODING_NOTES[dialect.encoding]
    if dialect.delimiter != ",":
        yield f"Fields are separated by {_DELIMITER_NAMES[dialect.delimiter]}."
    if dialect.quote != '"':
        yield "Values are quoted with single quotes (')."
    if dialect.escape not in (dialect.quote, ""):
        yield f"Quotes inside values are escaped with a backslash ({dialect.escape}{dialect.quote})."
    if dialect.skip_lines:
        n = dialect.skip_lines
        yield (
            f"Skipped {_plural(n, 'line')} (titles, notes or blank lines) above the header "
            f"on line {dialect.header_line}."
        )
    if dialect.decimal == ",":
        yield "Numbers use a decimal comma (1.234,56 means 1234.56)."
    unnamed = [c for i, c in enumerate(columns) if i >= len(header) or not header[i].strip()]
    if unnamed:
        yield f"Named {_plural(len(unnamed), 'column')} without a header: {', '.join(unnamed)}."
    renamed = [
        c
        for i, c in enumerate(columns)
        if i < len(header) and header[i].strip() and c != header[i].strip()
    ]
    if renamed:
        yield f"Renamed repeated column names: {', '.join(renamed)}."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- detection ---------------------------------------------------------------


def _read_sample(path: Path) -> tuple[bytes, bool]:
    """The first ~1 MB of the file and whether the file is longer."""
    try:
        with path.open("rb") as f:
            raw = f.read(SAMPLE_BYTES + 1)
    except OSError as exc:
        raise InputFileError(
            f"{path.name}: the file could not be opened ({exc.strerror or exc}).",
            "Check that the file exists and is not open exclusively in another program.",
        ) from exc
    return raw[:SAMPLE_BYTES], len(raw) > SAMPLE_BYTES


def _detect_encoding(path: Path, raw: bytes) -> tuple[str, bool]:
    """Pick the encoding from the sample; refuse empty and binary files."""
    if not raw.strip():
        raise InputFileError(
            f"{path.name}: the file is empty.",
            "Export the data again, or choose another file.",
        )
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InputFileError(
            f"{path.name}: this is an Excel workbook, not a CSV file.",
            "Rename it to .xlsx (or .xls), or import it as a spreadsheet.",
        )
    controls = len(raw) - len(raw.translate(None, _CONTROL_BYTES))
    if b"\x00" in raw or controls > len(raw) // 100:
        raise InputFileError(
            f"{path.name}: the file looks binary, not like CSV text.",
            "Export the data as CSV (comma or semicolon separated values) and import that.",
        )
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)(errors="strict").decode(raw, final=False)
        except UnicodeDecodeError:
            continue
        return encoding, False
    return "latin-1", False


def _decode_sample(path: Path, raw: bytes, encoding: str, truncated: bool) -> str:
    """Decode the sample, dropping a partial last line when the file goes on."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(raw, final=not truncated)
    if text.startswith("\ufeff"):
        text = text[1:]
    if truncated:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else text
    if not text.strip():
        raise InputFileError(
            f"{path.name}: the file is empty.",
            "Export the data again, or choose another file.",
        )
    return text


def _parse(text: str, delimiter: str, quote: str, escape: str, limit: int) -> Iterator[_Record]:
    """Parse up to ``limit`` records, noting the line each starts on."""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=quote,
        doublequote=escape == quote,
        escapechar=None if escape == quote else escape,
        strict=False,
    )
    start = 1
    try:
        for _ in range(limit):
            fields = next(reader)
            yield _Record(start, fields)
            start = reader.line_num + 1
    except (StopIteration, csv.Error):
        return


def _modal_width(rows: list[list[str]]) -> int | None:
    """The most common field count (the larger one on a tie)."""
    if not rows:
        return None
    counts = Counter(len(r) for r in rows)
    return max(counts, key=lambda w: (counts[w], w))


def _consistency(text: str, delimiter: str, quote: str, escape: str) -> tuple[float, int]:
    """Share of non-blank records with the modal field count, and that count."""
    rows = [
        r.fields for r in _parse(text, delimiter, quote, escape, DIALECT_RECORDS) if not r.blank
    ]
    width = _modal_width(rows)
    if width is None:
        return 0.0, 0
    return sum(len(r) == width for r in rows) / len(rows), width


def _quoted_fields(text: str, delimiter: str, quote: str) -> int:
    d, q = re.escape(delimiter), re.escape(quote)
    pattern = rf"(?:^|{d})[ ]*{q}[^{q}\n]*{q}[ ]*(?={d}|\r?$)"
    return len(re.findall(pattern, text, flags=re.MULTILINE))


def _detect_format(text: str) -> tuple[str, str, str]:
    """Pick delimiter, quote and escape by how consistently records split."""
    head = text[:65536]
    try:
        sniffed: str | None = csv.Sniffer().sniff(head, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    candidates = []
    for delimiter in DELIMITERS:
        quote = '"'
        if _quoted_fields(head, delimiter, "'") and not _quoted_fields(head, delimiter, '"'):
            quote = "'"
        escape = _detect_escape(head, delimiter, quote)
        share, width = _consistency(head, delimiter, quote, escape)
        key = (width >= 2, share, delimiter == sniffed, width)
        candidates.append((key, delimiter, quote, escape))
    (several_columns, *_), delimiter, quote, escape = max(candidates, key=lambda c: c[0])
    if not several_columns:  # a single column: no delimiter in use
        return ",", '"', _detect_escape(head, ",", '"')
    return delimiter, quote, escape


def _detect_escape(text: str, delimiter: str, quote: str) -> str:
    """A backslash escape when ``\\"`` occurs and doubled quotes inside values do not."""
    q = re.escape(quote)
    if not re.search(rf"\\{q}", text):
        return quote
    doubled_inside = re.search(rf"[^\\\s{re.escape(delimiter)}{q}]{q}{q}", text)
    if doubled_inside:
        return quote
    backslash, _ = _consistency(text, delimiter, quote, "\\")
    doubled, _ = _consistency(text, delimiter, quote, quote)
    return "\\" if backslash >= doubled else quote


def _find_header(path: Path, records: list[_Record]) -> int:
    """Index of the header: the first record as wide as the rows below it, mostly text.

    Falls back to the first record of the right width, then the first non-blank one.
    """
    wide: int | None = None
    first: int | None = None
    for i, record in enumerate(records[:HEADER_SCAN]):
        if record.blank:
            continue
        if first is None:
            first = i
        following = [r.fields for r in records[i + 1 : i + 1 + WINDOW] if not r.blank]
        if not _fits(record.fields, following):
            continue
        if wide is None:
            wide = i
        if _mostly_text(record.fields):
            return i
    if wide is not None:
        return wide
    if first is not None:
        return first
    raise InputFileError(
        f"{path.name}: no header row found; the first lines are blank.",
        "Check that the file holds a table with a header row.",
    )


def _fits(fields: list[str], following: list[list[str]]) -> bool:
    """Whether a candidate header is as wide as the records that follow it.

    A header one or more fields shorter also fits when the extra fields below
    are (nearly) always empty, as with a delimiter at the end of every data line.
    """
    width = _modal_width(following)
    if width is None or len(fields) == width:
        return True
    if len(fields) < 2:
        return False
    if len(fields) > width:  # data rows that leave out trailing empty fields
        return width >= 2
    extra = [r[len(fields) :] for r in following if len(r) > len(fields)]
    empty = sum(not any(f.strip() for f in e) for e in extra)
    return empty >= 0.9 * len(following)


def _mostly_text(fields: list[str]) -> bool:
    filled = [f.strip() for f in fields if f.strip()]
    numeric = sum(bool(_NUMERIC.match(f)) for f in filled)
    return bool(filled) and numeric * 2 <= len(filled)


def _detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """``,`` when numbers such as ``1234,56`` or ``1.234,56`` outnumber ``1234.56``."""
    if delimiter == ",":
        return "."
    comma = dot = 0
    for row in rows:
        for field in row:
            value = _CURRENCY.sub("", field)
            if not value or _AMBIGUOUS.match(value):
                continue
            if _COMMA_DECIMAL.match(value):
                comma += 1
            elif _DOT_DECIMAL.match(value):
                dot += 1
    return "," if comma > dot else "."
