"""The preview: counts, caps, assignment, near misses, snapshots, and account-column clashes."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.errors import WorkflowInvalid
from workbench.ingest.sample import reset_to_sample
from workbench.storage.sql import Params
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.compiler import evaluation
from workbench.workflow.conditions import decide
from workbench.workflow.facts import build_facts, default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import (
    UNASSIGNED,
    build_preview,
    diff_since_refresh,
    margin,
    preview,
    record_snapshot,
)


@pytest.fixture
def scratch(tmp_path):
    """A sample workspace the test may change."""
    con = connect(Workspace(tmp_path / "ws"))
    reset_to_sample(con)
    yield con
    con.close()


def wf_with(**guardrails):
    wf = parse_workflow(default_workflow_text())
    return wf.model_copy(update={"guardrails": wf.guardrails.model_copy(update=guardrails)})


def test_preview_counts_are_the_evaluation_counts(sample):
    wf = parse_workflow(default_workflow_text())
    as_of = default_as_of(sample)
    with evaluation(sample, wf, as_of) as ev:
        rows = ev.frame()
        pv = build_preview(ev)
    fired = rows[rows["fires"]]
    assert len(pv.fired) == len(fired) > 0
    assert pv.eligible == int(rows["in_scope"].sum()) and pv.accounts == len(rows)
    assert pv.arr_covered == pytest.approx(fired["arr"].sum())
    assert pv.by_route.set_index("route")["accounts"].to_dict() == (
        fired["route"].value_counts().to_dict()
    )
    assert pv.by_segment["accounts"].sum() == len(fired)
    assert all(" · " in r or ":" in r for r in pv.fired["reasons"])
    assert f"fires on {len(fired)} of {pv.eligible:,}" in pv.headline()


def test_round_robin_counts_escalations_on_the_same_csm_first(sample):
    wf = parse_workflow(default_workflow_text())
    pv = preview(sample, wf, default_as_of(sample))
    per = min(wf.action.capacity_per_week, wf.guardrails.max_per_csm_per_week)
    load = pv.load.set_index("person")
    assigned = 0
    for csm in wf.action.csms:
        if csm in load.index:
            auto, esc = load.loc[csm, "automated"], load.loc[csm, "escalated"]
            assert auto == 0 or auto + esc <= per, (csm, auto, esc)
            assigned += auto
    assert assigned > 0
    auto = pv.fired[pv.fired["route"] == "automated"]
    assert set(auto["assignee"]) <= {*wf.action.csms, UNASSIGNED}


def test_caps_flag_a_run_over_the_cap_and_mark_what_waits(sample):
    pv = preview(sample, wf_with(max_actions_per_run=10), default_as_of(sample))
    cap = next(c for c in pv.caps if c.name == "Actions per run")
    assert not cap.ok and f"the {len(pv.fired) - 10} lowest-priority wait" in cap.sentence
    assert pv.fired["within_cap"].sum() == 10
    assert pv.fired.loc[pv.fired["within_cap"], "priority"].max() == 10


def test_near_misses_miss_one_condition_by_at_most_its_margin(sample):
    wf = parse_workflow(default_workflow_text())
    with evaluation(sample, wf, default_as_of(sample)) as ev:
        pv = build_preview(ev)
        rows = ev.frame().set_index("account_id")
        conds = {c.id: c for c in ev.compiled.conditions}
    near = pv.near_misses
    assert len(near) > 0
    assert not set(near["account_id"]) & set(pv.fired["account_id"])
    for r in near.itertuples():
        c = conds[r.condition]
        assert 0 <= r.gap <= margin(c)
        assert not decide(c.condition, rows.loc[r.account_id, f"v__{c.id}"])
        assert rows.loc[r.account_id, "in_scope"]


def test_snapshots_give_the_change_since_the_previous_data(scratch):
    wf = parse_workflow(default_workflow_text())
    pv = preview(scratch, wf, default_as_of(scratch))
    assert diff_since_refresh(scratch, wf, "v1", pv) is None
    older = dataclasses.replace(pv, fired=pv.fired.iloc[3:])  # three fewer before
    record_snapshot(scratch, wf, "v1", older)
    record_snapshot(scratch, wf, "v1", older)  # idempotent
    diff = diff_since_refresh(scratch, wf, "v2", pv)
    assert diff is not None and len(diff.added) == 3 and not diff.removed
    assert diff.sentence().startswith("+3 accounts, -0 compared with the previous data")


def test_an_imported_health_score_column_does_not_replace_the_computed_one(scratch):
    wf = parse_workflow(default_workflow_text())
    before = len(preview(scratch, wf, default_as_of(scratch)).fired)
    scratch.execute("ALTER TABLE accounts ADD COLUMN health_score DOUBLE DEFAULT 99")
    scratch.execute("ALTER TABLE accounts ADD COLUMN route VARCHAR DEFAULT 'x'")
    facts = {f.name for f in build_facts(scratch, Params()).facts}
    assert {"accounts_health_score", "accounts_route"} <= facts
    assert len(preview(scratch, wf, default_as_of(scratch)).fired) == before


def test_timestamp_account_columns_compare_as_dates(scratch):
    scratch.execute("ALTER TABLE accounts ADD COLUMN last_qbr TIMESTAMP")
    scratch.execute("UPDATE accounts SET last_qbr = TIMESTAMP '2026-06-01 10:30'")
    text = default_workflow_text().replace(
        "{id: renews_soon, fact: renewal_date, op: within_days, days: 90}",
        "{id: qbr, fact: last_qbr, op: le, value: 2026-06-01}",
    )
    with evaluation(scratch, parse_workflow(text), default_as_of(scratch)) as ev:
        rows = ev.frame()
    c = parse_workflow(text).conditions.items[1]
    assert rows["ok__qbr"].all()
    assert all(decide(c, v) for v in rows["v__qbr"])


@pytest.mark.parametrize("ids", [("High", "high"), ("Esc0_0", None), ("SCOPE_1", None)])
def test_condition_ids_ignore_case_and_reserved_names(ids):
    a, b = ids
    text = default_workflow_text().replace("id: health_below", f"id: {a}")
    if b:
        text = text.replace("id: renews_soon", f"id: {b}")
    with pytest.raises(WorkflowInvalid) as exc:
        parse_workflow(text)
    assert "id" in str(exc.value)
