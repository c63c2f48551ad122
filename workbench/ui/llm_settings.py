"""Which model drafts for this session: where each value comes from, and the settings form.

The session's choice lives in ``st.session_state["llm:settings"]`` (an
``LLMSettings``); without one the settings are read from ``.streamlit/secrets.toml``
and ``WORKBENCH_LLM_*`` environment variables, as the CLI reads them. The API key
is only ever held in memory or written to secrets.toml when the user asks: it is
never shown back, never stored in the workspace and never logged.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace

import pandas as pd
import streamlit as st

from workbench.drafting.gateway import check_connection
from workbench.drafting.settings import (
    ENV_PREFIX,
    PROVIDERS,
    SECRETS_FILE,
    LLMSettings,
    apply,
    load_llm_settings,
    read_env,
    read_secrets,
    write_secrets,
)
from workbench.errors import WorkbenchError
from workbench.ui.errors import flash, show_error, user_errors

SESSION_KEY = "llm:settings"
"""Session key: the ``LLMSettings`` applied for this session (the Drafts page reads it)."""
_GEN = "llm:form-gen"  # bumped to re-initialise the form's widgets from the active settings
_CHECK = "llm:check"  # the last connection check, shown until the form changes

OPENAI, ANTHROPIC, AZURE, OLLAMA, COMPATIBLE = PROVIDERS
# litellm picks the provider from the model's prefix: (prefixes, example API base).
_SHAPE: dict[str, tuple[tuple[str, ...], str]] = {
    OPENAI: (("openai/", "gpt-", "o1", "o3", "o4"), ""),
    ANTHROPIC: (("anthropic/", "claude"), ""),
    AZURE: (("azure/",), "https://<resource>.openai.azure.com"),
    OLLAMA: (("ollama/", "ollama_chat/"), "http://localhost:11434"),
    COMPATIBLE: (
        ("openai/", "hosted_vllm/", "lm_studio/", "llamafile/"),
        "http://localhost:8080/v1",
    ),
}
# The provider's own key variable, which litellm reads when no key is set here.
_KEY_VARS = {
    "openai/": "OPENAI_API_KEY",
    "anthropic/": "ANTHROPIC_API_KEY",
    "azure/": "AZURE_API_KEY",
}
_REDACT_WORDS = {
    "auto": "auto: on for any provider not on this machine or your network",
    "on": "on: always redact",
    "off": "off: never redact",
}
_LABELS = {
    "model": "Model",
    "api_base": "API base",
    "api_key": "API key",
    "api_version": "API version",
    "timeout_s": "Timeout (s)",
    "max_attempts": "Max attempts",
    "backoff_s": "First backoff (s)",
    "concurrency": "Concurrency",
    "breaker_failures": "Breaker opens after",
    "breaker_cooldown_s": "Breaker cool-down (s)",
    "redact": "Redaction",
    "temperature": "Temperature",
    "max_tokens": "Max tokens",
}


def current_llm_settings() -> LLMSettings:
    """This session's settings when applied, else secrets.toml and the environment.

    Raises:
        WorkbenchError: secrets.toml or a ``WORKBENCH_LLM_*`` variable holds a bad value.
    """
    found = st.session_state.get(SESSION_KEY)
    if isinstance(found, LLMSettings):
        return found
    return load_llm_settings()


def provider_of(settings: LLMSettings) -> str:
    """The ``PROVIDERS`` label that fits a model string (OpenAI when nothing else does)."""
    model = (settings.model or "").lower()
    if model.startswith(_SHAPE[OLLAMA][0]):
        return OLLAMA
    if model.startswith(_SHAPE[ANTHROPIC][0]):
        return ANTHROPIC
    if model.startswith(_SHAPE[AZURE][0]):
        return AZURE
    if settings.api_base and model.startswith(_SHAPE[COMPATIBLE][0]):
        return COMPATIBLE
    return OPENAI


def form_problems(provider: str, s: LLMSettings) -> list[str]:
    """What the form lacks for the chosen provider, in plain words (empty when it looks right)."""
    if not s.model:
        return []
    out = []
    prefixes, _ = _SHAPE[provider]
    if not s.model.lower().startswith(prefixes):
        out.append(
            f"litellm picks the provider from the model's prefix: for {provider} write "
            f"`{PROVIDERS[provider][0]}`."
        )
    if provider in (AZURE, COMPATIBLE) and not s.api_base:
        out.append(f"{provider} needs the API base URL.")
    if provider == AZURE and not s.api_version:
        out.append("Azure OpenAI needs the API version (e.g. 2024-06-01).")
    return out


def _key_note(s: LLMSettings) -> str:
    """Where the key comes from, without showing it."""
    if s.api_key:
        return "set"
    var = next((v for p, v in _KEY_VARS.items() if (s.model or "").startswith(p)), None)
    if var and os.environ.get(var):
        return f"not set here ({var} is in the environment)"
    return "not set"


def sources(active: LLMSettings) -> dict[str, str]:
    """Where each field's value comes from: this session, environment, secrets.toml or default."""
    env = read_env()
    try:
        loaded = load_llm_settings()
        file = read_secrets()
    except WorkbenchError:  # shown above the form; say "default" rather than fail here
        loaded, file = LLMSettings(), {}
    session = st.session_state.get(SESSION_KEY)
    out = {}
    for f in fields(LLMSettings):
        name = f.name
        if isinstance(session, LLMSettings) and getattr(active, name) != getattr(loaded, name):
            out[name] = "this session"
        elif name in env:
            out[name] = f"environment ({ENV_PREFIX}{name.upper()})"
        elif name in file and file[name] not in (None, ""):
            out[name] = str(SECRETS_FILE)
        else:
            out[name] = "default"
    return out


def _value_text(s: LLMSettings, name: str) -> str:
    if name == "api_key":
        return _key_note(s)
    value = getattr(s, name)
    if name == "redact":
        return f"{value} ({'redacts' if s.redacts else 'does not redact'} with this model)"
    return "—" if value is None else str(value)


def settings_frame(active: LLMSettings) -> pd.DataFrame:
    """Each setting, its value (never the key) and where the value came from."""
    where = sources(active)
    return pd.DataFrame(
        [
            {
                "setting": _LABELS.get(f.name, f.name),
                "value": _value_text(active, f.name),
                "from": where[f.name],
            }
            for f in fields(LLMSettings)
        ]
    )


def active_panel() -> LLMSettings:
    """The drafter in use and where each value came from; returns the active settings."""
    try:
        active = current_llm_settings()
    except WorkbenchError as exc:
        show_error(exc)
        st.caption("Until that is fixed the form below starts from the defaults.")
        return LLMSettings()
    applied = isinstance(st.session_state.get(SESSION_KEY), LLMSettings)
    icon = ":material/smart_toy:" if active.configured else ":material/description:"
    st.markdown(f"{icon} **Drafting with:** {active.describe()}")
    st.caption(
        "This session's settings (applied below); other sessions and the CLI read "
        f"{SECRETS_FILE} and {ENV_PREFIX}* variables."
        if applied
        else f"From {SECRETS_FILE} and {ENV_PREFIX}* environment variables (the CLI reads "
        "the same), later ones winning; nothing is applied for this session."
    )
    with st.expander("Every setting and where it came from"):
        st.dataframe(settings_frame(active), hide_index=True, width="stretch")
    return active


def _widget(name: str) -> str:
    return f"llm:{name}:{st.session_state.get(_GEN, 0)}"


def _reset_form() -> None:
    st.session_state[_GEN] = st.session_state.get(_GEN, 0) + 1
    st.session_state.pop(_CHECK, None)


def _text(value: object) -> str | None:
    text = str(value or "").strip()
    return text or None


def _from_form(base: LLMSettings) -> LLMSettings:
    """The settings the form holds, on top of ``base`` (fields the form does not show)."""
    state = st.session_state
    s = apply(
        base,
        {
            "timeout_s": state[_widget("timeout_s")],
            "concurrency": state[_widget("concurrency")],
            "max_attempts": state[_widget("max_attempts")],
            "redact": state[_widget("redact")],
        },
        "settings",
    )
    key = _text(state[_widget("api_key")])
    if state.get(_widget("forget_key")):
        key = None
    elif key is None:
        key = base.api_key
    return replace(
        s,
        model=_text(state[_widget("model")]),
        api_base=_text(state[_widget("api_base")]),
        api_version=_text(state[_widget("api_version")]),
        api_key=key,
    )


def settings_form(active: LLMSettings) -> None:
    """Provider, model, URL, key, limits and redaction; apply, test, save or go back to templates."""
    provider = st.selectbox(
        "Provider",
        list(PROVIDERS),
        index=list(PROVIDERS).index(provider_of(active)),
        key=_widget("provider"),
        help="Sets the hints below; the model string's prefix tells litellm which provider to call.",
    )
    example, needs = PROVIDERS[provider]
    st.caption(f"Model string like `{example}`. Needs: {needs}.")
    c1, c2 = st.columns(2)
    c1.text_input(
        "Model",
        value=active.model or "",
        placeholder=example,
        key=_widget("model"),
        help="A litellm model string with its provider prefix. Empty: the template drafter.",
    )
    c2.text_input(
        "API base",
        value=active.api_base or "",
        placeholder=_SHAPE[provider][1] or "(the provider's default)",
        key=_widget("api_base"),
        help="For Ollama, OpenAI-compatible servers and Azure; leave empty for OpenAI and Anthropic.",
    )
    c1.text_input(
        "API key",
        value="",
        type="password",
        key=_widget("api_key"),
        help="Kept in this session's memory only (unless you save it to secrets.toml below); "
        "never shown back, never stored in the workspace or logs.",
    )
    if active.api_key:
        c1.caption("A key is set; leave the field empty to keep it.")
        c1.checkbox("Forget the key", key=_widget("forget_key"))
    c2.text_input(
        "API version",
        value=active.api_version or "",
        placeholder="2024-06-01" if provider == AZURE else "(Azure OpenAI only)",
        key=_widget("api_version"),
    )
    c3, c4, c5 = st.columns(3)
    c3.number_input(
        "Timeout (seconds)",
        min_value=0.1,
        max_value=600.0,
        value=float(active.timeout_s),
        step=5.0,
        key=_widget("timeout_s"),
        help="How long one request may take before it counts as failed (and is retried).",
    )
    c4.number_input(
        "Concurrency",
        min_value=1,
        max_value=64,
        value=int(active.concurrency),
        key=_widget("concurrency"),
        help="Requests in flight at once. Lower it when the provider rate-limits you.",
    )
    c5.number_input(
        "Max attempts",
        min_value=1,
        max_value=10,
        value=int(active.max_attempts),
        key=_widget("max_attempts"),
        help="Tries per request on rate limits, server errors, timeouts and connection errors, "
        "with a doubling wait between them.",
    )
    st.radio(
        "Redaction of e-mails, phone numbers and contact names",
        ["auto", "on", "off"],
        index=["auto", "on", "off"].index(active.redact),
        format_func=_REDACT_WORDS.__getitem__,
        horizontal=True,
        key=_widget("redact"),
        help="Auto redacts for every provider that is not on this machine or a private network "
        "(OpenAI, Anthropic, Azure) and not for Ollama or a localhost URL. Placeholders such as "
        "<EMAIL_1> are restored in the draft.",
    )
    with user_errors():
        chosen = _from_form(active)
        for problem in form_problems(provider, chosen):
            st.warning(problem, icon=":material/info:")
        st.caption(f"With these values: {chosen.describe()}.")
        _buttons(chosen)
        _save_section(chosen)


def _buttons(chosen: LLMSettings) -> None:
    b1, b2, b3, b4 = st.columns(4)
    if b1.button("Apply for this session", type="primary", key="llm:apply"):
        st.session_state[SESSION_KEY] = chosen
        _reset_form()
        flash(f"Drafting with {chosen.describe()} for this session.")
        st.rerun()
    if b2.button(
        "Test connection",
        key="llm:test",
        help="Sends one tiny request (no account data) with the values in the form, applied or not.",
    ):
        with st.spinner("Sending one tiny request (no account data)…"):
            st.session_state[_CHECK] = (chosen.describe(), check_connection(chosen))
    if b3.button("Use the template drafter", key="llm:template"):
        loaded = load_llm_settings()
        if loaded.configured:
            st.session_state[SESSION_KEY] = replace(loaded, model=None)
        else:
            st.session_state.pop(SESSION_KEY, None)
        _reset_form()
        flash("Drafting with the template drafter (no LLM) for this session.")
        st.rerun()
    if isinstance(st.session_state.get(SESSION_KEY), LLMSettings) and b4.button(
        "Forget this session's settings", key="llm:forget"
    ):
        st.session_state.pop(SESSION_KEY, None)
        _reset_form()
        flash(f"Back to the settings from {SECRETS_FILE} and the environment.")
        st.rerun()
    tested = st.session_state.get(_CHECK)
    if tested is not None and tested[0] != chosen.describe():
        st.session_state.pop(_CHECK, None)  # the form changed: that result no longer applies
        tested = None
    if tested is not None:
        what, check = tested
        st.caption(f"Tested: {what}")
        if check.ok:
            st.success(check.message, icon=":material/check_circle:")
        else:
            st.error(
                check.message + (f"\n\n**What to do:** {check.hint}" if check.hint else ""),
                icon=":material/wifi_off:",
            )


def _save_section(chosen: LLMSettings) -> None:
    st.markdown(f"##### Save to `{SECRETS_FILE}`")
    st.caption(
        "The app and the CLI read the `[llm]` table of this file at start; other tables in it "
        f"are kept. It is in .gitignore. {ENV_PREFIX}* environment variables override it."
    )
    with_key = st.checkbox(
        "Include the API key (written as plain text; leave unticked to keep the key in an "
        "environment variable instead; a key already in the file stays only for the same "
        "model and API base)",
        key="llm:save-key",
        disabled=not chosen.api_key,
    )
    if st.button("Save to .streamlit/secrets.toml", key="llm:save"):
        path = write_secrets(chosen, SECRETS_FILE, with_key=bool(with_key and chosen.api_key))
        st.session_state[SESSION_KEY] = chosen
        _reset_form()
        overridden = sorted(read_env())
        note = (
            f" Environment variables still override: {', '.join(overridden)}." if overridden else ""
        )
        key_words = (
            "with the API key" if with_key and chosen.api_key else "without this session's API key"
        )
        flash(f"Saved [llm] to {path} ({key_words}).{note}")
        st.rerun()
