"""Model & prompts page: session settings, test connection, secrets.toml, prompt templates."""

from __future__ import annotations

import socket
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from tests.llm_server import LLMServer
from workbench.drafting.prompts import DEFAULT_ACTIONS

KEY = "sk-test-do-not-show-123"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """A tmp working directory: no developer secrets.toml (the tests' conftest already removes
    WORKBENCH_LLM_* variables)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def page(tmp_path, open_app):
    """page(sample=False) -> AppTest on the Model & prompts page."""

    def _open(sample: bool = False) -> AppTest:
        return open_app(tmp_path / "ws", "settings.py", sample=sample)

    return _open


def _input(at: AppTest, label: str):
    return next(w for w in at.text_input if w.label == label)


def _fill(at: AppTest, provider: str, model: str, api_base: str = "", key: str = "") -> None:
    next(w for w in at.selectbox if w.label == "Provider").set_value(provider)
    _input(at, "Model").set_value(model)
    _input(at, "API base").set_value(api_base)
    if key:
        _input(at, "API key").set_value(key)


def _click(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    assert not at.exception, at.exception


def _drafting_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "**Drafting with:**" in m.value)


def _shown_text(at: AppTest) -> str:
    """Every text the page shows, widget values and table cells included."""
    parts = [e.value for e in (*at.markdown, *at.caption, *at.success, *at.error, *at.warning)]
    parts += [str(w.value) for w in at.text_input]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [t.value for t in at.toast]
    return "\n".join(str(p) for p in parts)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_template_drafter_by_default(page):
    at = page()
    assert "template drafter (no LLM configured)" in _drafting_line(at)
    table = at.dataframe[0].value
    assert set(table["from"]) == {"default"}
    assert "llm:settings" not in at.session_state


def test_apply_for_the_session_then_test_connection(page, tmp_path):
    at = page()
    with LLMServer() as srv:
        _fill(at, "OpenAI-compatible URL", "openai/fake", srv.api_base, key=KEY)
        at.run()
        assert not at.exception, at.exception
        _click(at, "llm:apply")
        line = _drafting_line(at)
        assert f"openai/fake at {srv.api_base} (local, redaction off)" in line
        applied = at.session_state["llm:settings"]
        assert applied.model == "openai/fake" and applied.api_key == KEY
        table = at.dataframe[0].value.set_index("setting")
        assert table.loc["Model", "from"] == "this session"
        assert table.loc["API key", "value"] == "set"
        assert table.loc["Timeout (s)", "from"] == "default"

        _click(at, "llm:test")
        assert at.success, [e.value for e in at.error]
        assert at.success[0].value.startswith("Connected to openai/fake: it answered in")
        assert len(srv.requests) == 1
        assert srv.requests[0]["messages"] == [
            {"role": "user", "content": "Reply with the single word OK."}
        ]
    # The key is never shown back nor stored in the workspace.
    assert KEY not in _shown_text(at)
    assert _input(at, "API key").value == ""
    for path in (tmp_path / "ws").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_a_wrong_url_is_explained_in_plain_words(page):
    at = page()
    _fill(at, "OpenAI-compatible URL", "openai/fake", f"http://127.0.0.1:{_unused_port()}/v1")
    at.run()
    _click(at, "llm:test")
    assert not at.success
    error = at.error[0].value
    assert error.startswith("Could not reach the model's server.")
    assert "**What to do:** Check the API base URL" in error
    assert "llm:settings" not in at.session_state  # testing applies nothing


def test_the_form_says_what_a_provider_needs(page):
    at = page()
    _fill(at, "Azure OpenAI", "gpt-4o")
    at.run()
    warnings = "\n".join(w.value for w in at.warning)
    assert "for Azure OpenAI write `azure/<deployment name>`" in warnings
    assert "Azure OpenAI needs the API base URL." in warnings
    assert "needs the API version" in warnings
    assert any("API version" in c.value for c in at.caption if c.value.startswith("Model string"))


def test_save_to_secrets_without_then_with_the_key(page, tmp_path):
    at = page()
    _fill(at, "OpenAI", "openai/gpt-4o-mini", key=KEY)
    next(w for w in at.number_input if w.label == "Concurrency").set_value(2)
    at.run()
    _click(at, "llm:save")
    path = tmp_path / ".streamlit" / "secrets.toml"
    data = tomllib.loads(path.read_text("utf-8"))
    assert data == {"llm": {"model": "openai/gpt-4o-mini", "concurrency": 2}}
    assert any("without this session's API key" in t.value for t in at.toast)
    # Saved values now come from the file; the key only from this session.
    table = at.dataframe[0].value.set_index("setting")
    assert table.loc["Model", "from"] == ".streamlit/secrets.toml"
    assert table.loc["API key", "from"] == "this session"
    assert "cloud, redaction on" in _drafting_line(at)

    at.checkbox(key="llm:save-key").check().run()
    _click(at, "llm:save")
    assert tomllib.loads(path.read_text("utf-8"))["llm"]["api_key"] == KEY
    assert KEY not in _shown_text(at)


def test_saving_keeps_other_tables_of_secrets_toml(page, tmp_path):
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    path.write_text('[llm]\nmodel = "ollama/llama3.1"\n\n[other]\nx = 1\n', encoding="utf-8")
    at = page()
    assert "ollama/llama3.1 (local, redaction off)" in _drafting_line(at)
    assert next(w for w in at.selectbox if w.label == "Provider").value == "Ollama (local)"
    _input(at, "Model").set_value("ollama/qwen2.5")
    at.run()
    _click(at, "llm:save")
    data = tomllib.loads(path.read_text("utf-8"))
    assert data == {"llm": {"model": "ollama/qwen2.5"}, "other": {"x": 1}}


def test_use_the_template_drafter_and_forget(page, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[llm]\nmodel = "openai/gpt-4o"\n')
    at = page()
    assert "openai/gpt-4o (cloud, redaction on)" in _drafting_line(at)
    _click(at, "llm:template")
    assert "template drafter (no LLM configured)" in _drafting_line(at)
    assert at.session_state["llm:settings"].model is None
    assert _input(at, "Model").value == ""
    _click(at, "llm:forget")
    assert "llm:settings" not in at.session_state
    assert "openai/gpt-4o" in _drafting_line(at)


def test_a_bad_secrets_file_is_explained(page, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[llm]\ntimeout_s = -1\n")
    at = page()
    assert any("timeout_s is -1.0" in e.value for e in at.error)


# --- prompt templates -----------------------------------------------------------------------


def _editor(at: AppTest):
    return next(w for w in at.text_area if w.label == "Template text (Jinja2)")


def _history(at: AppTest):
    return next(d.value for d in at.dataframe if "saved by" in d.value.columns)


def test_edit_save_bad_jinja_history_and_reset(page):
    at = page(sample=True)
    # The current workflow's action type is picked, with its rendered prompt for the first account.
    assert next(w for w in at.selectbox if w.label == "Template").value == "assign_csm"
    assert _editor(at).value == DEFAULT_ACTIONS["assign_csm"]
    rendered = next(e for e in at.expander if e.label.startswith("Rendered prompt for "))
    account = rendered.label.removeprefix("Rendered prompt for ")
    code = rendered.code[0].value
    assert code.startswith("[system]\n") and "\n\n[user]\n" in code
    assert account.split(" (")[0] in code
    assert any("has not been edited" in c.value for c in at.caption)

    # A syntax error names its line and saves nothing.
    _editor(at).set_value("Line one\nLine two\nDear {{ packet.account_name }\n").run()
    _click(at, "pe:save")
    assert any("Prompt template 'assign_csm', line 3" in e.value for e in at.error)
    assert not any("saved by" in d.value.columns for d in at.dataframe)

    # A name the packet lacks fails when rendered against the first fired account.
    _editor(at).set_value("Hello {{ packet.no_such_field }}\n").run()
    _click(at, "pe:save")
    assert any("uses something the context does not have" in e.value for e in at.error)

    # A good edit saves a new version, shown in the rendered prompt and the history.
    text = DEFAULT_ACTIONS["assign_csm"] + "\nSign as the CS team of {{ packet.account_name }}.\n"
    _editor(at).set_value(text).run()
    assert any("unsaved edit" in c.value for c in at.caption)
    next(w for w in at.text_input if w.label == "Your name (optional)").set_value("Dana").run()
    _click(at, "pe:save")
    assert any(t.value.startswith("Saved assign_csm version ") for t in at.toast)
    history = _history(at)
    assert len(history) == 1 and history["saved by"].iloc[0] == "Dana"
    assert _editor(at).value == text
    rendered = next(e for e in at.expander if e.label == f"Rendered prompt for {account}")
    assert f"Sign as the CS team of {account.split(' (')[0]}." in rendered.code[0].value

    # Saving the same text again changes nothing.
    _click(at, "pe:save")
    assert any(i.value.startswith("No change") for i in at.info)
    assert len(_history(at)) == 1

    # Reset needs the box ticked; it saves the default as a new version.
    assert at.button(key="pe:reset:assign_csm").disabled
    at.checkbox(key="pe:reset-sure:assign_csm").check().run()
    _click(at, "pe:reset:assign_csm")
    assert _editor(at).value == DEFAULT_ACTIONS["assign_csm"]
    history = _history(at)
    assert len(history) == 2 and bool(history["default text"].iloc[0])
    assert any("(the default)" in c.value for c in at.caption)


def test_the_system_template_renders_with_the_workflows_action(page):
    at = page(sample=True)
    next(w for w in at.selectbox if w.label == "Template").set_value("system").run()
    assert not at.exception, at.exception
    _editor(at).set_value("{{ policy.max_subject_chars }} chars for {{ packet.account_name }}\n")
    at.run()
    _click(at, "pe:save")
    rendered = next(e for e in at.expander if e.label.startswith("Rendered prompt for "))
    name = rendered.label.removeprefix("Rendered prompt for ").split(" (")[0]
    assert rendered.code[0].value.startswith(f"[system]\n120 chars for {name}\n\n[user]\n")
