"""Redaction over real HTTP: what reaches the server has no contact details; the draft has them back.

The loopback server counts as local, so ``redact="on"`` stands in for a cloud
provider (``auto`` redacts for every provider that is not on this machine).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.llm_server import LLMServer, Reply, draft_json
from workbench.drafting.batch import run_drafts
from workbench.drafting.packet import Comment, Ticket, build_packets
from workbench.drafting.prompts import messages_text
from workbench.drafting.redact import names_from_emails
from workbench.drafting.run import make_drafter
from workbench.drafting.settings import LLMSettings, RedactMode

EMAILS = (
    "ahmed.novak@meridian-market.example",
    "jana.svoboda@meridian-market.example",
    "support@meridian-market.example",
)
PHONES = ("+44 20 7946 0958", "(415) 555-0132", "030 1234567")
NAMES = ("Ahmed", "Novak", "Jana", "Svoboda")
PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|NAME)_\d+>")
ACCOUNT = re.compile(r"ACCOUNT (.+?) \(([^()]+)\)\n")


@pytest.fixture(scope="module")
def packet(book):
    """A real fired packet with contact details in comments, a ticket subject and contacts."""
    con, wf, pv = book
    p = next(p for p in build_packets(con, pv, wf) if p.route == "automated")
    day = p.as_of - timedelta(days=20)
    return replace(
        p,
        tickets=(
            Ticket(f"Callback requested by Jana Svoboda on {PHONES[2]}", "P1", day, True),
            *p.tickets,
        ),
        comments=(
            Comment(2.0, day, f"Ahmed Novak here: call me on {PHONES[0]} or write {EMAILS[0]}."),
            Comment(5.0, day, f"Jana says SSO keeps failing; reach her at {PHONES[1]}."),
            Comment(6.0, day, f"Billing questions go to {EMAILS[2]}."),
        ),
        contacts=EMAILS,
    )


def echo_placeholders(request: dict[str, Any]) -> Reply:
    """A draft that uses every placeholder of the prompt, some spelled the way models do."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    account = ACCOUNT.search(user)
    found = list(dict.fromkeys(PLACEHOLDER.findall(user)))
    loose = [f.lower() if i % 3 == 1 else f"[{f[1:-1]}]" if i % 3 == 2 else f for i, f in enumerate(found)]  # fmt: skip
    extra = " Contacts: " + ", ".join(loose) + "."
    return Reply(content=draft_json(account.group(1) if account else "the account", extra))


@pytest.fixture(scope="module")
def server():
    with LLMServer(default=echo_placeholders) as s:
        yield s


@pytest.fixture
def srv(server: LLMServer) -> LLMServer:
    server.script.clear()
    server.requests.clear()
    return server


def llm(srv: LLMServer, redact: RedactMode = "on") -> LLMSettings:
    return LLMSettings(
        model="openai/fake",
        api_base=srv.api_base,
        redact=redact,
        backoff_s=0.01,
    )


def assert_no_pii(texts: list[str]) -> None:
    joined = "\n".join(texts)
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", joined), "an email reached the server"
    for phone in PHONES:
        # The digits in any spelling: "+44 20 7946 0958", "442079460958", "20-7946-0958".
        digits = re.sub(r"\D", "", phone).lstrip("0")
        spelled = r"[\s().+-]*".join(digits)
        assert not re.search(spelled, joined), f"{phone} reached the server"
    for name in NAMES:
        assert not re.search(rf"\b{name}\b", joined, re.IGNORECASE), f"{name} reached the server"


def test_the_packet_really_has_contact_details(book, packet) -> None:
    con, wf, _ = book
    plain = messages_text(make_drafter(con, wf, LLMSettings()).messages(packet))
    for value in (*EMAILS, *PHONES, *NAMES):
        assert value in plain
    assert names_from_emails(packet.contacts) == ["Ahmed Novak", "Jana Svoboda"]


def test_nothing_personal_reaches_the_server_and_the_draft_gets_it_back(book, srv, packet) -> None:
    con, wf, _ = book
    d = make_drafter(con, wf, llm(srv))
    result, answer = d.draft(packet)
    assert result.outcome == "ok", result.note

    # What the server received: placeholders, no email, phone or contact name.
    assert len(srv.requests) == 1
    assert_no_pii(srv.user_texts())
    received = "\n".join(srv.user_texts())
    for ph in ("<EMAIL_1>", "<EMAIL_2>", "<EMAIL_3>", "<PHONE_1>", "<PHONE_3>", "<NAME_1>"):
        assert ph in received
    assert packet.account_name in received  # the account itself is not personal data

    # The draft has the originals back, and no placeholder is left for the checks to hold.
    body = result.draft.body
    for value in (*EMAILS, *PHONES, "Ahmed Novak", "Jana Svoboda"):
        assert value in body, value
    assert not PLACEHOLDER.search(body) and "[EMAIL" not in body and "<phone" not in body
    assert not result.held, [c.detail for c in result.checks if not c.ok]
    assert answer is not None and EMAILS[0] in answer  # the cache keeps the restored draft

    # The trace shows what was sent: the redacted text, exactly as the server got it.
    t = result.trace
    assert t is not None and t.redacted
    assert t.sent == messages_text(srv.requests[0]["messages"])
    assert_no_pii([t.sent])
    assert t.received is not None and re.search(r"EMAIL_\d", t.received, re.IGNORECASE)
    assert EMAILS[0] not in t.received  # what came back still had placeholders


def test_placeholders_are_stable_within_a_prompt(book, srv, packet) -> None:
    con, wf, _ = book
    d = make_drafter(con, wf, llm(srv))
    r = d.redactor(packet)
    assert r is not None
    r.redact_obj(d.messages(packet))
    mapping = r.mapping
    # Ahmed's address appears in a comment and in the contacts: one placeholder for both.
    assert list(mapping.values()).count(EMAILS[0]) == 1
    assert {mapping[k] for k in mapping if k.startswith("<EMAIL")} == set(EMAILS)
    assert {mapping[k] for k in mapping if k.startswith("<PHONE")} == set(PHONES)
    assert {"Ahmed Novak", "Jana Svoboda", "Jana"} <= set(mapping.values())


def test_repair_request_is_redacted_too(book, srv, packet) -> None:
    con, wf, _ = book
    srv.script = [Reply(content="not json")]
    result, _ = make_drafter(con, wf, llm(srv)).draft(packet)
    assert result.outcome == "repaired"
    assert len(srv.requests) == 2
    assert_no_pii(srv.user_texts())
    assert EMAILS[0] in result.draft.body


def test_run_over_many_accounts_stays_redacted(book, srv, packet) -> None:
    con, wf, pv = book
    others = build_packets(con, pv, wf)[:5]
    run = run_drafts([packet, *others], make_drafter(con, wf, llm(srv)))
    assert [r.outcome for r in run.results] == ["ok"] * 6
    sample_contacts = [c for p in others for c in p.contacts]
    assert sample_contacts  # the sample book's packets carry contact emails too
    joined = "\n".join(srv.user_texts())
    for email in sample_contacts:
        assert email not in joined
    for name in names_from_emails(sample_contacts):
        assert name not in joined
    for r in run.results:
        for email in r.packet.contacts:
            assert email in r.draft.body  # restored per account, not mixed up


def test_redaction_off_sends_the_text_as_is(book, srv, packet) -> None:
    con, wf, _ = book
    result, _ = make_drafter(con, wf, llm(srv, redact="auto")).draft(packet)
    assert result.trace is not None and not result.trace.redacted
    assert EMAILS[0] in "\n".join(srv.user_texts())
    for value in (EMAILS[0], PHONES[0], PHONES[1], "Svoboda"):  # the checker would notice each
        with pytest.raises(AssertionError):
            assert_no_pii([f"text with {value} in it"])


def test_redaction_defaults() -> None:
    assert LLMSettings(model="openai/gpt-4o-mini").redacts  # cloud: on under auto
    assert LLMSettings(model="anthropic/claude-3-5-haiku-latest").redacts
    assert not LLMSettings(model="ollama/llama3.1").redacts  # on this machine
    assert not LLMSettings(model="openai/x", api_base="http://127.0.0.1:8080/v1").redacts
    assert LLMSettings(model="openai/x", api_base="https://api.example.com/v1").redacts
    assert LLMSettings(model="ollama/llama3.1", redact="on").redacts
    assert not LLMSettings(model="openai/gpt-4o-mini", redact="off").redacts
