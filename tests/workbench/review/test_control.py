"""Stored modes: every transition recorded with who, when and why; the gate's refusal."""

from __future__ import annotations

import pytest

from workbench import audit
from workbench.review import store
from workbench.review.control import change_mode, current_mode, gate_verdict
from workbench.review.modes import ModeRefused
from workbench.workflow.loader import parse_workflow
from workbench.workflow.store import latest


@pytest.fixture
def wf(book_copy):
    _, con = book_copy
    return con, parse_workflow(latest(con).yaml)


def test_the_mode_starts_as_draft_and_every_change_is_recorded(wf):
    con, w = wf
    assert current_mode(con, w.name) == "draft"
    for target in ("shadow", "paused", "shadow", "rolled_back", "shadow"):
        change_mode(con, w, target, actor="Ana", reason=f"to {target}", version=1)
        assert current_mode(con, w.name) == target
    changes = store.mode_changes(con, w.name)
    assert list(changes["seq"]) == [1, 2, 3, 4, 5]
    assert list(changes["from_mode"]) == ["draft", "shadow", "paused", "shadow", "rolled_back"]
    assert set(changes["actor"]) == {"Ana"} and changes["changed_at"].notna().all()
    assert len(audit.entries(con, kind="mode_change")) == 5


def test_autonomous_is_refused_until_the_gate_passes_and_nothing_is_recorded(wf):
    con, w = wf
    change_mode(con, w, "shadow", actor="Ana", reason="start")
    before = (len(store.mode_changes(con)), audit.head(con))
    with pytest.raises(ModeRefused, match="not enough reviews: 0 of at least 30"):
        change_mode(con, w, "autonomous", actor="Ana", reason="ready")
    assert (len(store.mode_changes(con)), audit.head(con)) == before
    assert current_mode(con, w.name) == "shadow"
    assert not gate_verdict(con, w).passes


def test_an_override_is_allowed_with_a_reason_and_logged_as_such(wf):
    con, w = wf
    change_mode(con, w, "shadow", actor="Ana", reason="start")
    change = change_mode(con, w, "autonomous", actor="Ana", reason="workshop demo", override=True)
    assert change.override and current_mode(con, w.name) == "autonomous"
    assert bool(store.mode_changes(con, w.name)["override"].iloc[-1])
    overrides = audit.entries(con, kind="override")
    assert len(overrides) == 1 and "workshop demo" in overrides["detail"].iloc[0]


@pytest.mark.parametrize(("first", "target"), [("draft", "autonomous"), ("draft", "draft")])
def test_transitions_that_are_not_allowed_are_refused(wf, first, target):
    con, w = wf
    with pytest.raises(ModeRefused):
        change_mode(con, w, target, actor="Ana", reason="try", override=True)
    assert current_mode(con, w.name) == first
