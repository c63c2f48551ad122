"""The one-statement sweep: equal to evaluating each threshold, caps in the suggestion, edges."""

from __future__ import annotations

from datetime import date

import pytest

from workbench.errors import WorkbenchError, WorkflowInvalid
from workbench.workflow.backtest import backtest_dates, run_backtest
from workbench.workflow.compiler import evaluation
from workbench.workflow.edit import replace_condition
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.sweep import default_range, grid, suggest, sweep


@pytest.fixture(scope="module")
def wf():
    return parse_workflow(default_workflow_text())


def _fired(con, wf, as_of) -> tuple[int, float, int]:
    with evaluation(con, wf, as_of) as ev:
        df = ev.frame()
    f = df[df["fires"]]
    return len(f), float(f["arr"].sum()), int((f["route"] == "automated").sum())


@pytest.mark.parametrize(
    ("cid", "thresholds"),
    [("health_below", [0, 45, 59.5, 60, 72.25, 100]), ("renews_soon", [0, 17.5, 30, 90, 157.5])],
)
def test_sweep_equals_an_evaluation_at_each_threshold(sample, wf, cid, thresholds):
    as_of = default_as_of(sample)
    with evaluation(sample, wf, as_of) as ev:
        frame = sweep(ev, cid, thresholds).set_index("threshold")
        cond = ev.compiled.condition(cid)
    for t in thresholds:
        edited = replace_condition(wf, cid, cond.with_threshold(t))
        n, arr, auto = _fired(sample, edited, as_of)
        row = frame.loc[float(t)]
        assert (row["accounts"], row["automated"]) == (n, auto), t
        assert row["arr"] == pytest.approx(arr), t


def test_suggestion_is_the_loosest_threshold_within_both_caps(sample, wf):
    with evaluation(sample, wf, default_as_of(sample)) as ev:
        frame = sweep(ev, "health_below", grid(0, 100, 1))
        hint = suggest(ev, "health_below", frame)
    g = wf.guardrails
    ok = (frame["automated"] <= hint.capacity) & (frame["accounts"] <= g.max_actions_per_run)
    assert hint.threshold == frame.loc[ok, "threshold"].max()
    row = frame.set_index("threshold").loc[hint.threshold]
    assert row["accounts"] <= g.max_actions_per_run and row["automated"] <= hint.capacity
    looser = frame[frame["threshold"] > hint.threshold]
    assert not (
        (looser["automated"] <= hint.capacity) & (looser["accounts"] <= g.max_actions_per_run)
    ).any()
    assert f"at most {g.max_actions_per_run} actions per run" in hint.sentence


def test_a_sweep_over_no_accounts_has_a_zero_row_per_threshold(sample, wf):
    with evaluation(sample, wf, date(2000, 1, 1)) as ev:
        frame = sweep(ev, "health_below", [10, 20, 30])
        hint = suggest(ev, "health_below", frame)
    assert frame["threshold"].tolist() == [10, 20, 30]
    assert frame[["accounts", "arr", "automated", "human", "manager"]].eq(0).all().all()
    assert hint.threshold == 30


def test_labelled_sweep_recall_matches_the_backtest(sample, wf):
    dates = backtest_dates(sample)
    result = run_backtest(sample, wf, dates, label_days=90)
    with evaluation(sample, wf, dates, label_days=90) as ev:
        row = sweep(ev, "health_below", [60]).iloc[0]
    assert row["caught"] == result.caught and row["churners"] == result.events_total
    assert row["recall"] == pytest.approx(result.recall)
    assert row["precision"] == pytest.approx(result.precision)


def test_ranges_and_refusals(sample, wf):
    with evaluation(sample, wf, default_as_of(sample)) as ev:
        assert default_range(ev, "health_below") == (0.0, 100.0, 1.0)
        start, stop, step = default_range(ev, "renews_soon")
        assert step == int(step) and start == 0 and stop >= 180
        with pytest.raises(WorkbenchError, match="is empty"):
            grid(9, 1, 1)
        with pytest.raises(WorkbenchError, match="1 to 501"):
            sweep(ev, "health_below", grid(0, 1000, 1))
        renews = ev.compiled.condition("renews_soon")
        assert renews.with_threshold(17.9).days == 17  # within 17.9 days = within 17
        with pytest.raises(WorkflowInvalid, match="cannot take the threshold -4"):
            renews.with_threshold(-4)


def test_equality_is_not_sweepable(sample, wf):
    text = default_workflow_text().replace(
        "{id: renews_soon, fact: renewal_date, op: within_days, days: 90}",
        "{id: ten_seats, fact: seats, op: eq, value: 10}",
    )
    with evaluation(sample, parse_workflow(text), default_as_of(sample)) as ev:
        assert ev.compiled.condition("ten_seats").threshold is None
        assert [c.id for c in ev.compiled.sweepable] == ["health_below"]
        with pytest.raises(WorkbenchError, match="no numeric threshold"):
            sweep(ev, "ten_seats", [1])
