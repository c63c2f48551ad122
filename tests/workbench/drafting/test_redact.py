"""PII redaction: each form replaced and restored exactly, non-PII untouched."""

from __future__ import annotations

import re

import pytest

from workbench.drafting.redact import Redactor, names_from_emails

PII = [
    # (text, placeholder, original)
    ("Write to ahmed.novak@acme-corp.com today.", "<EMAIL_1>", "ahmed.novak@acme-corp.com"),
    ("cc: J.Doe+cs@mail.example.co.uk", "<EMAIL_1>", "J.Doe+cs@mail.example.co.uk"),
    ("Call +44 20 7946 0958 now", "<PHONE_1>", "+44 20 7946 0958"),
    ("Call +1 (415) 555-0132.", "<PHONE_1>", "+1 (415) 555-0132"),
    ("Call +49 30 1234567", "<PHONE_1>", "+49 30 1234567"),
    ("Call +33 6 12 34 56 78", "<PHONE_1>", "+33 6 12 34 56 78"),
    ("Call 0049 30 1234567", "<PHONE_1>", "0049 30 1234567"),
    ("Call (415) 555-0132, thanks", "<PHONE_1>", "(415) 555-0132"),
    ("Call 415-555-0132", "<PHONE_1>", "415-555-0132"),
    ("Call 415.555.0132", "<PHONE_1>", "415.555.0132"),
    ("Call 415 555 0132", "<PHONE_1>", "415 555 0132"),
    ("Call 1-800-555-0199", "<PHONE_1>", "1-800-555-0199"),
    ("Tel 030 1234567", "<PHONE_1>", "030 1234567"),
    ("Tel 06 12 34 56 78", "<PHONE_1>", "06 12 34 56 78"),
    ("Tel 020 7946 0958", "<PHONE_1>", "020 7946 0958"),
    ("Tel 0171-2345678", "<PHONE_1>", "0171-2345678"),
    ("Tel (030) 1234567", "<PHONE_1>", "(030) 1234567"),
    ("Hi Ahmed Novak, thanks", "<NAME_1>", "Ahmed Novak"),
    ("Hi AHMED NOVAK, thanks", "<NAME_1>", "Ahmed Novak"),
]


@pytest.mark.parametrize(("text", "placeholder", "original"), PII)
def test_each_pii_form_is_redacted_and_restored(text: str, placeholder: str, original: str) -> None:
    r = Redactor(["Ahmed Novak"])
    out = r.redact(text)
    assert original not in out
    assert placeholder in out
    assert r.mapping == {placeholder: original}
    # Restored exactly; a name comes back in the spelling it was given in.
    assert r.restore(out) == re.sub(re.escape(original), original, text, flags=re.IGNORECASE)


NOT_PII = [
    "Renewal on 2026-11-01 for $12,400 ARR.",
    "Renewal window 2026-11-01 - 2026-12-01.",
    "Dates 01.11.2026 and 11/01/2026.",
    "Account ACC-00012 opened ticket 48213 (P1).",
    "Ticket #48213 and INC-2026-004512 escalated.",
    "ARR went from 12,400 to 1,250,000 (EUR 1.250.000,00) at 10:30.",
    "Usage fell 37.5% over 90 days; 1234567 events.",
    "Invoice 2026-000123 is due; score 0.82.",
    "Order 4155550132 shipped.",
]


@pytest.mark.parametrize("text", NOT_PII)
def test_non_pii_is_untouched(text: str) -> None:
    r = Redactor(["Ahmed Novak"])
    assert r.redact(text) == text
    assert r.mapping == {}


def test_placeholders_are_stable_per_value() -> None:
    r = Redactor(["Ahmed Novak", "Jana Svoboda"])
    a = r.redact("ahmed.novak@acme.com, +44 20 7946 0958, Ahmed Novak")
    b = r.redact("AHMED.NOVAK@ACME.COM / +44 (0)20 7946 0958? no: +44 20-7946-0958; ahmed novak")
    c = r.redact("jana@acme.com, Jana Svoboda")
    assert a == "<EMAIL_1>, <PHONE_1>, <NAME_1>"
    assert b.startswith("<EMAIL_1> / ")
    assert b.endswith("<PHONE_1>; <NAME_1>")
    assert c == "<EMAIL_2>, <NAME_2>"
    assert r.mapping["<NAME_1>"] == "Ahmed Novak"
    assert r.mapping["<EMAIL_1>"] == "ahmed.novak@acme.com"


def test_name_parts_are_redacted_separately() -> None:
    r = Redactor(["Ahmed Novak"])
    out = r.redact("Hi Ahmed, Mr Novak asked. Ahmed Novak agreed. Ahmedabad is a city.")
    assert out == "Hi <NAME_1>, Mr <NAME_2> asked. <NAME_3> agreed. Ahmedabad is a city."
    assert r.restore(out) == "Hi Ahmed, Mr Novak asked. Ahmed Novak agreed. Ahmedabad is a city."
    assert Redactor(["Ahmed Novak"], name_parts=False).redact("Hi Ahmed") == "Hi Ahmed"


@pytest.mark.parametrize(
    "variant",
    ["<EMAIL_1>", "<email_1>", "< Email 1 >", "<EMAIL-1>", "[EMAIL_1]", "{EMAIL_1}", "EMAIL_1"],
)
def test_restore_tolerates_spelling(variant: str) -> None:
    r = Redactor()
    assert r.redact("mail a@b.io") == "mail <EMAIL_1>"
    assert r.restore(f"Reply to {variant}.") == "Reply to a@b.io."


def test_restore_leaves_unknown_placeholders_and_prose() -> None:
    r = Redactor(["Ahmed Novak"])
    r.redact("Ahmed Novak")
    assert r.restore("<NAME_1> and <NAME_9>; your name 1 time") == (
        "Ahmed Novak and <NAME_9>; your name 1 time"
    )


def test_redact_obj_round_trip() -> None:
    r = Redactor(["Ahmed Novak"])
    packet = {
        "account": "ACC-00012",
        "arr": 12400,
        "renewal": "2026-11-01",
        "contacts": [{"name": "Ahmed Novak", "email": "ahmed.novak@acme.com"}],
        "tickets": ("P1: Ahmed Novak called from +1 415 555 0132", None, True, 3.5),
    }
    red = r.redact_obj(packet)
    assert red["contacts"] == [{"name": "<NAME_1>", "email": "<EMAIL_1>"}]
    assert red["tickets"][0] == "P1: <NAME_1> called from <PHONE_1>"
    assert red["account"] == "ACC-00012"
    assert red["arr"] == 12400
    assert "ahmed" not in repr(red).lower()
    assert r.restore_obj(red) == packet
    assert packet["contacts"][0]["name"] == "Ahmed Novak"  # input not mutated


@pytest.mark.parametrize(
    ("emails", "names"),
    [
        (["ahmed.novak@acme.com"], ["Ahmed Novak"]),
        (["anne-marie_dupont@x.fr"], ["Anne-Marie Dupont"]),
        (["j.smith2@x.com", "J.Smith@y.com"], ["Smith"]),
        (["support@x.com", "billing@x.com", "noreply@x.com"], []),
        (["ahmed.novak+cs@a.com", "AHMED.NOVAK@b.com", "lena@c.com"], ["Ahmed Novak", "Lena"]),
        ([""], []),
    ],
)
def test_names_from_emails(emails: list[str], names: list[str]) -> None:
    assert names_from_emails(emails) == names


@pytest.mark.parametrize(
    ("names", "text", "expected"),
    [
        (["Ahmed Novak"], "spoke with ahmed yesterday", "spoke with <NAME_1> yesterday"),
        (["Frank Novak"], "Please loop in Frank", "Please loop in <NAME_1>"),
        (
            ["Grant Weber"],
            "Grant asked; we will grant access",
            "<NAME_1> asked; we will grant access",
        ),
        (["Mark Hill"], "Hi Mark, mark the date", "Hi <NAME_1>, mark the date"),
        (["Anne-Marie Dupont"], "anne-marie again", "<NAME_1> again"),
    ],
)
def test_names_in_running_text(names, text, expected):
    assert Redactor(names).redact(text) == expected
