"""Outcome metrics of an experiment: which exist, and one value per assigned account.

Built-in metrics come from the imported tables (renewal outcomes, tickets, surveys) and are
listed only when their table and columns exist; every numeric or yes/no column of the
``metrics`` table (kind "Outcome metrics") is a metric too. :func:`outcome_frame` builds the
outcome frame described in ``experiment.types`` with one generated, parameterised statement
holding one part per source table, so 100,000 assignments cost one query, not one per account.

An outcome counts for an account when it is dated from its ``assigned_on`` to
``assigned_on + window_days`` (both days included) and, given ``as_of``, not after ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import duckdb
import pandas as pd

from workbench.experiment.types import FRAME_COLUMNS, MetricSpec
from workbench.ingest.parse import boolean_expr, present_expr
from workbench.storage.sql import Params, qualified, quote_ident
from workbench.workflow.facts import CHURN_WORDS, PENDING_WORDS
from workbench.workflow.model import Experiment

_SOURCES = ("outcomes", "tickets", "surveys", "metrics")
_FIRST_RENEWAL = "renewal outcomes: the first renewal on or after assignment within the window"


@dataclass(frozen=True)
class _Builtin:
    spec: MetricSpec
    table: str
    columns: tuple[str, ...]


BUILTINS: tuple[_Builtin, ...] = (
    _Builtin(
        MetricSpec("renewed", "Renewed", "binary", unit="rate", source=(
            f"{_FIRST_RENEWAL}; 1 unless its outcome is churned (a downgrade counts as "
            "renewed; a pending renewal is no outcome yet)"
        )),
        "outcomes", ("account_id", "renewal_date", "outcome"),
    ),
    _Builtin(
        MetricSpec("expansion_arr", "Expansion ARR", "continuous", unit="currency",
                   source=f"{_FIRST_RENEWAL}; its expansion ARR"),
        "outcomes", ("account_id", "renewal_date", "expansion_arr"),
    ),
    _Builtin(
        MetricSpec("arr_change", "ARR change", "continuous", unit="currency",
                   source=f"{_FIRST_RENEWAL}; ARR after minus ARR before"),
        "outcomes", ("account_id", "renewal_date", "arr_before", "arr_after"),
    ),
    _Builtin(
        MetricSpec("ticket_csat", "Ticket CSAT", "continuous", unit="score",
                   source="support tickets: mean CSAT of the tickets opened in the window"),
        "tickets", ("account_id", "opened_at", "csat"),
    ),
    _Builtin(
        MetricSpec("nps", "NPS score", "continuous", unit="score",
                   source="surveys: mean score of the NPS responses given in the window"),
        "surveys", ("account_id", "responded_at", "survey_type", "score"),
    ),
    _Builtin(
        MetricSpec("days_to_close", "Days to close a ticket", "continuous",
                   higher_is_better=False, unit="number", source=(
                       "support tickets: mean days from opened to closed, of the tickets "
                       "opened in the window (open tickets do not count)"
                   )),
        "tickets", ("account_id", "opened_at", "closed_at"),
    ),
)  # fmt: skip
_BUILTIN = {b.spec.name: b for b in BUILTINS}


def metric_label(name: str) -> str:
    """A metric in words: "Renewed (renewed)" for a built-in one, its column name otherwise."""
    b = _BUILTIN.get(name)
    return f"{b.spec.label} ({name})" if b is not None else name


@dataclass(frozen=True)
class _Custom:
    """A column of the ``metrics`` table that is a metric, and how its values are read."""

    spec: MetricSpec
    column: str
    value_sql: str  # a DOUBLE (0/1 for yes/no) from m.<column>


@dataclass(frozen=True)
class _Catalogue:
    columns: dict[str, dict[str, str]]  # table -> column -> DuckDB type
    entries: dict[str, _Builtin | _Custom]
    not_metrics: tuple[str, ...]  # sentences on metrics-table columns that are not metrics


@dataclass(frozen=True)
class OutcomeCount:
    """How many assigned accounts have an outcome for one metric so far."""

    name: str
    label: str
    observed: int
    assigned: int

    @property
    def sentence(self) -> str:
        """``renewed: 41 of 120 accounts have an outcome so far``."""
        return (
            f"{self.name}: {self.observed:,} of {self.assigned:,} accounts have an outcome so far"
        )


def _source_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name IN (SELECT unnest(?::VARCHAR[])) ORDER BY table_name, column_index",
        [list(_SOURCES)],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(str(table), {})[str(column)] = str(dtype)
    return out


def _custom_metrics(
    con: duckdb.DuckDBPyConnection, types: dict[str, str]
) -> tuple[list[_Custom], list[str]]:
    """The metric columns of the ``metrics`` table, in table order, and why others are not.

    Numbers and booleans are metrics; so is text whose every value is yes/no (the import
    keeps such columns as text) or a number (a column with 'N/A' cells stays text too).
    A metric is binary when every value it has is 0/1 or yes/no. One scan reads every
    column as text, so all types take the same test.
    """
    cols = [
        c for c, t in types.items()
        if c not in ("account_id", "measured_at") and not t.startswith(("DATE", "TIMESTAMP"))
    ]  # fmt: skip
    selects: list[str] = []
    for c in cols:
        q = f"CAST(m.{quote_ident(c)} AS VARCHAR)"
        has, num = present_expr(q), f"TRY_CAST(trim({q}) AS DOUBLE)"
        not_num = f"NOT coalesce(isfinite({num}), false)"
        selects += [
            f"count(*) FILTER (WHERE {has})",
            f"count(*) FILTER (WHERE {has} AND {boolean_expr(q)} IS NULL)",
            f"count(*) FILTER (WHERE {has} AND {not_num})",
            f"count(*) FILTER (WHERE {has} AND {num} NOT IN (0, 1))",
            f"min(trim({q})) FILTER (WHERE {has} AND {boolean_expr(q)} IS NULL AND {not_num})",
        ]
    sql = f"SELECT {', '.join(selects)} FROM main.metrics m"
    row = con.execute(sql).fetchall()[0] if selects else ()
    when = (
        "rows without measured_at count whatever the window"
        if "measured_at" in types
        else "the table has no measured_at, so every row counts whatever the window"
    )
    found: list[_Custom] = []
    notes = {
        c: f"Column '{c}' holds {t.lower()} values, so it is not a metric."
        for c, t in types.items()
        if c not in cols and c not in ("account_id", "measured_at")
    }
    for i, c in enumerate(cols):
        n, not_bool, not_num, non01, example = row[5 * i : 5 * i + 5]
        q = f"m.{quote_ident(c)}"
        num = f"TRY_CAST(trim({q}) AS DOUBLE)"
        if not n:
            notes[c] = f"Column '{c}' is empty, so it is not a metric."
            continue
        if not_bool and not_num:
            notes[c] = f"Column '{c}' holds text (for example '{example}'), so it is not a metric."
            continue
        binary = not not_bool or not non01
        if types[c] != "VARCHAR":
            value = f"CAST({q} AS DOUBLE)"
        elif not not_bool:
            value = f"CAST({boolean_expr(q)} AS DOUBLE)"
        else:
            value = f"CASE WHEN {present_expr(q)} AND isfinite({num}) THEN {num} END"
        name = c if c not in _BUILTIN and c not in FRAME_COLUMNS else f"metrics_{c}"
        how = "1 when any value measured in the window is yes" if binary else (
            "the mean of the values measured in the window"
        )  # fmt: skip
        spec = MetricSpec(
            name=name,
            label=c.replace("_", " ").capitalize(),
            kind="binary" if binary else "continuous",
            unit="rate" if binary else "number",
            source=f"outcome metrics, column '{c}': {how} ({when})",
        )
        found.append(_Custom(spec, c, value))
    return found, [notes[c] for c in types if c in notes]


def _catalogue(con: duckdb.DuckDBPyConnection) -> _Catalogue:
    columns = _source_columns(con)
    entries: dict[str, _Builtin | _Custom] = {}
    for b in BUILTINS:
        if set(b.columns) <= set(columns.get(b.table, {})):
            entries[b.spec.name] = b
    skipped: list[str] = []
    if "account_id" in columns.get("metrics", {}):
        customs, skipped = _custom_metrics(con, columns["metrics"])
        entries.update({c.spec.name: c for c in customs})
    return _Catalogue(columns, entries, tuple(skipped))


def available_metrics(con: duckdb.DuckDBPyConnection) -> list[MetricSpec]:
    """The metrics the workspace's tables can give: built-ins first, then the metrics table's."""
    return [e.spec for e in _catalogue(con).entries.values()]


def metrics_table(con: duckdb.DuckDBPyConnection) -> tuple[list[MetricSpec], list[str]]:
    """The metrics of the ``metrics`` table, and sentences on its columns that are not metrics."""
    cat = _catalogue(con)
    return [e.spec for e in cat.entries.values() if isinstance(e, _Custom)], list(cat.not_metrics)


def _unavailable(name: str, cat: _Catalogue, role: str) -> str:
    b = _BUILTIN.get(name)
    if b is not None:
        have = cat.columns.get(b.table)
        lack = "" if have is None else ", ".join(c for c in b.columns if c not in have)
        where = (
            f"table '{b.table}' has no {lack}"
            if have is not None
            else f"there is no table '{b.table}'"
        )
        return (
            f"{role} '{name}' needs {b.table} with {', '.join(b.columns)}, but {where}; "
            "import it with `workbench outcomes import FILE` or the Data page."
        )
    if not cat.entries:
        return (
            f"There is no {role.lower()} '{name}': no metric is available yet. Import renewal outcomes or "
            "an outcome metrics file (`workbench outcomes import FILE`)."
        )
    return f"There is no {role.lower()} '{name}'. Available: {', '.join(cat.entries)}."


def resolve_metrics(
    con: duckdb.DuckDBPyConnection, experiment: Experiment
) -> tuple[list[MetricSpec], list[str]]:
    """The experiment's metrics as specs, and problems in words for names that do not exist.

    The configured ``metrics`` come first, then any guardrail metric they leave out (a
    guardrail is never skipped silently). ``guardrail`` is set from ``guardrail_metrics``;
    ``higher_is_better`` is False for ``lower_is_better`` names, else the metric's default.
    Never raises for an unknown name: the caller shows the problem.
    """
    cat = _catalogue(con)
    names = list(dict.fromkeys([*experiment.metrics, *experiment.guardrail_metrics]))
    guard, lower = set(experiment.guardrail_metrics), set(experiment.lower_is_better)
    specs: list[MetricSpec] = []
    problems: list[str] = []
    for name in names:
        entry = cat.entries.get(name)
        if entry is None:
            role = "Guardrail metric" if name not in experiment.metrics else "Metric"
            problems.append(_unavailable(name, cat, role))
            continue
        better = False if name in lower else entry.spec.higher_is_better
        specs.append(replace(entry.spec, guardrail=name in guard, higher_is_better=better))
    for name in dict.fromkeys(experiment.lower_is_better):
        if name not in names:
            problems.append(
                f"'{name}' is listed as lower-is-better but is not one of the experiment's "
                f"metrics ({', '.join(names) or 'none'}); it has no effect."
            )
    return specs, problems


def outcome_query(
    con: duckdb.DuckDBPyConnection,
    experiment_id: int,
    specs: list[MetricSpec],
    window_days: int,
    *,
    as_of: date | None = None,
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters of the outcome frame (for :func:`outcome_frame` and to show)."""
    cat = _catalogue(con)
    p = Params()
    exp = p.add(int(experiment_id))
    # Added on first use: DuckDB refuses a parameter the statement does not use.
    held: dict[str, str] = {}

    def param(key: str, value: object) -> str:
        if key not in held:
            held[key] = p.add(value)
        return held[key]

    def window(d: str) -> str:
        end = f"a.assigned_on + CAST({param('window', int(window_days))} AS INTEGER)"
        cond = f"{d} BETWEEN a.assigned_on AND {end}"
        return cond + (f" AND {d} <= CAST({param('as_of', as_of)} AS DATE)" if as_of else "")

    wanted = list({s.name: s for s in specs}.values())
    by_table: dict[str, list[tuple[str, str]]] = {}  # table -> [(metric, value sql)]
    for s in wanted:
        e = cat.entries.get(s.name)
        if isinstance(e, _Custom):
            agg = "max" if s.kind == "binary" else "avg"
            by_table.setdefault("metrics", []).append((s.name, f"{agg}({e.value_sql})"))
        elif isinstance(e, _Builtin):
            cutoff = param("as_of", as_of) if as_of and s.name == "days_to_close" else None
            by_table.setdefault(e.table, []).append((s.name, _builtin_sql(s.name, p, cutoff)))
    ctes = [f"asg AS (SELECT * FROM wb.assignments WHERE experiment_id = {exp})"]
    out_cols: dict[str, str] = {}
    for table, items in by_table.items():
        cte = f"src_{table}"
        values = ", ".join(f"{v} AS v{j}" for j, (_, v) in enumerate(items))
        src = qualified("main", table)
        if table == "outcomes":
            # Renewal values are per row: QUALIFY keeps the first decided renewal's row.
            d = "TRY_CAST(o.renewal_date AS DATE)"
            pending = ", ".join(param(f"pending:{w}", w) for w in PENDING_WORDS)
            decided = f"lower(trim(CAST(o.outcome AS VARCHAR))) NOT IN ({pending})"
            body = (
                f"SELECT a.account_id, {values} FROM asg a JOIN {src} o ON o.account_id = a.account_id "
                f"WHERE {window(d)} AND {decided} QUALIFY row_number() OVER "
                f"(PARTITION BY a.account_id ORDER BY {d}, CAST(o.outcome AS VARCHAR)) = 1"
            )
        else:
            alias, d = {
                "tickets": ("t", "CAST(TRY_CAST(t.opened_at AS TIMESTAMP) AS DATE)"),
                "surveys": ("s", "TRY_CAST(s.responded_at AS DATE)"),
                "metrics": ("m", "TRY_CAST(m.measured_at AS DATE)"),
            }[table]
            if table != "metrics":
                where = window(d)
            elif "measured_at" in cat.columns["metrics"]:
                where = f"(m.measured_at IS NULL OR {window(d)})"
            else:
                where = "true"
            body = (
                f"SELECT a.account_id, {values} FROM asg a JOIN {src} {alias} "
                f"ON {alias}.account_id = a.account_id WHERE {where} GROUP BY a.account_id"
            )
        ctes.append(f"{cte} AS ({body})")
        for j, (name, _) in enumerate(items):
            out_cols[name] = f"CAST({cte}.v{j} AS DOUBLE)"
    metric_sql = [
        f"{out_cols.get(s.name, 'CAST(NULL AS DOUBLE)')} AS {quote_ident(s.name)}" for s in wanted
    ]
    joins = "".join(f" LEFT JOIN src_{t} ON src_{t}.account_id = a.account_id" for t in by_table)
    base = (
        "a.account_id, a.arm, a.stratum, a.segment, CAST(a.arr AS DOUBLE) AS arr, "
        "CAST(a.health_score AS DOUBLE) AS health_score, a.assigned_on, CAST(a.run_id AS BIGINT) AS run_id"
    )
    sql = (
        "WITH " + ",\n".join(ctes) + "\nSELECT " + ", ".join([base, *metric_sql])
        + f"\nFROM asg a{joins}\nORDER BY a.account_id"
    )  # fmt: skip
    return sql, p.values


def _builtin_sql(name: str, p: Params, cutoff: str | None) -> str:
    """The value of a built-in metric: per renewal row, or an aggregate over tickets/surveys."""
    if name == "renewed":
        churn = ", ".join(p.add(w) for w in CHURN_WORDS)
        return (
            f"CASE WHEN lower(trim(CAST(o.outcome AS VARCHAR))) IN ({churn}) THEN 0.0 ELSE 1.0 END"
        )
    if name == "expansion_arr":
        return "TRY_CAST(o.expansion_arr AS DOUBLE)"
    if name == "arr_change":
        return "TRY_CAST(o.arr_after AS DOUBLE) - TRY_CAST(o.arr_before AS DOUBLE)"
    if name == "ticket_csat":
        return "avg(TRY_CAST(t.csat AS DOUBLE))"
    if name == "nps":
        return (
            "avg(TRY_CAST(s.score AS DOUBLE)) FILTER "
            "(WHERE contains(lower(CAST(s.survey_type AS VARCHAR)), 'nps'))"
        )
    # days_to_close: a ticket closed after as_of was still open then.
    closed = "TRY_CAST(t.closed_at AS TIMESTAMP)"
    known = f" AND CAST({closed} AS DATE) <= CAST({cutoff} AS DATE)" if cutoff else ""
    return (
        f"avg((epoch({closed}) - epoch(TRY_CAST(t.opened_at AS TIMESTAMP))) / 86400.0) "
        f"FILTER (WHERE {closed} IS NOT NULL{known})"
    )


def outcome_frame(
    con: duckdb.DuckDBPyConnection,
    experiment_id: int,
    specs: list[MetricSpec],
    window_days: int,
    *,
    as_of: date | None = None,
) -> pd.DataFrame:
    """The outcome frame of an experiment: one row per assignment, one float column per metric.

    Args:
        con: Workspace connection.
        experiment_id: The experiment (``wb.assignments.experiment_id``).
        specs: The metrics (from :func:`resolve_metrics`); a name the workspace cannot give
            becomes a column of NaN.
        window_days: Days after ``assigned_on`` in which an outcome counts (both ends included).
        as_of: Leave out outcomes dated after this day (None: all that are imported).

    Returns:
        The columns of ``types.FRAME_COLUMNS`` (``assigned_on`` as ``datetime.date``) then one
        float column per metric, NaN where no outcome is observed; ordered by account id. An
        experiment without assignments gives an empty frame with the same columns.
    """
    sql, params = outcome_query(con, experiment_id, specs, window_days, as_of=as_of)
    df = con.execute(sql, params).df()
    for col in ("account_id", "arm", "stratum", "segment"):
        df[col] = df[col].astype("str")  # also when empty (DuckDB gives object then)
    df["assigned_on"] = pd.to_datetime(df["assigned_on"]).dt.date.astype(object)
    df["run_id"] = df["run_id"].astype("int64")
    return df


def outcome_counts(
    con: duckdb.DuckDBPyConnection,
    experiment_id: int,
    specs: list[MetricSpec],
    window_days: int,
    *,
    as_of: date | None = None,
) -> list[OutcomeCount]:
    """Per metric, how many assigned accounts have an outcome so far."""
    frame = outcome_frame(con, experiment_id, specs, window_days, as_of=as_of)
    seen: dict[str, MetricSpec] = {s.name: s for s in specs}
    return [
        OutcomeCount(s.name, s.label, int(frame[s.name].notna().sum()), len(frame))
        for s in seen.values()
    ]
