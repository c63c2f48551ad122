"""Drafting one account and a run of many: the model path, the template path and the fallbacks.

``Drafter.draft(packet)`` is thread-safe and touches no database: it renders
the prompt, redacts it when the provider is not local, calls the model through
the ``Gateway``, validates the JSON answer (one repair request when it does
not fit), restores redacted values and runs the output policy checks. When
the model fails after its retries, or the circuit breaker is open, the draft
falls back to the template drafter and says so. ``run_drafts`` drafts many
accounts with bounded concurrency, reports progress and results on the
caller's thread (where the database work happens) and stops early when asked.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal, Protocol

from workbench.drafting.checks import CheckResult, NameIndex, check_draft
from workbench.drafting.gateway import CircuitBreaker, Gateway, LLMError
from workbench.drafting.output import DraftOut, parse_answer, repair_messages
from workbench.drafting.packet import ContextPacket, packet_hash
from workbench.drafting.prompts import PromptSet, messages_text, render_messages
from workbench.drafting.redact import Redactor, names_from_emails
from workbench.drafting.settings import LLMSettings
from workbench.drafting.template import DRAFTER, Draft, template_draft, template_version
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
        """Model, template version, packet hash (and the action's settings and redaction)."""
        parts = [
            self.drafter_name,
            self.template_version,
            packet_hash(packet),
            self._action_key,
            "redacted" if self.settings.redacts else "plain",
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
                check_draft(draft.subject, draft.body, packet.account_name, self.names, self.policy)
            )
        return DraftResult(packet, draft, outcome, checks, note, trace)

    def _template(self, packet: ContextPacket, outcome: Outcome, note: str, trace: Trace | None):
        return self._checked(packet, template_draft(packet, self.action), outcome, note, trace)

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
        messages = self.messages(packet)
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
                return self._template(packet, "fallback", note, t), None
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


@dataclass(frozen=True)
class RunSummary:
    """Totals for a run, as the drafts page and the CLI show them."""

    accounts: int
    drafted: int
    by_outcome: dict[str, int]
    held: int
    needs_human: int
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    p50_ms: float | None
    p95_ms: float | None
    wall_s: float
    cancelled: bool
    breaker_note: str = ""

    def sentence(self) -> str:
        parts = [f"{self.by_outcome.get(o, 0)} {o}" for o in OUTCOMES if self.by_outcome.get(o)]
        text = (
            f"Drafted {self.drafted:,} of {self.accounts:,} accounts ({', '.join(parts) or 'none'})"
        )
        text += f"; {self.held} held by the checks, {self.needs_human} need a person"
        if self.requests:
            text += (
                f"; {self.requests} requests, {self.tokens_in:,} tokens in, {self.tokens_out:,} out"
            )
            if self.cost_usd is not None:
                text += f", ${self.cost_usd:.4f}"
            if self.p50_ms is not None:
                text += f"; latency p50 {self.p50_ms:,.0f} ms, p95 {self.p95_ms:,.0f} ms"
        text += f"; {self.wall_s:.1f} s."
        if self.cancelled:
            text += " Stopped early: the rest were not drafted."
        if self.breaker_note:
            text += " " + self.breaker_note
        return text


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between ranks; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
        if q < 100
        else max(values)
    )


def summarise(
    results: list[DraftResult],
    accounts: int,
    wall_s: float,
    cancelled: bool,
    breaker: CircuitBreaker | None = None,
) -> RunSummary:
    traces = [r.trace for r in results if r.trace is not None]
    called = [t for t in traces if t.requests > 0]
    by: dict[str, int] = {}
    for r in results:
        by[r.outcome] = by.get(r.outcome, 0) + 1
    costs = [t.cost_usd for t in traces if t.cost_usd is not None]
    latencies = [t.latency_ms for t in called]
    note = ""
    if breaker is not None and breaker.times_opened:
        note = (
            f"The circuit breaker opened {breaker.times_opened} time(s) after repeated failures "
            f"({breaker.last_error}); those accounts were drafted by the template drafter."
        )
    return RunSummary(
        accounts=accounts,
        drafted=len(results),
        by_outcome=by,
        held=sum(r.held for r in results),
        needs_human=sum(r.needs_human for r in results),
        requests=sum(t.requests for t in traces),
        tokens_in=sum(t.tokens_in for t in traces),
        tokens_out=sum(t.tokens_out for t in traces),
        cost_usd=sum(costs) if costs else None,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        wall_s=wall_s,
        cancelled=cancelled,
        breaker_note=note,
    )


@dataclass
class DraftRun:
    results: list[DraftResult] = field(default_factory=list)
    summary: RunSummary | None = None


def run_drafts(
    packets: list[ContextPacket],
    drafter: Drafter,
    *,
    cache: AnswerCache | None = None,
    on_result: Callable[[DraftResult, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DraftRun:
    """Draft every packet; results come back in the packets' order.

    ``on_result(result, done, total)`` runs on the caller's thread after each
    draft (save it there). ``should_stop()`` is asked between drafts; when it
    says yes, no new request starts and the drafts in flight are kept. The next
    requests start before the finished drafts are handed to ``on_result``, so
    saving overlaps the requests (and a stop asked for in ``on_result`` lets
    the requests already started finish).
    """
    start = time.perf_counter()
    total = len(packets)
    run = DraftRun()
    order = {id(p): i for i, p in enumerate(packets)}
    done_results: list[tuple[int, DraftResult]] = []
    cancelled = False

    def finish(i: int, result: DraftResult, answer: str | None) -> None:
        if cache is not None and answer is not None and result.trace is not None:
            cache.put(drafter.cache_key(result.packet), result.trace, result.outcome, answer)
        done_results.append((i, result))
        if on_result is not None:
            on_result(result, len(done_results), total)

    pending = list(packets)
    if drafter.uses_model and cache is not None:
        keys = {id(p): drafter.cache_key(p) for p in packets}
        hits = cache.get_many(keys.values())
        pending = []
        for p in packets:
            hit = hits.get(keys[id(p)])
            if hit is None:
                pending.append(p)
                continue
            if should_stop and should_stop():
                cancelled = True
                break
            finish(order[id(p)], drafter.from_cache(p, *hit), None)

    if not drafter.uses_model:
        for p in pending:
            if should_stop and should_stop():
                cancelled = True
                break
            result, answer = drafter.draft(p)
            finish(order[id(p)], result, answer)
    elif pending and not cancelled:
        stop = threading.Event()

        def work(p: ContextPacket) -> tuple[DraftResult, str | None]:
            return drafter.draft(p)

        workers = max(1, min(drafter.settings.concurrency, len(pending)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="draft")
        queue = iter(pending)
        in_flight: dict[Future[tuple[DraftResult, str | None]], ContextPacket] = {}

        def asked_to_stop() -> bool:
            if not stop.is_set() and should_stop and should_stop():
                stop.set()
            return stop.is_set()

        def refill() -> None:
            if asked_to_stop():
                return
            for p in queue:
                in_flight[pool.submit(work, p)] = p
                if len(in_flight) >= workers:
                    break

        try:
            refill()
            while in_flight:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                done_now = [(fut, in_flight.pop(fut)) for fut in finished]
                # Start the next requests before the caller's work on these results (saving
                # them takes milliseconds per draft), so that work overlaps the requests.
                refill()
                for fut, p in done_now:
                    result, answer = fut.result()
                    finish(order[id(p)], result, answer)
                asked_to_stop()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        cancelled = stop.is_set()
    done_results.sort(key=lambda x: x[0])
    run.results = [r for _, r in done_results]
    cancelled = cancelled or len(run.results) < total
    run.summary = summarise(
        run.results, total, time.perf_counter() - start, cancelled, drafter.breaker
    )
    return run


def answer_json(result: DraftResult) -> str:
    """The draft's fields as JSON (for exports and the page's raw view)."""
    d = result.draft
    return json.dumps(
        {
            "subject": d.subject,
            "body": d.body,
            "summary": d.summary,
            "rationale": d.rationale,
            "confidence": d.confidence,
        }
    )
