"""Checks across rows: duplicate keys and categories spelled several ways."""

from __future__ import annotations

import duckdb

from workbench.ingest.kinds import DatasetKind
from workbench.ingest.report import Problem, plural
from workbench.ingest.staged import StagedTable
from workbench.ingest.validate import ROW, Plan
from workbench.storage.sql import quote_ident

MAX_CATEGORY_VALUES = 500


def _source_of(plan: Plan, target: str) -> str:
    for p in plan.columns:
        if p.target == target:
            return p.source
    return target


def duplicate_problems(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    kind: DatasetKind,
    plan: Plan,
    table: str,
    max_examples: int,
) -> tuple[list[Problem], str | None]:
    """Rows repeating a key already seen on an earlier row.

    Returns the problems and a SQL condition (over the candidate table) that
    selects the repeated rows (all but the first of each key), or None.
    """
    targets = {p.target for p in plan.columns}
    if not kind.key or not set(kind.key) <= targets:
        return [], None
    key = ", ".join(quote_ident(k) for k in kind.key)
    not_null = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in kind.key)
    total = con.execute(
        f"SELECT coalesce(sum(n - 1), 0), count(*) FROM (SELECT count(*) AS n FROM {table} "
        f"WHERE {not_null} GROUP BY {key} HAVING count(*) > 1)"
    ).fetchall()[0]
    repeated_rows, n_keys = int(total[0]), int(total[1])
    if not repeated_rows:
        return [], None
    examples = con.execute(
        f"SELECT {key}, list({ROW} ORDER BY {ROW}) AS rows FROM {table} WHERE {not_null} "
        f"GROUP BY {key} HAVING count(*) > 1 ORDER BY min({ROW}) LIMIT {int(max_examples)}"
    ).fetchall()
    first = examples[0]
    key_value = " / ".join(str(v) for v in first[: len(kind.key)])
    rows = first[len(kind.key)]
    shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
    sources = " + ".join(f"'{_source_of(plan, k)}'" for k in kind.key)
    where = staged.file_name + (f", sheet '{staged.sheet}'" if staged.sheet else "")
    problem = Problem(
        code="duplicate_key",
        severity="error",
        message=(
            f"{where}: {key_value} appears in rows {shown} of column {sources}; "
            f"{plural(n_keys, 'key')} repeat, {plural(repeated_rows, 'extra row')} in all."
        ),
        hint=(
            f"Each {kind.label.lower()} row needs a unique {' + '.join(kind.key)}. Remove the repeats "
            "in the source, or skip bad rows to keep the first occurrence of each key."
        ),
        file=staged.file_name,
        sheet=staged.sheet,
        column=_source_of(plan, kind.key[0]),
        row=int(rows[1]),
        value=key_value,
        rows_affected=repeated_rows,
        examples=tuple(
            (int(e[len(kind.key)][1]), " / ".join(str(v) for v in e[: len(kind.key)]))
            for e in examples
        ),
    )
    condition = (
        f"{ROW} IN (SELECT {ROW} FROM {table} WHERE {not_null} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {ROW}) > 1)"
    )
    return [problem], condition


def existing_key_problems(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    kind: DatasetKind,
    table: str,
    target: str,
) -> tuple[list[Problem], str | None]:
    """When appending: rows whose key the target table already holds."""
    if not kind.key:
        return [], None
    cols = {r[0] for r in con.execute(f"DESCRIBE {target}").fetchall()}
    # A file that lacks a key column is reported as a missing required column instead.
    staged_cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if not set(kind.key) <= cols & staged_cols:
        return [], None
    on = " AND ".join(f"c.{quote_ident(k)} = t.{quote_ident(k)}" for k in kind.key)
    cond = f"EXISTS (SELECT 1 FROM {target} t WHERE {on})"
    rows = con.execute(
        f"SELECT c.{ROW}, {', '.join('c.' + quote_ident(k) for k in kind.key)} FROM {table} c "
        f"WHERE {cond} ORDER BY c.{ROW}"
    ).fetchall()
    if not rows:
        return [], None
    key_value = " / ".join(str(v) for v in rows[0][1:])
    problem = Problem(
        code="duplicate_in_table",
        severity="error",
        message=(
            f"{staged.file_name}, row {rows[0][0]}: {key_value} is already in table '{kind.name}' "
            f"({plural(len(rows), 'row')} of this file repeat existing keys)."
        ),
        hint="Use 'replace' instead of 'append', or skip these rows.",
        file=staged.file_name,
        sheet=staged.sheet,
        row=int(rows[0][0]),
        value=key_value,
        rows_affected=len(rows),
        examples=tuple((int(r[0]), " / ".join(str(v) for v in r[1:])) for r in rows[:50]),
    )
    return [problem], f"{ROW} IN (SELECT c.{ROW} FROM {table} c WHERE {cond})"


def _norm_sql(col: str) -> str:
    """Case, spaces, hyphens, underscores, dots and slashes do not make a new category;
    letters of any script and a trailing '+' or '-' (grades such as A+ / A / A-) do."""
    t = f"trim({col})"
    return (
        f"lower(regexp_replace({t}, '[\\s_./-]+', '', 'g')) || "
        f"CASE WHEN ends_with({t}, '-') THEN '-' ELSE '' END"
    )


def category_problems(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    kind: DatasetKind,
    plan: Plan,
    table: str,
    existing: str | None = None,
    row_sql: str = ROW,
) -> tuple[list[Problem], dict[str, dict[str, str]]]:
    """Values that differ only in case, spacing or punctuation ("Mid-Market", "mid market").

    Returns the warnings and, per target column, variant -> most common spelling
    (what "unify spellings" would apply). The spelling kept is the one the
    existing table already uses, else the most common, else the one in mixed case.
    """
    cats = [p for p in plan.columns if p.type == "category"]
    problems: list[Problem] = []
    unify: dict[str, dict[str, str]] = {}
    for p in cats:
        col = quote_ident(p.target)
        distinct = con.execute(f"SELECT approx_count_distinct({col}) FROM {table}").fetchall()[0][0]
        if not distinct or distinct > MAX_CATEGORY_VALUES:
            continue
        groups = con.execute(
            f"SELECT {_norm_sql('v')} AS norm, list(struct_pack(v := v, n := n) ORDER BY n DESC, v) "
            f"FROM (SELECT {col} AS v, count(*) AS n FROM {table} WHERE {col} IS NOT NULL GROUP BY 1) "
            f"GROUP BY norm HAVING count(*) > 1 AND norm NOT IN ('', '-') ORDER BY norm"
        ).fetchall()
        if not groups:
            continue
        known = _existing_values(con, existing, p.target)
        mapping: dict[str, str] = {}
        described = []
        for _, raw_variants in groups:
            variants = sorted(
                raw_variants,
                key=lambda v: (
                    v["v"] not in known,
                    -v["n"],
                    v["v"].isupper() or v["v"].islower(),
                    v["v"],
                ),
            )
            main = variants[0]["v"]
            for var in variants[1:]:
                mapping[var["v"]] = main
            described.append(" / ".join(f"'{v['v']}' ({v['n']:,})" for v in variants))
        unify[p.target] = mapping
        n_rows = con.execute(
            f"SELECT count(*) FROM {table} WHERE {col} IN (SELECT unnest(?::VARCHAR[]))",
            [list(mapping)],
        ).fetchall()[0][0]
        first_variant = next(iter(mapping))
        row = con.execute(
            f"SELECT min({row_sql}) FROM {table} WHERE {col} = ?", [first_variant]
        ).fetchall()[0][0]
        problems.append(
            Problem(
                code="category_variants",
                severity="warning",
                message=(
                    f"Column '{p.source}' ({p.target}) has values that look like one category spelled "
                    f"differently: {'; '.join(described[:5])}"
                    + (" ..." if len(described) > 5 else "")
                    + "."
                ),
                hint=(
                    "Tick 'Unify category spellings' (CLI: --unify-categories) to import them "
                    "as the spelling shown first, or fix them in the source."
                ),
                file=staged.file_name,
                sheet=staged.sheet,
                column=p.source,
                row=int(row) if row is not None else None,
                value=first_variant,
                rows_affected=int(n_rows),
            )
        )
    return problems, unify


def _existing_values(con: duckdb.DuckDBPyConnection, table: str | None, column: str) -> set[str]:
    """Distinct values of ``column`` in an existing table (empty when there is none or no such column)."""
    if table is None:
        return set()
    cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if column not in cols:
        return set()
    rows = con.execute(
        f"SELECT DISTINCT CAST({quote_ident(column)} AS VARCHAR) FROM {table} LIMIT 1000"
    ).fetchall()
    return {r[0] for r in rows if r[0] is not None}


def apply_unify(
    con: duckdb.DuckDBPyConnection, table: str, unify: dict[str, dict[str, str]]
) -> None:
    """Rewrite category variants to their most common spelling (values as parameters)."""
    for target, mapping in unify.items():
        col = quote_ident(target)
        for variant, main in mapping.items():
            con.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", [main, variant])
