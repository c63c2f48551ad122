"""The prompt shown beside a stored draft: what was sent, or what would be sent now.

A draft made by a model has a trace whose ``sent`` text is exactly what left the
machine (redacted when redaction was on). A template draft, or one from the
answer cache, has none: the prompt is rebuilt from today's packet with the
current templates, redacted when the current settings would redact, and the
note says so (and whether the packet has changed since the draft was made).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from workbench.drafting.packet import packet_hash
from workbench.drafting.prompts import messages_text, prompt_set, render_messages
from workbench.drafting.redact import Redactor, names_from_emails
from workbench.drafting.run import select_packets
from workbench.drafting.settings import LLMSettings
from workbench.drafting.view_model import DraftView
from workbench.errors import WorkbenchError
from workbench.workflow.model import Workflow
from workbench.workflow.preview import Preview


@dataclass(frozen=True)
class PromptView:
    """The prompt shown beside a draft: what was sent, or what would be sent.

    Attributes:
        label: ``sent``, ``sent (redacted)``, ``would be sent`` or ``would be sent (redacted)``.
        text: The messages as text; None when the prompt cannot be rebuilt.
        note: Where the text comes from, in plain words.
    """

    label: str
    text: str | None
    note: str


def _sent(trace: Mapping[str, Any]) -> PromptView:
    redacted = bool(trace["redacted"])
    if int(trace.get("attempts") or 0) == 0:
        why = trace.get("error") or "the model was not called"
        return PromptView(
            "not sent (redacted)" if redacted else "not sent",
            str(trace["sent"]),
            f"This prompt did not leave the machine: {why}",
        )
    note = (
        f"Exactly what left the machine for {trace['model']} (outcome {trace['outcome']}, "
        f"{int(trace['tokens_in']):,} tokens in, {int(trace['tokens_out']):,} out, "
        f"{float(trace['latency_ms']):,.0f} ms)."
    )
    if redacted:
        note += (
            " Emails, phone numbers and contact names were replaced by placeholders such as "
            "<EMAIL_1> and put back in the returned draft."
        )
    return PromptView("sent (redacted)" if redacted else "sent", str(trace["sent"]), note)


def prompt_view(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    pv: Preview,
    settings: LLMSettings,
    draft: DraftView,
    trace: Mapping[str, Any] | None = None,
) -> PromptView:
    """The stored trace's ``sent`` text, else the prompt rebuilt from today's packet.

    Args:
        con: The workspace.
        wf: The workflow whose action and output policy the prompt states.
        pv: The preview as of the run's date (the packet is rebuilt from it).
        settings: The current model settings (they decide whether it would be redacted).
        draft: The stored draft.
        trace: The draft's trace, when a model was called.
    """
    if trace is not None and str(trace.get("sent") or "").strip():
        return _sent(trace)
    try:
        packets = select_packets(con, wf, pv, account_ids=[draft.account_id])
    except WorkbenchError:
        packets = []
    if not packets:
        return PromptView(
            "would be sent",
            None,
            f"The workflow no longer fires on {draft.account_name} as of {pv.as_of}, so its "
            "prompt cannot be rebuilt; the stored context packet is what the draft used.",
        )
    packet = packets[0]
    prompts = prompt_set(con, wf.action.type)
    messages = render_messages(prompts, packet, wf.action, wf.output_policy)
    redacted = settings.configured and settings.redacts
    if redacted:
        messages = Redactor(names_from_emails(packet.contacts)).redact_obj(messages)
    if settings.configured:
        note = (
            f"What {settings.model} would be sent now, from the current prompt templates "
            f"(version {prompts.version})."
        )
    else:
        note = (
            "The template drafter sends nothing anywhere. This is what a model would be sent, "
            f"from the current prompt templates (version {prompts.version})."
        )
    if trace is not None and str(trace.get("outcome")) == "cached":
        note += " This draft came from the answer cache: no request was made for it."
    if redacted:
        note += " Emails, phone numbers and contact names are replaced by placeholders."
    if packet_hash(packet) != draft.packet_hash:
        note += (
            " The account's packet has changed since this draft was made (newer data or "
            "another workflow version): the prompt uses today's packet."
        )
    label = "would be sent (redacted)" if redacted else "would be sent"
    return PromptView(label, messages_text(messages), note)
