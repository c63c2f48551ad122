"""Run a notebook SQL cell: read-only, inside a rolled-back transaction, errors kept.

Two guards keep cells from changing imported data. First, every statement is
classified by DuckDB's own parser and only reads are let through (see
:func:`check_read_only`). Second, the cell runs on its own cursor inside
``BEGIN TRANSACTION ... ROLLBACK``, so a write that slipped past the first guard is
undone.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import duckdb
import pandas as pd

from workbench.errors import QueryError

READ_ONLY_HINT = "Use the Data page to import or delete tables."

READ_PRAGMAS = frozenset(
    {
        "collations",
        "database_list",
        "database_size",
        "functions",
        "metadata_info",
        "platform",
        "show",
        "show_databases",
        "show_tables",
        "show_tables_expanded",
        "storage_info",
        "table_info",
        "user_agent",
        "version",
    }
)
"""PRAGMAs that only report; every other PRAGMA (settings, checkpoints) is refused."""

READ_CALL_PREFIXES = ("pragma_", "duckdb_")
"""``CALL f()`` is allowed for the metadata table functions with these prefixes."""

SIDE_EFFECT_FUNCTIONS = frozenset(
    {
        "checkpoint",
        "force_checkpoint",
        "enable_logging",
        "disable_logging",
        "truncate_duckdb_logs",
        "enable_profiling",
        "disable_profiling",
        "create_external_resource",
        "destroy_external_resource",
        "register_external_resource",
        "deregister_external_resource",
    }
)
"""Table functions that are valid inside a SELECT yet change the workspace or its settings."""

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
_TOKEN = duckdb.token_type
_ALLOWED_TYPES = frozenset(
    {
        duckdb.StatementType.SELECT,  # also SHOW, DESCRIBE, SUMMARIZE, VALUES, FROM-first
        duckdb.StatementType.EXPLAIN,
        duckdb.StatementType.PRAGMA,
        duckdb.StatementType.CALL,
    }
)
_QUERY_WORDS = frozenset({"SELECT", "FROM", "WITH", "PIVOT", "PIVOT_WIDER", "UNPIVOT", "TABLE"})
_VECTOR_SIZE = 2048  # rows per DuckDB vector, the unit of fetch_df_chunk


@dataclass(frozen=True, eq=False)
class CellResult:
    """The outcome of running one SQL cell.

    Attributes:
        ok: True when every statement ran.
        df: The last statement's rows (at most ``max_rows``), or None on error.
        row_count: Total rows of the last statement, even when ``df`` is truncated.
        truncated: True when ``df`` holds fewer rows than ``row_count``.
        error: What went wrong (DuckDB's message or the read-only refusal), else None.
        elapsed_ms: Wall time spent, in milliseconds.
    """

    ok: bool
    df: pd.DataFrame | None
    row_count: int
    truncated: bool
    error: str | None
    elapsed_ms: float


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """Parse a cell and refuse anything that is not a read.

    Allowed: SELECT (including SHOW, DESCRIBE, SUMMARIZE, VALUES and FROM-first
    queries), EXPLAIN of an allowed statement, reporting PRAGMAs (``READ_PRAGMAS``)
    and ``CALL`` of ``pragma_*`` / ``duckdb_*`` metadata functions. Everything else
    (INSERT, UPDATE, DELETE, MERGE, CREATE, DROP, ALTER, COPY, ATTACH, DETACH,
    INSTALL, LOAD, SET, RESET, USE, EXPORT, IMPORT, VACUUM, ANALYZE, CHECKPOINT,
    transactions, PREPARE/EXECUTE, PIVOT that must create types) is refused, as is a
    SELECT from a table function in ``SIDE_EFFECT_FUNCTIONS``.

    Args:
        con: Any connection (only its parser is used).
        sql: The cell's text, one or more statements.

    Returns:
        The parsed statements, in order.

    Raises:
        QueryError: If a statement is not a read (the hint points to the Data page).
        duckdb.Error: If the text does not parse.
    """
    statements = con.extract_statements(sql)
    for position, statement in enumerate(statements, start=1):
        refusal = _refusal(con, statement)
        if refusal is None:
            continue
        where = f" (statement {position})" if len(statements) > 1 else ""
        if statement.type == duckdb.StatementType.MULTI and refusal in _QUERY_WORDS:
            # A PIVOT whose values DuckDB must look up first creates an ENUM type.
            raise QueryError(
                f"Notebook cells are read-only: this PIVOT{where} would first create a "
                "type in the workspace.",
                "List the values to pivot on, for example "
                "PIVOT tickets ON priority IN ('high', 'low') USING count(*).",
            )
        raise QueryError(
            f"Notebook cells are read-only: {refusal}{where} would change the workspace.",
            READ_ONLY_HINT,
        )
    return statements


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int = 10_000) -> CellResult:
    """Run a cell's SQL and keep the last statement's result.

    Statements run in order on a fresh cursor inside a transaction that is always
    rolled back. At most ``max_rows`` rows are fetched; when there are more, the
    total is counted by DuckDB (``SELECT count(*) FROM (...)``) instead of being
    fetched. Errors never raise: they come back in ``CellResult.error``.

    Args:
        con: The workspace connection (a cursor is taken from it, so a shared,
            cached connection is fine).
        sql: The cell's text.
        max_rows: Most rows to return in ``df``.

    Returns:
        The result, or the error, with the time taken.
    """
    started = time.perf_counter()

    def failed(message: str) -> CellResult:
        return CellResult(False, None, 0, False, message, _elapsed_ms(started))

    try:
        statements = check_read_only(con, sql)
    except QueryError as exc:
        return failed(f"{exc.message} {exc.hint}")
    except duckdb.Error as exc:
        return failed(str(exc))
    if not statements:
        return failed("This cell has no SQL statement to run.")

    try:
        cur = con.cursor()
    except duckdb.Error as exc:
        return failed(str(exc))
    try:
        cur.execute("BEGIN TRANSACTION")
        for statement in statements[:-1]:
            # The next execute closes this result; nothing is left half read.
            cur.execute(statement)
        last = statements[-1]
        cur.execute(last)
        df, row_count = _fetch(cur, last, max(max_rows, 0))
    except duckdb.Error as exc:
        return failed(str(exc))
    except Exception as exc:  # e.g. a result type pandas cannot hold; the cell keeps it
        return failed(f"{type(exc).__name__}: {exc}")
    finally:
        _rollback_and_close(cur)
    return CellResult(
        ok=True,
        df=df,
        row_count=row_count,
        truncated=df is not None and row_count > len(df),
        error=None,
        elapsed_ms=_elapsed_ms(started),
    )


def _fetch(
    cur: duckdb.DuckDBPyConnection, statement: duckdb.Statement, max_rows: int
) -> tuple[pd.DataFrame | None, int]:
    if cur.description is None:
        return None, 0
    date_columns = [d[0] for d in cur.description if str(d[1]) == "DATE"]
    vectors = max(1, min(64, -(-(max_rows + 1) // _VECTOR_SIZE)))
    chunks: list[pd.DataFrame] = []
    fetched = 0
    while fetched <= max_rows:
        chunk = cur.fetch_df_chunk(vectors)
        if not chunks or len(chunk):
            chunks.append(chunk)  # keep the first (possibly empty) chunk for its columns
        if len(chunk) == 0:
            break
        fetched += len(chunk)
    whole = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    for name in date_columns:  # pandas reads DATE as midnight timestamps; show them as dates
        if name in whole.columns and pd.api.types.is_datetime64_any_dtype(whole[name]):
            whole[name] = whole[name].dt.date
    if fetched <= max_rows:
        return whole, fetched
    df = whole.iloc[:max_rows].reset_index(drop=True)
    return df, _total_rows(cur, statement, fetched)


def _total_rows(cur: duckdb.DuckDBPyConnection, statement: duckdb.Statement, fetched: int) -> int:
    """Count the whole result without fetching it, falling back to reading it through."""
    if statement.type == duckdb.StatementType.SELECT:
        try:
            # Running the count closes the half-read result on this cursor.
            row = cur.execute(
                f"SELECT count(*) FROM (\n{_statement_body(statement.query)}\n)"
            ).fetchone()
            return int(row[0]) if row else fetched
        except duckdb.Error:
            cur.execute(statement)
            fetched = 0
    while len(chunk := cur.fetch_df_chunk(64)):
        fetched += len(chunk)
    return fetched


def _statement_body(text: str) -> str:
    """Statement text without the trailing ``;`` and comments the splitter leaves on it."""
    tokens = duckdb.tokenize(text)
    last = None
    for index, (position, kind) in enumerate(tokens):
        if kind != _TOKEN.comment and not (kind == _TOKEN.operator and text[position] == ";"):
            last = index
    if last is None or last + 1 >= len(tokens):
        return text
    return text[: tokens[last + 1][0]]


def _rollback_and_close(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # BEGIN itself failed, so there is nothing to undo
    finally:
        cur.close()


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- classification ---------------------------------------------------------------------


def _refusal(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> str | None:
    """Why a statement is refused (its leading keywords), or None when it is a read."""
    text = statement.query
    tokens = [(pos, kind) for pos, kind in duckdb.tokenize(text) if kind != _TOKEN.comment]
    leading = _word_at(text, tokens[0][0]).upper() if tokens else statement.type.name
    if statement.type not in _ALLOWED_TYPES:
        return leading or statement.type.name
    if statement.type == duckdb.StatementType.EXPLAIN:
        return _explain_refusal(con, text, tokens)
    if statement.type in (duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL):
        # CHECKPOINT parses as a CALL; only the spelled-out forms are reads.
        name = _word_at(text, tokens[1][0]).lower() if len(tokens) > 1 else ""
        if leading == "PRAGMA" and name in READ_PRAGMAS:
            return None
        if leading == "CALL" and name.startswith(READ_CALL_PREFIXES):
            return None
        return f"{leading} {name}".strip()
    for index, (position, kind) in enumerate(tokens[:-1]):
        if kind in (_TOKEN.identifier, _TOKEN.keyword):
            name = _word_at(text, position).lower()
            follower = tokens[index + 1][0]
            if name in SIDE_EFFECT_FUNCTIONS and text[follower] == "(":
                return f"{name}()"
    return None


def _explain_refusal(
    con: duckdb.DuckDBPyConnection, text: str, tokens: list[tuple[int, duckdb.token_type]]
) -> str | None:
    """Refuse EXPLAIN [ANALYZE] [(options)] unless the explained statement is a read.

    ``EXPLAIN ANALYZE`` really runs the statement, so the inner one is checked too.
    """
    index = 1
    if index < len(tokens) and _word_at(text, tokens[index][0]).upper() in ("ANALYZE", "ANALYSE"):
        index += 1
    if index < len(tokens) and text[tokens[index][0]] == "(":
        depth = 0
        while index < len(tokens):
            char = text[tokens[index][0]]
            depth += char == "("
            depth -= char == ")"
            index += 1
            if depth == 0:
                break
    if index >= len(tokens):
        return None
    inner = con.extract_statements(text[tokens[index][0] :])
    if len(inner) != 1:
        return "EXPLAIN"
    refusal = _refusal(con, inner[0])
    return None if refusal is None else f"EXPLAIN {refusal}"


def _word_at(text: str, position: int) -> str:
    """The word at ``position``; a double-quoted identifier is unquoted (``"checkpoint"`` -> checkpoint)."""
    if text.startswith('"', position):
        match = _QUOTED.match(text, position)
        return match.group(1).replace('""', '"') if match else ""
    match = _WORD.match(text, position)
    return match.group(0) if match else ""
