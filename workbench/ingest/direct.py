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
from dataclasses import replace
from pathlib import Path

import duckdb

from workbench.ingest import consistency, validate
from workbench.ingest.commit import swap_in, table_exists
from workbench.ingest.csv_reader import CsvLayout, detection_notes, layout_csv, read_options
from workbench.ingest.kinds import get_kind
from workbench.ingest.mapping import Mapping, check_mapping, suggest_mapping
from workbench.ingest.options import ImportOptions
from workbench.ingest.parse import SQL_TYPES, ParsePlan, plan_column
from workbench.ingest.report import ValidationReport
from workbench.ingest.staged import StagedTable, sample_values
from workbench.storage.sql import qualified, quote_ident

SAMPLE_ROWS = 5000
NATIVE_TYPES = ("number", "integer", "date")


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
        n = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]
        if n == 0:
            raise NotDirect("no rows")
    except BaseException as exc:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        if isinstance(exc, duckdb.Error):
            raise NotDirect("sample read") from exc
        raise
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


def _failures(con: duckdb.DuckDBPyConnection, table: str, plans: list[ParsePlan]) -> int:
    """Cells with a value that the general path's parsing cannot read (or reads as empty)."""
    if not plans:
        return 0
    counts = ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(p.source)} IS NOT NULL AND ({p.parsed_sql}) IS NULL)"
        for p in plans
    )
    return sum(con.execute(f"SELECT {counts} FROM {table}").fetchall()[0])


def _not_finite(con: duckdb.DuckDBPyConnection, table: str, plans: list[ParsePlan]) -> int:
    """Values DuckDB read that the general path would not.

    NaN or infinity ('nan', 'inf'), and fractions or out-of-range values in
    integer columns (which are read as DOUBLE).
    """
    conds = []
    for p in plans:
        c = quote_ident(p.target)
        if p.type == "number":
            conds.append(f"count(*) FILTER (WHERE NOT isfinite({c}))")
        elif p.type == "integer":
            conds.append(
                f"count(*) FILTER (WHERE NOT isfinite({c}) OR {c} <> round({c}) OR abs({c}) >= 9e18)"
            )
    if not conds:
        return 0
    return sum(con.execute(f"SELECT {', '.join(conds)} FROM {table}").fetchall()[0])


def _trim_text(con: duckdb.DuckDBPyConnection, table: str, texts: list[str]) -> None:
    """Text columns: trim padded values and turn blanks into NULL, as the general path does."""
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
    guesses: tuple[str, ...] = ()
    sample_table = f"__sample_{uuid.uuid4().hex[:10]}"
    sample, layout = _sample(con, path, sample_table)
    try:
        if mapping is None:
            suggestion = suggest_mapping(kind, sample.columns, sample_values(con, sample))
            mapping = suggestion.mapping
            guesses = tuple(suggestion.guess_notes())
        check_mapping(kind, mapping, sample.columns)
        if any(c not in mapping.assignments for c in kind.required):
            raise NotDirect("required column not mapped")
        plan, order_problems = validate.build_plan(con, sample, kind, mapping, options.date_order)
        if order_problems:
            raise NotDirect("dates need an order")
        if any(p.type == "boolean" for p in plan.columns):
            raise NotDirect("boolean column")
        if _failures(con, quote_ident(sample_table), [p for p in plan.columns if p.checked]):
            raise NotDirect("sample values need the general path")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(sample_table)}")

    mapped = [p for p in plan.columns if p.target in {c.name for c in kind.columns}]
    extras = [p for p in plan.columns if p not in mapped]
    # DuckDB's reader parses DOUBLE and DATE as the general path's first, plain cast does
    # (anything else fails the read: general path). It would round '1.5' into a BIGINT, so
    # integers are read as DOUBLE, checked to be whole and narrowed; it drops time-zone
    # offsets, so timestamps (like extra columns) are read as text and converted below.
    native = [p for p in mapped if p.type in NATIVE_TYPES]
    types = dict.fromkeys(sample.columns, "VARCHAR")
    for p in native:
        types[p.source] = "DOUBLE" if p.type == "integer" else SQL_TYPES[p.type]
    read_opts, params = read_options(layout.dialect, types)
    select = ", ".join(f"{quote_ident(p.source)} AS {quote_ident(p.target)}" for p in plan.columns)
    candidate = qualified("main", f"__import_{uuid.uuid4().hex[:10]}")
    target = qualified("main", kind.name)
    con.execute("BEGIN TRANSACTION")
    try:
        try:
            con.execute(
                f"CREATE TABLE {candidate} AS SELECT {select} FROM read_csv(?, {read_opts})",
                [str(path), *params],
            )
        except duckdb.Error as exc:
            raise NotDirect("the file needs the general reader") from exc
        n_rows = int(con.execute(f"SELECT count(*) FROM {candidate}").fetchall()[0][0])
        if n_rows < layout.expected or n_rows == 0:
            raise NotDirect("row count")
        # The same parsing as the general path, on the column in place: every typed
        # value must read (else the general path reports it), then the column is converted.
        typed = [
            plan_column(p.target, p.target, p.type, sample.decimal, plan.date_order)
            for p in mapped
            if p.checked and p not in native
        ]
        if _failures(con, candidate, typed) or _not_finite(con, candidate, native):
            raise NotDirect("a value further down needs the general path")
        extra_types, _ = validate.column_stats(con, candidate, [p.target for p in extras], [])
        typed += [
            plan_column(t, t, ctype, sample.decimal, plan.date_order)  # type: ignore[arg-type]
            for t, ctype in extra_types.items()
            if ctype != "text"
        ]
        for p in native:
            if p.type == "integer":
                c = quote_ident(p.target)
                con.execute(
                    f"ALTER TABLE {candidate} ALTER COLUMN {c} SET DATA TYPE BIGINT "
                    f"USING CAST({c} AS BIGINT)"
                )
        for p in typed:
            con.execute(
                f"ALTER TABLE {candidate} ALTER COLUMN {quote_ident(p.target)} "
                f"SET DATA TYPE {SQL_TYPES[p.type]} USING {p.parsed_sql}"
            )
        texts = [p.target for p in mapped if p.type in ("text", "category")]
        texts += [t for t, ctype in extra_types.items() if ctype == "text"]
        _trim_text(con, candidate, texts)
        required = [quote_ident(c) for c in kind.required]
        missing = con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in required)
            + f" FROM {candidate}"
        ).fetchall()[0]
        if any(missing):
            raise NotDirect("missing required values")
        exists = table_exists(con, kind.name)
        if kind.key and set(kind.key) <= {p.target for p in plan.columns}:
            key = ", ".join(quote_ident(k) for k in kind.key)
            repeats = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {candidate} GROUP BY {key} HAVING count(*) > 1)"
            ).fetchall()[0][0]
            if repeats:
                raise NotDirect("repeated keys")
            if options.mode == "append" and exists:
                on = " AND ".join(f"c.{quote_ident(k)} = t.{quote_ident(k)}" for k in kind.key)
                clash = con.execute(
                    f"SELECT count(*) FROM {candidate} c WHERE EXISTS (SELECT 1 FROM {target} t WHERE {on})"
                ).fetchall()[0][0]
                if clash:
                    raise NotDirect("keys already in the table")
        cats, unify = consistency.category_problems(
            con,
            sample,
            kind,
            plan,
            candidate,
            target if exists else None,
            row_sql=sample.row_expr,  # the candidate keeps the file order, like the sample
        )
        if options.unify_categories and unify:
            consistency.apply_unify(con, candidate, unify)
        staged = replace(sample, table=candidate, n_rows=n_rows)  # the whole file, as read
        report = ValidationReport(
            file=path.name,
            sheet=None,
            kind=kind.name,
            rows_in_file=n_rows,
            problems=tuple(cats),
            date_order=plan.date_order,
            notes=tuple(detection_notes(layout.dialect, layout.header, layout.columns))
            + plan.notes
            + guesses,
            column_types={p.target: p.type for p in plan.columns},
            headers=sample.columns,
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
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report, mapping, imported, in_table, import_id
