"""Runs across weeks: idempotency, cooldowns and caps across runs, destinations by mode."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from workbench import audit
from workbench.review import store
from workbench.review.control import change_mode, current_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.plan import window_start
from workbench.review.runs import RunRefused, run_workflow, sampled
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow
from workbench.workflow.model import Autonomy, Guardrails
from workbench.workflow.store import latest


def _setup(con, **changes):
    v = latest(con)
    wf = parse_workflow(v.yaml)
    guard = changes.pop("guardrails", {})
    auto = changes.pop("autonomy", {})
    wf = wf.model_copy(
        update={
            "guardrails": Guardrails(**{**wf.guardrails.model_dump(), **guard}),
            "autonomy": Autonomy(**{**wf.autonomy.model_dump(), **auto}),
        }
    )
    return wf, v.version, default_as_of(con)


def _count(con, table):
    return con.execute(f"SELECT count(*) FROM wb.{table}").fetchall()[0][0]


def test_a_run_is_refused_until_shadow_mode(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con)
    with pytest.raises(RunRefused, match="draft mode"):
        run_workflow(con, wf, version, as_of, actor="Ana")
    assert _count(con, "review_runs") == 0 and _count(con, "actions") == 0


def test_the_same_run_twice_adds_no_action(book_copy):
    _, con = book_copy
    wf, version, latest_day = _setup(con)
    as_of = window_start(latest_day)  # a Monday: the next day is in the same window
    change_mode(con, wf, "shadow", actor="Ana", reason="start the shadow period")
    first = run_workflow(con, wf, version, as_of, actor="Ana")
    assert first.to_review == len(first.plan.proposed) > 0
    keys = set(store.actions(con, wf.name)["action_key"])
    again = run_workflow(con, wf, version, as_of + timedelta(days=1), actor="Ana")
    assert again.plan.proposed.empty and again.to_review == 0
    assert set(again.plan.skipped["reason"]) <= {"control", "duplicate", "run_cap"}
    assert set(store.actions(con, wf.name)["action_key"]) == keys
    runs = store.runs(con, wf.name)
    assert list(runs["proposed"]) == [0, len(keys)]  # newest first
    # Every action carries its draft, its route and the reasons it fired.
    acts = store.actions(con, wf.name)
    assert (acts["subject"].str.len() > 0).all() and (acts["reasons"].str.len() > 0).all()
    assert set(acts["route"]) <= {"automated", "human", "manager"}


def test_cooldown_and_caps_hold_across_runs(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con, guardrails={"max_actions_per_run": 7, "cooldown_days": 30})
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    week1 = run_workflow(con, wf, version, as_of - timedelta(days=14), actor="Ana")
    assert len(week1.plan.proposed) == 7
    assert "run_cap" in set(week1.plan.skipped["reason"])
    first_accounts = set(week1.plan.proposed["account_id"])
    week3 = run_workflow(con, wf, version, as_of, actor="Ana")
    # Accounts acted on two weeks ago are cooling down; new ones fill this week's cap.
    again = first_accounts & set(week3.plan.proposed["account_id"])
    assert not again
    cooling = week3.plan.skipped[week3.plan.skipped["reason"] == "cooldown"]
    assert set(cooling["account_id"]) <= first_accounts and len(cooling)
    assert len(week3.plan.proposed) <= 7


def test_rejected_actions_do_not_cool_the_account_down(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con, guardrails={"max_actions_per_run": 3})
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    week1 = run_workflow(con, wf, version, as_of - timedelta(days=7), actor="Ana")
    keys = list(week1.plan.proposed["action_key"])
    rejected_account = week1.plan.proposed["account_id"].iloc[0]
    record_decisions(con, wf, [DecisionInput(keys[0], "rejected", reason="wrong_timing")],
                     reviewer="Dana")  # fmt: skip
    week2 = run_workflow(con, wf, version, as_of, actor="Ana")
    skipped = dict(zip(week2.plan.skipped["account_id"], week2.plan.skipped["reason"], strict=True))
    assert skipped.get(rejected_account) != "cooldown"


def test_autonomous_runs_send_automated_actions_to_the_outbox_and_a_sample_to_review(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con, autonomy={"sample_pct": 30})
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    change_mode(con, wf, "autonomous", actor="Ana", reason="workshop", override=True)
    out = run_workflow(con, wf, version, as_of, actor="Ana")
    acts = store.actions(con, wf.name)
    auto = acts[acts["route"] == "automated"]
    assert len(auto) and out.to_outbox > 0
    # Escalations always go to a person; automated ones to the outbox unless sampled or held,
    # or in the CSM arm of the experiment (a person handles those as usual).
    assert (acts.loc[acts["route"] != "automated", "destination"] == "review").all()
    assert acts.loc[acts["route"] != "automated", "arm"].isna().all()
    assert set(auto["arm"]) == {"ai", "csm"}  # control accounts get no action at all
    expect_review = auto["sampled"] | auto["held"] | (auto["arm"] == "csm")
    assert (auto.loc[expect_review, "destination"] == "review").all()
    assert (auto.loc[~expect_review, "destination"] == "outbox").all()
    ai = auto["arm"] == "ai"
    assert list(auto.loc[ai, "sampled"]) == [sampled(k, 30) for k in auto.loc[ai, "action_key"]]
    assert not auto.loc[~ai, "sampled"].any()
    assert set(store.outbox(con, wf.name)["action_key"]) == set(
        auto.loc[~expect_review, "action_key"]
    )
    assert out.to_review + out.to_outbox == len(acts)


def test_sampled_reviews_below_the_bar_pause_the_workflow(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con, autonomy={"sample_pct": 100, "min_sampled_reviews": 5})
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    change_mode(con, wf, "autonomous", actor="Ana", reason="demo", override=True)
    run_workflow(con, wf, version, as_of, actor="Ana")
    queue = store.pending(con, wf.name)
    samples = queue[queue["sampled"]]["action_key"].tolist()
    assert len(samples) >= 5
    approve = record_decisions(con, wf, [DecisionInput(samples[0], "approved")], reviewer="Dana")
    assert approve.pause is not None and approve.pause.paused is None
    assert current_mode(con, wf.name) == "autonomous"
    assert store.outbox(con, wf.name)["via"].tolist().count("approved_sample") == 1
    bad = [DecisionInput(k, "rejected", reason="factual_error") for k in samples[1:5]]
    report = record_decisions(con, wf, bad, reviewer="Dana")
    assert report.pause is not None and report.pause.paused is not None
    assert current_mode(con, wf.name) == "paused"
    assert "PAUSED" in report.sentence()
    last = store.mode_changes(con, wf.name).iloc[-1]
    assert (last["actor"], last["to_mode"]) == ("system", "paused")
    assert "below" in last["reason"]
    with pytest.raises(RunRefused, match="paused"):
        run_workflow(con, wf, version, as_of, actor="Ana")


def test_a_run_writes_one_audit_entry_and_the_chain_holds(book_copy):
    _, con = book_copy
    wf, version, as_of = _setup(con)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    before = audit.head(con)
    when = datetime(2026, 10, 5, 9, 0)
    out = run_workflow(con, wf, version, as_of, actor="Ana", at=when)
    runs = audit.entries(con, kind="run")
    assert len(runs) == 1
    entry = runs.iloc[-1]
    assert entry["actor"] == "Ana" and f"run {out.run_id}" in entry["subject"]
    assert before is not None and audit.head(con).seq > before.seq
    assert audit.verify(con).ok
    assert store.runs(con)["started_at"].iloc[0] == when


def test_a_version_saved_after_going_autonomous_does_not_run_on_its_own(book_copy):
    from workbench.workflow.store import save_version

    _, con = book_copy
    wf, version, as_of = _setup(con)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    change_mode(con, wf, "autonomous", actor="Ana", reason="demo", override=True, version=version)
    changed = wf.model_copy(update={"description": "tighter wording"})
    v2 = save_version(con, changed, "Ana", "reword")
    assert v2.version == version + 1
    with pytest.raises(RunRefused, match=f"went autonomous on v{version}"):
        run_workflow(con, changed, v2.version, as_of, actor="Ana")
    assert store.runs(con, wf.name).empty
    run_workflow(con, wf, version, as_of, actor="Ana")  # the reviewed version still runs
