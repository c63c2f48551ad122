"""The workflow in words: structure kept, sentences from the compiler, parameters stated."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.workflow.compiler import compile_workflow
from workbench.workflow.describe import (
    Line,
    action_words,
    describe,
    experiment_words,
    normalisation_words,
    trigger_words,
)
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.model import Action, HealthInput, Trigger

D = dt.date(2026, 11, 1)


def test_default_workflow_in_words(sample):
    words = describe(compile_workflow(sample, parse_workflow(default_workflow_text()), D))
    assert words.name == "Senior CSM for at-risk renewals"
    assert words.trigger.startswith("Runs after each data refresh")
    assert words.scope == ("segment is one of SMB, Mid-Market, Enterprise",)
    assert words.conditions == (
        Line(0, "All of these hold:"),
        Line(1, "health score below 60"),
        Line(1, "renewal date within the next 90 days"),
    )
    assert [(r.position, r.name, r.route) for r in words.escalation] == [
        (1, "High ARR", "human"),
        (2, "Enterprise tier", "human"),
        (3, "Open P1 ticket", "manager"),
        (4, "Detractor NPS", "human"),
    ]
    assert words.escalation[0].when == (Line(0, "ARR at least 250,000"),)
    assert ("capacity_per_week", "8") in words.action_params
    assert [h.weight for h in words.health] == [30, 15, 20, 20, 15]
    assert (
        words.health[2].normalisation
        == "bands: 0 or more → 100, 1 or more → 40, 2 or more → 0; below 0 → 0"
    )
    assert words.missing.startswith("A missing input is left out")
    assert any("cooldown" in g for g in words.guardrails)


def test_nested_groups_keep_their_structure(sample):
    text = default_workflow_text().replace(
        "    - {id: renews_soon, fact: renewal_date, op: within_days, days: 90}",
        "    - any:\n"
        "        - {id: renews_soon, fact: renewal_date, op: within_days, days: 90}\n"
        "        - {fact: nps_score, op: le, value: 6}",
    )
    words = describe(compile_workflow(sample, parse_workflow(text), D))
    assert words.conditions == (
        Line(0, "All of these hold:"),
        Line(1, "health score below 60"),
        Line(1, "Any of these holds:"),
        Line(2, "renewal date within the next 90 days"),
        Line(2, "NPS score at most 6"),
    )


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (
            {"type": "assign_csm", "strategy": "by_segment", "by_segment": {"SMB": "Ann"}},
            "SMB → Ann",
        ),
        ({"type": "draft_email", "template": "renewal"}, "template: renewal"),
        (
            {"type": "crm_update", "field": "Risk", "value": "High"},
            "Set the CRM field Risk to High",
        ),
        ({"type": "alert", "channel": "#cs-risk"}, "Send an alert to #cs-risk"),
    ],
)
def test_action_words(action, expected):
    text, _ = action_words(Action.model_validate(action))
    assert expected in text
    assert text.endswith("Nothing is sent from the workbench: this is a design to prove.")


def test_trigger_and_linear_words():
    assert "`0 7 * * MON`" in trigger_words(Trigger(type="schedule", schedule="0 7 * * MON"))
    assert trigger_words(Trigger()) == "Runs when someone starts it by hand."
    inp = HealthInput(fact="days_since_touch", weight=100, worst=90, best=14)
    assert normalisation_words(inp) == "linear: 90 or worse scores 0, 14 or better scores 100"


@pytest.mark.parametrize(
    ("policy", "expected", "absent"),
    [
        ({}, "must not offer discounts", "Banned phrases: none"),
        ({"allow_discounts": True}, "may offer discounts", "must not offer"),
        ({"banned_phrases": []}, "No unfilled placeholders", "Banned phrases"),
        ({"max_body_chars": 500}, "body at most 500", "body at most 2000"),
        ({"require_account_name": False}, "must not name another account", "must name its"),
    ],
)
def test_output_policy_in_words(policy, expected, absent):
    from workbench.workflow.describe import output_policy_words
    from workbench.workflow.model import OutputPolicy

    base = parse_workflow(default_workflow_text())
    wf = base.model_copy(update={"output_policy": OutputPolicy(**policy)})
    text = " ".join(output_policy_words(wf))
    assert expected in text and absent not in text


def test_experiment_words_name_metrics_by_label_and_column():
    wf = parse_workflow(
        default_workflow_text().replace(
            "metrics: [renewed, expansion_arr]",
            "metrics: [renewed, expansion_arr, first_response_hours]",
        )
    )
    split, compared = experiment_words(wf)
    assert split.startswith("Accounts on the automated route are split 45% AI-handled, 45% CSM")
    assert compared.startswith(
        "Outcomes compared: Renewed (renewed), Expansion ARR (expansion_arr), "
        "first_response_hours, within 180 days"  # a custom metric is its column
    )
    assert "worse AI arm on Renewed (renewed) flags" in compared
