"""One condition at a time: SQL, parameters, a sentence, and the same decision in Python.

``compile_condition`` turns a condition into a value expression (the account's
actual value) and a pass expression over that value, the way datasette's
filters turn a filter into a WHERE clause and an English sentence. The pass
expression is always ``coalesce(..., false)``: a missing value never satisfies
a comparison (use ``is_missing`` to catch it). ``decide`` makes the same
decision from the value in Python; the preview's reasons use it and a test
checks it against the SQL for every account.

Text comparisons (eq, ne, in, not_in) ignore case.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from pydantic import ValidationError

from workbench.errors import WorkflowInvalid
from workbench.storage.sql import Params, quote_ident
from workbench.workflow.facts import Fact, FactsQuery, change_fact, open_ticket_sql
from workbench.workflow.model import (
    Between,
    Change,
    Compare,
    Condition,
    Count,
    InList,
    Missing,
    WithinDays,
)

_ORDERED = ("lt", "le", "gt", "ge")
_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "<>"}
_WORDS = {
    "lt": "below",
    "le": "at most",
    "gt": "above",
    "ge": "at least",
    "eq": "is",
    "ne": "is not",
}
_LABELS = {
    "arr": "ARR",
    "nps_score": "NPS score",
    "nps_category": "NPS category",
    "nps_comment": "NPS comment",
    "csat_recent": "recent CSAT",
    "csm_owner": "CSM owner",
}
COUNT_DEFAULT_DAYS = {"tickets_opened": 90, "csm_touches": 90, "survey_responses": 365}
_COUNT_TABLES = {
    "open_tickets": ("tickets", "opened_at"),
    "tickets_opened": ("tickets", "opened_at"),
    "csm_touches": ("activity", "date"),
    "survey_responses": ("surveys", "responded_at"),
}


def label(name: str) -> str:
    """A fact name as words: ``health_score`` -> ``health score``."""
    if name in _LABELS:
        return _LABELS[name]
    if name.startswith("open_tickets_"):
        return f"open {name.removeprefix('open_tickets_').upper()} tickets"
    return name.replace("_", " ")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA: a value the SQL sees as NULL."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def show(value: Any) -> str:
    """A value as a person reads it in a reason."""
    if is_missing(value):
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class CompiledCondition:
    """A condition compiled against the facts of a workspace.

    Attributes:
        id: Stable name (the written id or ``fact_op``).
        condition: The model object.
        sentence: The condition in words ("health score below 60").
        value_sql: SQL of the account's actual value, over the facts alias ``f``.
        pass_sql: SQL of the decision over a value column placeholder ``{v}``.
        params: Parameter values used by ``value_sql`` and ``pass_sql`` (named).
        ctes: Extra CTEs the value needs (count conditions).
        joins: LEFT JOINs of those CTEs onto ``f``.
        threshold: The numeric threshold a sweep moves, or None if not sweepable.
        unit: What the threshold counts ("points", "days", "%", "tickets").
    """

    id: str
    condition: Any
    sentence: str
    value_sql: str
    pass_sql: str
    params: dict[str, object] = field(default_factory=dict)
    ctes: tuple[str, ...] = ()
    joins: tuple[str, ...] = ()
    threshold: float | None = None
    unit: str = ""

    def pass_on(self, value_column: str) -> str:
        """The pass expression applied to a value column."""
        return self.pass_sql.replace("{v}", value_column)

    def sweep_pass(self, value_column: str, threshold_sql: str) -> str:
        """The pass expression with the threshold replaced by ``threshold_sql`` (for sweeps)."""
        c = self.condition
        v = value_column
        if isinstance(c, Compare):
            return f"coalesce({v} {_OPS[c.op]} {threshold_sql}, false)"
        if isinstance(c, WithinDays):
            return f"coalesce({v} BETWEEN 0 AND {threshold_sql}, false)"
        if isinstance(c, Change):
            if c.direction == "down":
                return f"coalesce({v} < -({threshold_sql}), false)"
            return f"coalesce({v} > {threshold_sql}, false)"
        if isinstance(c, Count):
            return f"coalesce({v} >= {threshold_sql}, false)"
        raise WorkflowInvalid(
            f"Condition '{self.id}' has no numeric threshold to sweep.",
            "Only lt, le, gt, ge, within_days, change and count conditions have a threshold.",
        )

    def with_threshold(self, threshold: float) -> Any:
        """The condition with its threshold replaced (for "apply this threshold").

        Whole-number thresholds round the way the sweep counts: "within 17.5 days" is
        within 17, "at least 2.5" is at least 3. The result is validated again.

        Raises:
            WorkflowInvalid: The threshold is not allowed for this condition (e.g. -4 days).
        """
        c = self.condition
        if isinstance(c, Compare):
            update: dict[str, Any] = {"value": threshold}
        elif isinstance(c, WithinDays):
            update = {"days": math.floor(threshold)}
        elif isinstance(c, Change):
            update = {"pct": float(threshold)}
        elif isinstance(c, Count):
            update = {"at_least": math.ceil(threshold)}
        else:
            raise WorkflowInvalid(
                f"Condition '{self.id}' has no numeric threshold.",
                "Only lt, le, gt, ge, within_days, change and count conditions have a threshold.",
            )
        try:
            return type(c).model_validate({**c.model_dump(exclude_none=True), **update})
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise WorkflowInvalid(
                f"Condition '{self.id}' cannot take the threshold {threshold:g}: {reason}.",
                "Pick a threshold inside the allowed range.",
            ) from None

    def reason(self, value: Any) -> str:
        """The sentence with the account's actual value (left out when the sentence says it)."""
        c = self.condition
        says_it = (isinstance(c, Compare) and c.op == "eq") or (
            isinstance(c, InList) and c.op == "in" and len(c.values) == 1
        )
        if says_it and isinstance(value, str) and decide(c, value):
            return self.sentence
        return f"{self.sentence}: {describe_value(c, value)}"


def describe_value(cond: Any, value: Any) -> str:
    """An account's value for a condition, in words."""
    if is_missing(value):
        return "missing"
    if isinstance(cond, WithinDays):
        d = int(value)
        if cond.direction == "next":
            return "today" if d == 0 else (f"in {d} days" if d > 0 else f"{-d} days ago")
        return "today" if d == 0 else (f"{d} days ago" if d > 0 else f"in {-d} days")
    if isinstance(cond, Change):
        return f"{value:+.1f}%"
    return show(value)


def _fact(who: str, name: str, facts: FactsQuery) -> Fact:
    f = facts.fact(name)
    if f is None:
        names = [x.name for x in facts.facts]
        close = difflib.get_close_matches(name, names, n=1)
        guess = f"Did you mean '{close[0]}'? " if close else ""
        raise WorkflowInvalid(
            f"{who} uses '{name}', which this workspace does not have.",
            f"{guess}Use one of the facts: {', '.join(names)}."
            if names
            else "Import an accounts file first.",
        )
    return f


def _typed(who: str, f: Fact, value: Any) -> Any:
    """A written value as the fact's type, or a clear error."""
    if f.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WorkflowInvalid(
                f"{who} compares the number fact '{f.name}' with {value!r}.",
                "Write a number (no quotes), e.g. 60.",
            )
        return float(value)
    if f.type == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise WorkflowInvalid(
                f"{who} compares the date fact '{f.name}' with {value!r}.",
                "Write a date as YYYY-MM-DD, or use within_days for a window.",
            ) from None
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise WorkflowInvalid(
                f"{who} compares the yes/no fact '{f.name}' with {value!r}.",
                "Write true or false.",
            )
        return value
    return str(value)


def _num(v: float) -> str:
    return f"{v:g}"


def compile_condition(
    cid: str, cond: Condition, facts: FactsQuery, params: Params, who: str | None = None
) -> CompiledCondition:
    """Compile one condition against the workspace's facts.

    Raises:
        WorkflowInvalid: The condition names a fact the workspace does not have,
            or compares it with a value of the wrong type; the hint lists what exists.
    """
    who = who or f"Condition '{cid}'"
    before = set(params.values)

    def used() -> dict[str, object]:
        return {k: v for k, v in params.values.items() if k not in before}

    if isinstance(cond, Compare):
        f = _fact(who, cond.fact, facts)
        value = _typed(who, f, cond.value)
        v_sql = "{v}"
        if f.type == "text":
            if cond.op not in ("eq", "ne"):
                raise WorkflowInvalid(
                    f"{who} uses {cond.op} on the text fact '{f.name}'.",
                    "Text facts take eq, ne, in, not_in, is_missing or is_present.",
                )
            v_sql, value = "lower({v})", str(value).lower()
        ph = params.add(value)
        return CompiledCondition(
            cid,
            cond,
            f"{label(f.name)} {_WORDS[cond.op]} {show(cond.value)}",
            f"f.{quote_ident(f.name)}",
            f"coalesce({v_sql} {_OPS[cond.op]} {ph}, false)",
            used(),
            threshold=float(value) if f.type == "number" and cond.op in _ORDERED else None,
        )
    if isinstance(cond, Between):
        f = _fact(who, cond.fact, facts)
        if f.type not in ("number", "date"):
            raise WorkflowInvalid(
                f"{who} uses between on the {f.type} fact '{f.name}'.",
                "between needs a number or date fact.",
            )
        lo, hi = params.add(_typed(who, f, cond.low)), params.add(_typed(who, f, cond.high))
        return CompiledCondition(
            cid,
            cond,
            f"{label(f.name)} between {show(cond.low)} and {show(cond.high)}",
            f"f.{quote_ident(f.name)}",
            f"coalesce({{v}} BETWEEN {lo} AND {hi}, false)",
            used(),
        )
    if isinstance(cond, InList):
        f = _fact(who, cond.fact, facts)
        values = [_typed(who, f, v) for v in cond.values]
        v_sql = "{v}"
        if f.type == "text":
            values = [str(v).lower() for v in values]
            v_sql = "lower({v})"
        phs = ", ".join(params.add(v) for v in values)
        neg = "NOT " if cond.op == "not_in" else ""
        words = "is one of" if cond.op == "in" else "is none of"
        return CompiledCondition(
            cid,
            cond,
            f"{label(f.name)} {words} {', '.join(show(v) for v in cond.values)}",
            f"f.{quote_ident(f.name)}",
            f"coalesce({v_sql} {neg}IN ({phs}), false)",
            used(),
        )
    if isinstance(cond, Missing):
        f = _fact(who, cond.fact, facts)
        missing = cond.op == "is_missing"
        return CompiledCondition(
            cid,
            cond,
            f"{label(f.name)} {'is missing' if missing else 'is known'}",
            f"f.{quote_ident(f.name)}",
            "({v} IS NULL)" if missing else "({v} IS NOT NULL)",
            used(),
        )
    if isinstance(cond, WithinDays):
        f = _fact(who, cond.fact, facts)
        if f.type != "date":
            dates = ", ".join(x.name for x in facts.facts if x.type == "date")
            raise WorkflowInvalid(
                f"{who} uses within_days on '{f.name}', which is not a date.",
                f"Use one of the date facts: {dates}.",
            )
        col = f"f.{quote_ident(f.name)}"
        value = (
            f"date_diff('day', f.as_of, {col})"
            if cond.direction == "next"
            else f"date_diff('day', {col}, f.as_of)"
        )
        ph = params.add(cond.days)
        span = "next" if cond.direction == "next" else "last"
        return CompiledCondition(
            cid,
            cond,
            f"{label(f.name)} within the {span} {cond.days} days",
            value,
            f"coalesce({{v}} BETWEEN 0 AND {ph}, false)",
            used(),
            threshold=float(cond.days),
            unit="days",
        )
    if isinstance(cond, Change):
        name = change_fact(cond.metric, cond.window_days, facts.usage_days)
        if facts.fact(name) is None:
            metrics = [
                x.name.removesuffix("_change_pct")
                for x in facts.facts
                if x.name.endswith("_change_pct")
            ]
            raise WorkflowInvalid(
                f"{who} watches the usage metric '{cond.metric}', "
                "which this workspace does not have.",
                f"Use one of: {', '.join(metrics)}." if metrics else "Import a usage file first.",
            )
        ph = params.add(cond.pct)
        cmp = f"{{v}} < -{ph}" if cond.direction == "down" else f"{{v}} > {ph}"
        return CompiledCondition(
            cid,
            cond,
            f"{label(cond.metric)} {cond.direction} more than {_num(cond.pct)}% "
            f"(last {cond.window_days} days vs the {cond.window_days} before)",
            f"f.{quote_ident(name)}",
            f"coalesce({cmp}, false)",
            used(),
            threshold=cond.pct,
            unit="%",
        )
    if isinstance(cond, Count):
        return _count(cid, cond, facts, params, before, who)
    raise WorkflowInvalid(f"{who} has an unknown operator.")  # pragma: no cover


def _count(
    cid: str, cond: Count, facts: FactsQuery, params: Params, before: set[str], who: str
) -> CompiledCondition:
    table, date_col = _COUNT_TABLES[cond.source]
    has = {f.source for f in facts.facts}
    if table not in has:
        raise WorkflowInvalid(
            f"{who} counts {cond.source.replace('_', ' ')}, "
            f"but this workspace has no {table} table.",
            f"Import a {table} file on the Data page, or remove the condition.",
        )
    where = [f"x.{quote_ident(date_col)} < d.as_of"]
    if cond.source == "open_tickets":
        if facts.fact("open_tickets") is None:
            raise WorkflowInvalid(
                f"{who} counts open tickets, but the tickets table has no closed_at "
                "or status column to tell open from closed.",
                "Map the closed date or status column when importing tickets.",
            )
        # A hand-built FactsQuery may not carry columns: assume the canonical closed_at.
        cols = facts.columns.get(table, {"closed_at": "TIMESTAMP"})
        is_open = open_ticket_sql(cols, params, "x")
        if is_open is None:  # pragma: no cover - facts would lack open_tickets already
            raise WorkflowInvalid(f"{who} cannot tell open tickets from closed.")
        where.append(is_open)
        span = ""
    else:
        days = cond.within_days or COUNT_DEFAULT_DAYS[cond.source]
        where.append(f"x.{quote_ident(date_col)} >= d.as_of - {params.add(days)}::INTEGER")
        span = f" in the last {days} days"
    pri = ""
    if cond.priority:
        if facts.columns and "priority" not in facts.columns.get(table, {}):
            raise WorkflowInvalid(
                f"{who} filters tickets by priority, but the tickets table has no priority column.",
                "Map the priority column when importing tickets, or remove 'priority'.",
            )
        phs = ", ".join(params.add(p.lower()) for p in cond.priority)
        where.append(f"lower(x.priority) IN ({phs})")
        pri = "/".join(cond.priority) + " "
    at = params.add(cond.at_least)
    cte = f"cnt_{_ident(cid)}"
    sql = (
        f"{cte} AS (SELECT x.account_id, d.as_of, count(*) AS n FROM {quote_ident(table)} x "
        f"JOIN dates d ON {' AND '.join(where)} GROUP BY ALL)"
    )
    one = cond.at_least == 1
    noun = {
        "open_tickets": f"open {pri}ticket{'' if one else 's'}",
        "tickets_opened": f"{pri}ticket{'' if one else 's'} opened",
        "csm_touches": f"CSM touch{'' if one else 'es'}",
        "survey_responses": f"survey response{'' if one else 's'}",
    }[cond.source]
    return CompiledCondition(
        cid,
        cond,
        f"at least {cond.at_least} {noun}{span}",
        f"coalesce({cte}.n, 0)",
        f"coalesce({{v}} >= {at}, false)",
        {k: v for k, v in params.values.items() if k not in before},
        ctes=(sql,),
        joins=(f"LEFT JOIN {cte} ON {cte}.account_id = f.account_id AND {cte}.as_of = f.as_of",),
        threshold=float(cond.at_least),
        unit="",
    )


def _ident(cid: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in cid)


def decide(cond: Any, value: Any) -> bool:
    """The condition's decision for an account's value, in Python (mirrors the SQL)."""
    if is_missing(value):
        value = None
    elif hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars to Python, so decisions are plain bools
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime().date()
    elif isinstance(value, datetime):
        value = value.date()
    if isinstance(cond, Missing):
        return (value is None) == (cond.op == "is_missing")
    if value is None:
        return False
    if isinstance(cond, Compare):
        target = cond.value
        if isinstance(value, str):
            if cond.op == "eq":
                return value.lower() == str(target).lower()
            return value.lower() != str(target).lower()
        if isinstance(value, date) and not isinstance(target, date):
            target = date.fromisoformat(str(target))
        return {
            "lt": value < target,
            "le": value <= target,
            "gt": value > target,
            "ge": value >= target,
            "eq": value == target,
            "ne": value != target,
        }[cond.op]
    if isinstance(cond, Between):
        lo, hi = cond.low, cond.high
        if isinstance(value, date):
            lo, hi = (x if isinstance(x, date) else date.fromisoformat(str(x)) for x in (lo, hi))
        return bool(lo <= value <= hi)
    if isinstance(cond, InList):
        if isinstance(value, str):
            hit = value.lower() in {str(v).lower() for v in cond.values}
        elif isinstance(value, date):
            hit = any(
                value == (v if isinstance(v, date) else date.fromisoformat(str(v)))
                for v in cond.values
            )
        else:
            hit = any(value == v for v in cond.values)
        return hit if cond.op == "in" else not hit
    if isinstance(cond, WithinDays):
        return 0 <= value <= cond.days
    if isinstance(cond, Change):
        return value < -cond.pct if cond.direction == "down" else value > cond.pct
    if isinstance(cond, Count):
        return bool(value >= cond.at_least)
    raise TypeError(cond)  # pragma: no cover
