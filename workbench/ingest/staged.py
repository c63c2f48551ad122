"""The result of reading a file: a DuckDB temp table of text plus what was detected."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb

from workbench.storage.sql import quote_ident, quote_literal

__all__ = ["StagedTable", "quote_ident", "quote_literal", "sample_values", "unique_names"]


@dataclass(frozen=True)
class StagedTable:
    """A file loaded as-is into a DuckDB TEMP table, every column VARCHAR.

    Attributes:
        table: Name of the DuckDB TEMP table holding the data.
        columns: Staged column names in file order; unique (case-insensitively)
            and non-empty. Excludes helper columns such as ``_row``.
        row_expr: SQL expression giving the row number the user sees in the
            source file, for example ``(rowid + 2)`` for a CSV whose header is
            on line 1, or ``"_row"`` for a spreadsheet.
        n_rows: Number of staged data rows.
        file_name: Base name of the file, for messages.
        sheet: Spreadsheet sheet name; None for CSV.
        header_row: 1-based row (or line) number of the header.
        decimal: Decimal separator detected for numbers, ``.`` or ``,``.
        encoding: Encoding detected for CSV; None for spreadsheets.
        delimiter: Field delimiter for CSV; None for spreadsheets.
        notes: Sentences describing what was detected, for the user.
    """

    table: str
    columns: tuple[str, ...]
    row_expr: str
    n_rows: int
    file_name: str
    sheet: str | None
    header_row: int
    decimal: str
    encoding: str | None
    delimiter: str | None
    notes: tuple[str, ...] = ()


def unique_names(
    raw: Iterable[object],
    empty_name: Callable[[int], str],
    reserved: Iterable[str] = (),
) -> tuple[str, ...]:
    """Turn header cells into unique, non-empty column names.

    DuckDB column names are case-insensitive, so ``Name`` and ``name`` clash;
    the later one becomes ``name (2)``.

    Args:
        raw: Header cells in file order (None or blank for a missing name).
        empty_name: Name for a blank header cell, given its 0-based position.
        reserved: Names already taken (for example a helper column).

    Returns:
        Names with whitespace runs (including line breaks inside a header
        cell) collapsed to one space and trimmed, blanks replaced by
        ``empty_name(i)``, repeats suffixed `` (2)``, `` (3)``, ...
    """
    taken = {name.casefold() for name in reserved}
    names: list[str] = []
    for i, cell in enumerate(raw):
        base = "" if cell is None else " ".join(str(cell).split())
        if not base:
            base = empty_name(i)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base} ({n})"
        taken.add(name.casefold())
        names.append(name)
    return tuple(names)


def sample_values(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, n: int = 200
) -> dict[str, list[str]]:
    """Up to ``n`` values per column, for mapping suggestions and kind guesses."""
    df = con.execute(f"SELECT * FROM {quote_ident(staged.table)} LIMIT {int(n)}").df()
    return {c: [v for v in df[c].tolist() if isinstance(v, str)] for c in staged.columns if c in df}
