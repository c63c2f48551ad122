"""Context packets: the compact, retrieval-first facts a draft for one fired account is built from.

A packet holds only rows dated before the preview's as-of date (usage weeks,
tickets opened, survey responses), read with parameterised SQL from the tables
the workspace has. ``render_packet`` is the exact text a prompt embeds and the
user can inspect; ``packet_hash`` keys caches and records.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from workbench.storage.sql import Params, quote_ident
from workbench.workflow.facts import facts_frame, open_ticket_sql, table_columns
from workbench.workflow.model import ActionType, Workflow
from workbench.workflow.preview import Preview

USAGE_ROWS = 12
MAX_TICKETS = 10
MAX_COMMENTS = 6
URGENT = ("p1", "p2")
# Facts shown as "key facts" when the workspace has them: (fact, label, kind).
_KEY_FACTS = (
    ("plan", "Plan", "text"),
    ("seats", "Seats", "int"),
    ("seat_utilisation_pct", "Seat utilisation", "pct"),
    ("active_users_recent", "Active users (recent avg)", "num"),
    ("active_users_change_pct", "Active users change", "signed_pct"),
    ("open_tickets", "Open tickets", "int"),
    ("oldest_open_ticket_days", "Oldest open ticket (days)", "int"),
    ("nps_score", "Latest NPS", "num"),
    ("nps_category", "NPS category", "text"),
    ("last_touch_date", "Last CSM touch", "date"),
    ("days_since_touch", "Days since CSM touch", "int"),
    ("tenure_days", "Customer for (days)", "int"),
)


@dataclass(frozen=True)
class Ticket:
    """A support ticket as of the packet's date."""

    subject: str
    priority: str
    opened: date
    is_open: bool

    @property
    def status(self) -> str:
        return "open" if self.is_open else "closed"


@dataclass(frozen=True)
class Comment:
    """A survey response with a comment."""

    score: float | None
    responded: date
    comment: str


@dataclass(frozen=True)
class ContextPacket:
    """Everything a draft for one fired account may use, and nothing else.

    Attributes:
        reasons: The rule's condition sentences with the account's values.
        key_facts: (label, value text) pairs beyond the header fields.
        usage: (week date, active users) for the last usage rows, oldest first.
        tickets: Most relevant first: open P1/P2, then newest.
        comments: Lowest score first, then newest.
        contacts: Emails seen in survey responses for the account.
    """

    account_id: str
    account_name: str
    segment: str | None
    arr: float | None
    csm_owner: str | None
    renewal_date: date | None
    days_to_renewal: int | None
    health_score: float | None
    action_type: ActionType
    route: str
    as_of: date
    assignee: str | None
    reasons: tuple[str, ...]
    key_facts: tuple[tuple[str, str], ...]
    usage: tuple[tuple[date, int], ...]
    tickets: tuple[Ticket, ...]
    comments: tuple[Comment, ...]
    contacts: tuple[str, ...]

    @property
    def arr_text(self) -> str:
        return money(self.arr)

    @property
    def renewal_text(self) -> str:
        return self.renewal_date.isoformat() if self.renewal_date else "unknown"

    @property
    def open_tickets(self) -> tuple[Ticket, ...]:
        return tuple(t for t in self.tickets if t.is_open)


def money(value: float | None) -> str:
    """ARR as text: ``$42,140`` (``unknown`` when missing)."""
    return "unknown" if value is None else f"${value:,.0f}"


def _missing(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _day(v: Any) -> date | None:
    if _missing(v):
        return None
    if isinstance(v, pd.Timestamp | datetime):
        return v.date()
    return v if isinstance(v, date) else None


def _text(v: Any) -> str | None:
    return None if _missing(v) else str(v)


def _num(v: Any) -> float | None:
    return None if _missing(v) else float(v)


def _fact_text(v: Any, kind: str) -> str | None:
    if _missing(v):
        return None
    if kind == "int":
        return f"{float(v):,.0f}"
    if kind == "num":
        return f"{float(v):,.1f}"
    if kind == "pct":
        return f"{float(v):.0f}%"
    if kind == "signed_pct":
        return f"{float(v):+.0f}%"
    if kind == "date":
        d = _day(v)
        return d.isoformat() if d else None
    return str(v)


def _ids_param(p: Params, ids: list[str]) -> str:
    return f"{p.add(ids)}::VARCHAR[]"


def _usage(
    con: duckdb.DuckDBPyConnection, cols: dict[str, str], ids: list[str], as_of: date
) -> dict[str, list[tuple[date, int]]]:
    if not {"account_id", "date", "active_users"} <= cols.keys():
        return {}
    p = Params()
    sql = (
        "SELECT account_id, d, n FROM (SELECT account_id, date::DATE AS d, active_users AS n, "
        "row_number() OVER (PARTITION BY account_id ORDER BY date DESC) AS k FROM usage "
        f"WHERE list_contains({_ids_param(p, ids)}, account_id) AND date < {p.add(as_of)} "
        f"AND active_users IS NOT NULL) WHERE k <= {p.add(USAGE_ROWS)} ORDER BY account_id, d"
    )
    out: dict[str, list[tuple[date, int]]] = {}
    for acc, d, n in con.execute(sql, p.values).fetchall():
        out.setdefault(acc, []).append((d, int(n)))
    return out


def _tickets(
    con: duckdb.DuckDBPyConnection, cols: dict[str, str], ids: list[str], as_of: date
) -> dict[str, list[Ticket]]:
    if not {"account_id", "opened_at"} <= cols.keys():
        return {}
    p = Params()
    open_sql = open_ticket_sql(cols, p, "t") or "true"
    subject = "t.subject" if "subject" in cols else "NULL::VARCHAR"
    priority = "t.priority" if "priority" in cols else "NULL::VARCHAR"
    urgent = ", ".join(p.add(x) for x in URGENT)
    sql = (
        "SELECT account_id, subject, priority, opened, is_open FROM ("
        f"SELECT t.account_id, {subject} AS subject, {priority} AS priority, "
        f"t.opened_at::DATE AS opened, {open_sql} AS is_open, row_number() OVER ("
        f"PARTITION BY t.account_id ORDER BY ({open_sql} AND lower({priority}) IN ({urgent})) DESC, "
        "t.opened_at DESC) AS k "
        f"FROM tickets t CROSS JOIN (SELECT {p.add(as_of)}::DATE AS as_of) d "
        f"WHERE list_contains({_ids_param(p, ids)}, t.account_id) AND t.opened_at < d.as_of) "
        f"WHERE k <= {p.add(MAX_TICKETS)} ORDER BY account_id, k"
    )
    out: dict[str, list[Ticket]] = {}
    for acc, subj, pri, opened, is_open in con.execute(sql, p.values).fetchall():
        out.setdefault(acc, []).append(
            Ticket(subj or "(no subject)", pri or "-", _day(opened) or as_of, bool(is_open))
        )
    return out


def _surveys(
    con: duckdb.DuckDBPyConnection, cols: dict[str, str], ids: list[str], as_of: date
) -> tuple[dict[str, list[Comment]], dict[str, list[str]]]:
    if not {"account_id", "responded_at"} <= cols.keys():
        return {}, {}
    comments: dict[str, list[Comment]] = {}
    contacts: dict[str, list[str]] = {}
    if "comment" in cols:
        p = Params()
        score = "score" if "score" in cols else "NULL::DOUBLE"
        sql = (
            "SELECT account_id, score, d, comment FROM ("
            f"SELECT account_id, {score} AS score, responded_at::DATE AS d, comment, "
            "row_number() OVER (PARTITION BY account_id ORDER BY "
            f"{score} ASC NULLS LAST, responded_at DESC) AS k FROM surveys "
            f"WHERE list_contains({_ids_param(p, ids)}, account_id) "
            f"AND responded_at < {p.add(as_of)} AND comment IS NOT NULL AND trim(comment) <> '') "
            f"WHERE k <= {p.add(MAX_COMMENTS)} ORDER BY account_id, k"
        )
        for acc, sc, d, text in con.execute(sql, p.values).fetchall():
            comments.setdefault(acc, []).append(Comment(_num(sc), d, str(text)))
    if "contact_email" in cols:
        p = Params()
        sql = (
            f"SELECT DISTINCT account_id, {quote_ident('contact_email')} FROM surveys "
            f"WHERE list_contains({_ids_param(p, ids)}, account_id) "
            f"AND responded_at < {p.add(as_of)} AND contact_email IS NOT NULL "
            "ORDER BY 1, 2"
        )
        for acc, email in con.execute(sql, p.values).fetchall():
            contacts.setdefault(acc, []).append(str(email))
    return comments, contacts


def _key_facts(con: duckdb.DuckDBPyConnection, wf: Workflow, pv: Preview) -> dict[str, Any]:
    """Facts rows (as of the preview date) of the fired accounts, by account id."""
    _, df = facts_frame(
        con, pv.as_of, wf.facts.usage_days, wf.facts.csat_days, account_ids=pv.fired_ids
    )
    if df.empty:
        return {}
    return {str(r["account_id"]): r for r in df.to_dict("records")}


def build_packets(
    con: duckdb.DuckDBPyConnection, preview: Preview, wf: Workflow, budget_chars: int = 4000
) -> list[ContextPacket]:
    """One packet per fired account, in the preview's priority order.

    Tickets and comments are dropped from the least relevant end until the
    rendered packet fits ``budget_chars`` (the header, reasons, key facts and
    usage are kept whole).
    """
    fired = preview.fired
    if fired.empty:
        return []
    ids = [str(x) for x in fired["account_id"]]
    cols = table_columns(con)
    as_of = preview.as_of
    usage = _usage(con, cols.get("usage", {}), ids, as_of)
    tickets = _tickets(con, cols.get("tickets", {}), ids, as_of)
    comments, contacts = _surveys(con, cols.get("surveys", {}), ids, as_of)
    facts = _key_facts(con, wf, preview)
    out = []
    for row in fired.to_dict("records"):
        acc = str(row["account_id"])
        renewal = _day(row.get("renewal_date"))
        f = facts.get(acc, {})
        key = tuple(
            (label, text)
            for name, label, kind in _KEY_FACTS
            if (text := _fact_text(f.get(name), kind)) is not None
        )
        reasons = tuple(r.strip() for r in str(row.get("reasons") or "").split(" · ") if r.strip())
        packet = ContextPacket(
            account_id=acc,
            account_name=_text(row.get("account_name")) or acc,
            segment=_text(row.get("segment")),
            arr=_num(row.get("arr")),
            csm_owner=_text(row.get("csm_owner")),
            renewal_date=renewal,
            days_to_renewal=(renewal - as_of).days if renewal else None,
            health_score=_num(row.get("health_score")),
            action_type=wf.action.type,
            route=str(row.get("route")),
            as_of=as_of,
            assignee=_text(row.get("assignee")),
            reasons=reasons,
            key_facts=key,
            usage=tuple(usage.get(acc, [])),
            tickets=tuple(tickets.get(acc, [])),
            comments=tuple(comments.get(acc, [])),
            contacts=tuple(contacts.get(acc, [])),
        )
        out.append(fit(packet, budget_chars))
    return out


def fit(p: ContextPacket, budget_chars: int) -> ContextPacket:
    """Drop the least relevant ticket or comment (from the longer list) until the text fits."""
    while len(render_packet(p)) > budget_chars and (p.tickets or p.comments):
        if len(p.tickets) >= len(p.comments):
            p = replace(p, tickets=p.tickets[:-1])
        else:
            p = replace(p, comments=p.comments[:-1])
    return p


def _score(s: float | None) -> str:
    return "-" if s is None else f"{s:g}"


def render_packet(p: ContextPacket) -> str:
    """The packet as compact text: what a prompt embeds and what the user inspects."""
    health = "unknown" if p.health_score is None else f"{p.health_score:.0f}"
    days = "" if p.days_to_renewal is None else f" (in {p.days_to_renewal} days)"
    lines = [
        f"ACCOUNT {p.account_name} ({p.account_id})",
        f"As of: {p.as_of.isoformat()}",
        f"Segment: {p.segment or 'unknown'} | ARR: {p.arr_text} | Renewal: {p.renewal_text}{days}",
        f"CSM owner: {p.csm_owner or 'none'} | Health score: {health}/100",
        f"Action: {p.action_type} | Route: {p.route}"
        + (f" | Assignee: {p.assignee}" if p.assignee else ""),
        "WHY IT FIRED",
        *(f"- {r}" for r in p.reasons),
    ]
    if p.key_facts:
        lines.append("KEY FACTS")
        lines.extend(f"- {label}: {value}" for label, value in p.key_facts)
    if p.usage:
        lines.append("USAGE (week: active users)")
        lines.append(", ".join(f"{d.isoformat()}: {n}" for d, n in p.usage))
    if p.tickets:
        lines.append("TICKETS (most relevant first)")
        lines.extend(
            f"- [{t.priority}] {t.subject} | opened {t.opened.isoformat()} | {t.status}"
            for t in p.tickets
        )
    if p.comments:
        lines.append("SURVEY COMMENTS (lowest score first)")
        lines.extend(
            f'- {_score(c.score)} on {c.responded.isoformat()}: "{c.comment}"' for c in p.comments
        )
    if p.contacts:
        lines.append("CONTACTS: " + ", ".join(p.contacts))
    return "\n".join(lines)


def packet_hash(p: ContextPacket) -> str:
    """sha256 (hex) of the rendered packet."""
    return hashlib.sha256(render_packet(p).encode()).hexdigest()
