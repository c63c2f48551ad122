"""The direct path for clean CSV files: DuckDB parses the typed columns while reading.

A clean export (UTF-8, '.' decimals, plain numbers, ISO dates) does not need
the general path's text staging: its typed columns can be declared to
``read_csv`` so the file is read and written once, like DuckDB's own import.
Any doubt sends the file back to the general path, which gives the full
report with rows and values:

* the ~1 MB sample is not plain (dialect, values that need cleaning, null
  words, day/month dates, too few columns, boolean columns);
* DuckDB fails to parse a value further down, or finds fewer rows than the
  sample shows;
* any row-level problem (missing required value, repeated key).

Both paths produce the same table; a test imports the same files both ways.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from workbench.ingest import consistency, validate
from workbench.ingest.commit import swap_in, table_exists
from workbench.ingest.csv_reader import CsvLayout, layout_csv, read_options
from workbench.ingest.kinds import get_kind
from workbench.ingest.mapping import Mapping, check_mapping, suggest_mapping
from workbench.ingest.options import ImportOptions
from workbench.ingest.parse import SQL_TYPES, present_expr
from workbench.ingest.report import ValidationReport
from workbench.ingest.staged import StagedTable
from workbench.storage.sql import qualified, quote_ident

SAMPLE_ROWS = 5000
PLAIN_TYPES = ("integer", "number", "date", "timestamp")


class NotDirect(Exception):
    """The file needs the general path (the reason is for tests and debugging)."""


def _sample(
    con: duckdb.DuckDBPyConnection, path: Path, table: str
) -> tuple[StagedTable, CsvLayout]:
    layout = layout_csv(path)
    d = layout.dialect
    if d.encoding not in ("utf-8", "utf-8-sig") or d.decimal != "." or len(layout.columns) <= 2:
        raise NotDirect("dialect")
    options, params = read_options(d, dict.fromkeys(layout.columns, "VARCHAR"))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS "
            f"SELECT * FROM read_csv(?, {options}) LIMIT {SAMPLE_ROWS}",
            [str(path), *params],
        )
    except duckdb.Error as exc:
        raise NotDirect("sample read") from exc
    n = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]
    if n == 0:
        raise NotDirect("no rows")
    staged = StagedTable(
        table=table,
        columns=layout.columns,
        row_expr=f"(rowid + {d.header_line + 1})",
        n_rows=int(n),
        file_name=path.name,
        sheet=None,
        header_row=d.header_line,
        decimal=d.decimal,
        encoding=d.encoding,
        delimiter=d.delimiter,
    )
    return staged, layout


def _check_sample_is_plain(
    con: duckdb.DuckDBPyConnection, sample: StagedTable, plan: validate.Plan
) -> None:
    """Every typed value in the sample casts as it is; no null words, no padded text."""
    checks = []
    for p in plan.columns:
        c = quote_ident(p.source)
        if p.type in PLAIN_TYPES:
            checks.append(
                f"count(*) FILTER (WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {SQL_TYPES[p.type]}) IS NULL)"
            )
            checks.append(f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {present_expr(c)})")
        elif p.type == "boolean":
            raise NotDirect("boolean column")
    if not checks:
        return
    row = con.execute(f"SELECT {', '.join(checks)} FROM {quote_ident(sample.table)}").fetchall()[0]
    if any(row):
        raise NotDirect("sample values need the general path")


def _trim_text(con: duckdb.DuckDBPyConnection, table: str, plan: validate.Plan) -> None:
    """Text columns: trim padded values and turn blanks into NULL, as the general path does."""
    texts = [p.target for p in plan.columns if p.type in ("text", "category")]
    if not texts:
        return
    padded = [
        f"count(*) FILTER (WHERE starts_with({quote_ident(t)}, ' ') OR ends_with({quote_ident(t)}, ' ') "
        f"OR {quote_ident(t)} = '')"
        for t in texts
    ]
    counts = con.execute(f"SELECT {', '.join(padded)} FROM {table}").fetchall()[0]
    for target, n in zip(texts, counts, strict=True):
        if n:
            c = quote_ident(target)
            con.execute(
                f"UPDATE {table} SET {c} = NULLIF(trim({c}), '') "
                f"WHERE starts_with({c}, ' ') OR ends_with({c}, ' ') OR {c} = ''"
            )


def import_direct(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    options: ImportOptions,
    mapping: Mapping | None,
    file_sha256: str,
) -> tuple[ValidationReport, Mapping, int, int, int]:
    """Import a clean CSV in one typed read, or raise NotDirect having changed nothing.

    Returns the report, the mapping used, rows imported, rows in the table and the history id.
    """
    kind = get_kind(options.kind)
    sample_table = f"__sample_{uuid.uuid4().hex[:10]}"
    sample, layout = _sample(con, path, sample_table)
    try:
        if mapping is None:
            values = con.execute(f"SELECT * FROM {quote_ident(sample_table)} LIMIT 200").df()
            samples = {
                c: [v for v in values[c].tolist() if isinstance(v, str)] for c in sample.columns
            }
            mapping = suggest_mapping(kind, sample.columns, samples).mapping
        check_mapping(kind, mapping, sample.columns)
        if any(c not in mapping.assignments for c in kind.required):
            raise NotDirect("required column not mapped")
        plan, order_problems = validate.build_plan(con, sample, kind, mapping, options.date_order)
        if order_problems:
            raise NotDirect("dates need an order")
        _check_sample_is_plain(con, sample, plan)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(sample_table)}")

    types = {c: "VARCHAR" for c in sample.columns}
    for p in plan.columns:
        if p.type in PLAIN_TYPES:
            types[p.source] = SQL_TYPES[p.type]
    read_opts, params = read_options(layout.dialect, types)
    select = ", ".join(f"{quote_ident(p.source)} AS {quote_ident(p.target)}" for p in plan.columns)
    candidate = qualified("main", f"__import_{uuid.uuid4().hex[:10]}")
    target = qualified("main", kind.name)
    offset = layout.dialect.header_line + 1
    con.execute("BEGIN TRANSACTION")
    try:
        try:
            con.execute(
                f"CREATE TABLE {candidate} AS SELECT {select} FROM read_csv(?, {read_opts})",
                [str(path), *params],
            )
        except duckdb.Error as exc:
            raise NotDirect("a value further down needs the general path") from exc
        n_rows = int(con.execute(f"SELECT count(*) FROM {candidate}").fetchall()[0][0])
        if n_rows < layout.expected or n_rows == 0:
            raise NotDirect("row count")
        required = [quote_ident(c) for c in kind.required]
        missing = con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in required)
            + f" FROM {candidate}"
        ).fetchall()[0]
        if any(missing):
            raise NotDirect("missing required values")
        if kind.key and set(kind.key) <= {p.target for p in plan.columns}:
            key = ", ".join(quote_ident(k) for k in kind.key)
            repeats = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {candidate} GROUP BY {key} HAVING count(*) > 1)"
            ).fetchall()[0][0]
            if repeats:
                raise NotDirect("repeated keys")
            exists = table_exists(con, kind.name)
            if options.mode == "append" and exists:
                on = " AND ".join(f"c.{quote_ident(k)} = t.{quote_ident(k)}" for k in kind.key)
                clash = con.execute(
                    f"SELECT count(*) FROM {candidate} c WHERE EXISTS (SELECT 1 FROM {target} t WHERE {on})"
                ).fetchall()[0][0]
                if clash:
                    raise NotDirect("keys already in the table")
        # Extra columns were typed from the sample: a value further down that does not fit
        # made read_csv fail above (general path); a sample value that does not fit kept it text.
        _trim_text(con, candidate, plan)
        exists = table_exists(con, kind.name)
        cats, unify = consistency.category_problems(
            con,
            sample,
            kind,
            plan,
            candidate,
            target if exists else None,
            row_sql=f"(rowid + {offset})",
        )
        if options.unify_categories and unify:
            consistency.apply_unify(con, candidate, unify)
        staged = StagedTable(
            table=candidate,
            columns=sample.columns,
            row_expr=f"(rowid + {offset})",
            n_rows=n_rows,
            file_name=path.name,
            sheet=None,
            header_row=layout.dialect.header_line,
            decimal=layout.dialect.decimal,
            encoding=layout.dialect.encoding,
            delimiter=layout.dialect.delimiter,
        )
        report = ValidationReport(
            file=path.name,
            sheet=None,
            kind=kind.name,
            rows_in_file=n_rows,
            problems=tuple(cats),
            date_order=plan.date_order,
            notes=plan.notes,
            column_types={p.target: p.type for p in plan.columns},
        )
        imported, in_table, import_id = swap_in(
            con,
            candidate=candidate,
            kind=kind,
            options=options,
            staged=staged,
            mapping=mapping,
            date_order=plan.date_order,
            file_sha256=file_sha256,
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return report, mapping, imported, in_table, import_id
