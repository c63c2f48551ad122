"""Prompt templates: rendering, errors that name the problem, saved versions by content hash."""

from __future__ import annotations

import pytest

from tests.workbench.drafting.actions import ACTIONS
from workbench.drafting.packet import build_packets, render_packet
from workbench.drafting.prompts import (
    ACTION_TYPES,
    DEFAULT_ACTIONS,
    DEFAULT_SYSTEM,
    NAMES,
    SYSTEM,
    PromptSet,
    content_hash,
    default_prompt_set,
    default_text,
    history,
    messages_text,
    prompt_set,
    render_messages,
    render_text,
    save_text,
    saved_text,
    validate_text,
)
from workbench.errors import WorkbenchError
from workbench.workflow.model import OutputPolicy


@pytest.fixture(scope="module")
def packet(book):
    con, wf, pv = book
    return build_packets(con, pv, wf)[0]


def test_every_action_type_has_a_default_template() -> None:
    assert set(DEFAULT_ACTIONS) == set(ACTION_TYPES) == set(ACTIONS)
    assert (SYSTEM, *ACTION_TYPES) == NAMES
    assert default_text(SYSTEM) == DEFAULT_SYSTEM
    with pytest.raises(WorkbenchError, match="no prompt template 'nope'"):
        default_text("nope")


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_render_messages_embed_the_packet_and_the_action(packet, kind: str) -> None:
    action = ACTIONS[kind]
    msgs = render_messages(default_prompt_set(action.type), packet, action, OutputPolicy())
    assert [m["role"] for m in msgs] == ["system", "user"]
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert f'Name the account "{packet.account_name}"' in system
    assert "Do not offer discounts" in system
    assert "Answer with one JSON object" in system
    assert render_packet(packet) in user  # the exact packet the user can inspect
    assert "{{" not in system + user and "{%" not in system + user
    if kind == "crm_update":
        assert '"Risk_Flag__c"' in user and '"High"' in user
    if kind == "alert":
        assert "#cs-risk" in user
    text = messages_text(msgs)
    assert text.startswith("[system]\n") and "\n\n[user]\n" in text


def test_policy_shapes_the_system_prompt(packet) -> None:
    action = ACTIONS["draft_email"]
    policy = OutputPolicy(
        allow_discounts=True, max_subject_chars=77, banned_phrases=["act now", "synergy"]
    )
    system = render_messages(default_prompt_set("draft_email"), packet, action, policy)[0]
    assert "Do not offer discounts" not in system["content"]
    assert "under 77 characters" in system["content"]
    assert "act now, synergy" in system["content"]


def test_missing_name_is_an_error_that_names_it(packet) -> None:
    text = "Hello {{ packet.account_name }}\n{{ packet.favourite_colour }}"
    with pytest.raises(WorkbenchError) as err:
        validate_text("draft_email", text, packet, ACTIONS["draft_email"])
    assert "Prompt template 'draft_email'" in err.value.message
    assert "favourite_colour" in err.value.message
    assert "packet.<field>" in err.value.hint
    with pytest.raises(WorkbenchError, match="'customer'"):
        render_text("alert", "{{ customer }}", {})


def test_syntax_error_gives_the_line(packet) -> None:
    text = "line one\nline two\n{% if packet.arr %}no end"
    with pytest.raises(WorkbenchError) as err:
        validate_text("risk_brief", text, packet, ACTIONS["risk_brief"])
    assert "Prompt template 'risk_brief', line 3:" in err.value.message
    assert "endif" in err.value.message
    with pytest.raises(WorkbenchError, match="line 2"):
        render_text("alert", "ok\n{{ packet.account_name ", {})


def test_sandbox_refuses_unsafe_calls() -> None:
    with pytest.raises(WorkbenchError, match="refused by the sandbox"):
        render_text("alert", "{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_version_is_the_content_hash_of_both_texts() -> None:
    a = default_prompt_set("alert")
    assert a.version == content_hash(f"{a.system}\n---\n{a.user}")
    assert len(a.version) == 12
    assert content_hash("x") == content_hash("x") != content_hash("x ")
    assert PromptSet("alert", a.system + " ", a.user).version != a.version
    assert PromptSet("alert", a.system, a.user + " ").version != a.version
    assert default_prompt_set("risk_brief").version != a.version


def test_save_text_history_and_versions(con) -> None:
    # An empty workspace uses the defaults.
    assert saved_text(con, "alert") == DEFAULT_ACTIONS["alert"]
    assert history(con, "alert") == []
    before = prompt_set(con, "alert")
    assert before == default_prompt_set("alert")

    # Saving the default text unchanged is not a new version.
    assert save_text(con, "alert", DEFAULT_ACTIONS["alert"]) is None
    assert history(con, "alert") == []

    first = DEFAULT_ACTIONS["alert"] + "Keep it under 50 words.\n"
    v1 = save_text(con, "alert", first, saved_by="ana")
    assert v1 is not None
    assert (v1.name, v1.version, v1.text, v1.saved_by) == (
        "alert",
        content_hash(first),
        first,
        "ana",
    )
    assert saved_text(con, "alert") == first
    after = prompt_set(con, "alert")
    assert after.user == first and after.system == DEFAULT_SYSTEM
    assert after.version != before.version

    # Unchanged text: None, and no new row.
    assert save_text(con, "alert", first) is None
    second = first.replace("50", "40")
    v2 = save_text(con, "alert", second)
    assert v2 is not None and v2.version == content_hash(second)
    assert [h.version for h in history(con, "alert")] == [v2.version, v1.version]  # newest first
    assert prompt_set(con, "alert").version not in (before.version, after.version)

    # Going back to an earlier text is a new entry with the earlier hash.
    v3 = save_text(con, "alert", first)
    assert v3 is not None and v3.version == v1.version
    assert len(history(con, "alert")) == 3
    assert prompt_set(con, "alert").version == after.version

    # The system text is versioned on its own and changes every action's version.
    risk_before = prompt_set(con, "risk_brief").version
    assert save_text(con, SYSTEM, DEFAULT_SYSTEM + "Be brief.\n") is not None
    assert prompt_set(con, "risk_brief").version != risk_before
    assert history(con, "risk_brief") == []
    assert len(history(con, SYSTEM)) == 1


def test_save_text_refuses_broken_or_unknown_templates(con) -> None:
    with pytest.raises(WorkbenchError, match="line 1"):
        save_text(con, "alert", "{% for x in %}")
    with pytest.raises(WorkbenchError, match="no prompt template"):
        save_text(con, "newsletter", "hello")
    assert history(con, "alert") == []
