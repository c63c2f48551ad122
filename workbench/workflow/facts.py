"""Account facts: one row per account and as-of date, built from the imported tables.

"As of D" means the morning of D: only rows dated before D are used (usage
dates, ticket open/close times, survey and activity dates, renewal outcomes).
ARR and the renewal date come from the renewal outcomes when a renewal falls on
or after D (the ARR before that renewal, the date of that renewal); accounts that
churned before D, or started on or after D, are left out. Other account columns
(segment, owner, extra columns) are taken as they are now.

The query is generated from the columns the workspace has, so a workspace
without tickets simply has no ticket facts; ``FactsQuery.facts`` lists what
exists, for pickers and for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import duckdb
import pandas as pd

from workbench.storage.sql import Params, quote_ident
from workbench.storage.tables import list_tables

FactType = Literal["number", "text", "date", "boolean"]

CHURN_WORDS = ("churned", "churn", "lost", "cancelled", "canceled", "closed lost", "terminated")
# A renewal row with one of these outcomes has not been decided yet: it is no outcome at all.
PENDING_WORDS = (
    "pending", "open", "in progress", "in negotiation", "upcoming", "scheduled", "tbd", "unknown",
)  # fmt: skip
MAX_PRIORITIES = 8
# Names the compiler adds to every evaluated row; account columns may not take them.
RESERVED = frozenset(
    ("health_score", "fires", "in_scope", "matches", "route", "route_if_fired", "route_rule")
    + ("churn_date", "as_of", "account_id")
)
RESERVED_PREFIXES = ("hs__", "v__", "ok__", "esc__")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


@dataclass(frozen=True)
class Fact:
    """A column of the facts view.

    Attributes:
        name: Column name, as conditions and health inputs refer to it.
        type: number, text, date or boolean.
        source: The table it comes from.
        description: One line for pickers and the README.
    """

    name: str
    type: FactType
    source: str
    description: str


@dataclass(frozen=True)
class FactsQuery:
    """A generated query with one row per (account_id, as_of) and its facts.

    ``ctes`` are ``name AS (...)`` parts that expect a ``dates`` relation defined
    before them; ``select`` is the final SELECT over them.
    """

    ctes: tuple[str, ...]
    select: str
    facts: tuple[Fact, ...]
    usage_days: int = 30
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def with_dates(self, dates_sql: str) -> str:
        """The whole statement, given the SQL of the dates relation (one DATE column as_of)."""
        return "WITH dates AS (" + dates_sql + "),\n" + ",\n".join(self.ctes) + "\n" + self.select

    def fact(self, name: str) -> Fact | None:
        for f in self.facts:
            if f.name == name:
                return f
        return None


def _fact_type(duck_type: str) -> FactType:
    t = duck_type.upper()
    if t.startswith(_NUMERIC):
        return "number"
    if t == "DATE" or t.startswith("TIMESTAMP"):
        return "date"
    if t == "BOOLEAN":
        return "boolean"
    return "text"


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Columns and DuckDB types of each user table."""
    out: dict[str, dict[str, str]] = {}
    names = {t.name for t in list_tables(con)}
    if not names:
        return out
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    for table, column, dtype in rows:
        if table in names:
            out.setdefault(table, {})[column] = dtype
    return out


def default_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The day after the latest dated row of usage, tickets, surveys or activity (else today)."""
    cols = table_columns(con)
    parts = []
    for table, column in (
        ("usage", "date"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
        ("activity", "date"),
    ):
        if column in cols.get(table, {}):
            parts.append(f"SELECT max({quote_ident(column)})::DATE AS d FROM {quote_ident(table)}")
    if parts:
        latest = con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)})").fetchall()[0][0]
        if latest is not None:
            return latest + timedelta(days=1)
    return date.today()


def slug(text: str) -> str:
    """A lower-case identifier-safe form of a value, for fact names like open_tickets_p1."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "blank"


def ticket_priorities(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The most common ticket priorities (lower case, at most MAX_PRIORITIES), alphabetically."""
    if "priority" not in table_columns(con).get("tickets", {}):
        return []
    rows = con.execute(
        "SELECT p FROM (SELECT lower(priority) AS p, count(*) AS n FROM tickets "
        "WHERE priority IS NOT NULL GROUP BY 1 ORDER BY n DESC, p LIMIT ?) ORDER BY p",
        [MAX_PRIORITIES],
    ).fetchall()
    return [r[0] for r in rows]


def open_ticket_sql(columns: dict[str, str], params: Params, alias: str) -> str | None:
    """SQL telling a ticket (table alias ``alias``) open as of ``d.as_of``; None if it cannot.

    Uses the closed time when the table has one, else the status (closed, solved,
    resolved count as done).
    """
    if "closed_at" in columns:
        return f"({alias}.closed_at IS NULL OR {alias}.closed_at >= d.as_of)"
    if "status" in columns:
        done = ", ".join(params.add(s) for s in ("closed", "solved", "resolved"))
        return f"({alias}.status IS NULL OR lower({alias}.status) NOT IN ({done}))"
    return None


class _Builder:
    def __init__(self, cols: dict[str, dict[str, str]], params: Params, dates: str) -> None:
        self.cols = cols
        self.p = params
        self.dates = dates
        self.ctes: list[str] = []
        self.joins: list[str] = []
        self.select: list[str] = []
        self.facts: list[Fact] = []
        self.own: list[str] = []

    def has(self, table: str, *columns: str) -> bool:
        return table in self.cols and all(c in self.cols[table] for c in columns)

    def add(self, expr: str, name: str, type_: FactType, source: str, description: str) -> None:
        if any(f.name == name for f in self.facts):
            return
        self.select.append(f"{expr} AS {quote_ident(name)}")
        self.facts.append(Fact(name, type_, source, description))


def _accounts(b: _Builder) -> None:
    acc = b.cols["accounts"]
    renewal = "a.renewal_date" if "renewal_date" in acc else "NULL::DATE"
    arr = "a.arr" if "arr" in acc else "NULL::DOUBLE"
    where = ["g.account_id IS NULL"]
    if "start_date" in acc:
        where.append("(a.start_date IS NULL OR a.start_date < d.as_of)")
    if b.has("outcomes", "account_id", "renewal_date"):
        before = "o.arr_before" if "arr_before" in b.cols["outcomes"] else "NULL::DOUBLE"
        churned = "false"
        if "outcome" in b.cols["outcomes"]:
            churned = f"lower(o.outcome) IN ({', '.join(b.p.add(w) for w in CHURN_WORDS)})"
        b.ctes.append(
            "nx AS (SELECT o.account_id, d.as_of, min(o.renewal_date) AS renewal_date, "
            f"arg_min({before}, o.renewal_date) AS arr_before "
            f"FROM outcomes o JOIN {b.dates} d ON o.renewal_date >= d.as_of GROUP BY ALL)"
        )
        b.ctes.append(
            f"gone AS (SELECT DISTINCT o.account_id, d.as_of FROM outcomes o JOIN {b.dates} d "
            f"ON o.renewal_date < d.as_of WHERE {churned})"
        )
        renewal = f"coalesce(nx.renewal_date, {renewal})"
        arr = f"coalesce(nx.arr_before, {arr})"
        nx_join = "LEFT JOIN nx ON nx.account_id = a.account_id AND nx.as_of = d.as_of "
        gone_join = "LEFT JOIN gone g ON g.account_id = a.account_id AND g.as_of = d.as_of"
    else:
        nx_join = ""
        gone_join = "LEFT JOIN (SELECT NULL AS account_id, NULL::DATE AS as_of) g ON false"
    own = [c for c in acc if c not in ("account_id", "arr", "renewal_date")]
    own_sql = "".join(f", a.{quote_ident(c)}" for c in own)
    b.ctes.append(
        f"acc AS (SELECT a.account_id, d.as_of, {arr} AS arr, {renewal} AS renewal_date{own_sql} "
        f"FROM accounts a CROSS JOIN {b.dates} d {nx_join}{gone_join} "
        f"WHERE {' AND '.join(where)})"
    )
    b.add("acc.arr", "arr", "number", "accounts", "ARR as of the date (before a later renewal)")
    b.add(
        "acc.renewal_date", "renewal_date", "date", "accounts", "Next renewal on or after the date"
    )
    b.add(
        "date_diff('day', acc.as_of, acc.renewal_date)",
        "days_to_renewal",
        "number",
        "accounts",
        "Days from the as-of date to the next renewal",
    )
    if "start_date" in acc:
        b.add(
            "date_diff('day', acc.start_date, acc.as_of)",
            "tenure_days",
            "number",
            "accounts",
            "Days since the customer started",
        )
    b.own = own


def _account_columns(b: _Builder) -> None:
    """Every other accounts column, after the computed facts so those keep their names.

    A column whose name a computed fact or the compiler already uses (say a CRM's own
    ``health_score``) is offered as ``accounts_<name>`` instead of silently replacing it.
    """
    acc = b.cols["accounts"]
    for c in b.own:
        typ = _fact_type(acc[c])
        expr = f"acc.{quote_ident(c)}"
        if acc[c].upper().startswith("TIMESTAMP"):
            expr += "::DATE"  # compared with dates, like the other date facts
        taken = {f.name.lower() for f in b.facts}
        name = c
        if c.lower() in taken or c.lower() in RESERVED or c.lower().startswith(RESERVED_PREFIXES):
            name = f"accounts_{c}"
            desc = f"accounts.{c} (renamed: the workbench computes its own {c})"
        else:
            desc = f"accounts.{c} (as it is now)"
        b.add(expr, name, typ, "accounts", desc)


def usage_metrics(cols: dict[str, dict[str, str]]) -> list[str]:
    """Numeric usage columns (besides keys) that get window facts."""
    usage = cols.get("usage", {})
    if "account_id" not in usage or "date" not in usage:
        return []
    return [
        c for c, t in usage.items() if c not in ("account_id", "date") and _fact_type(t) == "number"
    ]


def change_fact(metric: str, window: int, default_window: int) -> str:
    """Name of the change-percent fact for a metric and window."""
    return f"{metric}_change_pct" + ("" if window == default_window else f"_{window}d")


def _usage(b: _Builder, windows: list[int], default: int) -> None:
    metrics = usage_metrics(b.cols)
    if not metrics:
        return
    for w in windows:
        name = f"u{w}"
        wp = b.p.add(w)
        aggs = []
        for m in metrics:
            q = quote_ident(m)
            aggs.append(
                f"avg(u.{q}) FILTER (WHERE u.date >= d.as_of - {wp}::INTEGER) AS r_{slug(m)}"
            )
            aggs.append(
                f"avg(u.{q}) FILTER (WHERE u.date < d.as_of - {wp}::INTEGER) AS p_{slug(m)}"
            )
        b.ctes.append(
            f"{name} AS (SELECT u.account_id, d.as_of, {', '.join(aggs)} FROM usage u "
            f"JOIN {b.dates} d ON u.date < d.as_of AND u.date >= d.as_of - 2 * {wp}::INTEGER "
            "GROUP BY ALL)"
        )
        b.joins.append(
            f"LEFT JOIN {name} ON {name}.account_id = acc.account_id AND {name}.as_of = acc.as_of"
        )
        suffix = "" if w == default else f"_{w}d"
        for m in metrics:
            r, pr = f"{name}.r_{slug(m)}", f"{name}.p_{slug(m)}"
            if w == default:
                b.add(
                    r, f"{m}_recent", "number", "usage", f"Average {m} per usage row, last {w} days"
                )
                b.add(
                    pr,
                    f"{m}_prior",
                    "number",
                    "usage",
                    f"Average {m} per usage row, the {w} days before",
                )
            b.add(
                f"CASE WHEN {pr} > 0 THEN ({r} - {pr}) / {pr} * 100 END",
                change_fact(m, w, default),
                "number",
                "usage",
                f"Change of {m} in percent: last {w} days vs the {w} before{suffix and ''}",
            )
    if "active_users" in metrics and "seats" in b.cols["accounts"]:
        b.add(
            f"CASE WHEN acc.seats > 0 THEN u{default}.r_active_users / acc.seats * 100 END",
            "seat_utilisation_pct",
            "number",
            "usage",
            f"Active users (last {default} days) as a percent of seats",
        )


def _tickets(b: _Builder, priorities: list[str], csat_days: int) -> None:
    if not b.has("tickets", "account_id", "opened_at"):
        return
    t = b.cols["tickets"]
    is_open = open_ticket_sql(t, b.p, "t")
    if is_open is None:
        return
    aggs = [f"count(*) FILTER (WHERE {is_open}) AS open_tickets"]
    aggs.append(
        f"max(date_diff('day', t.opened_at::DATE, d.as_of)) FILTER (WHERE {is_open}) AS oldest_open"
    )
    aggs.append("count(*) FILTER (WHERE t.opened_at >= d.as_of - 90) AS opened_90d")
    if "priority" in t:
        for i, pri in enumerate(priorities):
            aggs.append(
                f"count(*) FILTER (WHERE {is_open} AND lower(t.priority) = {b.p.add(pri)}) AS op{i}"
            )
    has_csat = "csat" in t and "closed_at" in t and _fact_type(t["csat"]) == "number"
    if has_csat:
        cd = b.p.add(csat_days)
        aggs.append(
            f"avg(t.csat) FILTER (WHERE t.closed_at >= d.as_of - {cd}::INTEGER "
            "AND t.closed_at < d.as_of) AS csat_recent"
        )
    b.ctes.append(
        f"tk AS (SELECT t.account_id, d.as_of, {', '.join(aggs)} FROM tickets t "
        f"JOIN {b.dates} d ON t.opened_at < d.as_of GROUP BY ALL)"
    )
    b.joins.append("LEFT JOIN tk ON tk.account_id = acc.account_id AND tk.as_of = acc.as_of")
    b.add("coalesce(tk.open_tickets, 0)", "open_tickets", "number", "tickets", "Open tickets")
    if "priority" in t:
        for i, pri in enumerate(priorities):
            b.add(
                f"coalesce(tk.op{i}, 0)",
                f"open_tickets_{slug(pri)}",
                "number",
                "tickets",
                f"Open tickets with priority {pri}",
            )
    b.add(
        "tk.oldest_open",
        "oldest_open_ticket_days",
        "number",
        "tickets",
        "Age in days of the oldest open ticket",
    )
    b.add(
        "coalesce(tk.opened_90d, 0)",
        "tickets_90d",
        "number",
        "tickets",
        "Tickets opened in the last 90 days",
    )
    if has_csat:
        b.add(
            "tk.csat_recent",
            "csat_recent",
            "number",
            "tickets",
            f"Average ticket CSAT, tickets closed in the last {csat_days} days",
        )


def _surveys(b: _Builder) -> None:
    if not b.has("surveys", "account_id", "responded_at", "score"):
        return
    s = b.cols["surveys"]
    where = ""
    if "survey_type" in s:
        where = f"WHERE (s.survey_type IS NULL OR lower(s.survey_type) = {b.p.add('nps')})"
    comment = "s.comment" if "comment" in s else "NULL::VARCHAR"
    b.ctes.append(
        "sv0 AS (SELECT s.account_id, d.as_of, s.score, s.responded_at, "
        f"{comment} AS comment, max(s.responded_at) OVER (PARTITION BY s.account_id, d.as_of) AS last_at "
        f"FROM surveys s JOIN {b.dates} d ON s.responded_at < d.as_of {where})"
    )
    b.ctes.append(
        "sv AS (SELECT account_id, as_of, avg(score) AS score, max(responded_at) AS at, "
        "first(comment ORDER BY score, comment) FILTER (WHERE comment IS NOT NULL) AS comment "
        "FROM sv0 WHERE responded_at = last_at GROUP BY ALL)"
    )
    b.joins.append("LEFT JOIN sv ON sv.account_id = acc.account_id AND sv.as_of = acc.as_of")
    b.add(
        "sv.score",
        "nps_score",
        "number",
        "surveys",
        "Latest NPS score (average of that day's responses)",
    )
    promoter, passive, detractor = (b.p.add(x) for x in ("promoter", "passive", "detractor"))
    b.add(
        f"CASE WHEN sv.score >= 9 THEN {promoter} WHEN sv.score >= 7 THEN {passive} "
        f"WHEN sv.score IS NOT NULL THEN {detractor} END",
        "nps_category",
        "text",
        "surveys",
        "promoter (9-10), passive (7-8) or detractor (0-6)",
    )
    b.add("sv.at::DATE", "nps_date", "date", "surveys", "Date of the latest NPS response")
    b.add(
        "sv.comment", "nps_comment", "text", "surveys", "Comment of the lowest latest NPS response"
    )


def _activity(b: _Builder) -> None:
    if not b.has("activity", "account_id", "date"):
        return
    b.ctes.append(
        "ac AS (SELECT x.account_id, d.as_of, max(x.date) AS last_touch, "
        "count(*) FILTER (WHERE x.date >= d.as_of - 90) AS touches_90d "
        f"FROM activity x JOIN {b.dates} d ON x.date < d.as_of GROUP BY ALL)"
    )
    b.joins.append("LEFT JOIN ac ON ac.account_id = acc.account_id AND ac.as_of = acc.as_of")
    b.add(
        "ac.last_touch::DATE",
        "last_touch_date",
        "date",
        "activity",
        "Date of the last CSM activity",
    )
    b.add(
        "date_diff('day', ac.last_touch::DATE, acc.as_of)",
        "days_since_touch",
        "number",
        "activity",
        "Days since the last CSM activity (missing if never)",
    )
    b.add(
        "coalesce(ac.touches_90d, 0)",
        "touches_90d",
        "number",
        "activity",
        "CSM activities in the last 90 days",
    )


def build_facts(
    con: duckdb.DuckDBPyConnection,
    params: Params,
    dates: str = "dates",
    usage_days: int = 30,
    csat_days: int = 90,
    extra_usage_windows: tuple[int, ...] = (),
) -> FactsQuery:
    """Generate the facts query.

    Args:
        con: Workspace connection (only the schema and ticket priorities are read).
        params: Parameter collector shared with the enclosing statement.
        dates: Name of the relation with one DATE column ``as_of`` (a CTE of the caller).
        usage_days: The default usage window (``active_users_change_pct`` etc.).
        csat_days: Window for ticket CSAT.
        extra_usage_windows: More windows, giving ``<metric>_change_pct_<N>d`` facts.

    Returns:
        The CTEs, the final SELECT and the facts it yields. Without an accounts
        table there are no facts and no CTEs.
    """
    cols = table_columns(con)
    if "account_id" not in cols.get("accounts", {}):
        return FactsQuery((), "", ())
    b = _Builder(cols, params, dates)
    b.add("acc.account_id", "account_id", "text", "accounts", "Account identifier")
    b.add("acc.as_of", "as_of", "date", "facts", "The date the facts are computed as of")
    _accounts(b)
    windows = sorted({usage_days, *extra_usage_windows}, key=lambda w: (w != usage_days, w))
    _usage(b, windows, usage_days)
    _tickets(b, ticket_priorities(con), csat_days)
    _surveys(b)
    _activity(b)
    _account_columns(b)
    select = "SELECT " + ",\n  ".join(b.select) + "\nFROM acc " + " ".join(b.joins)
    return FactsQuery(tuple(b.ctes), select, tuple(b.facts), usage_days, cols)


def dates_sql(params: Params, as_of: date | list[date]) -> str:
    """SQL of the dates relation for one or more as-of dates (one parameter)."""
    days = [as_of] if isinstance(as_of, date) else list(as_of)
    return f"SELECT unnest({params.add(days)}::DATE[]) AS as_of"


def facts_frame(
    con: duckdb.DuckDBPyConnection,
    as_of: list[date] | date,
    usage_days: int = 30,
    csat_days: int = 90,
    account_ids: list[str] | None = None,
) -> tuple[FactsQuery, pd.DataFrame]:
    """Run the facts query for one or more dates; returns the query and a DataFrame.

    ``account_ids`` limits it to those accounts (the filter reaches the usage, ticket and
    survey scans, so a few accounts cost little on a large book). The frame is empty (no
    columns) when the workspace has no accounts table.
    """
    params = Params()
    dates = dates_sql(params, as_of)
    q = build_facts(con, params, "dates", usage_days, csat_days)
    if not q.ctes:
        return q, pd.DataFrame()
    sql = q.with_dates(dates)
    if account_ids is not None:
        ids = params.add([str(a) for a in account_ids])
        sql = f"SELECT * FROM ({sql}) WHERE list_contains({ids}::VARCHAR[], account_id::VARCHAR)"
        return q, con.execute(sql + " ORDER BY as_of, account_id", params.values).df()
    return q, con.execute(sql + " ORDER BY acc.as_of, acc.account_id", params.values).df()
