"""Drafting one account and a run of many: the model path, the template path and the fallbacks.

``Drafter.draft(packet)`` is thread-safe and touches no database: it renders
the prompt, redacts it when the provider is not local, calls the model through
the ``Gateway``, validates the JSON answer (one repair request when it does
not fit), restores redacted values and runs the output policy checks. When
the model fails after its retries, or the circuit breaker is open, the draft
falls back to the template drafter and says so. ``batch.run_drafts`` drafts
many accounts with bounded concurrency.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from workbench.drafting.checks import CheckResult, NameIndex, check_draft
from workbench.drafting.gateway import CircuitBreaker, Gateway, LLMError
from workbench.drafting.output import DraftOut, parse_answer, repair_messages
from workbench.drafting.packet import ContextPacket, packet_hash
from workbench.drafting.prompts import PromptSet, messages_text, render_messages
from workbench.drafting.redact import Redactor, names_from_emails
from workbench.drafting.settings import LLMSettings
from workbench.drafting.template import DRAFTER, Draft, template_draft, template_version
from workbench.errors import WorkbenchError
from workbench.workflow.model import Action, OutputPolicy

Outcome = Literal["ok", "repaired", "abstained", "fallback", "cached", "template"]
CallOutcome = Literal["ok", "repaired", "abstained", "failed", "cached"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "repaired", "cached", "template", "fallback", "abstained")


@dataclass(frozen=True)
class Trace:
    """One model call (with its repair request, if any), as the log keeps it.

    ``sent`` is exactly what left the machine (redacted when redaction is on);
    the API key is never part of it.
    """

    account_id: str
    model: str
    template_version: str
    packet_hash: str
    outcome: CallOutcome
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    attempts: int
    requests: int
    error: str | None
    redacted: bool
    sent: str
    received: str | None


@dataclass(frozen=True)
class DraftResult:
    """A draft for one account with how it was made and what the checks said."""

    packet: ContextPacket
    draft: Draft
    outcome: Outcome
    checks: tuple[CheckResult, ...]
    note: str
    trace: Trace | None = None

    @property
    def held(self) -> bool:
        """A check failed: a person must look before anything happens."""
        return any(not c.ok for c in self.checks)

    @property
    def needs_human(self) -> bool:
        """The draft abstained or was held: the action goes to a person."""
        return self.outcome == "abstained" or self.held

    @property
    def route(self) -> str:
        """The packet's route, moved to ``human`` when an automated draft needs a person."""
        if self.needs_human and self.packet.route == "automated":
            return "human"
        return self.packet.route


class AnswerCache(Protocol):
    """Stored answers by cache key (the DuckDB one lives in ``drafting.store``)."""

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (outcome, answer JSON) for the keys it has."""
        ...

    def put(self, key: str, trace: Trace, outcome: str, answer: str) -> None: ...


def _dump(out: DraftOut) -> str:
    return out.model_dump_json()


class Drafter:
    """Drafts one account at a time with the configured model, or the template drafter.

    Args:
        settings: The model settings (``model=None``: template drafter only).
        action: The workflow's action.
        prompts: The system and action templates.
        policy: The output policy every draft is checked against.
        names: Every account name, so a draft naming another account is held.
        gateway: Injected for tests; one is made from ``settings`` otherwise.
    """

    def __init__(
        self,
        settings: LLMSettings,
        action: Action,
        prompts: PromptSet,
        policy: OutputPolicy,
        names: NameIndex,
        gateway: Gateway | None = None,
    ) -> None:
        self.settings = settings
        self.action = action
        self.prompts = prompts
        self.policy = policy
        self.names = names
        self.gateway = gateway or (Gateway(settings) if settings.configured else None)
        self._action_key = hashlib.sha256(action.model_dump_json().encode()).hexdigest()[:12]
        self._policy_key = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:12]

    @property
    def uses_model(self) -> bool:
        return self.gateway is not None

    @property
    def drafter_name(self) -> str:
        return self.settings.model or DRAFTER

    @property
    def template_version(self) -> str:
        """The version a draft records: the prompt templates', or the fixed template's."""
        return self.prompts.version if self.uses_model else template_version(self.action.type)

    @property
    def breaker(self) -> CircuitBreaker | None:
        return self.gateway.breaker if self.gateway else None

    def cache_key(self, packet: ContextPacket) -> str:
        """Model, template version and packet hash, plus everything else that changes the
        request: the server, the action's settings, the output policy (it is in the system
        prompt), redaction, temperature and answer length."""
        s = self.settings
        parts = [
            self.drafter_name,
            s.api_base or "",
            self.template_version,
            packet_hash(packet),
            self._action_key,
            self._policy_key,
            "redacted" if s.redacts else "plain",
            f"t={s.temperature:g} max={s.max_tokens}",
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def messages(self, packet: ContextPacket) -> list[dict[str, str]]:
        """The prompt for one account, before redaction."""
        return render_messages(self.prompts, packet, self.action, self.policy)

    def redactor(self, packet: ContextPacket) -> Redactor | None:
        if not self.settings.redacts:
            return None
        return Redactor(names_from_emails(packet.contacts))

    def _checked(
        self,
        packet: ContextPacket,
        draft: Draft,
        outcome: Outcome,
        note: str,
        trace: Trace | None = None,
    ) -> DraftResult:
        checks: tuple[CheckResult, ...] = ()
        if outcome != "abstained":
            checks = tuple(
                check_draft(
                    draft.subject,
                    draft.body,
                    packet.account_name,
                    self.names,
                    self.policy,
                    action_type=self.action.type,
                )
            )
        return DraftResult(packet, draft, outcome, checks, note, trace)

    def _template(
        self,
        packet: ContextPacket,
        outcome: Outcome,
        note: str,
        trace: Trace | None,
        because: str = "",
    ) -> DraftResult:
        draft = template_draft(packet, self.action)
        if outcome == "fallback":
            draft = replace(draft, drafter=f"template drafter (fallback: {because})")
        return self._checked(packet, draft, outcome, note, trace)

    def _from_answer(self, packet: ContextPacket, out: DraftOut) -> Draft:
        return Draft(
            account_id=packet.account_id,
            action_type=self.action.type,
            subject=out.subject,
            body=out.body,
            summary=out.summary,
            rationale=out.rationale,
            confidence=out.confidence,
            drafter=self.drafter_name,
            template_version=self.template_version,
        )

    def _abstained(self, packet: ContextPacket, reason: str, trace: Trace) -> DraftResult:
        draft = Draft(
            account_id=packet.account_id,
            action_type=self.action.type,
            subject="",
            body="",
            summary="",
            rationale=reason,
            confidence=0.0,
            drafter=self.drafter_name,
            template_version=self.template_version,
        )
        note = f"No draft: {reason} The action goes to a person."
        return DraftResult(packet, draft, "abstained", (), note, trace)

    def from_cache(self, packet: ContextPacket, outcome: str, answer: str) -> DraftResult:
        """A result rebuilt from a cached answer (no request made)."""
        out = DraftOut.model_validate_json(answer)
        trace = Trace(
            account_id=packet.account_id,
            model=self.drafter_name,
            template_version=self.template_version,
            packet_hash=packet_hash(packet),
            outcome="cached",
            tokens_in=0,
            tokens_out=0,
            cost_usd=0.0,
            latency_ms=0.0,
            attempts=0,
            requests=0,
            error=None,
            redacted=self.settings.redacts,
            sent="",
            received=answer,
        )
        if out.abstain:
            reason = out.abstain_reason or "the model abstained without a reason."
            return self._abstained(packet, f"the model abstained (cached): {reason}", trace)
        note = f"From the cache (first drafted with outcome '{outcome}'); no request was made."
        return self._checked(packet, self._from_answer(packet, out), "cached", note, trace)

    def draft(self, packet: ContextPacket) -> tuple[DraftResult, str | None]:
        """Draft one account. Returns the result and, when worth caching, the answer JSON."""
        if self.gateway is None:
            return self._template(
                packet, "template", "Drafted by the template drafter.", None
            ), None
        try:
            messages = self.messages(packet)
        except WorkbenchError as exc:
            # A template that fails on this account's packet (e.g. one without tickets):
            # no request, the template drafter's draft, and the reason.
            note = (
                f"The prompt template could not be rendered for this account: {exc.message} "
                "The template drafter wrote this draft instead; fix the template on Model & prompts."
            )
            return self._template(packet, "fallback", note, None, "prompt template failed"), None
        redactor = self.redactor(packet)
        sent = redactor.redact_obj(messages) if redactor else messages
        tokens_in = tokens_out = requests = attempts = 0
        cost: float | None = None
        received: list[str] = []
        started = time.perf_counter()

        def trace(outcome: CallOutcome, error: str | None, conversation) -> Trace:
            return Trace(
                account_id=packet.account_id,
                model=self.drafter_name,
                template_version=self.template_version,
                packet_hash=packet_hash(packet),
                outcome=outcome,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost_usd=cost,
                latency_ms=(time.perf_counter() - started) * 1000,
                attempts=attempts,
                requests=requests,
                error=error,
                redacted=redactor is not None,
                sent=messages_text(conversation),
                received="\n---\n".join(received) or None,
            )

        conversation = sent
        problem = first_problem = ""
        for round_ in (1, 2):
            try:
                done = self.gateway.complete(conversation)
            except LLMError as exc:
                attempts += exc.attempts
                t = trace("failed", exc.message, conversation)
                note = f"The model failed: {exc.message} The template drafter wrote this draft instead."
                because = f"{self.drafter_name} failed"
                return self._template(packet, "fallback", note, t, because), None
            requests += 1
            attempts += done.attempts
            tokens_in += done.tokens_in
            tokens_out += done.tokens_out
            if done.cost_usd is not None:
                cost = (cost or 0.0) + done.cost_usd
            received.append(done.text)
            out, problem = parse_answer(done.text)
            if out is not None:
                if redactor:
                    out = DraftOut.model_validate(redactor.restore_obj(out.model_dump()))
                if out.abstain:
                    reason = out.abstain_reason or "no reason given."
                    t = trace("abstained", None, conversation)
                    return self._abstained(packet, f"the model abstained: {reason}", t), _dump(out)
                outcome: Literal["ok", "repaired"] = "ok" if round_ == 1 else "repaired"
                note = (
                    f"Drafted by {self.drafter_name}."
                    if round_ == 1
                    # ``problem`` is empty now: the note names what the repair fixed.
                    else f"Drafted by {self.drafter_name} after one repair ({first_problem})."
                )
                t = trace(outcome, None, conversation)
                return self._checked(
                    packet, self._from_answer(packet, out), outcome, note, t
                ), _dump(out)
            if round_ == 1:
                first_problem = problem
                conversation = repair_messages(sent, done.text, problem)
        t = trace("abstained", problem, conversation)
        reason = f"the model's answer was invalid twice ({first_problem}; then {problem})."
        return self._abstained(packet, reason, t), None
