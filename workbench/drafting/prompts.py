"""Prompt templates (Jinja2), one per action type plus a shared system prompt.

A template renders from the context packet, the workflow action and the output
policy. Templates are editable; every saved text is kept in the workspace
(``wb.prompt_templates``) and named by its content hash. The *version* a draft
records is the hash of the system text and the action's text together, so a
change to either shows in every draft made after it.

Templates run in Jinja2's sandbox with undefined names as errors, so an edit
that refers to a missing field fails with its line number instead of rendering
a blank.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, get_args

import duckdb
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from workbench import audit
from workbench.drafting.checks import OutputPolicy
from workbench.drafting.packet import ContextPacket, render_packet
from workbench.errors import WorkbenchError
from workbench.workflow.model import Action, ActionType

SYSTEM = "system"
ACTION_TYPES: tuple[ActionType, ...] = get_args(ActionType)
NAMES: tuple[str, ...] = (SYSTEM, *ACTION_TYPES)

DEFAULT_SYSTEM = """\
You draft Customer Success work for a CSM to review. Nothing you write is sent automatically.
Rules:
- Use only the facts in the context packet. Do not invent numbers, dates, people or events.
- Name the account "{{ packet.account_name }}" and no other customer.
{% if not policy.allow_discounts %}- Do not offer discounts, credits, refunds, free time or price changes.
{% endif %}- Write complete text: no placeholders such as [Name] or {first_name}.
- Keep the subject under {{ policy.max_subject_chars }} characters and the body under {{ policy.max_body_chars }}.
{% if policy.banned_phrases %}- Never use these phrases: {{ policy.banned_phrases | join(", ") }}.
{% endif %}- Placeholders like <EMAIL_1> or <NAME_1> stand for real contact details: keep them exactly as written.
- If the packet does not give you enough to write a useful, grounded draft, abstain.
Answer with one JSON object and nothing else, with these keys:
  "subject" (string), "body" (string), "summary" (one sentence for the CSM),
  "rationale" (why this draft, citing the facts used), "confidence" (0 to 1),
  "abstain" (true or false), "abstain_reason" (string, only when abstaining).
"""

DEFAULT_ACTIONS: dict[str, str] = {
    "assign_csm": """\
Write the assignment note that tells {{ packet.assignee or "the assigned CSM" }} why they now own \
this renewal risk and what to look at first. Address the CSM, not the customer.

{{ packet_text }}
""",
    "draft_email": """\
Write a short, warm email from the CSM ({{ packet.csm_owner or "the account's CSM" }}) to the \
customer "{{ packet.account_name }}" ahead of their renewal on {{ packet.renewal_text }}. \
Acknowledge any open support issue the packet shows, ask for a 30-minute review call, and do not \
mention health scores, internal routing or risk.
{% if action.template %}The team's email template is called "{{ action.template }}".{% endif %}

{{ packet_text }}
""",
    "risk_brief": """\
Write a risk brief for the CSM team: the situation in two sentences, the evidence (usage, \
tickets, survey comments, with dates), the likely cause, and three next steps. Internal, factual, \
no speculation beyond the packet.

{{ packet_text }}
""",
    "crm_update": """\
Write the CRM update: the subject names the field "{{ action.field }}" and the value \
"{{ action.value }}"; the body is the note stored with the update, citing the facts behind it.

{{ packet_text }}
""",
    "alert": """\
Write a one-paragraph alert for the channel {{ action.channel }}: which account, why it needs \
attention now, and who owns it. The subject is the alert's title.

{{ packet_text }}
""",
}

_ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


def content_hash(text: str) -> str:
    """Short sha256 of a template text."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_text(name: str) -> str:
    if name == SYSTEM:
        return DEFAULT_SYSTEM
    if name not in DEFAULT_ACTIONS:
        raise WorkbenchError(
            f"There is no prompt template '{name}'.", "Use one of: " + ", ".join(NAMES) + "."
        )
    return DEFAULT_ACTIONS[name]


@dataclass(frozen=True)
class PromptSet:
    """The system text and the action's text a run uses, with the combined version."""

    action_type: ActionType
    system: str
    user: str

    @property
    def version(self) -> str:
        return content_hash(f"{self.system}\n---\n{self.user}")


@dataclass(frozen=True)
class TemplateVersion:
    name: str
    version: str
    text: str
    saved_at: datetime
    saved_by: str


@functools.lru_cache(maxsize=64)
def _compile(name: str, text: str) -> jinja2.Template:
    try:
        return _ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise WorkbenchError(
            f"Prompt template '{name}', line {exc.lineno}: {(exc.message or '').rstrip('.')}.",
            "Fix the template syntax ({{ value }}, {% if %}…{% endif %}) or reset it to the default.",
        ) from None


def fields_of(obj: type) -> list[str]:
    """The names a template can read on ``packet``, ``action`` or ``policy``."""
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj)]
        names += [n for n, v in vars(obj).items() if isinstance(v, property)]
        return names
    return list(getattr(obj, "model_fields", {}))


_CONTEXT_TYPES = {"ContextPacket": ("packet", ContextPacket), "Action": ("action", Action),
                  "OutputPolicy": ("policy", OutputPolicy)}  # fmt: skip


def _plain_undefined(message: str) -> str:
    """Jinja's "'workbench...ContextPacket object' has no attribute 'x'" in the template's words."""
    m = re.match(r"'(?:[\w.]+\.)?(\w+) object' has no attribute '([^']+)'", message)
    if m and m.group(1) in _CONTEXT_TYPES:
        var, cls = _CONTEXT_TYPES[m.group(1)]
        return f"{var} has no field '{m.group(2)}' (its fields: {', '.join(fields_of(cls))})"
    return message.rstrip(".")


def render_text(name: str, text: str, context: dict[str, Any]) -> str:
    """Render one template; a missing name or a sandbox refusal becomes a WorkbenchError."""
    template = _compile(name, text)
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        lines = [
            f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"
        ]
        where = f", line {lines[-1]}" if lines else ""
        raise WorkbenchError(
            f"Prompt template '{name}'{where} uses something the context does not have: "
            f"{_plain_undefined(exc.message or '')}.",
            "Use packet.<field>, packet_text, action.<field> or policy.<field> with one of the "
            "fields listed, or guard optional parts with {% if packet.tickets %}…{% endif %}.",
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise WorkbenchError(
            f"Prompt template '{name}' was refused by the sandbox: {exc}.",
            "Templates may read values, not call methods that change things.",
        ) from None


def validate_text(name: str, text: str, packet: ContextPacket, action: Action) -> str:
    """Render ``text`` once against a real packet; returns the rendering or raises."""
    return render_text(name, text, context(packet, action, OutputPolicy()))


def context(packet: ContextPacket, action: Action, policy: OutputPolicy) -> dict[str, Any]:
    return {
        "packet": packet,
        "packet_text": render_packet(packet),
        "action": action,
        "policy": policy,
    }


def render_messages(
    prompts: PromptSet, packet: ContextPacket, action: Action, policy: OutputPolicy
) -> list[dict[str, str]]:
    """The chat messages for one account: exactly what a model receives (before redaction)."""
    ctx = context(packet, action, policy)
    return [
        {"role": "system", "content": render_text(SYSTEM, prompts.system, ctx).strip()},
        {"role": "user", "content": render_text(action.type, prompts.user, ctx).strip()},
    ]


def messages_text(messages: list[dict[str, str]]) -> str:
    """Messages as readable text, for the page and the trace."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


# --- stored versions --------------------------------------------------------------------------


def saved_text(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The latest saved text for ``name``, or the default."""
    rows = con.execute(
        "SELECT text FROM wb.prompt_templates WHERE name = ? ORDER BY seq DESC LIMIT 1",
        [name],
    ).fetchall()
    return str(rows[0][0]) if rows else default_text(name)


def prompt_set(con: duckdb.DuckDBPyConnection, action_type: ActionType) -> PromptSet:
    """The current system and action templates for ``action_type``."""
    return PromptSet(action_type, saved_text(con, SYSTEM), saved_text(con, action_type))


def default_prompt_set(action_type: ActionType) -> PromptSet:
    return PromptSet(action_type, DEFAULT_SYSTEM, DEFAULT_ACTIONS[action_type])


def save_text(
    con: duckdb.DuckDBPyConnection, name: str, text: str, saved_by: str = "workbench"
) -> TemplateVersion | None:
    """Save a new version of a template; ``None`` when the text is unchanged.

    The text must compile; ``validate_text`` also renders it against a packet. A new
    version is noted in the audit log (kind ``other``) in the same transaction.
    """
    default_text(name)  # known name
    _compile(name, text)
    if text == saved_text(con, name):
        return None
    now = datetime.now().replace(microsecond=0)
    version = content_hash(text)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO wb.prompt_templates (name, seq, version, text, saved_at, saved_by) "
            "SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ? FROM wb.prompt_templates "
            "WHERE name = ?",
            [name, version, text, now, saved_by, name],
        )
        detail = {"template": name, "version": version, "chars": len(text)}
        audit.record(con, "other", f"prompt template {name} saved", detail, saved_by or "workbench")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return TemplateVersion(name, version, text, now, saved_by)


def history(con: duckdb.DuckDBPyConnection, name: str) -> list[TemplateVersion]:
    """Saved versions of a template, newest first."""
    rows = con.execute(
        "SELECT name, version, text, saved_at, saved_by FROM wb.prompt_templates "
        "WHERE name = ? ORDER BY seq DESC",
        [name],
    ).fetchall()
    return [TemplateVersion(*r) for r in rows]


def schema_hint() -> str:
    """The JSON keys a model must answer with, for help text."""
    return json.dumps(
        asdict(
            _Example("Subject line", "Full text", "One sentence", "Facts used", 0.8, False, None)
        ),
        indent=2,
    )


@dataclass
class _Example:
    subject: str
    body: str
    summary: str
    rationale: str
    confidence: float
    abstain: bool
    abstain_reason: str | None
