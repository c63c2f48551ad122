"""The rule compiler: a workflow becomes one parameterised DuckDB statement.

The statement yields, per account and as-of date: the facts, the health score
and its per-input scores, every condition's actual value (``v__<id>``) and
decision (``ok__<id>``), whether the account is in scope, whether the workflow
fires, and the route (automated, human, manager) with the escalation rule that
chose it. Values travel only as named parameters; identifiers go through
``storage.sql.quote_ident``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from workbench.errors import WorkflowInvalid
from workbench.storage.sql import Params, quote_ident
from workbench.workflow.conditions import CompiledCondition, compile_condition
from workbench.workflow.facts import (
    CHURN_WORDS,
    Fact,
    FactsQuery,
    build_facts,
    dates_sql,
    table_columns,
)
from workbench.workflow.health import health_select
from workbench.workflow.health import problems as health_problems
from workbench.workflow.model import (
    Change,
    EscalationRule,
    Group,
    Workflow,
    condition_ids,
    condition_paths,
    iter_conditions,
)


def value_col(cid: str) -> str:
    """Output column with a condition's actual value."""
    return f"v__{cid}"


def pass_col(cid: str) -> str:
    """Output column with a condition's decision."""
    return f"ok__{cid}"


def group_sql(group: Group, leaves: Iterator[str]) -> str:
    """SQL of a group, taking leaf expressions in depth-first order from ``leaves``."""
    parts = []
    for item in group.items:
        parts.append(group_sql(item, leaves) if isinstance(item, Group) else next(leaves))
    joiner = " AND " if group.mode == "all" else " OR "
    return "(" + joiner.join(parts) + ")"


def group_decide(group: Group, leaves: Iterator[Any]) -> Any:
    """The group's decision from leaf decisions (bools or boolean Series), depth first."""
    values = [
        group_decide(i, leaves) if isinstance(i, Group) else next(leaves) for i in group.items
    ]
    out = values[0]
    for v in values[1:]:
        out = (out & v) if group.mode == "all" else (out | v)
    return out


@dataclass(frozen=True)
class CompiledRule:
    """An escalation rule: its leaves and its hit column ``esc__<i>``."""

    index: int
    rule: EscalationRule
    group: Group
    leaves: tuple[CompiledCondition, ...]

    @property
    def column(self) -> str:
        return f"esc__{self.index}"


@dataclass(frozen=True)
class Compiled:
    """A workflow compiled against a workspace for given as-of dates."""

    workflow: Workflow
    facts: FactsQuery
    conditions: tuple[CompiledCondition, ...]
    scope: tuple[CompiledCondition, ...]
    escalation: tuple[CompiledRule, ...]
    sql: str
    params: dict[str, object]
    labelled: bool

    def condition(self, cid: str) -> CompiledCondition:
        for c in self.conditions:
            if c.id == cid:
                return c
        names = ", ".join(c.id for c in self.conditions)
        raise WorkflowInvalid(f"The workflow has no condition '{cid}'.", f"Conditions: {names}.")

    @property
    def sweepable(self) -> tuple[CompiledCondition, ...]:
        return tuple(c for c in self.conditions if c.threshold is not None)

    def leaves(self) -> tuple[CompiledCondition, ...]:
        rules = tuple(leaf for r in self.escalation for leaf in r.leaves)
        return self.conditions + self.scope + rules

    def fires_sql(self, leaf: Callable[[CompiledCondition], str] | None = None) -> str:
        """The main group as SQL over ``ok__`` columns, or over ``leaf(c)`` when given."""
        make = leaf or (lambda c: quote_ident(pass_col(c.id)))
        return group_sql(self.workflow.conditions, iter([make(c) for c in self.conditions]))


def _as_group(when: Any) -> Group:
    return when if isinstance(when, Group) else Group(all=[when])


def compile_workflow(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    as_of: date | list[date],
    label_days: int | None = None,
) -> Compiled:
    """Compile ``wf`` for the workspace behind ``con``.

    Args:
        con: Workspace connection (the schema is read; no data is).
        wf: The workflow.
        as_of: One date, or several (a backtest); rows are per account and date.
        label_days: When given and outcomes exist, add ``churn_date``: the first
            churned renewal on or after the as-of date and within this many days.

    Raises:
        WorkflowInvalid: A condition or health input names a fact the workspace
            does not have (the hint lists those it has), or has a wrongly typed value.
    """
    params = Params()
    dates = dates_sql(params, as_of)
    every = [
        *iter_conditions(wf.conditions),
        *wf.scope,
        *(c for r in wf.escalation for c in iter_conditions(_as_group(r.when))),
    ]
    windows = tuple(c.window_days for c in every if isinstance(c, Change))
    facts = build_facts(con, params, "dates", wf.facts.usage_days, wf.facts.csat_days, windows)
    if not facts.ctes:
        raise WorkflowInvalid(
            "The workspace has no accounts table, so there is nothing to evaluate.",
            "Import an accounts file on the Data page (or reset to the sample book).",
        )
    problems: list[tuple[str, WorkflowInvalid]] = []  # (path, error)
    problems.extend(health_problems(wf.health, facts))
    if problems:
        hs_items, score = ["NULL AS hs__none"], "NULL::DOUBLE"
    else:
        hs_items, score = health_select(wf.health, facts, params)
    # Conditions may use the health score, so it is a fact from here on.
    facts = FactsQuery(
        facts.ctes,
        facts.select,
        facts.facts
        + (Fact("health_score", "number", "workflow", "Health score 0-100 (this workflow's)"),),
        facts.usage_days,
        facts.columns,
    )

    def compile_leaf(cid: str, cond: Any, who: str, path: str) -> CompiledCondition | None:
        try:
            return compile_condition(cid, cond, facts, params, f"{who} ({path})")
        except WorkflowInvalid as exc:
            problems.append((path, exc))
            return None

    main_ids = condition_ids(wf.conditions)
    main_paths = condition_paths(wf.conditions, "conditions")
    main_raw = [
        compile_leaf(cid, c, f"Condition '{cid}'", path)
        for cid, c, path in zip(main_ids, iter_conditions(wf.conditions), main_paths, strict=True)
    ]
    scope_raw = [
        compile_leaf(f"scope_{i}", c, "Scope condition", f"scope[{i}]")
        for i, c in enumerate(wf.scope)
    ]
    rules_raw = []
    for i, rule in enumerate(wf.escalation):
        group = _as_group(rule.when)
        paths = (
            condition_paths(group, f"escalation[{i}].when")
            if isinstance(rule.when, Group)
            else [f"escalation[{i}].when"]
        )
        leaves = [
            compile_leaf(f"esc{i}_{j}", c, f"Escalation rule '{rule.name}'", path)
            for j, (c, path) in enumerate(zip(iter_conditions(group), paths, strict=True))
        ]
        rules_raw.append((i, rule, group, leaves))
    if len(problems) == 1:
        raise problems[0][1]
    if problems:
        # "path: reason" lines, like the loader's, so pages list them the same way.
        lines = [
            f"{path}: {exc.message.replace(f' ({path})', '')} {exc.hint}".strip()
            for path, exc in problems
        ]
        raise WorkflowInvalid(
            f"The workflow does not fit this workspace ({len(problems)} problems):\n- "
            + "\n- ".join(lines),
            "Rename the facts as listed, or import the data they need on the Data page.",
            problems=lines,
        )
    main = tuple(c for c in main_raw if c is not None)
    scope = tuple(c for c in scope_raw if c is not None)
    rules = tuple(
        CompiledRule(i, rule, group, tuple(c for c in leaves if c is not None))
        for i, rule, group, leaves in rules_raw
    )
    all_leaves = main + scope + tuple(x for r in rules for x in r.leaves)

    ctes = [f"dates AS ({dates})", *facts.ctes, f"facts AS ({facts.select})"]
    ctes.append(f"scored0 AS (SELECT f.*, {', '.join(hs_items)} FROM facts f)")
    ctes.append(f"scored AS (SELECT f.*, {score} AS health_score FROM scored0 f)")
    joins: list[str] = []
    for leaf in all_leaves:
        ctes.extend(leaf.ctes)
        joins.extend(leaf.joins)
    labelled = False
    if label_days is not None and "outcome" in table_columns(con).get("outcomes", {}):
        churn = ", ".join(params.add(w) for w in CHURN_WORDS)
        ctes.append(
            "lbl AS (SELECT o.account_id, d.as_of, min(o.renewal_date) AS churn_date "
            "FROM outcomes o JOIN dates d ON o.renewal_date >= d.as_of "
            f"AND o.renewal_date < d.as_of + {params.add(label_days)}::INTEGER "
            f"WHERE lower(o.outcome) IN ({churn}) GROUP BY ALL)"
        )
        joins.append("LEFT JOIN lbl ON lbl.account_id = f.account_id AND lbl.as_of = f.as_of")
        labelled = True
    values = [f"{leaf.value_sql} AS {quote_ident(value_col(leaf.id))}" for leaf in all_leaves]
    if labelled:
        values.append("lbl.churn_date")
    ctes.append(f"vals AS (SELECT f.*, {', '.join(values)} FROM scored f {' '.join(joins)})")
    passes = [
        f"{leaf.pass_on('v.' + quote_ident(value_col(leaf.id)))} AS {quote_ident(pass_col(leaf.id))}"
        for leaf in all_leaves
    ]
    ctes.append(f"checked AS (SELECT v.*, {', '.join(passes)} FROM vals v)")

    in_scope = " AND ".join(quote_ident(pass_col(c.id)) for c in scope) or "true"
    matches = group_sql(wf.conditions, iter([quote_ident(pass_col(c.id)) for c in main]))
    hits = [
        group_sql(r.group, iter([quote_ident(pass_col(leaf.id)) for leaf in r.leaves]))
        + f" AS {r.column}"
        for r in rules
    ]
    ctes.append(
        "decided AS (SELECT c.*, "
        + ", ".join([f"({in_scope}) AS in_scope", f"{matches} AS matches", *hits])
        + " FROM checked c)"
    )
    whens_route = " ".join(f"WHEN {r.column} THEN {params.add(r.rule.route)}" for r in rules)
    whens_rule = " ".join(f"WHEN {r.column} THEN {params.add(r.rule.name)}" for r in rules)
    auto = params.add("automated")
    route_if = f"CASE {whens_route} ELSE {auto} END" if rules else auto
    rule_if = f"CASE {whens_rule} END" if rules else "NULL::VARCHAR"
    sql = (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT d.*, d.in_scope AND d.matches AS fires, "
        + f"{route_if} AS route_if_fired, {rule_if} AS route_rule, "
        + f"CASE WHEN d.in_scope AND d.matches THEN {route_if} END AS route FROM decided d"
    )
    return Compiled(wf, facts, main, scope, tuple(rules), sql, dict(params.values), labelled)


@dataclass(frozen=True)
class Evaluation:
    """A compiled workflow materialised in a temporary table of the cursor ``con``."""

    compiled: Compiled
    table: str
    con: duckdb.DuckDBPyConnection
    as_of: tuple[date, ...]

    def frame(self, where: str = "true", params: dict[str, object] | None = None) -> pd.DataFrame:
        """Rows of the evaluation (optionally filtered by a SQL condition over its columns)."""
        return self.con.execute(
            f"SELECT * FROM {self.table} WHERE {where} ORDER BY as_of, account_id", params or {}
        ).df()


@contextmanager
def evaluation(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    as_of: date | list[date],
    label_days: int | None = None,
) -> Iterator[Evaluation]:
    """Evaluate ``wf`` into a temporary table for the duration of the block."""
    compiled = compile_workflow(con, wf, as_of, label_days)
    table = quote_ident(f"wf_eval_{uuid.uuid4().hex[:12]}")
    con.execute(f"CREATE TEMP TABLE {table} AS {compiled.sql}", compiled.params)
    days = (as_of,) if isinstance(as_of, date) else tuple(as_of)
    try:
        yield Evaluation(compiled, table, con, days)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def reasons(compiled: Compiled, row: dict[str, Any]) -> list[str]:
    """Each main condition's sentence with the account's actual value, in written order."""
    return [c.reason(row.get(value_col(c.id))) for c in compiled.conditions]
