"""Import a file into the workspace: stage, map, validate, and replace or append atomically.

The page and the CLI both call :func:`import_file` (and the page calls it with
``commit=False`` first to show the report). Everything that writes happens in
one transaction: the table and its import-history entry change together, or
nothing changes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd

from workbench.errors import ImportBlocked, InputFileError
from workbench.ingest import consistency, validate
from workbench.ingest.commit import swap_in, table_exists
from workbench.ingest.csv_reader import stage_csv
from workbench.ingest.direct import NotDirect, import_direct
from workbench.ingest.kinds import DatasetKind, get_kind
from workbench.ingest.mapping import Mapping, MappingSuggestion, check_mapping, suggest_mapping
from workbench.ingest.options import ImportOptions
from workbench.ingest.report import Problem, ValidationReport
from workbench.ingest.staged import StagedTable, sample_values
from workbench.ingest.xlsx_reader import stage_xlsx
from workbench.storage.sql import qualified, quote_ident, quote_literal

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class ImportResult:
    """The outcome of validating (and, if asked and possible, importing) a file."""

    report: ValidationReport
    mapping: Mapping
    committed: bool
    table: str
    rows_imported: int = 0
    rows_in_table: int = 0
    import_id: int | None = None
    rejected: pd.DataFrame | None = field(default=None, compare=False)


def sha256_file(path: Path) -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stage_file(
    con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None
) -> StagedTable:
    """Read a CSV or spreadsheet into a temporary all-text table."""
    if not path.exists():
        raise InputFileError(f"File not found: {path}", "Check the path and try again.")
    table = f"__stage_{uuid.uuid4().hex[:10]}"
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return stage_xlsx(con, path, table, sheet)
    if sheet:
        raise InputFileError(
            f"{path.name} is a text file; it has no sheet '{sheet}'.", "Leave out the sheet option."
        )
    if suffix in CSV_SUFFIXES or suffix == "":
        return stage_csv(con, path, table)
    raise InputFileError(
        f"{path.name}: files of type '{suffix}' cannot be imported.",
        "Export the data as CSV or XLSX and import that file.",
    )


@contextmanager
def staged_file(
    con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None
) -> Iterator[StagedTable]:
    """Stage a file for the duration of a ``with`` block, then drop the staging table."""
    staged = stage_file(con, path, sheet=sheet)
    try:
        yield staged
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged.table)}")


def staged_preview(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, n: int = 200
) -> pd.DataFrame:
    """The first rows of a staged file as read, with the row number the user sees."""
    cols = ", ".join(quote_ident(c) for c in staged.columns)
    return con.execute(
        f'SELECT {staged.row_expr} AS "row", {cols} FROM {quote_ident(staged.table)} '
        f"ORDER BY 1 LIMIT {int(n)}"
    ).df()


def suggest_for(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, kind: str | DatasetKind
) -> MappingSuggestion:
    """Suggest a mapping for a staged file."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    return suggest_mapping(k, staged.columns, sample_values(con, staged))


def _rejected_frame(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    candidate: str,
    plan: validate.Plan,
    kind: DatasetKind,
    extra_conditions: list[tuple[str, str]],
    skip_dates: bool = False,
) -> tuple[pd.DataFrame, str | None]:
    """The rows that cannot be imported, as they were in the file, with the reason.

    With ``skip_dates`` (the date order is still a question) dates that failed
    only for want of an order do not count against their rows.
    """
    reasons = []
    for i, p in enumerate(plan.columns):
        if p.checked and not (skip_dates and p.type in ("date", "timestamp")):
            reasons.append(
                f"CASE WHEN _bad_{i} THEN {quote_literal(f'{p.source}: cannot read value')} END"
            )
    for i, p in enumerate(plan.columns):
        if p.target in kind.required:
            not_bad = f" AND NOT _bad_{i}" if p.checked else ""
            reasons.append(
                f"CASE WHEN {quote_ident(p.target)} IS NULL{not_bad} "
                f"THEN {quote_literal(f'{p.source}: required value missing')} END"
            )
    for cond, label in extra_conditions:
        reasons.append(f"CASE WHEN {cond} THEN {quote_literal(label)} END")
    if not reasons:
        return pd.DataFrame(), None
    reason_sql = f"concat_ws('; ', {', '.join(reasons)})"
    bad = f"SELECT {validate.ROW}, {reason_sql} AS reason FROM {candidate} WHERE {reason_sql} <> ''"
    raw_cols = ", ".join(f"s.{quote_ident(c)}" for c in staged.columns)
    df = con.execute(
        f'SELECT b.{validate.ROW} AS "row", b.reason, {raw_cols} FROM ({bad}) b '
        f"JOIN (SELECT {staged.row_expr} AS {validate.ROW}, {', '.join(quote_ident(c) for c in staged.columns)} "
        f"FROM {quote_ident(staged.table)}) s "
        f"USING ({validate.ROW}) ORDER BY 1"
    ).df()
    condition = f"{validate.ROW} IN (SELECT {validate.ROW} FROM ({bad}))"
    return df, condition


def run_import(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    mapping: Mapping,
    options: ImportOptions,
    *,
    file_sha256: str,
    commit: bool = True,
    max_examples: int = 50,
    own_transaction: bool = True,
) -> ImportResult:
    """Validate a staged file and, when ``commit`` and nothing blocks, write it in one transaction.

    With ``own_transaction=False`` the caller holds a transaction (for example a
    reset that imports several files all-or-nothing); a blocked import then
    raises ImportBlocked and the caller rolls back.
    """
    kind = get_kind(options.kind)
    check_mapping(kind, mapping, staged.columns)
    target_name = kind.name
    target = qualified("main", target_name)
    base = dict(
        file=staged.file_name,
        sheet=staged.sheet,
        kind=kind.name,
        rows_in_file=staged.n_rows,
        headers=staged.columns,
    )

    # A file with a header and no rows never gets here: the readers refuse it, naming the file.
    pre: list[Problem] = []
    shape = validate.shape_problem(con, staged, kind)
    if shape:
        pre.append(shape)
    for col in kind.required:
        if col not in mapping.assignments:
            column = kind.column(col)
            pre.append(
                Problem(
                    code="missing_required_column",
                    severity="error",
                    message=(
                        f"{staged.file_name}"
                        + (f", sheet '{staged.sheet}'" if staged.sheet else "")
                        + f": no column is mapped to '{col}' ({column.description}), which "
                        f"{kind.label.lower()} need. The file's columns are: {', '.join(staged.columns)}."
                    ),
                    hint=(
                        f"Map the column that holds {column.description.lower()} to '{col}' "
                        f"(known names: {', '.join(column.synonyms[:4])}), or add it to the export."
                    ),
                    file=staged.file_name,
                    sheet=staged.sheet,
                    row=None,
                )
            )
    if shape:
        report = ValidationReport(**base, problems=tuple(pre))  # type: ignore[arg-type]
        return ImportResult(report, mapping, False, target_name)

    plan, order_problems = validate.build_plan(con, staged, kind, mapping, options.date_order)
    candidate = qualified("main", f"__import_{uuid.uuid4().hex[:10]}")
    if own_transaction:
        con.execute("BEGIN TRANSACTION")
    try:
        validate.create_candidate(con, staged, plan, candidate)
        problems = pre + order_problems
        values = validate.value_problems(con, staged, kind, plan, candidate, max_examples)
        ambiguous_dates = any(p.code == "ambiguous_date_order" for p in order_problems)
        if ambiguous_dates:
            # Dates fail only because the order is unknown: the question covers them.
            dated = {p.source for p in plan.columns if p.type in ("date", "timestamp")}
            values = [v for v in values if not (v.code == "bad_value" and v.column in dated)]
        problems += values
        dup, dup_cond = consistency.duplicate_problems(
            con, staged, kind, plan, candidate, max_examples
        )
        problems += dup
        exists = table_exists(con, target_name)
        extra_conds: list[tuple[str, str]] = []
        if dup_cond:
            extra_conds.append((dup_cond, "repeats a key from an earlier row"))
        if options.mode == "append" and exists:
            in_table_problems, in_cond = consistency.existing_key_problems(
                con, staged, kind, candidate, target
            )
            problems += in_table_problems
            if in_cond:
                extra_conds.append((in_cond, "key already in the table"))
        cats, unify = consistency.category_problems(
            con, staged, kind, plan, candidate, target if exists else None
        )
        problems += cats
        row_errors = any(p.row_level for p in problems)
        rejected, reject_cond = (
            _rejected_frame(con, staged, candidate, plan, kind, extra_conds, ambiguous_dates)
            if row_errors
            else (None, None)
        )
        if rejected is not None and len(rejected) >= staged.n_rows:
            problems.append(
                Problem(
                    code="no_rows_left",
                    severity="error",
                    message=(
                        f"{staged.file_name}: none of its {staged.n_rows:,} rows can be imported, "
                        "so skipping bad rows would leave the table empty."
                    ),
                    hint="Fix the problems listed (often the mapping or the date order) and try again.",
                    file=staged.file_name,
                    sheet=staged.sheet,
                    rows_affected=staged.n_rows,
                )
            )
        report = ValidationReport(
            **base,  # type: ignore[arg-type]
            problems=tuple(problems),
            rows_rejected=0 if rejected is None else len(rejected),
            date_order=plan.date_order,
            notes=staged.notes
            + plan.notes
            + tuple(validate.emptied_notes(con, staged, plan, candidate)),
            column_types={p.target: p.type for p in plan.columns},
        )
        if not commit or report.blocking(options.skip_bad_rows):
            if not own_transaction:
                raise ImportBlocked(report.summary(), "", report=report)
            con.execute("ROLLBACK")
            return ImportResult(report, mapping, False, target_name, rejected=rejected)

        if reject_cond:
            con.execute(f"DELETE FROM {candidate} WHERE {reject_cond}")
        if options.unify_categories and unify:
            consistency.apply_unify(con, candidate, unify)
        for col in [validate.ROW, *validate.flag_columns(plan)]:
            con.execute(f"ALTER TABLE {candidate} DROP COLUMN {quote_ident(col)}")
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
        if own_transaction:
            con.execute("COMMIT")
    except BaseException:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
    return ImportResult(report, mapping, True, target_name, imported, in_table, import_id, rejected)


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    options: ImportOptions,
    *,
    mapping: Mapping | None = None,
    commit: bool = True,
    max_examples: int = 50,
) -> ImportResult:
    """Stage, map (the given mapping or a suggestion), validate and import one file.

    Raises:
        InputFileError: when the file cannot be read at all.
        ImportBlocked: when ``commit`` and the report has blocking problems.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"File not found: {path}", "Check the path and try again.")
    digest = sha256_file(path)
    if commit and path.suffix.lower() in CSV_SUFFIXES and not options.sheet:
        try:
            report, used, imported, in_table, import_id = import_direct(
                con, path, options, mapping, digest
            )
        except NotDirect:
            pass  # the general path below gives the full report
        else:
            return ImportResult(report, used, True, options.kind, imported, in_table, import_id)
    with staged_file(con, path, sheet=options.sheet) as staged:
        suggestion = None if mapping else suggest_for(con, staged, options.kind)
        chosen = mapping or suggestion.mapping  # type: ignore[union-attr]
        result = run_import(
            con,
            staged,
            chosen,
            options,
            file_sha256=digest,
            commit=commit,
            max_examples=max_examples,
        )
    if suggestion and suggestion.guess_notes():
        notes = result.report.notes + tuple(suggestion.guess_notes())
        result = replace(result, report=replace(result.report, notes=notes))
    if commit and not result.committed:
        blocking = result.report.blocking(options.skip_bad_rows)
        first = blocking[0] if blocking else None
        raise ImportBlocked(
            result.report.summary() + (f" First: {first.message}" if first else ""),
            first.hint if first else "",
            report=result,
        )
    return result
