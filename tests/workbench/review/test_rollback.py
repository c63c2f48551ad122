"""The rollback plan (which version to return to) and the all-or-nothing rollback."""

from __future__ import annotations

import duckdb
import pytest

from tests.workbench.review.shadow_month import MONTH, RUN_1, RUN_2
from workbench import audit
from workbench.errors import NotFound, WorkbenchError
from workbench.review import store
from workbench.review.control import change_mode, current_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.governance import build_pack
from workbench.review.rollback import rollback
from workbench.review.runs import run_workflow
from workbench.workflow import store as versions
from workbench.workflow.facts import default_as_of

# --- the rollback plan -----------------------------------------------------------------


def test_the_plan_falls_back_to_the_previous_version(busy):
    plan = build_pack(busy.con, None, MONTH).rollback
    assert (plan.current, plan.target) == (2, 1)
    assert "No earlier version ran with the gate passing" in plan.why
    assert [n for n, _ in plan.choices] == [1]
    text = " ".join(plan.steps)
    for words in (
        "as v3",
        "nothing is deleted",
        "rolled back",
        "Pending actions stay",
        "Shadow mode must start again",
    ):
        assert words in text


def test_the_plan_prefers_the_latest_version_that_ran_with_the_gate_passing(book_copy):
    _, con = book_copy
    v1 = versions.latest(con)
    assert v1 is not None
    lenient = v1.yaml.replace("min_reviews: 30", "min_reviews: 1").replace(
        "rule: wilson_lower", "rule: point"
    )
    v2 = versions.save_version(con, lenient, "Ana", "Lenient gate")
    wf = v2.workflow
    change_mode(con, wf, "shadow", actor="Ana", reason="go", at=RUN_1)
    run_workflow(con, wf, 2, default_as_of(con), actor="Ana", at=RUN_1)
    auto = store.pending(con, wf.name)
    auto = auto[auto["route"] == "automated"]["action_key"]
    record_decisions(
        con, wf, [DecisionInput(k, "approved") for k in auto], reviewer="Dana", at=RUN_1
    )
    run_workflow(con, wf, 2, default_as_of(con), actor="Ana", at=RUN_2)  # the gate passes here
    versions.save_version(con, lenient.replace("value: 60", "value: 55"), "Ana", "v3")
    versions.save_version(con, lenient.replace("value: 60", "value: 50"), "Ana", "v4")
    plan = build_pack(con, None, MONTH).rollback
    assert (plan.current, plan.target) == (4, 2)
    assert "v2 is the latest earlier version that ran" in plan.why
    assert [n for n, _ in plan.choices] == [3, 2, 1]


# --- rollback --------------------------------------------------------------------------


def _state(con: duckdb.DuckDBPyConnection, name: str):
    return (
        [(v.version, v.sha256) for v in versions.list_versions(con, name)],
        store.mode_changes(con, name).to_dict("records"),
        len(audit.entries(con)),
        audit.head(con),
        len(store.pending(con, name)),
    )


def test_rollback_restores_sets_rolled_back_and_logs_it_in_one_go(busy):
    con, name = busy.con, busy.wf.name
    pending = len(store.pending(con, name))
    v1 = versions.get_version(con, name, 1)
    result = rollback(con, name, 1, actor="Ana", reason="55 sent too many accounts")
    assert (result.from_version, result.restored, result.new_version) == (2, 1, 3)
    assert (result.mode_before, result.mode_after) == ("shadow", "rolled_back")
    assert "back to v1" in result.sentence() and "v3" in result.sentence()
    v3 = versions.latest(con, name)
    assert v3 is not None and v3.version == 3 and v3.sha256 == v1.sha256
    assert v3.author == "Ana" and "55 sent too many accounts" in v3.reason
    assert [v.version for v in versions.list_versions(con, name)] == [3, 2, 1]  # nothing deleted
    assert current_mode(con, name) == "rolled_back"
    change = store.mode_changes(con, name).iloc[-1]
    assert (change["from_mode"], change["to_mode"], change["actor"]) == (
        "shadow",
        "rolled_back",
        "Ana",
    )
    assert int(change["workflow_version"]) == 3
    log = audit.entries(con)
    last = log.iloc[-1]
    assert last["kind"] == "rollback" and int(last["seq"]) == result.audit_seq
    assert '"restored_version":1' in last["detail"] and '"new_version":3' in last["detail"]
    assert list(log["kind"].iloc[-2:]) == ["mode_change", "rollback"]
    assert audit.verify(con).ok
    assert len(store.pending(con, name)) == pending  # pending actions stay reviewable
    pack = build_pack(con, None, MONTH)
    assert pack.mode == "rolled_back" and "start shadow mode again" in pack.next_steps[0]


def test_a_failure_leaves_versions_modes_and_audit_unchanged(busy, monkeypatch):
    con, name = busy.con, busy.wf.name
    before = _state(con, name)
    real = audit.record

    def failing(con_, kind, *args, **kwargs):
        if kind == "rollback":
            raise RuntimeError("disk full")
        return real(con_, kind, *args, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        rollback(con, name, 1, actor="Ana", reason="undo")
    monkeypatch.undo()
    assert _state(con, name) == before
    assert current_mode(con, name) == "shadow"
    assert audit.verify(con).ok
    # And the connection is usable: the same rollback then succeeds.
    assert rollback(con, name, 1, actor="Ana", reason="undo").new_version == 3


def test_in_draft_mode_rollback_restores_and_records_without_a_mode_change(book_copy):
    _, con = book_copy
    v1 = versions.latest(con)
    assert v1 is not None
    versions.save_version(con, v1.yaml.replace("value: 60", "value: 55"), "Ana", "55")
    result = rollback(con, v1.name, 1, actor="Ana", reason="back")
    assert (result.mode_before, result.mode_after, result.new_version) == ("draft", "draft", 3)
    assert current_mode(con, v1.name) == "draft" and store.mode_changes(con, v1.name).empty
    assert audit.entries(con).iloc[-1]["kind"] == "rollback"
    assert "mode stays draft" in result.sentence()


def test_a_second_rollback_keeps_the_rolled_back_mode(busy):
    con, name = busy.con, busy.wf.name
    rollback(con, name, 1, actor="Ana", reason="undo")
    again = rollback(con, name, 2, actor="Ana", reason="redo")
    assert (again.mode_before, again.mode_after, again.new_version) == (
        "rolled_back",
        "rolled_back",
        4,
    )
    assert len(store.mode_changes(con, name)) == 2


@pytest.mark.parametrize(
    ("version", "actor", "reason", "words"),
    [
        (2, "Ana", "x", "v2 is the current version"),
        (9, "Ana", "x", "has no version 9"),
        (1, " ", "x", "Say who is rolling back"),
        (1, "Ana", " ", "Say why the workflow is rolled back"),
    ],
)
def test_rollback_refusals_change_nothing(busy, version, actor, reason, words):
    before = _state(busy.con, busy.wf.name)
    with pytest.raises(WorkbenchError, match=words):
        rollback(busy.con, busy.wf.name, version, actor=actor, reason=reason)
    assert _state(busy.con, busy.wf.name) == before


def test_rollback_to_a_version_with_the_current_content_is_refused(busy):
    rollback(busy.con, busy.wf.name, 1, actor="Ana", reason="undo")  # v3 = v1's content
    with pytest.raises(WorkbenchError, match="same content as the current v3"):
        rollback(busy.con, busy.wf.name, 1, actor="Ana", reason="again")
    assert build_pack(busy.con, None, MONTH).rollback.choices == (
        (2, versions.get_version(busy.con, busy.wf.name, 2).label),
    )


def test_rollback_of_an_unknown_workflow(busy):
    with pytest.raises(NotFound, match="No workflow named 'nope'"):
        rollback(busy.con, "nope", 1, actor="Ana", reason="x")


def test_rollback_mirrors_the_new_version_to_files(book_copy):
    ws, con = book_copy
    v1 = versions.latest(con)
    assert v1 is not None
    versions.save_version(con, v1.yaml.replace("value: 60", "value: 55"), "Ana", "55")
    rollback(con, v1.name, 1, actor="Ana", reason="back", workspace=ws)
    current = ws.root / "workflows" / versions.slug(v1.name) / "current.yaml"
    assert current.read_text().rstrip("\n") == v1.yaml.rstrip("\n")
