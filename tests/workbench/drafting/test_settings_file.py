"""LLM settings: secrets.toml and environment precedence, writing [llm], redaction, local URLs."""

from __future__ import annotations

import os

import pytest

from workbench.drafting.settings import (
    ENV_PREFIX,
    LLMSettings,
    is_local_url,
    load_llm_settings,
    read_env,
    read_secrets,
    write_secrets,
)
from workbench.errors import WorkbenchError


@pytest.fixture(autouse=True)
def _no_developer_settings(tmp_path, monkeypatch):
    """Never read the developer's .streamlit/secrets.toml or WORKBENCH_LLM_* variables."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def test_defaults_mean_the_template_drafter(tmp_path):
    s = load_llm_settings(secrets_path=tmp_path / "none.toml", environ={})
    assert s == LLMSettings()
    assert not s.configured
    assert s.describe() == "template drafter (no LLM configured)"


def test_secrets_then_environment_then_overrides(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(
        '[other]\nx = 1\n\n[llm]\nmodel = "openai/gpt-4o-mini"\ntimeout_s = 12\n'
        'api_key = "sk-file"\nconcurrency = 2\n',
        encoding="utf-8",
    )
    env = {
        f"{ENV_PREFIX}MODEL": "anthropic/claude-3-5-haiku-latest",
        f"{ENV_PREFIX}CONCURRENCY": "8",
        f"{ENV_PREFIX}API_BASE": "  ",  # blank: ignored
    }
    s = load_llm_settings(secrets_path=path, environ=env)
    assert s.model == "anthropic/claude-3-5-haiku-latest"  # environment beats the file
    assert s.concurrency == 8
    assert s.timeout_s == 12.0 and s.api_key == "sk-file"  # from the file
    assert s.api_base is None
    o = load_llm_settings({"model": "openai/fake", "timeout_s": ""}, secrets_path=path, environ=env)
    assert o.model == "openai/fake"  # explicit overrides win
    assert o.timeout_s == 12.0  # an empty number leaves the field as it was
    assert o.concurrency == 8


def test_the_key_is_not_in_repr_or_describe():
    s = LLMSettings(model="openai/gpt-4o-mini", api_key="sk-secret-123")
    assert "sk-secret" not in repr(s)
    assert "sk-secret" not in s.describe()


def test_read_env_uses_the_prefix_and_skips_blanks():
    env = {f"{ENV_PREFIX}MODEL": "ollama/llama3.1", f"{ENV_PREFIX}TIMEOUT_S": "", "OTHER": "x"}
    assert read_env(env) == {"model": "ollama/llama3.1"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[llm]\ntimeout_s = 0\n", "timeout_s is 0.0; it must be between 0.1 and 600"),
        ('[llm]\nconcurrency = "many"\n', "concurrency should be a number"),
        ('[llm]\nredact = "sometimes"\n', "redact is 'sometimes'; use auto, on or off"),
        ('[llm]\nmodle = "x"\n', "unknown LLM setting 'modle'"),
        ("[llm\nmodel = 1\n", "is not valid TOML"),
        ('llm = "openai"\n', "'llm' should be a table"),
    ],
)
def test_bad_secrets_are_explained(tmp_path, text, fragment):
    path = tmp_path / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkbenchError) as err:
        load_llm_settings(secrets_path=path, environ={})
    assert fragment in err.value.message
    assert err.value.hint


def test_bad_environment_value_names_the_environment(tmp_path):
    with pytest.raises(WorkbenchError, match="environment: max_attempts should be a number"):
        load_llm_settings(
            secrets_path=tmp_path / "none.toml", environ={f"{ENV_PREFIX}MAX_ATTEMPTS": "x"}
        )


def test_write_secrets_keeps_other_tables_and_drops_a_key_for_another_model(tmp_path):
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    path.write_text(
        '[database]\nurl = "postgres://x"\n\n[llm]\nmodel = "old"\napi_key = "sk-old"\n\n'
        "[later]\ny = 2\n",
        encoding="utf-8",
    )
    s = LLMSettings(
        model="openai/fake",
        api_base='http://127.0.0.1:9/v1?q="x"',
        api_key="sk-new",
        concurrency=6,
        redact="on",
    )
    write_secrets(s, path, with_key=False)
    text = path.read_text("utf-8")
    assert "sk-" not in text  # the file's key was for another model; the session's is not asked
    assert '[database]\nurl = "postgres://x"' in text and "[later]\ny = 2" in text
    assert text.count("[llm]") == 1
    table = read_secrets(path)
    assert table == {
        "model": "openai/fake",
        "api_base": 'http://127.0.0.1:9/v1?q="x"',
        "concurrency": 6,
        "redact": "on",
    }  # defaults are not written
    back = load_llm_settings(secrets_path=path, environ={})
    assert back == LLMSettings(model="openai/fake", api_base=s.api_base, concurrency=6, redact="on")


def test_write_secrets_with_the_key_round_trips(tmp_path):
    path = tmp_path / "s" / "secrets.toml"  # the folder is created
    s = LLMSettings(model="anthropic/claude-3-5-haiku-latest", api_key="sk-ant-1", timeout_s=45.5)
    write_secrets(s, path, with_key=True)
    assert read_secrets(path)["api_key"] == "sk-ant-1"
    assert load_llm_settings(secrets_path=path, environ={}) == s


def test_write_secrets_of_the_template_drafter_writes_an_empty_table(tmp_path):
    path = tmp_path / "secrets.toml"
    write_secrets(LLMSettings(), path, with_key=False)
    assert path.read_text("utf-8") == "[llm]\n"
    assert not load_llm_settings(secrets_path=path, environ={}).configured


@pytest.mark.parametrize(
    ("settings", "local", "redacts"),
    [
        (LLMSettings(model="openai/gpt-4o-mini"), False, True),
        (LLMSettings(model="anthropic/claude-3-5-haiku-latest"), False, True),
        (LLMSettings(model="ollama/llama3.1"), True, False),
        (LLMSettings(model="ollama/llama3.1", api_base="https://gpu.example.com"), False, True),
        (LLMSettings(model="openai/x", api_base="http://127.0.0.1:8080/v1"), True, False),
        (
            LLMSettings(model="openai/x", api_base="http://127.0.0.1:8080/v1", redact="on"),
            True,
            True,
        ),
        (LLMSettings(model="openai/gpt-4o", redact="off"), False, False),
        (LLMSettings(model="azure/dep", api_base="https://r.openai.azure.com"), False, True),
    ],
)
def test_redaction_modes(settings, local, redacts):
    assert settings.is_local is local
    assert settings.redacts is redacts
    assert ("redaction on" if redacts else "redaction off") in settings.describe()
    assert ("(local" if local else "(cloud") in settings.describe()


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434", True),
        ("http://127.0.0.1:8080/v1", True),
        ("http://[::1]:8080", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5", True),
        ("http://172.16.3.4:1234", True),
        ("http://host.docker.internal:11434", True),
        ("http://gpu-box.local:8000", True),
        ("localhost:11434", True),
        ("https://api.openai.com/v1", False),
        ("https://my.openai.azure.com", False),
        ("http://8.8.8.8", False),
        ("http://172.32.0.1", False),
        ("", False),
    ],
)
def test_is_local_url(url, local):
    assert is_local_url(url) is local


@pytest.mark.parametrize(
    ("before", "kept"),
    [
        (
            '[llm]\nmodel = "x"\n[[connections.snowflake]]\nuser = "a"\n',
            "[[connections.snowflake]]",
        ),
        ('[llm]\nmodel = "x"\n[other] # keep me\nk = 1\n', "[other] # keep me\nk = 1"),
        ('[llm] # old\nmodel = "x"\n[z]\nw = 2\n', "[z]\nw = 2"),
    ],
)
def test_write_secrets_keeps_tables_after_llm(tmp_path, before, kept):
    path = tmp_path / "secrets.toml"
    path.write_text(before, encoding="utf-8")
    write_secrets(LLMSettings(model="openai/y"), path, with_key=False)
    text = path.read_text("utf-8")
    assert kept in text and text.count("[llm]") == 1
    assert read_secrets(path) == {"model": "openai/y"}


def test_write_secrets_refuses_a_layout_it_cannot_update_and_changes_nothing(tmp_path):
    path = tmp_path / "secrets.toml"
    before = 'llm.model = "x"\n[a]\nb = 1\n'
    path.write_text(before, encoding="utf-8")
    with pytest.raises(WorkbenchError, match="cannot update safely"):
        write_secrets(LLMSettings(model="openai/y"), path, with_key=False)
    assert path.read_text("utf-8") == before


def test_write_secrets_is_owner_only(tmp_path):
    path = tmp_path / "secrets.toml"
    write_secrets(LLMSettings(model="openai/y", api_key="k"), path, with_key=True)
    assert path.stat().st_mode & 0o077 == 0


def test_describe_never_shows_credentials_in_the_url():
    s = LLMSettings(model="openai/x", api_base="http://bob:s3cret@127.0.0.1:8080/v1?key=abc")
    assert "s3cret" not in s.describe() and "abc" not in s.describe()
    assert "http://127.0.0.1:8080/v1" in s.describe()


def test_the_files_key_is_dropped_when_the_model_or_server_changes(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('[llm]\nmodel = "openai/gpt-4o-mini"\napi_key = "sk-openai"\n', "utf-8")
    elsewhere = LLMSettings(model="openai/llama", api_base="https://inference.example.net/v1")
    write_secrets(elsewhere, path, with_key=False)
    assert "sk-openai" not in path.read_text("utf-8")


def test_a_bad_port_is_shown_not_raised():
    s = LLMSettings(model="openai/x", api_base="http://localhost:80800/v1")
    assert "http://localhost:80800/v1" in s.describe()


def test_a_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('\ufeff[llm]\nmodel = "openai/x"\n', "utf-8")
    assert read_secrets(path) == {"model": "openai/x"}
    write_secrets(LLMSettings(model="openai/y"), path, with_key=False)
    assert read_secrets(path) == {"model": "openai/y"}


def test_the_files_key_stays_for_the_same_model_and_server(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('[llm]\nmodel = "openai/gpt-4o-mini"\napi_key = "sk-openai"\n', "utf-8")
    write_secrets(
        LLMSettings(model="openai/gpt-4o-mini", concurrency=2, api_key="sk-session"),
        path,
        with_key=False,
    )
    assert read_secrets(path) == {
        "model": "openai/gpt-4o-mini",
        "api_key": "sk-openai",
        "concurrency": 2,
    }
