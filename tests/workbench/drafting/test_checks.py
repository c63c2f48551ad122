"""Output policy checks: which drafts are held, and why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.drafting.checks import CheckResult, OutputPolicy, check_draft, held, reasons

ACCOUNT = "Acme Corp"
OTHERS = ["Globex", "Initech", "Acme", "Umbrella Health"]
CLEAN_SUBJECT = "Acme Corp: a quick check-in before your renewal"
CLEAN_BODY = (
    "Hi there,\n\nI noticed usage at Acme Corp dipped over the last 30 days, and "
    "ticket 48213 is still open. Could we find 20 minutes next week to review your "
    "onboarding plan before the renewal on 2026-11-01?\n\nBest,\nYour CSM"
)


def failing(subject: str, body: str, policy: OutputPolicy | None = None) -> set[str]:
    results = check_draft(subject, body, ACCOUNT, OTHERS, policy or OutputPolicy())
    return {r.name for r in results if not r.ok}


def test_clean_draft_passes() -> None:
    results = check_draft(CLEAN_SUBJECT, CLEAN_BODY, ACCOUNT, OTHERS, OutputPolicy())
    assert [r.name for r in results] == [
        "placeholders",
        "names_account",
        "no_other_account",
        "no_discount_offer",
        "subject_length",
        "body_length",
        "banned_phrases",
    ]
    assert all(isinstance(r, CheckResult) and r.ok for r in results)
    assert not held(results)
    assert reasons(results) == []


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        # discounts, credits, free time, refunds
        ("We can offer 10% off your renewal.", "no_discount_offer"),
        ("We can offer 15 % discount.", "no_discount_offer"),
        ("A special discount is available.", "no_discount_offer"),
        ("We will add a service credit to your account.", "no_discount_offer"),
        ("Enjoy a free month on us.", "no_discount_offer"),
        ("We'll give you two months free.", "no_discount_offer"),
        ("We can waive the onboarding fee.", "no_discount_offer"),
        ("We will refund last quarter.", "no_discount_offer"),
        ("We can reduce your price at renewal.", "no_discount_offer"),
        ("A price reduction is possible.", "no_discount_offer"),
        ("Extra seats at no extra cost.", "no_discount_offer"),
        ("Take $500 off the invoice.", "no_discount_offer"),
        # other accounts
        ("Globex saw the same issue.", "no_other_account"),
        ("Like UMBRELLA  HEALTH, you could...", "no_other_account"),
        ("As with Acme last year.", "no_other_account"),
        # placeholders
        ("Regards, {csm_name}", "placeholders"),
        ("Regards, {{ csm_name }}", "placeholders"),
        ("Regards, [NAME]", "placeholders"),
        ("Regards, [Your Name]", "placeholders"),
        ("Regards, <NAME_1>", "placeholders"),
        ("Regards, <name 2>", "placeholders"),
        ("TODO: add metrics", "placeholders"),
        ("Call XXX for details", "placeholders"),
        ("Lorem ipsum dolor.", "placeholders"),
        # banned phrases
        ("We guarantee results.", "banned_phrases"),
        ("Act now to keep your seats.", "banned_phrases"),
        ("You will be 100% satisfied.", "banned_phrases"),
    ],
)
def test_problem_draft_is_held(extra: str, check: str) -> None:
    body = f"{CLEAN_BODY}\n\n{extra}"
    assert failing(CLEAN_SUBJECT, body) == {check}
    results = check_draft(CLEAN_SUBJECT, body, ACCOUNT, OTHERS, OutputPolicy())
    assert held(results)
    (reason,) = reasons(results)
    assert reason.startswith("The draft")


@pytest.mark.parametrize(
    "extra",
    [
        "Acmeville and Globexia are towns, not accounts.",  # substrings of other names
        "The Acme Corp team asked about SSO.",  # own name contains "Acme"
        "Our guarantees page is linked below.",  # "guarantee" is whole-word
        "Incredible progress on adoption.",  # "credit" is whole-word
        "Usage is 100 % of plan.",  # not the banned "100%"
        "See the {} in the config file.",  # empty braces are not a placeholder
    ],
)
def test_near_misses_are_not_held(extra: str) -> None:
    assert failing(CLEAN_SUBJECT, f"{CLEAN_BODY}\n\n{extra}") == set()


def test_missing_account_name_is_held_unless_not_required() -> None:
    subject, body = "A quick check-in", "Hi there, can we meet next week?"
    assert failing(subject, body) == {"names_account"}
    assert failing(subject, body, OutputPolicy(require_account_name=False)) == set()
    # case-insensitive, whitespace-tolerant
    assert failing("ACME  corp check-in", body) == set()


def test_allow_discounts_lets_a_discount_through() -> None:
    body = f"{CLEAN_BODY}\n\nWe can offer 10% off and a free month."
    assert failing(CLEAN_SUBJECT, body) == {"no_discount_offer"}
    assert failing(CLEAN_SUBJECT, body, OutputPolicy(allow_discounts=True)) == set()


@pytest.mark.parametrize(
    ("subject", "body", "policy", "expected"),
    [
        ("Acme Corp " + "x" * 110, CLEAN_BODY, OutputPolicy(), set()),
        ("Acme Corp " + "x" * 111, CLEAN_BODY, OutputPolicy(), {"subject_length"}),
        (CLEAN_SUBJECT, "y" * 2001, OutputPolicy(), {"body_length"}),
        (CLEAN_SUBJECT, "y" * 2000, OutputPolicy(), set()),
        (CLEAN_SUBJECT, CLEAN_BODY, OutputPolicy(max_body_chars=100), {"body_length"}),
        (CLEAN_SUBJECT, "   ", OutputPolicy(), {"body_length"}),
        ("", f"Hello {ACCOUNT}", OutputPolicy(), set()),
    ],
)
def test_length_limits(subject: str, body: str, policy: OutputPolicy, expected: set[str]) -> None:
    assert failing(subject, body, policy) == expected


def test_length_reason_is_plain_words() -> None:
    results = check_draft(CLEAN_SUBJECT, "y" * 2001, ACCOUNT, [], OutputPolicy())
    assert reasons(results) == ["The body is 2001 characters long; the limit is 2000."]


def test_custom_banned_phrases() -> None:
    policy = OutputPolicy(banned_phrases=["circle back", "synergy"])
    body = f"{CLEAN_BODY}\n\nLet's Circle  Back on synergy. We guarantee it."
    results = check_draft(CLEAN_SUBJECT, body, ACCOUNT, OTHERS, policy)
    assert {r.name for r in results if not r.ok} == {"banned_phrases"}
    assert reasons(results) == ['The draft uses banned phrases: "circle back", "synergy".']


def test_policy_defaults_and_validation() -> None:
    policy = OutputPolicy()
    assert policy.allow_discounts is False
    assert policy.max_body_chars == 2000
    assert policy.max_subject_chars == 120
    assert {"guarantee", "act now", "100%"} <= set(policy.banned_phrases)
    assert policy.require_account_name is True
    with pytest.raises(ValidationError):
        OutputPolicy(max_body_chars=0)
    with pytest.raises(ValidationError):
        OutputPolicy.model_validate({"allow_discount": True})  # typo is rejected


def test_discount_words_in_own_account_name_are_not_offers() -> None:
    results = check_draft(
        "Credit Union One check-in",
        "Hi Credit Union One team, can we meet?",
        "Credit Union One",
        ["Globex"],
        OutputPolicy(),
    )
    assert not held(results)


@pytest.mark.parametrize(
    ("action_type", "subject", "body", "ok"),
    [
        ("draft_email", "Renewal", "Hello Acme Corp team, could we meet?", True),
        ("draft_email", "Renewal", "Your health score dropped to 41.", False),
        ("draft_email", "Renewal", "We flagged you as at-risk of churn.", False),
        ("draft_email", "Renewal", "I escalated your workflow ticket internally.", True),
        ("draft_email", "Renewal", "You are on our at-risk playbook.", False),
        ("assign_csm", "Acme Corp", "Hi Dana, Acme Corp is yours: usage is down.", True),
        ("assign_csm", "Acme Corp", "Hello Acme Corp team, could we meet?", False),
        ("risk_brief", "Acme Corp", "Dear the team at Acme Corp, ...", False),
        ("alert", "Acme Corp", "Acme Corp needs attention: health 41, churn risk.", True),
        (None, "Acme Corp", "Hello Acme Corp team, health score 41.", True),  # not asked
    ],
)
def test_audience(action_type, subject, body, ok):
    results = check_draft(subject, body, ACCOUNT, OTHERS, OutputPolicy(), action_type=action_type)
    audience = [r for r in results if r.name == "audience"]
    if action_type is None:
        assert audience == []
    else:
        assert audience[0].ok is ok, audience[0].detail
