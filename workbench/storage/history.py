"""Import history: one row per import or deletion, written in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd


@dataclass(frozen=True)
class ImportRecord:
    """One history entry."""

    import_id: int
    imported_at: datetime
    table_name: str
    kind: str
    mode: str
    file_name: str
    file_sha256: str
    sheet: str | None
    rows_imported: int
    rows_in_table: int


def record_import(
    con: duckdb.DuckDBPyConnection,
    *,
    table_name: str,
    kind: str,
    mode: str,
    file_name: str,
    file_sha256: str,
    sheet: str | None,
    mapping: dict[str, object],
    options: dict[str, object],
    rows_in_file: int,
    rows_imported: int,
    rows_skipped: int,
    rows_in_table: int,
) -> int:
    """Append a history row (call inside the import's transaction). Returns its id."""
    next_id = con.execute(
        "SELECT coalesce(max(import_id), 0) + 1 FROM wb.import_history"
    ).fetchall()[0][0]
    con.execute(
        "INSERT INTO wb.import_history VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            next_id,
            table_name,
            kind,
            mode,
            file_name,
            file_sha256,
            sheet,
            json.dumps(mapping, sort_keys=True),
            json.dumps(options, sort_keys=True, default=str),
            rows_in_file,
            rows_imported,
            rows_skipped,
            rows_in_table,
        ],
    )
    con.execute(
        "INSERT INTO wb.tables VALUES (?, ?, now()::TIMESTAMP, now()::TIMESTAMP) "
        "ON CONFLICT (table_name) DO UPDATE SET kind = excluded.kind, updated_at = excluded.updated_at",
        [table_name, kind],
    )
    return int(next_id)


def history_display(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The history with readable column names, for people (newest first)."""
    df = history_frame(con)
    out = pd.DataFrame(
        {
            "when": df["imported_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "table": df["table_name"],
            "action": df["mode"].map(
                {
                    "create": "created",
                    "replace": "replaced",
                    "append": "appended",
                    "delete": "deleted",
                }
            ),
            "file": df["file_name"].where(df["mode"] != "delete", ""),
            "sheet": df["sheet"].fillna(""),
            "rows in file": df["rows_in_file"].astype("Int64").where(df["mode"] != "delete"),
            "imported": df["rows_imported"].astype("Int64").where(df["mode"] != "delete"),
            "left out": df["rows_skipped"].astype("Int64").where(df["mode"] != "delete"),
            "rows after": df["rows_in_table"],
            "sha256": df["file_sha256"].str.slice(0, 12),
        }
    )
    return out


def history_frame(con: duckdb.DuckDBPyConnection, table_name: str | None = None) -> pd.DataFrame:
    """Import history, newest first, optionally for one table."""
    where, params = ("WHERE table_name = ?", [table_name]) if table_name else ("", [])
    return con.execute(
        "SELECT import_id, imported_at, table_name, kind, mode, file_name, sheet, rows_in_file, "
        "rows_imported, rows_skipped, rows_in_table, file_sha256, mapping_json, options_json "
        f"FROM wb.import_history {where} ORDER BY import_id DESC",
        params,
    ).df()


def last_import(con: duckdb.DuckDBPyConnection) -> ImportRecord | None:
    """The most recent history entry, or None."""
    rows = con.execute(
        "SELECT import_id, imported_at, table_name, kind, mode, file_name, file_sha256, sheet, "
        "rows_imported, rows_in_table FROM wb.import_history ORDER BY import_id DESC LIMIT 1"
    ).fetchall()
    return ImportRecord(*rows[0]) if rows else None


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """Changes with every import, deletion and reset: a cache key for anything read from tables."""
    rows = con.execute(
        "SELECT count(*), max(import_id), CAST(max(imported_at) AS VARCHAR) FROM wb.import_history"
    ).fetchall()
    return "/".join(str(v) for v in rows[0])
