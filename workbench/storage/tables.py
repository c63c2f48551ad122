"""The imported tables: list, profile, preview and delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.errors import NotFound
from workbench.storage.sql import qualified, quote_ident


@dataclass(frozen=True)
class TableInfo:
    """One user table in the workspace."""

    name: str
    kind: str | None
    rows: int
    columns: int
    updated_at: datetime | None


def list_tables(con: duckdb.DuckDBPyConnection) -> list[TableInfo]:
    """User tables (schema main, not internal), with row and column counts."""
    rows = con.execute(
        "SELECT t.table_name, w.kind, t.estimated_size, t.column_count, w.updated_at "
        "FROM duckdb_tables() t LEFT JOIN wb.tables w ON w.table_name = t.table_name "
        "WHERE t.schema_name = 'main' AND t.database_name = current_database() AND NOT t.temporary "
        "AND NOT starts_with(t.table_name, '_') ORDER BY t.table_name"
    ).fetchall()
    infos = []
    for name, kind, _, ncols, updated in rows:
        count = con.execute(f"SELECT count(*) FROM {qualified('main', name)}").fetchall()[0][0]
        infos.append(TableInfo(name, kind, int(count), int(ncols), updated))
    return infos


def require_table(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The quoted name of an existing user table, or NotFound listing the tables."""
    names = [t.name for t in list_tables(con)]
    if name not in names:
        raise NotFound(
            f"There is no table '{name}' in this workspace.",
            f"Tables: {', '.join(names) or 'none yet — import a file first'}.",
        )
    return qualified("main", name)


def preview(con: duckdb.DuckDBPyConnection, name: str, limit: int = 200) -> pd.DataFrame:
    """The first rows of a table (DATE columns as dates, not midnight timestamps)."""
    table = require_table(con, name)
    df = con.execute(f"SELECT * FROM {table} LIMIT ?", [limit]).df()
    return dates_as_dates(con, table, df)


def dates_as_dates(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> pd.DataFrame:
    """pandas reads DuckDB DATE as datetime64; turn those columns back into plain dates."""
    for col, typ, *_ in con.execute(f"DESCRIBE {table}").fetchall():
        if typ == "DATE" and col in df.columns:
            df[col] = df[col].dt.date
    return df


def profile(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Per column: type, non-empty count, empty share, distinct values, min, max, most common value."""
    table = require_table(con, name)
    cols = con.execute(f"DESCRIBE {table}").fetchall()
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    out = []
    for col_name, col_type, *_ in cols:
        c = quote_ident(col_name)
        stats = con.execute(
            f"SELECT count({c}), count(DISTINCT {c}), min({c}), max({c}), mode({c}) FROM {table}"
        ).fetchall()[0]
        non_null = int(stats[0])
        all_unique = non_null > 0 and int(stats[1]) == non_null
        out.append(
            {
                "column": col_name,
                "type": col_type,
                "filled": non_null,
                "empty %": round(100 * (total - non_null) / total, 1) if total else 0.0,
                "distinct": int(stats[1]),
                "min": _shown(stats[2]),
                "max": _shown(stats[3]),
                "most common": "(all different)" if all_unique else _shown(stats[4]),
            }
        )
    return pd.DataFrame(out)


def _shown(value: object) -> str:
    """A profile value as text: 1,500,000 not 1500000.0; dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def drop_table(con: duckdb.DuckDBPyConnection, name: str, *, actor: str = "local user") -> int:
    """Delete a table and record it in the history and the audit log, atomically.

    Returns the rows it had.
    """
    table = require_table(con, name)
    con.execute("BEGIN TRANSACTION")
    try:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        next_id = con.execute(
            "SELECT coalesce(max(import_id), 0) + 1 FROM wb.import_history"
        ).fetchall()[0][0]
        kind = con.execute("SELECT kind FROM wb.tables WHERE table_name = ?", [name]).fetchall()
        con.execute(
            "INSERT INTO wb.import_history VALUES (?, now()::TIMESTAMP, ?, ?, 'delete', '', '', NULL, "
            "'{}', '{}', 0, 0, 0, 0)",
            [next_id, name, kind[0][0] if kind else ""],
        )
        con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM wb.tables WHERE table_name = ?", [name])
        detail = {"import_id": next_id, "table": name, "mode": "delete", "rows": rows}
        audit.record(con, "import", f"table {name} deleted", detail, actor)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(rows)
