"""SQL expressions that turn staged text into typed values.

Every expression returns NULL for a value it cannot parse; the validator
compares the raw and parsed value to find the rows that failed. The formats
are the workbench's own constants, never user input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.ingest.kinds import ColumnType
from workbench.storage.sql import quote_ident, quote_literal

DateOrder = Literal["auto", "dmy", "mdy"]

NULL_TOKENS = ("", "n/a", "na", "null", "none", "-", "--", "#n/a", "nan", "nat")

_DMY = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")
_MDY = ("%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y")
_NAMED = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y")
_TIME_SUFFIXES = (" %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")

# Excel stores dates as days since 1899-12-30; 1 to 2958465 covers 1900-01-01..9999-12-31,
# but a plain number in a date column is only read as a serial date in a plausible range
# (1954..2119), so that an id or an amount is not silently turned into a date.
SERIAL_MIN, SERIAL_MAX = 20000, 80000

# Slash/dot/dash dates with two numeric parts before the year: the ones whose order is ambiguous.
AMBIGUOUS_PATTERN = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(\s|$|T)"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(quote_literal(v) for v in values) + "]"


def raw_expr(column: str) -> str:
    """The trimmed staged text, NULL for blanks and null tokens (``N/A``, ``-``, ...)."""
    ident = quote_ident(column)
    return f"CASE WHEN lower(trim({ident})) IN ({_tokens()}) THEN NULL ELSE trim({ident}) END"


def _tokens() -> str:
    return ", ".join(quote_literal(t) for t in NULL_TOKENS)


def present_expr(value: str) -> str:
    """True when a staged cell holds a value (not blank, not a null token such as ``N/A``)."""
    return f"({value} IS NOT NULL AND lower(trim({value})) NOT IN ({_tokens()}))"


def text_expr(column: str) -> str:
    """Text: trimmed, blank as NULL (``N/A`` is kept: it may be meaningful text).

    Only values that start or end with a space pay for the trim.
    """
    c = quote_ident(column)
    return (
        f"CASE WHEN starts_with({c}, ' ') OR ends_with({c}, ' ') OR {c} = '' "
        f"THEN NULLIF(trim({c}), '') ELSE {c} END"
    )


_GROUPED_DOT = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"  # 1,234,567.89
_PLAIN_DOT = r"[+-]?(\d+\.?\d*|\.\d+)"  # 1234.5
_GROUPED_COMMA = r"[+-]?\d{1,3}(\.\d{3})+(,\d+)?"  # 1.234.567,89
_PLAIN_COMMA = r"[+-]?(\d+,?\d*|,\d+)"  # 1234,5


def _finite(cast: str) -> str:
    """The cast, NULL for NaN and infinity ('nan' and 'inf' are not numbers a user means)."""
    return f"CASE WHEN isfinite({cast}) THEN {cast} END"


def number_expr(value: str, decimal: str) -> str:
    """A DOUBLE from text such as ``1234.5``, ``$1,234.50``, ``1.234,50`` (decimal comma), ``12%``.

    The plain cast comes first; the cleaning fallback runs only where it failed.
    Thousands separators are removed only where they form real groups of three
    (``4,5`` in a file with '.' decimals is not a number, never 45); a trailing
    ``%`` divides by 100, as a spreadsheet stores it.
    """
    stripped = f"regexp_replace({value}, '[\\s$€£¥]|USD|EUR|GBP', '', 'g')"
    body = f"regexp_replace({stripped}, '%$', '')"
    if decimal == ",":
        grouped, plain = _GROUPED_COMMA, _PLAIN_COMMA
        cleaned = (
            f"CASE WHEN regexp_full_match({body}, '{grouped}') "
            f"THEN replace(replace({body}, '.', ''), ',', '.') "
            f"WHEN regexp_full_match({body}, '{plain}') THEN replace({body}, ',', '.') END"
        )
    else:
        cleaned = (
            f"CASE WHEN regexp_full_match({body}, '{_GROUPED_DOT}') THEN replace({body}, ',', '') "
            f"WHEN regexp_full_match({body}, '{_PLAIN_DOT}') THEN {body} END"
        )
    scaled = (
        f"TRY_CAST({cleaned} AS DOUBLE) / CASE WHEN ends_with({stripped}, '%') THEN 100 ELSE 1 END"
    )
    if decimal == ",":
        return scaled
    return f"COALESCE({_finite(f'TRY_CAST({value} AS DOUBLE)')}, {scaled})"


def integer_expr(value: str, decimal: str) -> str:
    """A BIGINT; values with a fractional part fail (NULL) rather than being rounded.

    DuckDB's own cast rounds ``'1.5'`` to 2 and reads ``'0x10'`` as 16, so the
    plain cast only counts where the text also reads as the same DOUBLE.
    """
    num = number_expr(value, decimal)
    plain = f"TRY_CAST({value} AS BIGINT)"
    return (
        f"COALESCE(CASE WHEN TRY_CAST({value} AS DOUBLE) = {plain} THEN {plain} END, "
        f"CASE WHEN {num} = round({num}) AND abs({num}) < 9e18 THEN CAST({num} AS BIGINT) END)"
    )


def _day_formats(order: DateOrder) -> tuple[str, ...]:
    if order == "dmy":
        return _DMY + _NAMED
    if order == "mdy":
        return _MDY + _NAMED
    return _NAMED


def date_expr(value: str, order: DateOrder) -> str:
    """A DATE from ISO text, the chosen day/month order, month names or an Excel serial number."""
    raw = f"trim({value})"
    serial = (
        f"CASE WHEN regexp_full_match({raw}, '\\d{{5}}(\\.\\d+)?') "
        f"AND TRY_CAST({raw} AS DOUBLE) BETWEEN {SERIAL_MIN} AND {SERIAL_MAX} "
        f"THEN CAST(DATE '1899-12-30' + CAST(floor(TRY_CAST({raw} AS DOUBLE)) AS INTEGER) AS DATE) END"
    )
    formats = _day_formats(order)
    with_time = tuple(f + t for f in formats for t in _TIME_SUFFIXES)
    return (
        f"COALESCE(TRY_CAST({value} AS DATE), "
        f"CAST(try_strptime({raw}, {_list(formats + with_time)}) AS DATE), {serial})"
    )


def timestamp_expr(value: str, order: DateOrder) -> str:
    """A TIMESTAMP from ISO text, the chosen day/month order (with or without time) or an Excel serial."""
    raw = f"trim({value})"
    formats = _day_formats(order)
    with_time = tuple(f + t for f in formats for t in _TIME_SUFFIXES)
    serial = (
        f"CASE WHEN regexp_full_match({raw}, '\\d{{5}}(\\.\\d+)?') "
        f"AND TRY_CAST({raw} AS DOUBLE) BETWEEN {SERIAL_MIN} AND {SERIAL_MAX} "
        f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(TRY_CAST({raw} AS DOUBLE) * 86400e6 AS BIGINT)) END"
    )
    # A time with an offset (…T23:30-05:00) is converted to UTC; DuckDB's plain cast drops the offset.
    offset = (
        f"CASE WHEN regexp_matches({raw}, '\\d:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?\\s*[+-]\\d{{2}}(:?\\d{{2}})?$') "
        f"THEN timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ)) ELSE TRY_CAST({value} AS TIMESTAMP) END"
    )
    return f"COALESCE({offset}, try_strptime({raw}, {_list(with_time + formats)}), {serial})"


def boolean_expr(value: str) -> str:
    """A BOOLEAN from true/false, yes/no, y/n, 1/0."""
    return (
        f"CASE lower(trim({value})) WHEN 'true' THEN true WHEN 'yes' THEN true WHEN 'y' THEN true "
        f"WHEN '1' THEN true WHEN 'false' THEN false WHEN 'no' THEN false WHEN 'n' THEN false "
        f"WHEN '0' THEN false END"
    )


@dataclass(frozen=True)
class ParsePlan:
    """How one staged column becomes one typed column."""

    source: str
    target: str
    type: ColumnType
    parsed_sql: str  # typed value (NULL when empty or unparseable)
    checked: bool  # whether unparseable values are problems (typed columns)


SQL_TYPES: dict[ColumnType, str] = {
    "text": "VARCHAR",
    "category": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def plan_column(
    source: str, target: str, ctype: ColumnType, decimal: str, order: DateOrder, trim: bool = True
) -> ParsePlan:
    """The SQL that parses staged column ``source`` as ``ctype`` into ``target``.

    ``trim=False`` (the column has no padded or blank values) copies text as it is.
    """
    if ctype in ("text", "category"):
        expr = text_expr(source) if trim else quote_ident(source)
        return ParsePlan(source, target, ctype, expr, False)
    col = quote_ident(source)
    if ctype == "integer":
        parsed = integer_expr(col, decimal)
    elif ctype == "number":
        parsed = number_expr(col, decimal)
    elif ctype == "date":
        parsed = date_expr(col, order)
    elif ctype == "timestamp":
        parsed = timestamp_expr(col, order)
    else:
        parsed = boolean_expr(col)
    return ParsePlan(source, target, ctype, parsed, True)
