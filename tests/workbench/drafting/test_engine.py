"""The drafting engine over real HTTP: litellm talks to the loopback ``LLMServer``.

Success, one repair, abstention, retries, the circuit breaker with its template
fallback, timeouts, bounded concurrency, cancelling and the output policy on
model answers. (The answer cache across runs is in ``test_store``; redaction in
``test_redaction_http``.)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from tests.llm_server import LLMServer, Reply, draft_json, echo_account
from workbench.drafting.batch import run_drafts
from workbench.drafting.engine import DraftResult
from workbench.drafting.gateway import Gateway
from workbench.drafting.packet import build_packets, render_packet
from workbench.drafting.prompts import messages_text, prompt_set
from workbench.drafting.run import make_drafter
from workbench.drafting.settings import LLMSettings
from workbench.drafting.template import DRAFTER


# litellm's pydantic types warn once when first used; not ours to fix.
@pytest.fixture
def srv(server: LLMServer) -> LLMServer:
    """The module's server, with a fresh script, default answer and record for each test."""
    return server.reset(default=echo_first_user)


@pytest.fixture(scope="module")
def packets(book):
    con, wf, pv = book
    return build_packets(con, pv, wf)


@pytest.fixture(scope="module")
def automated(packets):
    """A packet the workflow would handle without a person."""
    return next(p for p in packets if p.route == "automated")


def echo_first_user(request: dict[str, Any]) -> Reply:
    """A valid draft naming the account of the first user message (a repair request has none)."""
    first = next(m for m in request["messages"] if m["role"] == "user")
    return echo_account({"messages": [first]})


def llm(srv: LLMServer, **kw: Any) -> LLMSettings:
    base: dict[str, Any] = {
        "model": "openai/fake",
        "api_base": srv.api_base,
        "timeout_s": 5.0,
        "max_attempts": 3,
        "backoff_s": 0.01,
        "concurrency": 4,
        "breaker_failures": 50,
    }
    return LLMSettings(**{**base, **kw})


def drafter_for(book, settings: LLMSettings, sleep=None):
    con, wf, _ = book
    gateway = Gateway(settings, sleep=sleep) if sleep is not None else None
    return make_drafter(con, wf, settings, gateway=gateway)


def sent_text(request: dict[str, Any]) -> str:
    return messages_text(request["messages"])


def test_success(book, srv, automated) -> None:
    d = drafter_for(book, llm(srv))
    result, answer = d.draft(automated)
    assert result.outcome == "ok"
    assert result.note == "Drafted by openai/fake."
    assert result.draft.drafter == "openai/fake"
    assert result.draft.template_version == prompt_set(book[0], "assign_csm").version
    assert automated.account_name in result.draft.body
    assert result.checks and all(c.ok for c in result.checks), result.checks
    assert not result.held and not result.needs_human
    assert result.route == "automated"
    assert answer is not None and json.loads(answer)["subject"] == result.draft.subject

    assert len(srv.requests) == 1
    req = srv.requests[0]
    assert render_packet(automated) in req["messages"][1]["content"]
    t = result.trace
    assert t is not None
    assert (t.outcome, t.requests, t.attempts, t.error) == ("ok", 1, 1, None)
    assert (t.tokens_in, t.tokens_out) == (120, 60)
    assert t.model == "openai/fake" and t.account_id == automated.account_id
    assert not t.redacted  # loopback: redaction is off under "auto"
    assert t.sent == sent_text(req)  # the trace shows exactly what was sent
    assert t.received is not None
    assert json.loads(t.received)["body"] == result.draft.body


def test_malformed_json_then_repaired(book, srv, automated) -> None:
    srv.script = [Reply(content='{"subject": "Renewal", "body": "Hello')]
    result, answer = drafter_for(book, llm(srv)).draft(automated)
    assert result.outcome == "repaired"
    assert "after one repair (the answer is not valid JSON" in result.note
    assert answer is not None and not result.needs_human
    assert len(srv.requests) == 2
    second = srv.requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == '{"subject": "Renewal", "body": "Hello'
    assert second[3]["content"].startswith("Your answer could not be used: the answer is not valid")
    assert "Your answer could not be used" not in sent_text(srv.requests[0])
    t = result.trace
    assert t is not None
    assert (t.outcome, t.requests, t.attempts) == ("repaired", 2, 2)
    assert (t.tokens_in, t.tokens_out) == (240, 120)
    assert t.sent == sent_text(srv.requests[1])  # the whole conversation, repair included


def test_schema_problem_is_repaired_too(book, srv, automated) -> None:
    srv.script = [Reply(content=json.dumps({"subject": "Hi", "confidence": 3}))]
    result, _ = drafter_for(book, llm(srv)).draft(automated)
    assert result.outcome == "repaired"
    repair = srv.requests[1]["messages"][3]["content"]
    assert "does not fit the draft schema" in repair and "confidence" in repair


def test_invalid_twice_abstains_and_goes_to_a_person(book, srv, automated) -> None:
    srv.script = [Reply(content="Sure! Here is your email: Dear customer..."), Reply(content="[]")]
    result, answer = drafter_for(book, llm(srv)).draft(automated)
    assert result.outcome == "abstained"
    assert answer is None  # nothing to cache: the next run asks again
    assert result.needs_human and not result.held
    assert automated.route == "automated" and result.route == "human"
    assert result.note.startswith("No draft: the model's answer was invalid twice (")
    assert "not valid JSON" in result.note and "not an object" in result.note
    assert result.note.endswith("The action goes to a person.")
    assert "invalid twice" in result.draft.rationale  # the reason is on the draft itself
    assert result.draft.body == "" and result.checks == ()
    assert len(srv.requests) == 2
    t = result.trace
    assert t is not None and t.outcome == "abstained" and t.requests == 2
    assert t.error is not None and "not an object" in t.error
    assert t.received is not None and "Dear customer" in t.received


def test_model_may_abstain_with_a_reason(book, srv, packets) -> None:
    srv.script = [Reply(content=json.dumps({"abstain": True, "abstain_reason": "No usage data."}))]
    human = next(p for p in packets if p.route == "human")
    result, answer = drafter_for(book, llm(srv)).draft(human)
    assert result.outcome == "abstained" and result.needs_human
    assert result.route == "human"
    assert "the model abstained: No usage data." in result.note
    assert answer is not None and json.loads(answer)["abstain"] is True  # cached as given
    assert len(srv.requests) == 1


def test_429_then_success_is_retried_with_backoff(book, srv, automated) -> None:
    srv.script = [Reply(status=429), Reply(status=429, headers={"Retry-After": "0"})]
    sleeps: list[float] = []
    settings = llm(srv, backoff_s=0.2, max_attempts=3)
    result, _ = drafter_for(book, settings, sleep=sleeps.append).draft(automated)
    assert result.outcome == "ok"
    assert len(srv.requests) == 3
    assert sleeps == [0.2, 0.4]  # exponential backoff, owned by the workbench
    t = result.trace
    assert t is not None and (t.attempts, t.requests) == (3, 1)


def test_retry_really_waits(book, srv, automated) -> None:
    srv.script = [Reply(status=429)]
    started = time.perf_counter()
    result, _ = drafter_for(book, llm(srv, backoff_s=0.3)).draft(automated)
    assert result.outcome == "ok" and len(srv.requests) == 2
    assert time.perf_counter() - started >= 0.3


def _always(status: int):
    def answer(request: dict[str, Any]) -> Reply:
        return Reply(status=status)

    return answer


def test_repeated_500s_open_the_circuit_and_fall_back(book, srv, packets) -> None:
    srv.default = _always(500)
    settings = llm(srv, concurrency=1, max_attempts=2, breaker_failures=3)
    some = packets[:6]
    run = run_drafts(some, drafter_for(book, settings, sleep=lambda _: None))
    # Each of the first three accounts fails after its 2 tries; the third failed request
    # opens the breaker and nothing more reaches the server.
    assert len(srv.requests) == 6
    assert [r.outcome for r in run.results] == ["fallback"] * 6
    for r in run.results:
        assert r.draft.drafter == "template drafter (fallback: openai/fake failed)"
        assert r.packet.account_name in r.draft.body
        assert r.note.endswith("The template drafter wrote this draft instead.")
        assert r.trace is not None and r.trace.outcome == "failed"
    assert all("server error" in r.note for r in run.results[:3])
    assert all("circuit breaker is open" in r.note for r in run.results[3:])
    assert [r.trace.attempts for r in run.results if r.trace] == [2, 2, 2, 0, 0, 0]
    s = run.summary
    assert s is not None
    assert s.by_outcome == {"fallback": 6}
    assert s.breaker_note.startswith("The circuit breaker opened once after repeated failures")
    assert "6 accounts were drafted by the template drafter" in s.breaker_note
    assert s.breaker_note in s.sentence()
    assert "6 fallback" in s.sentence()


def test_breaker_under_concurrency_stops_the_requests(book, srv, packets) -> None:
    srv.default = _always(503)
    settings = llm(srv, concurrency=4, max_attempts=3, breaker_failures=3)
    run = run_drafts(packets[:16], drafter_for(book, settings, sleep=lambda _: None))
    assert [r.outcome for r in run.results] == ["fallback"] * 16
    # Three failed requests (3 tries each) open it; requests already in flight stop
    # retrying once it is open, and no new one starts.
    assert 3 * 3 <= len(srv.requests) <= (3 + 4 - 1) * 3
    sent = len(srv.requests)
    time.sleep(0.1)
    assert len(srv.requests) == sent
    assert run.summary is not None and "circuit breaker opened" in run.summary.sentence()


def test_timeout_is_retried_then_falls_back(book, srv, automated) -> None:
    srv.delay = 1.0
    settings = llm(srv, timeout_s=0.25, max_attempts=2)
    started = time.perf_counter()
    result, answer = drafter_for(book, settings).draft(automated)
    took = time.perf_counter() - started
    assert result.outcome == "fallback" and answer is None
    assert "did not answer in time" in result.note
    assert result.draft.drafter == "template drafter (fallback: openai/fake failed)"
    assert len(srv.requests) == 2  # retried up to max_attempts
    t = result.trace
    assert t is not None and t.outcome == "failed" and t.attempts == 2 and t.requests == 0
    assert t.error is not None and "did not answer in time" in t.error
    assert took < 1.5  # gave up at the timeout, did not wait for the slow answers


class InFlight:
    """A default answer that takes ``delay`` seconds and counts requests in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.now = 0
        self.max = 0
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.now += 1
            self.max = max(self.max, self.now)
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.now -= 1
        return echo_first_user(request)


def test_slow_responses_under_bounded_concurrency(book, srv, packets) -> None:
    tracker = InFlight(0.3)
    srv.default = tracker
    some = packets[:8]
    seen: list[tuple[str, int, int, str]] = []

    def on_result(r: DraftResult, done: int, total: int) -> None:
        seen.append((r.packet.account_id, done, total, threading.current_thread().name))

    started = time.perf_counter()
    run = run_drafts(some, drafter_for(book, llm(srv, concurrency=4)), on_result=on_result)
    wall = time.perf_counter() - started
    serial = 8 * 0.3
    assert [r.outcome for r in run.results] == ["ok"] * 8
    assert [r.packet.account_id for r in run.results] == [p.account_id for p in some]
    assert 1 < tracker.max <= 4
    assert wall < 0.75 * serial, wall  # about serial / 4 when nothing else is busy
    # Results are reported on the caller's thread, one by one.
    assert [s[1] for s in seen] == list(range(1, 9)) and {s[2] for s in seen} == {8}
    assert {s[3] for s in seen} == {threading.current_thread().name}
    s = run.summary
    assert s is not None and s.requests == 8 and s.tokens_in == 8 * 120
    assert s.p50_ms is not None and s.p95_ms is not None
    assert 300 <= s.p50_ms <= s.p95_ms


def test_concurrency_one_is_serial(book, srv, packets) -> None:
    tracker = InFlight(0.05)
    srv.default = tracker
    run = run_drafts(packets[:4], drafter_for(book, llm(srv, concurrency=1)))
    assert tracker.max == 1 and len(run.results) == 4


def test_stop_keeps_what_is_in_flight_and_sends_nothing_new(book, srv, packets) -> None:
    srv.default = InFlight(0.05)
    done: list[str] = []
    run = run_drafts(
        packets[:20],
        drafter_for(book, llm(srv, concurrency=2)),
        on_result=lambda r, n, t: done.append(r.packet.account_id),
        should_stop=lambda: len(done) >= 3,
    )
    assert run.summary is not None and run.summary.cancelled
    # Requests started while the last results were being handed over are kept, no more.
    assert 3 <= len(run.results) <= 3 + 2 * 2
    assert len(srv.requests) == len(run.results)  # none started after the stop
    assert "Stopped early" in run.summary.sentence()


def test_other_account_name_is_found_in_the_index(book, packets, automated) -> None:
    other = next(p.account_name for p in packets if p.account_name != automated.account_name)
    d = drafter_for(book, LLMSettings())
    assert d.names.find(f"like {other} did") == [other]


def _policy_answers(account: str, other: str) -> list[tuple[str, str, str]]:
    return [
        (
            "no_discount_offer",
            draft_json(account, body_extra=" We can offer a 20% discount on the renewal."),
            "offers a discount",
        ),
        (
            "no_other_account",
            draft_json(account, body_extra=f" {other} saw good results with this."),
            f'names another account: "{other}"',
        ),
        (
            "placeholders",
            draft_json(account).replace(
                f"Renewal review for {account}.", f"Hello [Customer Name] at {account}."
            ),  # fmt: skip
            '"[Customer Name]"',
        ),
    ]


@pytest.mark.parametrize("case", [0, 1, 2], ids=["discount", "other account", "placeholder"])
def test_policy_holds_model_drafts(book, srv, packets, automated, case: int) -> None:
    other = next(p.account_name for p in packets if p.account_name != automated.account_name)
    check, content, words = _policy_answers(automated.account_name, other)[case]
    srv.script = [Reply(content=content)]
    result, answer = drafter_for(book, llm(srv)).draft(automated)
    assert result.outcome == "ok" and answer is not None  # the model answered well-formed JSON
    assert result.held and result.needs_human
    assert result.route == "human"  # held: a person looks before anything happens
    failing = {c.name: c.detail for c in result.checks if not c.ok}
    assert set(failing) == {check}, failing
    assert words in failing[check]


def test_allowed_discounts_are_not_held(book, srv, automated) -> None:
    con, wf, _ = book
    wf2 = wf.model_copy(update={"output_policy": wf.output_policy.model_copy(update={"allow_discounts": True})})  # fmt: skip
    srv.script = [Reply(content=draft_json(automated.account_name, " A 20% discount is possible."))]
    result, _ = make_drafter(con, wf2, llm(srv)).draft(automated)
    assert result.outcome == "ok" and not result.held


def test_summary_counts_held_and_latency(book, srv, packets) -> None:
    some = packets[:5]
    srv.script = [Reply(content=draft_json(some[0].account_name, " Take 10% off today."))]
    run = run_drafts(some, drafter_for(book, llm(srv, concurrency=1)))
    s = run.summary
    assert s is not None
    assert (s.accounts, s.drafted, s.held, s.requests) == (5, 5, 1, 5)
    assert s.by_outcome == {"ok": 5}
    assert s.needs_human == 1
    assert s.tokens_out == 5 * 60
    assert "1 held by the checks" in s.sentence() and "latency p50" in s.sentence()


def test_no_model_uses_the_template_drafter_without_requests(book, srv, packets) -> None:
    d = drafter_for(book, LLMSettings())
    assert not d.uses_model and d.gateway is None
    run = run_drafts(packets[:3], d)
    assert [r.outcome for r in run.results] == ["template"] * 3
    assert all(r.draft.drafter == DRAFTER and r.trace is None for r in run.results)
    assert srv.requests == []
    assert run.summary is not None and run.summary.requests == 0
    assert DRAFTER == "template drafter (no LLM configured)"


def test_cache_key_follows_model_template_and_packet(book, automated) -> None:
    con, wf, _ = book
    a = make_drafter(con, wf, LLMSettings(model="openai/a", api_base="http://127.0.0.1:1/v1"))
    b = make_drafter(con, wf, LLMSettings(model="openai/b", api_base="http://127.0.0.1:1/v1"))
    red = make_drafter(
        con, wf, LLMSettings(model="openai/a", api_base="http://127.0.0.1:1/v1", redact="on")
    )
    key = a.cache_key(automated)
    assert key == a.cache_key(replace(automated))
    assert key != b.cache_key(automated)
    assert key != red.cache_key(automated)
    assert key != a.cache_key(replace(automated, health_score=(automated.health_score or 0) + 1))
    a.prompts = replace(a.prompts, user=a.prompts.user + "Be brief.\n")
    assert key != a.cache_key(automated)
