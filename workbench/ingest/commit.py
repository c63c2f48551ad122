"""The last step of an import: swap the candidate in (or append it) and record the history.

Runs inside the caller's transaction, so the table, its history entry and its audit
entry change together or not at all.
"""

from __future__ import annotations

import duckdb

from workbench import audit
from workbench.errors import WorkbenchError
from workbench.ingest.kinds import DatasetKind
from workbench.ingest.mapping import Mapping
from workbench.ingest.options import ImportOptions
from workbench.ingest.staged import StagedTable
from workbench.storage import history
from workbench.storage.sql import qualified, quote_ident


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a user table ``main.name`` exists."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ? "
        "AND NOT temporary",
        [name],
    ).fetchall()
    return bool(rows[0][0])


# (table type, file type) -> the type the table column becomes so no value is rounded or cut.
_WIDEN = {
    ("BIGINT", "DOUBLE"): "DOUBLE",
    ("DATE", "TIMESTAMP"): "TIMESTAMP",
    ("BIGINT", "VARCHAR"): "VARCHAR",
    ("DOUBLE", "VARCHAR"): "VARCHAR",
    ("DATE", "VARCHAR"): "VARCHAR",
    ("TIMESTAMP", "VARCHAR"): "VARCHAR",
    ("BOOLEAN", "VARCHAR"): "VARCHAR",
}
# Pairs that insert without loss as they are.
_FITS = {("DOUBLE", "BIGINT"), ("TIMESTAMP", "DATE")} | {
    ("VARCHAR", t) for t in ("BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN")
}


def append_rows(con: duckdb.DuckDBPyConnection, candidate: str, target: str, name: str) -> None:
    """Append by column name, adding columns the table lacks.

    A column whose type differs is widened in the table when that loses
    nothing (whole numbers to decimals, dates to timestamps, anything to
    text); other clashes are refused with both types named. DuckDB's implicit
    cast would otherwise round 7.6 into a BIGINT column as 8.
    """
    have = {r[0]: r[1] for r in con.execute(f"DESCRIBE {target}").fetchall()}
    new = {r[0]: r[1] for r in con.execute(f"DESCRIBE {candidate}").fetchall()}
    clashes = []
    for col, typ in new.items():
        if col not in have:
            con.execute(f"ALTER TABLE {target} ADD COLUMN {quote_ident(col)} {typ}")
        elif have[col] != typ and (have[col], typ) not in _FITS:
            wider = _WIDEN.get((have[col], typ))
            if wider is None:
                clashes.append(f"{col} ({typ} in the file, {have[col]} in the table)")
            else:
                con.execute(
                    f"ALTER TABLE {target} ALTER COLUMN {quote_ident(col)} SET DATA TYPE {wider}"
                )
    if clashes:
        raise WorkbenchError(
            f"Cannot append to table '{name}': column types differ: {', '.join(clashes)}.",
            "Replace the table instead, or fix the file so these columns hold the same kind of values.",
        )
    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {candidate}")
    con.execute(f"DROP TABLE {candidate}")


def swap_in(
    con: duckdb.DuckDBPyConnection,
    *,
    candidate: str,
    kind: DatasetKind,
    options: ImportOptions,
    staged: StagedTable,
    mapping: Mapping,
    date_order: str,
    file_sha256: str,
) -> tuple[int, int, int]:
    """Make the candidate the table (replace) or add it (append); record history and audit.

    Returns rows imported, rows now in the table, and the history id.
    """
    target = qualified("main", kind.name)
    imported = int(con.execute(f"SELECT count(*) FROM {candidate}").fetchall()[0][0])
    existed = table_exists(con, kind.name)
    if options.mode == "append" and existed:
        append_rows(con, candidate, target, kind.name)
    else:
        con.execute(f"DROP TABLE IF EXISTS {target}")
        con.execute(f"ALTER TABLE {candidate} RENAME TO {quote_ident(kind.name)}")
    in_table = int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])
    mode = options.mode if existed else "create"
    import_id = history.record_import(
        con,
        table_name=kind.name,
        kind=kind.name,
        mode=mode,
        file_name=staged.file_name,
        file_sha256=file_sha256,
        sheet=staged.sheet,
        mapping=mapping.to_json_dict(),
        options={
            "date_order": date_order,
            "decimal": staged.decimal,
            "encoding": staged.encoding,
            "delimiter": staged.delimiter,
            "header_row": staged.header_row,
            "skip_bad_rows": options.skip_bad_rows,
            "unify_categories": options.unify_categories,
            "profile": options.profile,
        },
        rows_in_file=staged.n_rows,
        rows_imported=imported,
        rows_skipped=staged.n_rows - imported,
        rows_in_table=in_table,
    )
    audit.record(
        con,
        "import",
        f"{staged.file_name} into table {kind.name}",
        {
            "import_id": import_id,
            "table": kind.name,
            "kind": kind.name,
            "mode": mode,
            "file": staged.file_name,
            "sheet": staged.sheet,
            "sha256": file_sha256,
            "rows_in_file": staged.n_rows,
            "rows_imported": imported,
            "rows_skipped": staged.n_rows - imported,
            "rows_in_table": in_table,
            "profile": options.profile,
        },
        options.actor,
    )
    return imported, in_table, import_id
