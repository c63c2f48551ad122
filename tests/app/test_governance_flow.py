"""Governance page flow: an empty workspace, a busy one, a tampered audit log, a rollback, and
the guardrails: clear, or breached and paused from the page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.experiment_scenarios import build_broad
from workbench import audit
from workbench.experiment.guardrail import flags
from workbench.review import store
from workbench.review.control import change_mode, current_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.runs import run_workflow
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store as versions
from workbench.workflow.facts import default_as_of

NAME = "Senior CSM for at-risk renewals"


@pytest.fixture
def busy_ws(sample_copy: Workspace) -> Path:
    """The sample book in shadow mode: two weekly runs, some decisions, a second version."""
    ws = sample_copy
    con = connect(ws)
    v1 = versions.latest(con)
    assert v1 is not None
    wf = v1.workflow
    change_mode(con, wf, "shadow", actor="Ana", reason="Start the shadow period")
    as_of = default_as_of(con)
    run_workflow(con, wf, 1, as_of - timedelta(days=7), actor="Ana")
    queue = list(store.pending(con, wf.name)["action_key"])
    items = [
        DecisionInput(queue[0], "approved"),
        DecisionInput(queue[1], "approved"),
        DecisionInput(queue[2], "approved", subject="A shorter subject"),
        DecisionInput(queue[3], "rejected", reason="tone", comment="Too blunt"),
    ]
    record_decisions(con, wf, items, reviewer="Dana")
    run_workflow(con, wf, 1, as_of, actor="Ana")
    versions.save_version(con, v1.yaml.replace("value: 60", "value: 55"), "Ana", "Threshold 55")
    con.close()
    return ws.root


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_governance_page_on_an_empty_workspace(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "governance.py")
    assert at.title[0].value == "Governance"
    info = _texts(at.info)
    assert "No workflow yet, so there is nothing to govern" in info
    assert "playbook example on the Workflow page" in info
    assert "Start shadow mode" in info
    assert any(p.proto.label == "Go to Workflow" for p in at.get("page_link"))
    assert "The audit log is intact" in _texts(at.success)
    assert any(s.value == "Monthly review pack" for s in at.subheader)
    assert not at.metric and not at.button  # nothing to roll back


def test_governance_page_on_a_busy_workspace(busy_ws, open_app):
    at = open_app(busy_ws, "governance.py")
    metrics = _metrics(at)
    month = at.selectbox(key="gov:month").value
    assert metrics["Workflow version"] == "v2" and metrics["Mode now"] == "shadow"
    assert metrics[f"Runs in {month}"] == "2" and metrics[f"Decisions in {month}"] == "4"
    assert "Autonomy gate:** not enough reviews" in _texts(at.warning)
    assert "The audit log is intact" in _texts(at.success)
    assert len(at.get("vega_lite_chart")) == 2  # runs and approval over time
    counts = next(d.value for d in at.dataframe if "count" in d.value.columns)
    assert dict(zip(counts["what"], counts["count"], strict=True))["Runs in the month"] == 2
    markdown = _texts(at.markdown)
    assert "No earlier version ran with the gate passing" in markdown
    assert "nothing is deleted" in markdown
    assert at.selectbox(key="gov:version").value == 1  # the plan's suggestion
    assert any(s.value == "Guardrails" for s in at.subheader)
    assert not any(b.proto.label == "Pause the workflow" for b in at.button)


def test_a_tampered_audit_log_is_named_in_red_with_a_way_to_the_log(busy_ws, open_app):
    con = connect(Workspace(busy_ws))
    con.execute("UPDATE wb.audit_log SET actor = 'Mallory' WHERE seq = 3")
    con.close()
    at = open_app(busy_ws, "governance.py")
    assert "The audit log is not intact" in _texts(at.error)
    assert ":red[entry 3:" in _texts(at.markdown)
    assert any(p.proto.label == "Open the Audit log" for p in at.get("page_link"))


def test_rollback_from_the_page_asks_for_confirmation_and_is_recorded(busy_ws, open_app):
    at = open_app(busy_ws, "governance.py")
    # Without a name and a reason nothing happens.
    at.button(key="gov:rollback").click().run()
    assert "Fill in your name and the reason first" in _texts(at.error)

    at.text_input(key="gov:actor").set_value("Ana")
    at.text_input(key="gov:reason").set_value("55 sends too many accounts to the team")
    at.button(key="gov:rollback").click().run()
    assert not at.exception, at.exception
    assert "back to **v1**? Its content is saved as v3" in _texts(at.warning)
    # Cancelling leaves everything as it was.
    at.button(key="gov:confirm-no").click().run()
    assert "Its content is saved as v3" not in _texts(at.warning)
    assert _metrics(at)["Workflow version"] == "v2"

    at.button(key="gov:rollback").click().run()
    at.button(key="gov:confirm-yes").click().run()
    assert not at.exception, at.exception
    assert "Rolled back to v1" in [t.value for t in at.toast]
    assert "its content is now v3" in _texts(at.success)
    assert _metrics(at)["Workflow version"] == "v3"
    assert _metrics(at)["Mode now"] == "rolled back"
    assert "start shadow mode again" in _texts(at.markdown)

    con = connect(Workspace(busy_ws))
    try:
        v1 = versions.get_version(con, NAME, 1)
        v3 = versions.latest(con, NAME)
        assert v3 is not None and v3.version == 3 and v3.sha256 == v1.sha256
        assert v3.author == "Ana" and "55 sends too many accounts" in v3.reason
        assert current_mode(con, NAME) == "rolled_back"
        last = store.mode_changes(con, NAME).iloc[-1]
        assert (last["from_mode"], last["to_mode"], last["actor"]) == (
            "shadow",
            "rolled_back",
            "Ana",
        )
        entries = audit.entries(con, kind="rollback")
        assert len(entries) == 1 and entries.iloc[0]["actor"] == "Ana"
        assert '"new_version":3' in entries.iloc[0]["detail"]
        assert audit.verify(con).ok
    finally:
        con.close()


# --- guardrails ------------------------------------------------------------------------


def _downloads(at: AppTest) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def test_clear_guardrails_are_one_green_line_with_a_way_to_the_outcomes(sample_copy, open_app):
    build_broad(sample_copy)
    at = open_app(sample_copy.root, "governance.py")
    success = _texts(at.success)
    assert "Experiment 1 of" in success and "Guardrails: clear" in success
    assert not at.error
    labels = [p.proto.label for p in at.get("page_link")]
    assert "Open the Outcomes page" in labels or "experiment report below" in _texts(at.caption)
    assert "Download the experiment report (xlsx)" in _downloads(at)
    assert "Download the experiment report (HTML)" in _downloads(at)
    assert any(e.proto.label.startswith("Every guardrail flag so far (0)") for e in at.expander)


def test_a_breached_guardrail_is_flagged_and_the_workflow_paused_from_the_page(
    sample_copy, open_app
):
    build_broad(sample_copy, renew_rate={"control": 0.9, "csm": 0.9, "ai": 0.5})
    at = open_app(sample_copy.root, "governance.py")
    error = _texts(at.error)
    assert "**Flagged for pause.**" in error
    assert "significantly worse on a guardrail metric" in error
    assert "Renewed: AI-handled 50.8% (533 accounts) vs control" in error
    assert "vs CSM-handled" in error
    assert error.count("AI-handled 50.8%") == 2  # each breach once: against control and CSM
    steps = _texts(at.markdown)
    assert "Flagged for pause" in steps  # the next steps lead with it
    assert "Pause the workflow under Guardrails below" in steps  # not "on the Governance page"
    assert any(e.proto.label.startswith("Every guardrail flag so far (2)") for e in at.expander)

    # Without a reason and the ticked box nothing happens.
    at.button(key="gov:pause").click().run()
    assert (
        "Not paused yet: fill in your name and the reason, then tick the box to confirm."
        in _texts(at.error)
    )
    at.text_input(key="gov:pause-actor").set_value("Ana")
    at.button(key="gov:pause").click().run()
    assert "Not paused yet: fill in the reason, then tick the box to confirm." in _texts(at.error)
    at.text_input(key="gov:pause-reason").set_value("AI arm renews far less often")
    at.button(key="gov:pause").click().run()
    assert "Not paused yet: tick the box to confirm." in _texts(at.error)
    con = connect(sample_copy)
    try:
        assert current_mode(con, NAME) == "shadow"  # nothing changed
    finally:
        con.close()

    at.checkbox(key="gov:pause-sure").check()
    at.button(key="gov:pause").click().run()
    assert not at.exception, at.exception
    assert "Workflow paused" in [t.value for t in at.toast]
    assert "is paused (by Ana: AI arm renews far less often)" in _texts(at.success)
    assert _metrics(at)["Mode now"] == "paused"
    # The flag now says who paused it, and the pause form is gone.
    warning = _texts(at.warning)
    assert "**Flagged for pause, and paused by Ana on " in warning
    assert "(AI arm renews far less often).**" in warning and "before resuming" in warning
    assert "**Flagged for pause.**" not in _texts(at.error)
    assert not [b for b in at.button if b.key == "gov:pause"]
    assert "Pause the workflow under Guardrails below" not in _texts(at.markdown)

    con = connect(sample_copy)
    try:
        assert current_mode(con, NAME) == "paused"
        last = store.mode_changes(con, NAME).iloc[-1]
        assert (last["from_mode"], last["to_mode"], last["actor"]) == ("shadow", "paused", "Ana")
        assert last["reason"] == "AI arm renews far less often"
        # The flags were written once, however often the page ran.
        assert len(audit.entries(con, kind="guardrail")) == 2 and len(flags(con, NAME)) == 2
        assert len(audit.entries(con, kind="mode_change")) >= 2
        assert audit.verify(con).ok
    finally:
        con.close()
