"""The monthly review pack: the month, an empty workspace and a busy one."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from tests.experiment_scenarios import build_broad
from tests.workbench.review.shadow_month import MONTH, RUN_1
from workbench import audit
from workbench.errors import NotFound, WorkbenchError
from workbench.experiment.evaluate import evaluate
from workbench.experiment.guardrail import flags, record_flags
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.governance import build_pack, month_bounds, month_of, month_options
from workbench.review.pack_tables import outcome_class, outcomes_so_far
from workbench.review.runs import run_workflow
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store as versions
from workbench.workflow.facts import default_as_of


@pytest.fixture
def empty_con(tmp_path):
    con = connect(Workspace(tmp_path / "empty"))
    yield con
    con.close()


# --- the month -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2026-13", "Nov", "2026-1", "2026-00", "", "0000-05", "26-11", "2026-11-01"]
)
def test_a_month_that_is_not_yyyy_mm_is_refused_in_words(text):
    with pytest.raises(WorkbenchError) as err:
        month_bounds(text)
    assert f"'{text}' is not a month" in err.value.message
    assert "YYYY-MM" in err.value.hint


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        (" 2027-02 ", date(2027, 2, 1), date(2027, 3, 1)),
    ],
)
def test_month_bounds(text, start, end):
    assert month_bounds(text) == (start, end)


def test_build_pack_checks_the_month_first(empty_con):
    with pytest.raises(WorkbenchError, match="'Nov' is not a month"):
        build_pack(empty_con, None, "Nov")


def test_month_options_run_from_this_month_back_to_the_first_activity(busy):
    options = month_options(busy.con, today=date(2027, 1, 15))
    assert options[:3] == ["2027-01", "2026-12", "2026-11"]
    first = min(min(v.saved_at for v in versions.list_versions(busy.con)).date(), RUN_1.date())
    assert options[-1] == first.strftime("%Y-%m")
    assert options == sorted(options, reverse=True) and len(set(options)) == len(options)


# --- an empty workspace ----------------------------------------------------------------


def test_an_empty_workspace_says_what_is_missing_in_every_section(empty_con):
    pack = build_pack(empty_con, None, MONTH)
    assert pack.empty and pack.workflow_name is None and pack.version is None
    assert pack.mode == "draft" and pack.gate is None
    assert "no workflow" in pack.gate_sentence
    for section in ("workflow", "policy", "runs", "approval", "gate", "rejected", "outbox"):
        assert "Workflow page" in pack.notes[section], section
    assert pack.notes["outcomes"].startswith("No outcomes yet")
    assert pack.notes["rollback"] == "There is no workflow, so there is nothing to roll back."
    assert "playbook example on the Workflow page" in pack.next_steps[0]
    for frame in (
        pack.runs,
        pack.approval,
        pack.gate_history,
        pack.rejected,
        pack.outbox,
        pack.outcomes,
    ):
        assert frame.empty and len(frame.columns) > 0
    assert pack.audit.ok and pack.audit.entries == 0
    assert pack.rollback.target is None and pack.rollback.choices == ()
    figures = {f.label: f.value for f in pack.summary()}
    assert figures["Runs in the month"] == 0 and figures["Decisions in the month"] == 0
    assert figures["Approval rate in the month"] is None
    assert pack.experiment is None and not pack.flagged
    assert pack.notes["experiment"].startswith("No experiment yet: there is no workflow")
    assert figures["Guardrails"] == "no experiment: there is no workflow"


def test_an_unknown_workflow_is_named(busy):
    with pytest.raises(NotFound, match="No workflow named 'nope'") as err:
        build_pack(busy.con, "nope", MONTH)
    assert busy.wf.name in err.value.hint


def test_sample_book_before_any_run_points_to_shadow_mode(book_copy):
    _, con = book_copy
    pack = build_pack(con, None, MONTH)
    assert not pack.empty and pack.mode == "draft"
    assert "Start shadow mode" in pack.next_steps[0]
    assert "No runs in 2026-11" in pack.notes["runs"]
    assert "only version" in pack.rollback.why and pack.rollback.target is None
    assert pack.experiment is not None and pack.experiment.experiment is None
    assert pack.notes["experiment"] == pack.experiment.next_step
    assert "has no experiment yet" in pack.notes["experiment"]
    assert pack.guardrail_sentence.startswith("not checked yet")


# --- a busy workspace ------------------------------------------------------------------


def test_the_pack_holds_the_version_policy_and_mode(busy):
    pack = build_pack(busy.con, busy.wf.name, MONTH)
    assert pack.version is not None and pack.version.version == 2
    assert (pack.version.author, pack.version.reason) == ("Ana", "Threshold 55")
    assert "value: 55" in pack.version.yaml
    words = dict(pack.policy_words)
    assert words["When"].startswith("Runs after each data refresh")
    assert any("health score below 55" in t for p, t in pack.policy_words if p == "Fires when")
    assert "policy" not in pack.notes
    assert pack.mode == "shadow"
    assert list(pack.mode_changes["to"]) == ["shadow"]
    assert pack.mode_changes["by"].iloc[0] == "Ana"


def test_runs_and_action_counts_of_the_month(busy):
    pack = build_pack(busy.con, None, MONTH)
    runs = store.runs(busy.con, busy.wf.name)
    assert list(pack.runs["run"]) == sorted(runs["run_id"])
    figures = {f.label: f.value for f in pack.counts}
    assert figures["Runs in the month"] == 2
    assert figures["Actions proposed"] == int(runs["proposed"].sum())
    assert figures["Sent to review"] == int(runs["to_review"].sum())
    assert figures["Sent to the outbox"] == 0
    skipped = sum(v for k, v in figures.items() if isinstance(k, str) and k.startswith("Skipped:"))
    assert skipped == int(runs["skipped"].sum()) > 0
    # December has no runs; its pack says so.
    later = build_pack(busy.con, None, "2026-12")
    assert later.runs.empty and "No runs in 2026-12" in later.notes["runs"]


def test_approval_in_the_month_and_to_its_end(busy):
    nov = build_pack(busy.con, None, MONTH)
    dec = build_pack(busy.con, None, "2026-12")
    assert nov.metrics_month.reviewed == 5 and nov.metrics_total.reviewed == 5
    assert dec.metrics_month.reviewed == 1 and dec.metrics_total.reviewed == 6
    overall = nov.approval[
        (nov.approval["breakdown"] == "overall") & (nov.approval["period"] == MONTH)
    ]
    row = overall.iloc[0]
    assert (
        row["reviewed"],
        row["approved as-is"],
        row["approved after edit"],
        row["rejected"],
    ) == (5, 2, 1, 2)
    assert row["approval rate"] == pytest.approx(0.6)
    assert row["low (95%)"] < 0.6 < row["high (95%)"]
    assert {"route", "reviewer", "week"} <= set(nov.approval["breakdown"])
    reasons = nov.reasons.set_index("reason")
    assert (
        reasons.loc["tone", "in the month"] == 1
        and reasons.loc["wrong timing", "in the month"] == 1
    )
    assert reasons.loc["policy", "in the month"] == 0
    assert dec.reasons.set_index("reason").loc["policy", "to the end of the month"] == 1


def test_gate_now_and_its_history_in_the_month(busy):
    pack = build_pack(busy.con, None, MONTH)
    assert pack.gate is not None and pack.gate.status == "not_enough_reviews"
    events = list(pack.gate_history["event"])
    assert events == ["mode_change", "run", "review", "run"]
    assert pack.gate_history["checked at"].min() >= datetime(2026, 11, 1)
    assert not pack.gate_history["passes"].any()


def test_rejected_samples_name_account_reason_comment_reviewer_and_subject(busy):
    pack = build_pack(busy.con, None, MONTH)
    assert pack.rejected_total == 2 and len(pack.rejected) == 2
    rejected = [k for k, d in busy.decided.items() if d == "rejected"]
    actions = store.actions(busy.con, busy.wf.name).set_index("action_key").loc[rejected]
    assert set(pack.rejected["account"]) == set(actions["account_name"])
    assert set(pack.rejected["draft subject"]) == set(actions["subject"])
    assert set(pack.rejected["reason"]) == {"tone", "wrong timing"}
    assert set(pack.rejected["comment"]) == {"Too blunt", "After the QBR"}
    assert set(pack.rejected["reviewer"]) == {"Dana"}


def test_the_rejected_sample_keeps_at_most_twenty(book_copy):
    _, con = book_copy
    v1 = versions.latest(con)
    assert v1 is not None
    change_mode(con, v1.workflow, "shadow", actor="Ana", reason="go", at=RUN_1)
    run_workflow(con, v1.workflow, 1, default_as_of(con), actor="Ana", at=RUN_1)
    queue = list(store.pending(con, v1.name)["action_key"])
    items = [DecisionInput(k, "rejected", reason="tone") for k in queue[:25]]
    record_decisions(con, v1.workflow, items, reviewer="Dana", at=RUN_1)
    pack = build_pack(con, None, MONTH)
    assert pack.rejected_total == 25 and len(pack.rejected) == 20


def test_outbox_counts_and_the_audit_chain(busy):
    pack = build_pack(busy.con, None, MONTH)
    assert pack.outbox.empty and "autonomous mode" in pack.notes["outbox"]
    assert pack.audit.ok and pack.audit.entries == len(audit.entries(busy.con))
    assert "audit" not in pack.notes


def test_a_tampered_audit_log_is_named_in_the_pack(busy):
    busy.con.execute("UPDATE wb.audit_log SET subject = 'edited' WHERE seq = 2")
    pack = build_pack(busy.con, None, MONTH)
    assert not pack.audit.ok
    assert len(pack.audit_problems) >= 1 and 2 in set(pack.audit_problems["entry"])
    assert "Audit log page" in pack.notes["audit"]


def test_outcomes_count_renewals_and_churn_by_decision(busy):
    con = busy.con
    acts = store.actions(con, busy.wf.name)
    approved = next(k for k, d in busy.decided.items() if d == "approved")
    rejected = next(k for k, d in busy.decided.items() if d == "rejected")
    account = dict(zip(acts["action_key"], acts["account_id"], strict=True))
    pending = next(
        k
        for k, a, s in zip(acts["action_key"], acts["account_id"], acts["status"], strict=True)
        if s == "pending" and a not in {account[approved], account[rejected]}
    )
    con.execute("DELETE FROM outcomes")
    planted = [
        (approved, 30, "Renewed"),
        (rejected, 20, "Churned"),
        (rejected, 400, "Renewed"),  # a later renewal: only the first one after counts
        (pending, 10, "Downgraded"),
        (pending, -30, "Churned"),  # before the actions: an outcome of none of them
    ]
    expected: Counter[tuple[str, str]] = Counter()
    for key, days, outcome in planted:
        mine = acts[acts["account_id"] == account[key]]
        when = mine["as_of"].max() + timedelta(days=days)
        con.execute(
            "INSERT INTO outcomes (account_id, renewal_date, outcome) VALUES (?, ?, ?)",
            [account[key], when, outcome],
        )
        if days in (30, 20, 10):  # the first outcome on or after every action of the account
            for status in mine["status"]:
                expected[(status, outcome_class(outcome))] += 1
    got = outcomes_so_far(con, busy.wf.name)
    assert got is not None
    table = got.set_index("decision")
    counted: Counter[tuple[str, str]] = Counter()
    for decision, row in table.iterrows():
        for column, cls in (
            ("renewed", "renewed"),
            ("churned", "churned"),
            ("other outcome", "other"),
        ):
            if row[column]:
                counted[(str(decision), cls)] += int(row[column])
    assert counted == expected
    assert expected[("approved", "renewed")] >= 1 and expected[("rejected", "churned")] >= 1
    assert expected[("pending", "other")] >= 1
    assert int(table["actions with an outcome"].sum()) == sum(expected.values())
    assert list(table.index) == [
        d for d in ("approved", "edited", "rejected", "pending") if d in table.index
    ]
    assert "outcomes" not in build_pack(con, None, MONTH).notes


def test_no_outcomes_yet_without_an_outcomes_table_or_matching_rows(busy):
    busy.con.execute("DELETE FROM outcomes")
    pack = build_pack(busy.con, None, MONTH)
    assert pack.outcomes.empty and pack.notes["outcomes"].startswith("No outcomes yet")
    busy.con.execute("DROP TABLE outcomes")
    assert outcomes_so_far(busy.con, busy.wf.name) is None
    assert "Import them on the Data page" in build_pack(busy.con, None, MONTH).notes["outcomes"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Renewed", "renewed"), ("renewal", "renewed"), ("Churned", "churned"), ("lost", "churned")]
    + [("Downgraded", "other"), (None, "other")],
)
def test_outcome_class(value, expected):
    assert outcome_class(value) == expected


# --- the experiment and its guardrails -------------------------------------------------


def test_the_pack_holds_the_running_experiment(busy):
    pack = build_pack(busy.con, None, MONTH)
    report = pack.experiment
    assert report is not None and report.experiment is not None
    assert report.workflow_name == busy.wf.name and len(report.frame) > 0
    figures = {f.label: f.value for f in pack.summary()}
    assert figures["Experiment"] == report.sentence()
    assert figures["Guardrails"] == pack.guardrail_sentence
    assert not pack.flagged and not pack.next_steps[0].startswith("Flagged")


@pytest.fixture
def breached(sample_copy: Workspace):
    """The broad scenario with an AI arm that renews far less often: (connection, workflow)."""
    build_broad(sample_copy, renew_rate={"control": 0.9, "csm": 0.9, "ai": 0.5})
    con = connect(sample_copy)
    v = versions.latest(con)
    assert v is not None
    yield con, v.workflow
    con.close()


def test_a_breached_guardrail_flags_the_pack_for_pause(breached):
    con, wf = breached
    pack = build_pack(con, None, month_of(date.today()))
    assert pack.flagged and pack.experiment is not None
    assert {b.baseline for b in pack.experiment.breaches} == {"control", "csm"}
    assert pack.next_steps[0].startswith(
        "Flagged for pause: the AI-handled arm is significantly worse than control and the "
        "CSM-handled arm on Renewed."
    )
    assert "Pause the workflow on the Governance page" in pack.next_steps[0]
    figures = {f.label: f.value for f in pack.summary()}
    assert figures["Guardrails"].startswith("Flagged for pause: Guardrail breached")
    # Once paused, the flag stays in the summary but no longer leads the next steps.
    change_mode(con, wf, "paused", actor="Ana", reason="AI arm renews far less often")
    paused = build_pack(con, None, month_of(date.today()))
    assert paused.flagged and paused.guardrail_sentence.startswith("Flagged for pause")
    assert not any(s.startswith("Flagged") for s in paused.next_steps)
    assert "The workflow is paused" in paused.next_steps[0]


def test_guardrail_flags_are_written_to_the_audit_log_once_with_their_numbers(breached):
    con, wf = breached
    pack = build_pack(con, None, month_of(date.today()))
    report = pack.experiment
    assert report is not None and report.analysis is not None
    assert record_flags(con, report, actor="Ana") == 2
    assert record_flags(con, report, actor="Ana") == 0  # the same data: nothing new
    assert record_flags(con, evaluate(con, wf), actor="Ana") == 0
    entries = audit.entries(con, kind="guardrail")
    assert len(entries) == 2 and set(entries["actor"]) == {"Ana"}
    renewed = report.analysis.metric("renewed")
    assert renewed is not None
    pair = renewed.pair("ai", "control")
    assert pair is not None and pair.comparison is not None
    detail = json.loads(next(d for d in entries["detail"] if '"baseline":"control"' in d))
    assert detail["flagged_for"] == "pause" and detail["n_t"] == pair.comparison.n_t
    assert detail["diff"] == pytest.approx(pair.comparison.diff, rel=1e-12)
    assert detail["p"] == pytest.approx(pair.comparison.p, abs=1e-300)
    stored = flags(con, wf.name)
    assert len(stored) == 2 and set(stored["baseline"]) == {"control", "csm"}
    assert audit.verify(con).ok
