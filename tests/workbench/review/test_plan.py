"""Proposed actions across runs: idempotency, cooldowns and caps (table-driven)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from workbench.review.plan import HISTORY_COLUMNS, action_key, plan_actions, window_start
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.model import Guardrails

MON = date(2026, 11, 2)  # a Monday
WF = parse_workflow(default_workflow_text())


def wf(**guard):
    return WF.model_copy(
        update={"guardrails": Guardrails(**{**WF.guardrails.model_dump(), **guard})}
    )


def fired(*rows: tuple[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [a for a, _ in rows], "assignee": [c for _, c in rows]})


def history(plan_rows: pd.DataFrame, as_of: date, status: str = "pending") -> pd.DataFrame:
    h = plan_rows[["action_key", "account_id", "assignee"]].copy()
    h["as_of"] = as_of
    h["status"] = status
    return h[list(HISTORY_COLUMNS)]


EMPTY = pd.DataFrame(columns=list(HISTORY_COLUMNS))


@pytest.mark.parametrize(
    ("day", "start"),
    [(date(2026, 11, 2), MON), (date(2026, 11, 8), MON), (date(2026, 11, 9), date(2026, 11, 9))],
)
def test_window_is_the_week(day, start):
    assert window_start(day) == start


def test_the_key_names_version_account_action_and_window():
    k = action_key("w", 1, "A", "alert", MON)
    assert k == action_key("w", 1, "A", "alert", MON) and len(k) == 24
    assert len({k, action_key("w", 2, "A", "alert", MON), action_key("w", 1, "B", "alert", MON),
                action_key("w", 1, "A", "risk_brief", MON),
                action_key("w", 1, "A", "alert", date(2026, 11, 9))}) == 5  # fmt: skip


def test_running_twice_adds_nothing():
    rows = fired(("A", "Dana"), ("B", "Eli"))
    first = plan_actions(rows, EMPTY, WF, 1, MON)
    assert list(first.proposed["account_id"]) == ["A", "B"]
    again = plan_actions(rows, history(first.proposed, MON), WF, 1, date(2026, 11, 4))
    assert again.proposed.empty
    assert set(again.skipped["reason"]) == {"duplicate"}
    assert (
        again.sentence()
        == "0 new actions proposed; skipped: 2 already proposed in this window (the same run again adds nothing)."
    )


@pytest.mark.parametrize(
    ("days_later", "status", "cooldown", "expected"),
    [
        (7, "pending", 30, "cooldown"),  # next week, inside the cooldown
        (28, "approved", 30, "cooldown"),
        (35, "approved", 30, None),  # after the cooldown: proposed again
        (7, "rejected", 30, None),  # a rejected proposal did not act on the account
        (7, "pending", 0, None),  # no cooldown
    ],
)
def test_cooldown_across_runs_and_versions(days_later, status, cooldown, expected):
    rows = fired(("A", "Dana"))
    first = plan_actions(rows, EMPTY, wf(cooldown_days=cooldown), 1, MON)
    later = date.fromordinal(MON.toordinal() + days_later)
    # A new workflow version: a new key, but the cooldown still counts the earlier action.
    plan = plan_actions(
        rows, history(first.proposed, MON, status), wf(cooldown_days=cooldown), 2, later
    )
    if expected is None:
        assert list(plan.proposed["account_id"]) == ["A"]
    else:
        assert plan.proposed.empty and list(plan.skipped["reason"]) == [expected]


def test_run_cap_keeps_the_highest_priority():
    rows = fired(*[(f"A{i}", None) for i in range(5)])
    plan = plan_actions(rows, EMPTY, wf(max_actions_per_run=3), 1, MON)
    assert list(plan.proposed["account_id"]) == ["A0", "A1", "A2"]
    assert list(plan.skipped["reason"]) == ["run_cap", "run_cap"]


def test_csm_weekly_cap_counts_earlier_runs_in_the_week():
    g = {"max_per_csm_per_week": 2, "cooldown_days": 0}
    first = plan_actions(fired(("A", "Dana")), EMPTY, wf(**g), 1, MON)
    rows = fired(("B", "Dana"), ("C", "Dana"), ("D", "Eli"))
    plan = plan_actions(rows, history(first.proposed, MON), wf(**g), 1, date(2026, 11, 5))
    assert list(plan.proposed["account_id"]) == ["B", "D"]
    assert plan.skipped.to_dict("records")[0]["reason"] == "csm_week_cap"
    # Next week the count starts again.
    nxt = plan_actions(rows, history(first.proposed, MON), wf(**g), 1, date(2026, 11, 9))
    assert list(nxt.proposed["account_id"]) == ["B", "C", "D"]


def test_on_the_sample_book(sample_book):
    sample = sample_book
    from workbench.workflow.facts import default_as_of
    from workbench.workflow.preview import preview

    pv = preview(sample, WF, default_as_of(sample))
    plan = plan_actions(pv.fired, EMPTY, WF, 1, pv.as_of)
    assert 0 < len(plan.proposed) <= WF.guardrails.max_actions_per_run
    assert plan.proposed["assignee"].value_counts().max() <= WF.guardrails.max_per_csm_per_week
    assert len(plan.proposed) + len(plan.skipped) == len(pv.fired)
    again = plan_actions(pv.fired, history(plan.proposed, pv.as_of), WF, 1, pv.as_of)
    assert again.proposed.empty


def test_the_run_cap_counts_earlier_runs_in_the_window():
    rows = fired(*[(f"A{i}", None) for i in range(5)])
    first = plan_actions(rows, EMPTY, wf(max_actions_per_run=3, cooldown_days=0), 1, MON)
    again = plan_actions(
        rows, history(first.proposed, MON), wf(max_actions_per_run=3, cooldown_days=0), 1, MON
    )
    assert again.proposed.empty
    assert list(again.skipped["reason"]) == ["duplicate"] * 3 + ["run_cap"] * 2


def test_control_accounts_get_no_action_and_take_no_place_under_the_cap():
    rows = fired(("A", "Dana"), ("B", "Eli"), ("C", "Dana"), ("D", "Eli"))
    rows["route"] = ["automated", "automated", "human", "automated"]
    arms = {"A": "control", "B": "ai", "C": "control", "D": "csm"}
    plan = plan_actions(rows, EMPTY, wf(max_actions_per_run=2), 1, MON, arms=arms)
    # A is held out; C was control once but is escalated now, so a person still gets it.
    assert list(plan.proposed["account_id"]) == ["B", "C"]
    skipped = dict(zip(plan.skipped["account_id"], plan.skipped["reason"], strict=True))
    assert skipped == {"A": "control", "D": "run_cap"}
    assert "1 held out as control (no intervention)" in plan.sentence()
