"""The gateway: error classes, the circuit breaker, retries with backoff and the connection check.

Model calls go over real HTTP to the loopback ``LLMServer`` (no other network).
"""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace
from unittest import mock

import httpx
import litellm
import pytest

from tests.llm_server import LLMServer, Reply
from workbench.drafting.gateway import (
    RETRYABLE,
    CircuitBreaker,
    Gateway,
    LLMError,
    check_connection,
    classify,
    litellm_module,
)
from workbench.drafting.settings import LLMSettings

HI = [{"role": "user", "content": "Say hi."}]


# litellm's pydantic types warn once when first used; not ours to fix.
def _resp(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "http://127.0.0.1/v1"))


def _lit(cls, **extra):
    return cls(message="boom", llm_provider="openai", model="fake", **extra)


class _Status(Exception):
    """An unknown client's error that carries only an HTTP status."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"Error code: {status_code} - nope")
        self.status_code = status_code


CLASSIFY = [
    # (case, exception, kind)
    ("litellm timeout", _lit(litellm.Timeout), "timeout"),
    ("builtin timeout", TimeoutError("read timed out"), "timeout"),
    ("litellm rate limit", _lit(litellm.RateLimitError), "rate_limited"),
    ("status 429", _Status(429), "rate_limited"),
    ("litellm auth", _lit(litellm.AuthenticationError), "auth"),
    ("litellm permission", _lit(litellm.PermissionDeniedError, response=_resp(403)), "auth"),
    ("status 401", _Status(401), "auth"),
    ("status 403", _Status(403), "auth"),
    ("litellm not found", _lit(litellm.NotFoundError), "not_found"),
    ("status 404", _Status(404), "not_found"),
    ("litellm connection", _lit(litellm.APIConnectionError), "connection"),
    ("connection refused", ConnectionRefusedError(111, "Connection refused"), "connection"),
    ("os error", OSError("Network is unreachable"), "connection"),
    ("litellm server error", _lit(litellm.InternalServerError), "server"),
    ("litellm unavailable", _lit(litellm.ServiceUnavailableError), "server"),
    ("litellm api error 502", litellm.APIError(status_code=502, message="bad gateway", llm_provider="openai", model="fake"), "server"),
    ("status 500", _Status(500), "server"),
    ("status 503", _Status(503), "server"),
    ("litellm bad request", _lit(litellm.BadRequestError), "bad_request"),
    ("context window", _lit(litellm.ContextWindowExceededError), "bad_request"),
    ("status 422", _Status(422), "bad_request"),
    ("anything else", ValueError("strange"), "other"),
]  # fmt: skip


@pytest.mark.parametrize(("exc", "kind"), [c[1:] for c in CLASSIFY], ids=[c[0] for c in CLASSIFY])
def test_classify(exc: BaseException, kind: str) -> None:
    err = classify(exc)
    assert isinstance(err, LLMError)
    assert err.kind == kind
    assert err.retryable == (kind in RETRYABLE)
    assert err.hint  # plain words on what to do


def test_classify_keeps_an_llm_error_and_shortens_details() -> None:
    e = LLMError("auth", "x")
    assert classify(e) is e
    assert classify(_Status(500)).detail == "nope"  # the provider prefix is cut
    assert "ValueError: strange" in classify(ValueError("strange")).message
    assert {"rate_limited", "server", "timeout", "connection"} == RETRYABLE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_at_the_threshold() -> None:
    clock = Clock()
    b = CircuitBreaker(3, 30, clock=clock)
    assert b.state == "closed"
    for _ in range(2):
        assert b.allow()
        b.failure("server error")
    assert b.state == "closed" and b.times_opened == 0
    b.success()  # a success in between resets the count
    for _ in range(2):
        b.failure("server error")
    assert b.state == "closed"
    b.failure("server error")
    assert b.state == "open" and b.times_opened == 1
    assert b.last_error == "server error"
    assert not b.allow()
    clock.now += 29.9
    assert not b.allow() and b.state == "open"


def test_breaker_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    clock = Clock()
    b = CircuitBreaker(2, 30, clock=clock)
    b.failure()
    b.failure()
    clock.now += 30
    assert b.state == "half_open"
    assert b.allow()  # the trial
    assert not b.allow()  # only one at a time
    assert not b.allow()
    b.success()
    assert b.state == "closed"
    assert b.allow() and b.allow()
    assert b.times_opened == 1


def test_breaker_reopens_on_a_failed_trial() -> None:
    clock = Clock()
    b = CircuitBreaker(2, 30, clock=clock)
    b.failure("first")
    b.failure("second")
    clock.now += 31
    assert b.allow()
    b.failure("trial failed")
    assert b.state == "open"
    assert b.last_error == "trial failed"
    assert b.times_opened == 1  # still the same outage
    assert not b.allow()
    clock.now += 29
    assert not b.allow()  # the cool-down restarts at the failed trial
    clock.now += 1
    assert b.state == "half_open" and b.allow()
    b.success()
    assert b.state == "closed"
    # A new outage after recovery counts again.
    b.failure()
    b.failure()
    assert b.state == "open" and b.times_opened == 2


@pytest.fixture
def srv(server: LLMServer) -> LLMServer:
    """The module's server, with a fresh script and record for each test."""
    return server.reset()


def settings(srv: LLMServer, **kw) -> LLMSettings:
    base = {
        "model": "openai/fake",
        "api_base": srv.api_base,
        "timeout_s": 5.0,
        "max_attempts": 3,
        "backoff_s": 0.5,
        "breaker_failures": 50,
    }
    return LLMSettings(**{**base, **kw})


def test_completion_over_http(srv: LLMServer) -> None:
    done = Gateway(settings(srv)).complete(HI)
    assert '"subject"' in done.text
    assert (done.tokens_in, done.tokens_out, done.attempts) == (120, 60, 1)
    assert done.latency_ms > 0
    req = srv.requests[0]
    assert req["messages"] == HI
    assert req["model"] == "fake"
    assert req["response_format"] == {"type": "json_object"}
    assert srv.paths == ["/v1/chat/completions"]
    Gateway(settings(srv)).complete(HI, json_mode=False)
    assert "response_format" not in srv.requests[1]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_with_exponential_backoff(srv: LLMServer, status: int) -> None:
    srv.script = [Reply(status=status), Reply(status=status)]
    sleeps: list[float] = []
    done = Gateway(settings(srv, backoff_s=0.5), sleep=sleeps.append).complete(HI)
    assert done.attempts == 3
    assert len(srv.requests) == 3  # our own retries: litellm and openai retry nothing
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_max_attempts(srv: LLMServer) -> None:
    srv.script = [Reply(status=500)] * 5
    sleeps: list[float] = []
    gw = Gateway(settings(srv, max_attempts=3, backoff_s=0.25), sleep=sleeps.append)
    with pytest.raises(LLMError) as err:
        gw.complete(HI)
    assert err.value.kind == "server" and err.value.attempts == 3
    assert len(srv.requests) == 3
    assert sleeps == [0.25, 0.5]  # no wait after the last try


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (403, "auth"), (404, "not_found"), (400, "bad_request")])  # fmt: skip
def test_errors_that_a_retry_cannot_fix_are_not_retried(srv: LLMServer, status: int, kind: str) -> None:  # fmt: skip
    srv.script = [Reply(status=status)]
    sleeps: list[float] = []
    with pytest.raises(LLMError) as err:
        Gateway(settings(srv), sleep=sleeps.append).complete(HI)
    assert err.value.kind == kind and err.value.attempts == 1
    assert len(srv.requests) == 1 and sleeps == []


def test_open_breaker_refuses_without_a_request(srv: LLMServer) -> None:
    srv.script = [Reply(status=500)] * 4
    s = settings(srv, max_attempts=2, breaker_failures=2)
    gw = Gateway(s, sleep=lambda _: None)
    # The breaker counts requests that failed after their retries: two open it.
    for _ in range(2):
        with pytest.raises(LLMError) as err:
            gw.complete(HI)
        assert err.value.kind == "server" and err.value.attempts == 2
    with pytest.raises(LLMError) as err:
        gw.complete(HI)
    assert err.value.kind == "circuit_open" and err.value.attempts == 0
    assert "server error" in err.value.detail
    assert len(srv.requests) == 4


def test_a_burst_of_rate_limits_is_retried_not_tripping_the_breaker(srv: LLMServer) -> None:
    srv.script = [Reply(status=429), Reply(status=429), Reply()] * 2
    s = settings(srv, max_attempts=3, breaker_failures=2)
    gw = Gateway(s, sleep=lambda _: None)
    for _ in range(2):
        assert gw.complete(HI).attempts == 3  # two 429s, then an answer
    assert gw.breaker.state == "closed" and gw.breaker.times_opened == 0


def test_an_answer_without_choices_is_an_error_not_a_crash(srv: LLMServer) -> None:
    s = settings(srv, max_attempts=3)
    gw = Gateway(s, sleep=lambda _: None)
    empty = SimpleNamespace(choices=[])
    with mock.patch.object(Gateway, "_request", return_value=empty), pytest.raises(LLMError) as err:
        gw.complete(HI)
    assert err.value.kind == "other" and "no message" in err.value.message
    assert err.value.attempts == 1  # not retried


def test_backoff_is_capped(srv: LLMServer) -> None:
    srv.script = [Reply(status=503)] * 3
    sleeps: list[float] = []
    s = settings(srv, max_attempts=4, backoff_s=40)
    Gateway(s, sleep=sleeps.append).complete(HI)
    assert sleeps == [40, 60, 60]


def test_shared_breaker_across_gateways(srv: LLMServer) -> None:
    srv.script = [Reply(status=503)]
    breaker = CircuitBreaker(1, 60)
    with pytest.raises(LLMError):
        Gateway(settings(srv, max_attempts=1), breaker=breaker).complete(HI)
    with pytest.raises(LLMError) as err:
        Gateway(settings(srv), breaker=breaker).complete(HI)
    assert err.value.kind == "circuit_open"
    assert len(srv.requests) == 1


def test_timeout_is_classified_and_retried(srv: LLMServer) -> None:
    srv.delay = 1.5
    sleeps: list[float] = []
    gw = Gateway(settings(srv, timeout_s=0.3, max_attempts=2, backoff_s=0.01), sleep=sleeps.append)
    with pytest.raises(LLMError) as err:
        gw.complete(HI)
    assert err.value.kind == "timeout" and err.value.attempts == 2
    assert "did not answer in time" in err.value.message
    assert len(srv.requests) == 2 and sleeps == [0.01]


def test_not_configured() -> None:
    with pytest.raises(LLMError) as err:
        Gateway(LLMSettings()).complete(HI)
    assert err.value.kind == "not_configured"
    check = check_connection(LLMSettings())
    assert not check.ok and "No model is configured" in check.message


def test_check_connection_ok(srv: LLMServer) -> None:
    check = check_connection(settings(srv))
    assert check.ok and check.latency_ms is not None
    assert check.message.startswith("Connected to openai/fake: it answered in ")
    assert "120 tokens in, 60 out" in check.message
    # One tiny request without account data and without JSON mode.
    assert len(srv.requests) == 1
    assert srv.requests[0]["messages"] == [
        {"role": "user", "content": "Reply with the single word OK."}
    ]
    assert "response_format" not in srv.requests[0]


CHECKS = [
    # (status, words in the message, words in the hint)
    (401, "refused the API key", "OPENAI_API_KEY"),
    (404, "does not know this model, or the URL is wrong", "Check the model name"),
    (429, "rate limiting", "lower the concurrency"),
    (500, "server error", "try again later"),
]


@pytest.mark.parametrize(("status", "message", "hint"), CHECKS)
def test_check_connection_explains_failures(srv: LLMServer, status: int, message: str, hint: str) -> None:  # fmt: skip
    srv.script = [Reply(status=status)] * 3
    check = check_connection(settings(srv))
    assert not check.ok
    assert message in check.message and hint in check.hint
    assert len(srv.requests) == 1  # the check tries once, even for retryable errors


def test_check_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as s:  # a free port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    check = check_connection(
        LLMSettings(model="openai/fake", api_base=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    )
    assert not check.ok
    assert "Could not reach the model's server" in check.message
    assert "API base URL" in check.hint
    with pytest.raises(LLMError) as err:
        Gateway(
            LLMSettings(
                model="openai/fake", api_base=f"http://127.0.0.1:{port}/v1", max_attempts=2
            ),
            sleep=lambda _: None,
        ).complete(HI)
    assert err.value.kind == "connection" and err.value.attempts == 2


def test_check_connection_timeout(srv: LLMServer) -> None:
    srv.delay = 1.5
    check = check_connection(settings(srv, timeout_s=0.3))
    assert not check.ok and "did not answer in time" in check.message
    assert "Raise the timeout" in check.hint


def test_api_key_goes_to_the_provider_not_into_errors(srv: LLMServer) -> None:
    srv.script = [Reply(status=401)]
    s = settings(srv, api_key="sk-test-secret-123")
    assert "sk-test-secret" not in repr(s)
    check = check_connection(s)
    assert "sk-test-secret" not in check.message + check.hint


@pytest.mark.parametrize(
    ("model", "api_base", "api_key", "sent_key"),
    [
        # A third-party OpenAI-compatible host must not receive OPENAI_API_KEY.
        ("openai/llama", "https://llm.example.com/v1", None, "no-key-configured"),
        ("openai/llama", "https://llm.example.com/v1", "k-1", "k-1"),
        ("openai/gpt-4o-mini", None, None, None),  # OpenAI itself: litellm reads the env
        ("ollama/llama3.1", "http://localhost:11434", None, "no-key-configured"),  # ignored
        ("azure/gpt4", "https://r.openai.azure.com", None, None),  # Azure's own base and key
    ],
)
def test_which_key_goes_to_the_provider(monkeypatch, model, api_base, api_key, sent_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    lit = litellm_module()
    seen: dict = {}

    def fake(**kw):
        seen.update(kw)
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content="{}"))])

    monkeypatch.setattr(lit, "completion", fake)
    s = LLMSettings(model=model, api_base=api_base, api_key=api_key)
    Gateway(s, sleep=lambda _: None).complete(HI)
    assert seen.get("api_key") == sent_key
    assert seen["max_retries"] == 0 and seen["num_retries"] == 0


def test_one_trial_at_a_time_even_when_others_fail_meanwhile() -> None:
    now = [0.0]
    b = CircuitBreaker(threshold=1, cooldown_s=10, clock=lambda: now[0])
    b.failure("down")
    assert b.state == "open"
    now[0] = 11
    assert b.allow()  # this thread holds the trial
    other_failed = threading.Thread(target=b.failure, args=("late failure",))
    other_failed.start()
    other_failed.join()
    assert not b.allow()  # a failure elsewhere does not free a second trial
    b.failure("trial failed")
    assert b.state == "open"  # the trial's own failure opens it again
    now[0] = 22
    assert b.allow()
    b.success()
    assert b.state == "closed"


def test_a_retry_is_not_sent_once_the_breaker_opened_meanwhile(srv: LLMServer) -> None:
    srv.script = [Reply(status=503)] * 3
    s = settings(srv, max_attempts=3, breaker_failures=1)
    gw = Gateway(s, sleep=lambda _: gw.breaker.failure("another request failed"))
    with pytest.raises(LLMError) as err:
        gw.complete(HI)
    assert err.value.kind == "circuit_open" and err.value.attempts == 1
    assert len(srv.requests) == 1
