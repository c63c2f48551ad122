"""Which model drafts, and how: read from the environment or ``.streamlit/secrets.toml``.

Nothing here is stored in the workspace or written to a log: the API key is
kept out of ``repr`` and every trace. With no model configured the workbench
uses the template drafter and never touches the network.

Sources, later ones winning: defaults, the ``[llm]`` table of
``.streamlit/secrets.toml``, ``WORKBENCH_LLM_*`` environment variables, then
explicit overrides (CLI flags, the settings page for this session).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from workbench.errors import WorkbenchError

RedactMode = Literal["auto", "on", "off"]
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
ENV_PREFIX = "WORKBENCH_LLM_"
# litellm provider prefixes that run on the user's own machine.
LOCAL_PROVIDERS = ("ollama/", "ollama_chat/", "lm_studio/", "llamafile/", "hosted_vllm/")

PROVIDERS: dict[str, tuple[str, str]] = {
    # label: (model example, what else is needed)
    "OpenAI": ("openai/gpt-4o-mini", "OPENAI_API_KEY in the environment, or an API key here"),
    "Anthropic": (
        "anthropic/claude-3-5-haiku-latest",
        "ANTHROPIC_API_KEY in the environment, or an API key here",
    ),
    "Azure OpenAI": (
        "azure/<deployment name>",
        "the API base (https://<resource>.openai.azure.com), the API version and a key",
    ),
    "Ollama (local)": ("ollama/llama3.1", "Ollama running; API base http://localhost:11434"),
    "OpenAI-compatible URL": (
        "openai/<model name>",
        "the server's API base, e.g. http://localhost:8080/v1 (llama.cpp, vLLM, LM Studio)",
    ),
}


@dataclass(frozen=True)
class LLMSettings:
    """How drafts are written. ``model=None`` means the template drafter (no LLM).

    Attributes:
        model: A litellm model string (``openai/gpt-4o-mini``, ``ollama/llama3.1``).
        api_base: Base URL for local or OpenAI-compatible servers and Azure.
        api_key: Never stored in the workspace; not shown in ``repr``.
        api_version: Azure OpenAI API version.
        timeout_s: Seconds one request may take before it counts as failed.
        max_attempts: Tries per request on rate limits, server errors and timeouts.
        backoff_s: First wait between tries; doubles each time.
        concurrency: Requests in flight at once.
        breaker_failures: Failed requests in a row that open the circuit breaker.
        breaker_cooldown_s: Seconds the breaker stays open before one trial call.
        redact: ``auto`` redacts for every provider that is not on this machine.
        temperature: Sampling temperature.
        max_tokens: Longest answer, in tokens.
    """

    model: str | None = None
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None
    timeout_s: float = 30.0
    max_attempts: int = 3
    backoff_s: float = 1.0
    concurrency: int = 4
    breaker_failures: int = 5
    breaker_cooldown_s: float = 60.0
    redact: RedactMode = "auto"
    temperature: float = 0.2
    max_tokens: int = 900

    @property
    def configured(self) -> bool:
        return bool(self.model)

    @property
    def is_local(self) -> bool:
        """True when the model runs on this machine or network (loopback, private address)."""
        if self.model and self.model.startswith(LOCAL_PROVIDERS) and not self.api_base:
            return True
        return bool(self.api_base) and is_local_url(self.api_base or "")

    @property
    def redacts(self) -> bool:
        """Whether PII is redacted before prompts leave the machine."""
        if self.redact == "auto":
            return not self.is_local
        return self.redact == "on"

    def describe(self) -> str:
        """One line for the page and the CLI, without the key."""
        if not self.configured:
            return "template drafter (no LLM configured)"
        where = f" at {safe_url(self.api_base)}" if self.api_base else ""
        red = "redaction on" if self.redacts else "redaction off"
        return f"{self.model}{where} ({'local' if self.is_local else 'cloud'}, {red})"


def safe_url(url: str) -> str:
    """A URL without user, password, query or fragment: fit to show, store and log."""
    parts = urlparse(url if "//" in url else f"//{url}")
    netloc = parts.netloc.rsplit("@", 1)[-1]  # no user:password; a bad port is shown as is
    scheme = f"{parts.scheme}://" if parts.scheme else ""
    return f"{scheme}{netloc}{parts.path}"


def is_local_url(url: str) -> bool:
    """A URL whose host is this machine or a private network address."""
    host = (urlparse(url if "//" in url else f"//{url}").hostname or "").lower()
    if host in ("localhost", "host.docker.internal") or host.endswith(".local"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


_NUMERIC = {
    "timeout_s": float,
    "max_attempts": int,
    "backoff_s": float,
    "concurrency": int,
    "breaker_failures": int,
    "breaker_cooldown_s": float,
    "temperature": float,
    "max_tokens": int,
}
_LIMITS = {
    "timeout_s": (0.1, 600),
    "max_attempts": (1, 10),
    "backoff_s": (0, 60),
    "concurrency": (1, 64),
    "breaker_failures": (1, 100),
    "breaker_cooldown_s": (0, 3600),
    "temperature": (0, 2),
    "max_tokens": (16, 32000),
}
FIELD_NAMES = tuple(f.name for f in fields(LLMSettings))


def _coerce(name: str, raw: Any, source: str) -> Any:
    if name not in FIELD_NAMES:
        raise WorkbenchError(
            f"{source}: unknown LLM setting '{name}'.",
            "Use one of: " + ", ".join(FIELD_NAMES) + ".",
        )
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ...
    if name in _NUMERIC:
        try:
            value = _NUMERIC[name](raw)
        except (TypeError, ValueError):
            raise WorkbenchError(
                f"{source}: {name} should be a number, got {raw!r}.", "Fix the value."
            ) from None
        lo, hi = _LIMITS[name]
        if not lo <= value <= hi:
            raise WorkbenchError(
                f"{source}: {name} is {value}; it must be between {lo} and {hi}.",
                "Fix the value.",
            )
        return value
    if name == "redact":
        value = str(raw).strip().lower()
        value = {"true": "on", "false": "off", "1": "on", "0": "off"}.get(value, value)
        if value not in ("auto", "on", "off"):
            raise WorkbenchError(
                f"{source}: redact is {raw!r}; use auto, on or off.", "Fix the value."
            )
        return value
    return str(raw).strip()


def apply(base: LLMSettings, values: dict[str, Any], source: str) -> LLMSettings:
    """``base`` with ``values`` applied (validated); empty or ``None`` values leave a field
    unchanged (to clear a field, build the settings with ``dataclasses.replace``)."""
    changes = {}
    for name, raw in values.items():
        value = _coerce(name, raw, source)
        if value is not ...:
            changes[name] = value
    return replace(base, **changes)


def read_secrets(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """The ``[llm]`` table of a secrets file ({} when there is none)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(
            f"{path} is not valid TOML: {exc}.", "Fix the file or remove its [llm] table."
        ) from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise WorkbenchError(f"{path}: 'llm' should be a table ([llm]).", "Fix the file.")
    return table


def read_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``WORKBENCH_LLM_MODEL``, ``WORKBENCH_LLM_API_BASE``, ... as setting values."""
    env = os.environ if environ is None else environ
    out = {}
    for name in FIELD_NAMES:
        value = env.get(ENV_PREFIX + name.upper())
        if value is not None and value.strip():
            out[name] = value
    return out


def load_llm_settings(
    overrides: dict[str, Any] | None = None,
    *,
    secrets_path: Path = SECRETS_FILE,
    environ: dict[str, str] | None = None,
) -> LLMSettings:
    """Defaults < secrets.toml ``[llm]`` < environment < ``overrides``."""
    s = apply(LLMSettings(), read_secrets(secrets_path), str(secrets_path))
    s = apply(s, read_env(environ), "environment")
    return apply(s, overrides or {}, "settings")


_TABLE = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _is_llm_table(name: str) -> bool:
    name = name.strip().strip('"').strip("'")
    return name == "llm" or name.startswith("llm.")


def _toml_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def write_secrets(settings: LLMSettings, path: Path = SECRETS_FILE, *, with_key: bool) -> Path:
    """Write the ``[llm]`` table of ``path``, keeping every other table as it was.

    Without ``with_key`` the session's key is not written (a key already in the
    file stays). The new text is parsed before it replaces the file: when the
    file's layout cannot be updated safely (``llm`` written as dotted keys or
    an inline table), nothing is written and the error says what to do.
    """
    before = path.read_text("utf-8-sig") if path.is_file() else ""
    try:
        old = tomllib.loads(before)
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(
            f"{path} is not valid TOML ({exc}), so it was not changed.",
            "Fix the file by hand, or move it away and save again.",
        ) from None
    kept: list[str] = []
    skipping = False
    for line in before.splitlines():
        m = _TABLE.match(line)
        if m:
            skipping = _is_llm_table(m.group(1))
        if not skipping:
            kept.append(line)
    default = LLMSettings()
    table: dict[str, Any] = {}
    for f in fields(LLMSettings):
        value = getattr(settings, f.name)
        if f.name == "api_key" and not with_key:
            # Keep the file's key only for the same model and server it was written for.
            prev: dict[str, Any] = old["llm"] if isinstance(old.get("llm"), dict) else {}
            same = (prev.get("model"), prev.get("api_base")) == (settings.model, settings.api_base)
            value = prev.get("api_key") if same else None
        if value is None or (
            value == getattr(default, f.name) and f.name not in ("model", "api_key")
        ):
            continue
        table[f.name] = value
    body = ["[llm]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    while kept and not kept[-1].strip():
        kept.pop()
    text = "\n".join([*kept, *([""] if kept else []), *body]) + "\n"
    try:
        new = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        new = {"<invalid>": str(exc)}
    others_kept = {k: v for k, v in new.items() if k != "llm"} == {
        k: v for k, v in old.items() if k != "llm"
    }
    if new.get("llm") != table or not others_kept:
        raise WorkbenchError(
            f"{path} defines llm in a way this page cannot update safely "
            "(dotted keys such as llm.model, or an inline table), so it was not changed.",
            "Write the [llm] table by hand (see the README's Drafting section), or remove the "
            "llm lines from the file and save again.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new owner-only file (the file may hold a key), then an atomic rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
