"""The template drafter (no LLM configured): deterministic, offline drafts from a packet.

Each action type has one fixed template; a draft fills it only with text taken
from the context packet (and the workflow's action settings), so it names the
account, states no fact the packet lacks and offers nothing (no discounts, no
credits). It is the default with no model configured and the fallback when
the model is down.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from string import Template

from workbench.drafting.packet import ContextPacket, Ticket
from workbench.workflow.model import Action, ActionType

DRAFTER = "template drafter (no LLM configured)"

TEMPLATES: dict[ActionType, dict[str, str]] = {
    "assign_csm": {
        "subject": "Assignment: $account ($account_id), renewal $renewal",
        "body": (
            "Hi $assignee,\n\n"
            "$account ($account_id) is assigned to you by the workflow (route: $route).\n"
            "ARR $arr, renews $renewal$days; health score $health. Current owner: $owner.\n\n"
            "Why it fired:\n$reasons\n\n"
            "Usage: $usage\n"
            "Open tickets: $open_tickets\n"
            "Latest survey comment: $comment\n\n"
            "Please review the account and plan a first touch before the renewal."
        ),
    },
    "draft_email": {
        "subject": "Checking in ahead of your renewal on $renewal",
        "body": (
            "Hello $account team,\n\n"
            "I am reaching out ahead of your renewal on $renewal to check how things are going "
            "and to make sure you are getting what you need from the product.\n\n"
            "${ticket_line}"
            "${comment_line}"
            "Would you have 30 minutes in the coming weeks for a short review call? "
            "I would like to hear what is working, what is not, and what you need next.\n\n"
            "Best regards,\n$owner"
        ),
    },
    "risk_brief": {
        "subject": "Risk brief: $account ($account_id)",
        "body": (
            "Account: $account ($account_id), $segment\n"
            "ARR $arr, renews $renewal$days; health score $health; route: $route; owner: $owner.\n\n"
            "Why it fired:\n$reasons\n\n"
            "Usage trend: $usage\n\n"
            "Open tickets:\n$open_ticket_list\n\n"
            "Survey comment: $comment"
        ),
    },
    "crm_update": {
        "subject": "CRM update for $account: set $field",
        "body": (
            "Account: $account ($account_id)\n"
            "Field: $field\nValue: $value\n\n"
            "Note: set by the workflow as of $as_of. ARR $arr, renews $renewal$days; "
            "health score $health.\nWhy:\n$reasons"
        ),
    },
    "alert": {
        "subject": "$channel: $account needs attention",
        "body": (
            "$account ($account_id), ARR $arr, renews $renewal$days, health $health. "
            "Route: $route, owner $owner. Why: $reasons_inline"
        ),
    },
}


ACTION_WORDS: dict[ActionType, str] = {
    "assign_csm": "Assignment note",
    "draft_email": "Customer email",
    "risk_brief": "Risk brief",
    "crm_update": "CRM update",
    "alert": "Alert",
}


@dataclass(frozen=True)
class Draft:
    """A drafted output for one account; never sent anywhere."""

    account_id: str
    action_type: ActionType
    subject: str
    body: str
    summary: str
    rationale: str
    confidence: float
    drafter: str
    template_version: str

    @property
    def text(self) -> str:
        """Everything the draft says, for checks."""
        return "\n".join((self.subject, self.body, self.summary, self.rationale))


def template_version(action_type: ActionType) -> str:
    """A short content hash of the template for an action type."""
    t = TEMPLATES[action_type]
    blob = f"{action_type}\n{t['subject']}\n---\n{t['body']}"
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def usage_words(p: ContextPacket) -> str:
    """The usage trend in one sentence, from the packet's weekly active users."""
    if len(p.usage) < 2:
        return "no usage trend available"
    (d0, first), (d1, last) = p.usage[0], p.usage[-1]
    span = (
        f"from {first} to {last} weekly active users between {d0.isoformat()} and {d1.isoformat()}"
    )
    if first == last:
        return f"flat at {last} weekly active users between {d0.isoformat()} and {d1.isoformat()}"
    if first == 0:
        return "up " + span
    if last == 0:
        return f"down to no weekly active users (from {first}) between {d0.isoformat()} and {d1.isoformat()}"
    # No percentage here: the packet's "Active users change" (recent vs prior weeks) is the
    # figure the rule uses, and a second, differently windowed percentage would contradict it.
    return f"{'down' if last < first else 'up'} " + span


def _ticket(t: Ticket) -> str:
    return f"{t.priority} ticket '{t.subject}' opened {t.opened.isoformat()}"


def _fields(p: ContextPacket, action: Action) -> dict[str, str]:
    open_t = p.open_tickets
    comment = p.comments[0] if p.comments else None
    comment_text = (
        f'"{comment.comment}" (score {comment.score:g}, {comment.responded.isoformat()})'
        if comment and comment.score is not None
        else (f'"{comment.comment}" ({comment.responded.isoformat()})' if comment else "none")
    )
    reasons = p.reasons or ("(the workflow gave no reason)",)
    return {
        "account": p.account_name,
        "account_id": p.account_id,
        "segment": p.segment or "segment unknown",
        "arr": p.arr_text,
        "renewal": p.renewal_text,
        "days": "" if p.days_to_renewal is None else f" (in {p.days_to_renewal} days)",
        "health": "unknown" if p.health_score is None else f"{p.health_score:.0f}/100",
        "route": p.route,
        "owner": p.csm_owner or "no owner",
        "assignee": p.assignee or p.csm_owner or "team",
        "as_of": p.as_of.isoformat(),
        "reasons": "\n".join(f"- {r}" for r in reasons),
        "reasons_inline": "; ".join(reasons),
        "usage": usage_words(p),
        "open_tickets": "; ".join(_ticket(t) for t in open_t) or "none",
        "open_ticket_list": "\n".join(f"- {_ticket(t)}" for t in open_t) or "- none",
        "comment": comment_text,
        "ticket_line": (
            "I can see we still have open support requests with you ("
            + "; ".join(f"'{t.subject}'" for t in open_t)
            + "), and I will make sure they get the attention they need.\n\n"
            if open_t
            else ""
        ),
        "comment_line": (
            f'Thank you as well for your survey feedback ("{comment.comment}"); '
            "I would like to understand it better.\n\n"
            if comment
            else ""
        ),
        "field": action.field or "(no field)",
        "value": action.value if action.value is not None else "(no value)",
        "channel": action.channel or "(no channel)",
    }


def _confidence(p: ContextPacket) -> float:
    have = [p.reasons, p.renewal_date, p.arr is not None, p.usage, p.csm_owner]
    return round(0.3 + 0.4 * sum(bool(x) for x in have) / len(have), 2)


def template_draft(p: ContextPacket, action: Action) -> Draft:
    """The deterministic draft of ``action`` for the packet's account."""
    kind = action.type
    fields = _fields(p, action)
    t = TEMPLATES[kind]
    subject = Template(t["subject"]).substitute(fields)
    body = Template(t["body"]).substitute(fields)
    summary = (
        f"{ACTION_WORDS[kind]} for {p.account_name}: ARR {p.arr_text}, "
        f"renewal {p.renewal_text}, route {p.route}."
    )
    rationale = "Drafted from the account's facts because: " + fields["reasons_inline"]
    return Draft(
        account_id=p.account_id,
        action_type=kind,
        subject=subject,
        body=body,
        summary=summary,
        rationale=rationale,
        confidence=_confidence(p),
        drafter=DRAFTER,
        template_version=template_version(kind),
    )


def template_drafts(packets: list[ContextPacket], action: Action) -> list[Draft]:
    """Template drafts for a list of packets, in order."""
    return [template_draft(p, action) for p in packets]
