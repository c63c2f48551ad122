"""The one place the workbench calls a model: litellm, with our own retries and circuit breaker.

litellm's and the openai client's retries are switched off (``max_retries=0``,
``num_retries=0``): the workbench retries rate limits, server errors, timeouts
and connection errors itself, with exponential backoff, up to
``max_attempts``. A ``CircuitBreaker`` shared by all threads of a run counts
failed requests in a row; once open it refuses calls (the caller falls back to
the template drafter) until its cool-down has passed, then lets one trial
call through.

litellm is imported on first use with its cost map read locally, so a
workspace without a model never imports it and nothing reaches the network.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from workbench.drafting.settings import LLMSettings
from workbench.errors import WorkbenchError

ErrorKind = Literal[
    "rate_limited",
    "server",
    "timeout",
    "connection",
    "auth",
    "not_found",
    "bad_request",
    "circuit_open",
    "not_configured",
    "other",
]
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "server", "timeout", "connection"})
MAX_BACKOFF_S = 60.0  # the longest first wait the settings allow

_PLAIN: dict[str, tuple[str, str]] = {
    "rate_limited": (
        "The provider is rate limiting the requests (HTTP 429).",
        "Wait a minute, lower the concurrency in Settings, or check the plan's rate limits.",
    ),
    "server": (
        "The provider answered with a server error.",
        "The provider may be down; try again later. Drafts fall back to the template drafter.",
    ),
    "timeout": (
        "The model did not answer in time.",
        "Raise the timeout in Settings, or use a smaller or local model.",
    ),
    "connection": (
        "Could not reach the model's server.",
        "Check the API base URL (and that the local server, e.g. Ollama, is running) "
        "and the network.",
    ),
    "auth": (
        "The provider refused the API key (no key, or a wrong or expired one).",
        "Set the provider's key (for example OPENAI_API_KEY) in the environment or in "
        ".streamlit/secrets.toml under [llm] api_key.",
    ),
    "not_found": (
        "The provider does not know this model, or the URL is wrong.",
        "Check the model name (with its provider prefix, e.g. openai/gpt-4o-mini) and the API base.",
    ),
    "bad_request": (
        "The provider rejected the request.",
        "Check the model name and settings; the message below says what it did not accept.",
    ),
    "circuit_open": (
        "The circuit breaker is open after repeated failures, so the model is not called.",
        "The template drafter is used meanwhile; the breaker lets a trial call through "
        "after its cool-down.",
    ),
    "not_configured": (
        "No model is configured.",
        "Set a model in Settings or WORKBENCH_LLM_MODEL; meanwhile the template drafter writes drafts.",
    ),
    "other": ("The model call failed.", "See the message below."),
}


class LLMError(WorkbenchError):
    """A failed model call, classified, in plain words."""

    def __init__(self, kind: ErrorKind, detail: str = "", attempts: int = 0) -> None:
        message, hint = _PLAIN[kind]
        super().__init__(message + (f" ({detail})" if detail else ""), hint)
        self.kind: ErrorKind = kind
        self.detail = detail
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


_litellm: ModuleType | None = None
_import_lock = threading.Lock()


def litellm_module() -> ModuleType:
    """litellm, imported once with the local cost map and quiet debug output."""
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            litellm.drop_params = True
            _litellm = litellm
    return _litellm


def classify(exc: BaseException) -> LLMError:
    """A litellm/openai exception as an ``LLMError`` kind."""
    if isinstance(exc, LLMError):
        return exc
    name = type(exc).__name__
    names = {c.__name__ for c in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    text = str(exc)
    detail = text.split(" - ", 1)[-1][:300] if text else name
    if "Timeout" in names or "APITimeoutError" in names or isinstance(exc, TimeoutError):
        return LLMError("timeout", detail)
    if "RateLimitError" in names or status == 429:
        return LLMError("rate_limited", detail)
    if "AuthenticationError" in names or "PermissionDeniedError" in names or status in (401, 403):
        return LLMError("auth", detail)
    if "NotFoundError" in names or status == 404:
        return LLMError("not_found", detail)
    if "APIConnectionError" in names or "Connection error" in text or isinstance(exc, OSError):
        return LLMError("connection", detail)
    if (
        isinstance(status, int)
        and status >= 500
        or name in ("InternalServerError", "ServiceUnavailableError")
    ):
        return LLMError("server", detail)
    if "BadRequestError" in names or status in (400, 422):
        return LLMError("bad_request", detail)
    return LLMError("other", f"{name}: {detail}")


class CircuitBreaker:
    """Opens after ``threshold`` failed requests in a row; half-opens after ``cooldown_s``.

    In the half-open state one request (on one thread) is the trial: its success closes the
    breaker, its failure opens it again. Other requests failing meanwhile do not end the
    trial, so there is never more than one trial at a time.
    """

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._trial_owner: int | None = None
        self.times_opened = 0
        self.last_error: str = ""

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.cooldown_s:
                return "half_open"
            return "open"

    def allow(self) -> bool:
        """May a request go out now? In half-open state only one trial at a time."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at < self.cooldown_s or self._trial:
                return False
            self._trial = True
            self._trial_owner = threading.get_ident()
            return True

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial = False

    def failure(self, error: str = "") -> None:
        with self._lock:
            self._failures += 1
            self.last_error = error or self.last_error
            trial = self._trial and self._trial_owner == threading.get_ident()
            if trial:
                self._opened_at = self._clock()  # the trial failed: open for another cool-down
                self._trial = False
            elif self._opened_at is None and self._failures >= self.threshold:
                self.times_opened += 1
                self._opened_at = self._clock()


@dataclass(frozen=True)
class Completion:
    """One answered request: text, usage and what it took."""

    text: str
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    attempts: int


def _usage(resp: Any) -> tuple[int, int]:
    usage = getattr(resp, "usage", None)
    if usage is None:
        return 0, 0
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(
        getattr(usage, "completion_tokens", 0) or 0
    )


def _cost(lit: ModuleType, resp: Any) -> float | None:
    try:
        value = lit.completion_cost(completion_response=resp)
    except Exception:  # unknown model or price: cost unknown, not an error
        return None
    return float(value) if value else None


class Gateway:
    """Calls the configured model through litellm.

    Args:
        settings: Which model and how.
        breaker: Shared across a run's threads (one is made when omitted).
        sleep: Injected for tests of the backoff schedule.
    """

    def __init__(
        self,
        settings: LLMSettings,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_failures, settings.breaker_cooldown_s
        )
        self._sleep = sleep

    def _request(self, messages: list[dict[str, str]], json_mode: bool) -> Any:
        s = self.settings
        lit = litellm_module()
        kwargs: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "timeout": s.timeout_s,
            "max_retries": 0,
            "num_retries": 0,
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "drop_params": True,
        }
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if s.api_base:
            kwargs["api_base"] = s.api_base
        if s.api_key:
            kwargs["api_key"] = s.api_key
        elif s.api_base and not (s.model or "").startswith("azure/"):
            # A server of its own: never hand it a provider's key from the environment
            # (litellm would fall back to OPENAI_API_KEY and the like). Local servers take
            # any key; others need WORKBENCH_LLM_API_KEY. Azure's base is Azure's own.
            kwargs["api_key"] = "no-key-configured"
        if s.api_version:
            kwargs["api_version"] = s.api_version
        return lit.completion(**kwargs)

    def complete(self, messages: list[dict[str, str]], *, json_mode: bool = True) -> Completion:
        """One answer, retrying what is worth retrying; raises ``LLMError``.

        The breaker counts requests, not tries: a request that still fails after
        its retries (or fails in a way retrying cannot fix) is one failure, so a
        short burst of rate limits is retried instead of opening the breaker.
        Retries stop early when another request has opened the breaker meanwhile.
        """
        s = self.settings
        if not s.configured:
            raise LLMError("not_configured")
        lit = litellm_module()
        if not self.breaker.allow():
            raise LLMError("circuit_open", self.breaker.last_error)
        attempt = 0
        start = time.perf_counter()
        while True:
            attempt += 1
            try:
                resp = self._request(messages, json_mode)
                text = _answer_text(resp)
            except Exception as exc:  # every provider error is classified below
                err = classify(exc)
                err.attempts = attempt
                give_up = (
                    not err.retryable or attempt >= s.max_attempts or self.breaker.state == "open"
                )
                if give_up:
                    self.breaker.failure(err.message)
                    raise err from None
                self._sleep(min(s.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
                if self.breaker.state == "open":  # opened by other requests while we waited
                    raise LLMError(
                        "circuit_open", self.breaker.last_error, attempts=attempt
                    ) from None
                continue
            self.breaker.success()
            tokens_in, tokens_out = _usage(resp)
            return Completion(
                text=text,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost_usd=_cost(lit, resp),
                latency_ms=(time.perf_counter() - start) * 1000,
                attempts=attempt,
            )


def _answer_text(resp: Any) -> str:
    """The first choice's text; an answer without one is an error, not an empty draft."""
    try:
        content = resp.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        raise LLMError(
            "other", "the answer had no message (no choices; a content filter may have removed it)"
        ) from None
    return content or ""


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    hint: str
    latency_ms: float | None = None


def check_connection(settings: LLMSettings) -> ConnectionCheck:
    """Send one tiny request (no account data) and explain the result in plain words."""
    if not settings.configured:
        e = LLMError("not_configured")
        return ConnectionCheck(False, e.message, e.hint)
    one_try = LLMSettings(
        **{**settings.__dict__, "max_attempts": 1, "max_tokens": 16, "breaker_failures": 1}
    )
    gw = Gateway(one_try)
    try:
        done = gw.complete(
            [{"role": "user", "content": "Reply with the single word OK."}], json_mode=False
        )
    except LLMError as exc:
        return ConnectionCheck(False, exc.message, exc.hint)
    return ConnectionCheck(
        True,
        f"Connected to {settings.model}: it answered in {done.latency_ms:,.0f} ms "
        f"({done.tokens_in} tokens in, {done.tokens_out} out).",
        "",
        done.latency_ms,
    )
