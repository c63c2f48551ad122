"""Mode changes: every allowed transition, every refusal, the gate and its override."""

from __future__ import annotations

from datetime import datetime
from itertools import product

import pytest

from workbench.review.modes import (
    ALLOWED,
    MODES,
    ModeRefused,
    allowed_targets,
    check_transition,
)

AT = datetime(2026, 11, 21, 9, 30)
ALLOWED_PAIRS = {
    ("draft", "shadow"),
    ("shadow", "draft"),
    ("shadow", "autonomous"),
    ("shadow", "paused"),
    ("shadow", "rolled_back"),
    ("autonomous", "shadow"),
    ("autonomous", "paused"),
    ("autonomous", "rolled_back"),
    ("paused", "draft"),
    ("paused", "shadow"),
    ("paused", "autonomous"),
    ("paused", "rolled_back"),
    ("rolled_back", "draft"),
    ("rolled_back", "shadow"),
}


@pytest.mark.parametrize(("current", "target"), sorted(product(MODES, MODES)))
def test_every_transition_is_allowed_or_refused_in_words(current, target):
    if (current, target) in ALLOWED_PAIRS:
        change = check_transition(
            current, target, actor="Dana", reason="Weekly review", gate_passes=True, at=AT
        )
        assert (change.from_mode, change.to_mode, change.actor) == (current, target, "Dana")
        assert change.sentence() == (
            f"Dana moved the workflow from {current} to {target} on 2026-11-21 09:30: Weekly review"
        )
    else:
        with pytest.raises(ModeRefused) as err:
            check_transition(current, target, actor="Dana", reason="x", gate_passes=True)
        assert err.value.hint


def test_the_table_matches_the_allowed_pairs():
    assert {(s, t) for t, sources in ALLOWED.items() for s in sources} == ALLOWED_PAIRS
    assert allowed_targets("shadow") == ["draft", "autonomous", "paused", "rolled_back"]


@pytest.mark.parametrize("gate", [False, None])
def test_autonomous_is_refused_until_the_gate_passes(gate):
    with pytest.raises(ModeRefused) as err:
        check_transition(
            "shadow",
            "autonomous",
            actor="Dana",
            reason="ready",
            gate_passes=gate,
            gate_sentence="12 of 20 approved: not enough reviews",
        )
    text = str(err.value)
    if gate is False:
        assert "12 of 20 approved: not enough reviews" in text
    else:
        assert "has not been evaluated" in text
    assert "override with a reason" in err.value.hint


def test_an_override_is_possible_and_marked():
    change = check_transition(
        "shadow",
        "autonomous",
        actor="Dana",
        reason="Pilot for one week with VP sign-off",
        gate_passes=False,
        gate_sentence="40 of 50 approved: fails",
        override=True,
        at=AT,
    )
    assert change.override and change.gate_sentence == "40 of 50 approved: fails"
    assert "(gate overridden)" in change.sentence()
    # With a passing gate an override flag records nothing to override.
    passed = check_transition(
        "shadow", "autonomous", actor="Dana", reason="passes", gate_passes=True, override=True
    )
    assert not passed.override


@pytest.mark.parametrize(
    ("actor", "reason", "fragment"),
    [("", "why", "who is changing"), ("Dana", "  ", "Say why"), ("Dana", "", "Say why")],
)
def test_who_and_why_are_required(actor, reason, fragment):
    with pytest.raises(ModeRefused, match=fragment):
        check_transition("draft", "shadow", actor=actor, reason=reason)


def test_same_mode_and_unknown_mode_are_refused():
    with pytest.raises(ModeRefused, match="already in shadow"):
        check_transition("shadow", "shadow", actor="Dana", reason="x")
    with pytest.raises(ModeRefused, match="no mode 'live'"):
        check_transition("shadow", "live", actor="Dana", reason="x")  # type: ignore[arg-type]
