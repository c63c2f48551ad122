"""Validation of a staged file against a kind and mapping, done in DuckDB.

The staged text is parsed once into a candidate table (inside the caller's
transaction) that carries the source row number and one flag per checked
column; every problem is then an aggregate over those flags, so a clean
million-row file costs one parsing pass plus a few column scans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from workbench.ingest.kinds import DatasetKind
from workbench.ingest.mapping import Mapping, snake_name
from workbench.ingest.parse import (
    AMBIGUOUS_PATTERN,
    SQL_TYPES,
    DateOrder,
    ParsePlan,
    plan_column,
    present_expr,
    raw_expr,
)
from workbench.ingest.report import Problem, plural
from workbench.ingest.staged import StagedTable
from workbench.storage.sql import quote_ident

ROW = "_row"


@dataclass(frozen=True)
class Plan:
    """The parse plan for every output column, plus the decisions taken."""

    columns: tuple[ParsePlan, ...]
    date_order: DateOrder
    notes: tuple[str, ...]


def _flag(i: int) -> str:
    return f"_bad_{i}"


def _token(i: int) -> str:
    return f"_tok_{i}"


def shape_problem(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, kind: DatasetKind
) -> Problem | None:
    """Detect a file that parsed into one or two columns because each line was quoted whole."""
    if len(staged.columns) > 2 or len(kind.columns) <= 2:
        return None
    first = quote_ident(staged.columns[0])
    rows = con.execute(
        f"SELECT {first} FROM {quote_ident(staged.table)} WHERE {first} IS NOT NULL LIMIT 200"
    ).fetchall()
    header = staged.columns[0]
    values = [str(r[0]) for r in rows] + [header]
    with_delims = sum(1 for v in values if re.search(r"[,;\t|]", v))
    if values and with_delims / len(values) >= 0.5:
        example = values[0][:80]
        return Problem(
            code="suspicious_shape",
            severity="error",
            message=(
                f"{staged.file_name} reads as {len(staged.columns)} column(s), but its values contain "
                f"separators (for example '{example}'): each line seems to be wrapped in quotes as a whole."
            ),
            hint=(
                "Re-export the file as plain CSV (one quoted field per value, not per line), or open it "
                "in a spreadsheet and save it as CSV again."
            ),
            file=staged.file_name,
            sheet=staged.sheet,
            column=header,
            row=staged.header_row,
            value=example,
            rows_affected=staged.n_rows,
        )
    return None


def _detect_date_order(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    sources: list[str],
    requested: DateOrder,
) -> tuple[DateOrder, list[Problem], list[str]]:
    """Decide day/month order from the values of all date columns, or ask."""
    if not sources:
        return requested, [], []
    # Cheap first pass: columns whose every value casts as ISO need no order at all.
    plain = con.execute(
        "SELECT "
        + ", ".join(
            f"count(*) FILTER (WHERE {quote_ident(s)} IS NOT NULL AND TRY_CAST({quote_ident(s)} AS TIMESTAMP) IS NULL)"
            for s in sources
        )
        + f" FROM {quote_ident(staged.table)}"
    ).fetchall()[0]
    sources = [s for s, n in zip(sources, plain, strict=True) if n]
    if not sources:
        return requested, [], []
    selects = []
    for src in sources:
        raw = raw_expr(src)
        first = f"TRY_CAST(regexp_extract({raw}, '{AMBIGUOUS_PATTERN}', 1) AS INTEGER)"
        second = f"TRY_CAST(regexp_extract({raw}, '{AMBIGUOUS_PATTERN}', 2) AS INTEGER)"
        selects.append(f"max({first}), max({second}), count({first})")
    row = con.execute(f"SELECT {', '.join(selects)} FROM {quote_ident(staged.table)}").fetchall()[0]
    problems: list[Problem] = []
    notes: list[str] = []
    day_first: list[str] = []
    month_first: list[str] = []
    ambiguous: list[str] = []
    counts: dict[str, int] = {}
    for i, src in enumerate(sources):
        max1, max2, n = row[3 * i], row[3 * i + 1], row[3 * i + 2]
        counts[src] = int(n or 0)
        if not n:
            continue
        if max1 and max1 > 12 and max2 and max2 > 12:
            example = _example_value(con, staged, src)
            problems.append(
                Problem(
                    code="mixed_date_order",
                    severity="error",
                    message=(
                        f"Column '{src}' in {staged.file_name} mixes day/month and month/day dates "
                        f"(some values have a first part above 12, others a second part above 12)."
                    ),
                    hint="Fix the column in the source so all dates use one order, preferably YYYY-MM-DD.",
                    file=staged.file_name,
                    sheet=staged.sheet,
                    column=src,
                    value=example,
                )
            )
        elif max1 and max1 > 12:
            day_first.append(src)
        elif max2 and max2 > 12:
            month_first.append(src)
        else:
            ambiguous.append(src)
    if requested != "auto":
        conflict = day_first if requested == "mdy" else month_first if requested == "dmy" else []
        for src in conflict:
            notes.append(
                f"Column '{src}' looks like the other date order; its dates may fail to read."
            )
        return requested, problems, notes
    if day_first and month_first:
        problems.append(
            Problem(
                code="mixed_date_order",
                severity="error",
                message=(
                    f"{staged.file_name} has day-first dates in {', '.join(day_first)} and month-first "
                    f"dates in {', '.join(month_first)}."
                ),
                hint="Export all dates in one order, preferably YYYY-MM-DD.",
                file=staged.file_name,
                sheet=staged.sheet,
            )
        )
        return "auto", problems, notes
    if day_first or month_first:
        order: DateOrder = "dmy" if day_first else "mdy"
        proof = (day_first or month_first)[0]
        notes.append(
            f"Dates read as {'day/month/year' if order == 'dmy' else 'month/day/year'}: "
            f"column '{proof}' has values that only fit that order."
        )
        return order, problems, notes
    if ambiguous:
        src = ambiguous[0]
        example = _example_value(con, staged, src)
        problems.append(
            Problem(
                code="ambiguous_date_order",
                severity="question",
                message=(
                    f"Dates in column '{src}' of {staged.file_name} (for example '{example}') could be "
                    "day/month/year or month/day/year; no value settles it."
                ),
                hint=(
                    "Choose the date order: day first or month first (on the Data page 'Date order'; "
                    "in the CLI --date-order dmy or mdy). The report updates at once."
                ),
                file=staged.file_name,
                sheet=staged.sheet,
                column=src,
                value=example,
                rows_affected=counts[src],
            )
        )
    return "auto", problems, notes


def _example_value(con: duckdb.DuckDBPyConnection, staged: StagedTable, src: str) -> str | None:
    raw = raw_expr(src)
    rows = con.execute(
        f"SELECT {raw} FROM {quote_ident(staged.table)} "
        f"WHERE regexp_matches({raw}, '{AMBIGUOUS_PATTERN}') LIMIT 1"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def column_stats(
    con: duckdb.DuckDBPyConnection, table: str, extras: list[str], texts: list[str]
) -> tuple[dict[str, str], set[str]]:
    """One scan of ``table``: a type for each extra column, and which text columns need trimming.

    An extra column becomes integer, number or date when every value fits,
    else text; values with a leading zero or plus sign (zip codes, phone
    numbers, ids) keep the column text. A text column whose values never
    start or end with a space (and are never blank) is copied as it is, which
    is much cheaper than trimming.
    """
    padded_cols = list(dict.fromkeys([*texts, *extras]))
    if not padded_cols:
        return {}, set()
    selects = []
    for src in extras:
        c = quote_ident(src)
        t = f"ltrim({c})"
        selects.append(
            f"count({c}), "
            f"count(*) FILTER (WHERE TRY_CAST({c} AS DOUBLE) = TRY_CAST({c} AS BIGINT)), "
            f"count(CASE WHEN isfinite(TRY_CAST({c} AS DOUBLE)) THEN 1 END), "
            f"count(*) FILTER (WHERE length({t}) BETWEEN 8 AND 10 AND TRY_CAST({c} AS DATE) IS NOT NULL), "
            f"count(*) FILTER (WHERE starts_with({t}, '+') OR (starts_with({t}, '0') "
            f"AND length({t}) > 1 AND NOT starts_with({t}, '0.')))"
        )
    for src in padded_cols:
        c = quote_ident(src)
        selects.append(
            f"count(*) FILTER (WHERE starts_with({c}, ' ') OR ends_with({c}, ' ') OR {c} = '')"
        )
    row = con.execute(f"SELECT {', '.join(selects)} FROM {table}").fetchall()[0]
    types: dict[str, str] = {}
    for i, src in enumerate(extras):
        n, n_int, n_num, n_date, n_lead = row[5 * i : 5 * i + 5]
        if n and n_int == n and not n_lead:
            types[src] = "integer"
        elif n and n_num == n and not n_lead:
            types[src] = "number"
        elif n and n_date == n:
            types[src] = "date"
        else:
            types[src] = "text"
    offset = 5 * len(extras)
    padded = {src for j, src in enumerate(padded_cols) if row[offset + j]}
    return types, padded


def build_plan(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    kind: DatasetKind,
    mapping: Mapping,
    date_order: DateOrder,
) -> tuple[Plan, list[Problem]]:
    """Choose a parse expression for every mapped and extra column and the date order."""
    date_sources = [
        src
        for col, src in mapping.assignments.items()
        if kind.column(col).type in ("date", "timestamp")
    ]
    texts = [
        src
        for col, src in mapping.assignments.items()
        if kind.column(col).type in ("text", "category")
    ]
    extras = mapping.extras(staged.columns)
    order, problems, notes = _detect_date_order(con, staged, date_sources, date_order)
    extra_types, padded = column_stats(con, quote_ident(staged.table), extras, texts)
    plans = [
        plan_column(src, col, kind.column(col).type, staged.decimal, order, trim=src in padded)
        for col, src in mapping.assignments.items()
    ]
    taken = {p.target for p in plans} | {ROW}
    for src, ctype in extra_types.items():
        target = snake_name(src)
        base, n = target, 2
        while target in taken:
            target, n = f"{base}_{n}", n + 1
        taken.add(target)
        plan = plan_column(src, target, ctype, staged.decimal, order, trim=src in padded)  # type: ignore[arg-type]
        plans.append(plan)
    return Plan(tuple(plans), order, tuple(notes)), problems


def create_candidate(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, plan: Plan, table: str
) -> None:
    """Parse the staged text into ``table`` with a row number and a flag per checked column.

    The flags are computed one level up from the parsing so that they compare
    the parsed column, never a staged column whose name happens to match.
    """
    inner = [f"{staged.row_expr} AS {ROW}"]
    for p in plan.columns:
        inner.append(f"CAST({p.parsed_sql} AS {SQL_TYPES[p.type]}) AS {quote_ident(p.target)}")
    outer = ["*"]
    has = []
    for i, p in enumerate(plan.columns):
        if p.checked:
            inner.append(f"{quote_ident(p.source)} AS __src_{i}")
            has.append(f"__src_{i}")
            # AND stops early: the null-token test runs only where parsing gave NULL.
            outer.append(
                f"({quote_ident(p.target)} IS NULL AND {present_expr(f'__src_{i}')}) AS {_flag(i)}"
            )
            # Cells such as 'N/A' or '-' that are read as empty: counted, so the report can say so.
            outer.append(
                f"({quote_ident(p.target)} IS NULL AND __src_{i} IS NOT NULL "
                f"AND NOT {present_expr(f'__src_{i}')}) AS {_token(i)}"
            )
    if has:
        outer[0] = f"* EXCLUDE ({', '.join(has)})"
    con.execute(
        f"CREATE TABLE {table} AS SELECT {', '.join(outer)} FROM "
        f"(SELECT {', '.join(inner)} FROM {quote_ident(staged.table)})"
    )


def flag_columns(plan: Plan) -> list[str]:
    """The helper columns of the candidate table, dropped before it becomes the table."""
    return [f(i) for i, p in enumerate(plan.columns) if p.checked for f in (_flag, _token)]


def emptied_notes(
    con: duckdb.DuckDBPyConnection, staged: StagedTable, plan: Plan, table: str
) -> list[str]:
    """Sentences about cells read as empty because they held a null word ('N/A', '-', 'null')."""
    checked = [(i, p) for i, p in enumerate(plan.columns) if p.checked]
    if not checked:
        return []
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {_token(i)})" for i, _ in checked)
        + f" FROM {table}"
    ).fetchall()[0]
    notes = []
    for (_, p), n in zip(checked, counts, strict=True):
        if not n:
            continue
        c = quote_ident(p.source)
        words = con.execute(
            f"SELECT DISTINCT trim({c}) FROM {quote_ident(staged.table)} "
            f"WHERE {c} IS NOT NULL AND NOT {present_expr(c)} ORDER BY 1 LIMIT 4"
        ).fetchall()
        shown = ", ".join(f"'{w[0]}'" for w in words if w[0]) or "blank"
        notes.append(
            f"Column '{p.source}' ({p.target}): {plural(n, 'cell')} holding {shown} read as empty."
        )
    return notes


def value_problems(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    kind: DatasetKind,
    plan: Plan,
    table: str,
    max_examples: int,
) -> list[Problem]:
    """Unreadable values in typed columns and empty values in required columns."""
    checks: list[tuple[str, ParsePlan, str]] = []
    for i, p in enumerate(plan.columns):
        target = "c." + quote_ident(p.target)
        if p.checked:
            checks.append(("bad_value", p, f"c.{_flag(i)}"))
        if p.target in kind.required:
            not_bad = f" AND NOT c.{_flag(i)}" if p.checked else ""
            checks.append(("missing_value", p, f"{target} IS NULL{not_bad}"))
    if not checks:
        return []
    counts_sql = [f"count(*) FILTER (WHERE {cond})" for _, _, cond in checks]
    counts = con.execute(f"SELECT {', '.join(counts_sql)} FROM {table} c").fetchall()[0]
    problems = []
    for (code, p, cond), n in zip(checks, counts, strict=True):
        if not n:
            continue
        rows = con.execute(
            f"SELECT c.{ROW}, s.{quote_ident(p.source)} FROM {table} c "
            f"JOIN (SELECT {staged.row_expr} AS {ROW}, {quote_ident(p.source)} FROM {quote_ident(staged.table)}) s "
            f"USING ({ROW}) WHERE {cond} "
            f"ORDER BY c.{ROW} LIMIT {int(max_examples)}"
        ).fetchall()
        examples = tuple((int(r[0]), "" if r[1] is None else str(r[1])) for r in rows)
        first_row, first_value = examples[0] if examples else (None, None)
        problems.append(
            _value_problem(code, p, staged, n, first_row, first_value, examples, plan.date_order)
        )
    return problems


_TYPE_WORDS = {
    "integer": ("a whole number", "Use digits only, for example 42."),
    "number": ("a number", "Use digits with '.' or ',' as decimal mark, for example 1234.50."),
    "date": ("a date", "Use YYYY-MM-DD, or a day/month order the file uses consistently."),
    "timestamp": ("a date and time", "Use YYYY-MM-DD HH:MM, or fix the day/month order."),
    "boolean": ("yes/no", "Use true/false, yes/no or 1/0."),
}


def _value_problem(
    code: str,
    p: ParsePlan,
    staged: StagedTable,
    n: int,
    row: int | None,
    value: str | None,
    examples: tuple[tuple[int, str], ...],
    order: DateOrder,
) -> Problem:
    more = f" ({n:,} rows in all)" if n > 1 else ""
    where = f"{staged.file_name}" + (f", sheet '{staged.sheet}'" if staged.sheet else "")
    if code == "missing_value":
        return Problem(
            code="missing_value",
            severity="error",
            message=f"{where}, row {row}: column '{p.source}' ({p.target}) is empty but required{more}.",
            hint=f"Fill in {p.target} for these rows in the source file, or skip them and download them to fix later.",
            file=staged.file_name,
            sheet=staged.sheet,
            column=p.source,
            row=row,
            value="",
            rows_affected=n,
            examples=examples,
        )
    word, hint = _TYPE_WORDS[p.type]
    if p.type in ("date", "timestamp") and order != "auto":
        hint += f" Dates are being read as {'day/month' if order == 'dmy' else 'month/day'}/year."
    return Problem(
        code="bad_value",
        severity="error",
        message=f"{where}, row {row}: column '{p.source}' ({p.target}) has '{value}', which is not {word}{more}.",
        hint=hint + " Or skip these rows and download them to fix later.",
        file=staged.file_name,
        sheet=staged.sheet,
        column=p.source,
        row=row,
        value=value,
        rows_affected=n,
        examples=examples,
    )
