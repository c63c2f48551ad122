"""Drafting many accounts: bounded concurrency, the answer cache, progress, stop, and totals.

``run_drafts`` drafts with a ``Drafter`` (one thread per request in flight,
at most ``settings.concurrency``), reports each result on the caller's thread
(where the database work happens) and stops early when asked. ``summarise``
turns the results into the run's totals (outcomes, held, requests, tokens,
cost, p50/p95 latency).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from workbench.drafting.engine import OUTCOMES, AnswerCache, Drafter, DraftResult
from workbench.drafting.gateway import CircuitBreaker
from workbench.drafting.packet import ContextPacket


@dataclass(frozen=True)
class RunSummary:
    """Totals for a run, as the drafts page and the CLI show them."""

    accounts: int
    drafted: int
    by_outcome: dict[str, int]
    held: int
    needs_human: int
    requests: int  # HTTP requests sent, failed tries included
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


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


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
    costs = [t.cost_usd for t in traces if t.cost_usd is not None and t.attempts > 0]
    latencies = [t.latency_ms for t in called]
    note = ""
    # Drafts the model should have written (a template that failed to render has no trace).
    fallbacks = sum(r.outcome == "fallback" and r.trace is not None for r in results)
    if breaker is not None and breaker.times_opened and fallbacks:
        note = (
            f"The circuit breaker opened {_times(breaker.times_opened)} after repeated failures "
            f"({breaker.last_error}); {fallbacks} account{'s were' if fallbacks != 1 else ' was'} "
            "drafted by the template "
            "drafter instead of the model."
        )
    return RunSummary(
        accounts=accounts,
        drafted=len(results),
        by_outcome=by,
        held=sum(r.held for r in results),
        needs_human=sum(r.needs_human for r in results),
        requests=sum(t.attempts for t in traces),
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
    reuse_cached: bool = True,
    on_result: Callable[[DraftResult, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DraftRun:
    """Draft every packet; results come back in the packets' order.

    With ``reuse_cached=False`` the cache is not read (every account is asked
    again) but fresh answers are still written, so the next run reuses them.

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
    if drafter.uses_model and cache is not None and reuse_cached:
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
