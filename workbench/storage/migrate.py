"""Versioned schema migrations: ``migrations/NNNN_name.sql`` applied in order, once each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """All migration files shipped with the package, in version order."""
    folder = resources.files("workbench.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"Duplicate migration versions: {versions}")
    return found


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration version (0 for a new workspace)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS main._schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM main._schema_migrations").fetchall()
    return int(row[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    applied = []
    have = current_version(con)
    for mig in available_migrations():
        if mig.version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(mig.sql)
            con.execute(
                "INSERT INTO main._schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [mig.version, mig.name],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(mig.name)
    return applied
