"""Approval & gate flow: the verdict and metrics on reviewed actions, the refusal of autonomous
mode and the logged override, the confirmed change once the gate passes, and empty states."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.storage.workspace import Workspace, connect


def _copy(sample_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)  # no secrets.toml: the offline template drafter
    root = tmp_path / "ws"
    shutil.copytree(sample_root, root)
    return root


def _shadow_reviews(root: Path, weeks: int, reject_every: int) -> None:
    """Shadow mode, one run every five weeks (past the 30-day cooldown), every action decided:
    every Nth rejected as wrong timing, the first of each run approved after an edit."""
    from workbench.review import store
    from workbench.review.control import change_mode
    from workbench.review.decide import DecisionInput, record_decisions
    from workbench.review.runs import run_workflow
    from workbench.workflow.facts import default_as_of
    from workbench.workflow.store import latest

    con = connect(Workspace(root))
    try:
        version = latest(con)
        assert version is not None
        wf = version.workflow
        change_mode(con, wf, "shadow", actor="Lee", reason="shadow period")
        end = default_as_of(con)
        for week in range(weeks):
            as_of = end - timedelta(days=35 * (weeks - 1 - week))
            run_workflow(con, wf, version.version, as_of, actor="Lee")
            items = []
            for i, row in enumerate(store.pending(con, wf.name).itertuples()):
                if reject_every and i % reject_every == reject_every - 1:
                    items.append(DecisionInput(row.action_key, "rejected", reason="wrong_timing"))
                elif i == 0:
                    items.append(DecisionInput(row.action_key, "approved", subject="Edited"))
                else:
                    items.append(DecisionInput(row.action_key, "approved"))
            reviewer = "Ana" if week % 2 else "Ben"
            record_decisions(con, wf, items, reviewer=reviewer, source="simulated")
    finally:
        con.close()


@pytest.fixture
def reviewed_book(sample_root, tmp_path, monkeypatch) -> Path:
    """One shadow run, one in five rejected: not enough reviews for the gate."""
    root = _copy(sample_root, tmp_path, monkeypatch)
    _shadow_reviews(root, weeks=1, reject_every=5)
    return root


@pytest.fixture
def passing_book(sample_root, tmp_path, monkeypatch) -> Path:
    """Three shadow runs, everything approved: the gate passes."""
    root = _copy(sample_root, tmp_path, monkeypatch)
    _shadow_reviews(root, weeks=3, reject_every=0)
    return root


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception


def _has(elements, text: str) -> bool:
    return any(text in e.value for e in elements)


def _metrics(at: AppTest) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in at.metric:
        out.setdefault(m.label, m.value)  # the gate's figures come first
    return out


def _table(at: AppTest, *columns: str):
    """The first table holding all of ``columns``."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def _breakdown_tables(at: AppTest) -> list:
    columns = ["route", "segment", "action_type", "reviewer", "week"]
    return [_table(at, c, "as_is_rate") for c in columns]


def _db(root: Path, sql: str) -> list[tuple]:
    con = connect(Workspace(root))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_metrics_and_verdict_then_autonomous_refused_and_overridden(reviewed_book, open_app):
    at = open_app(reviewed_book, page="approval.py", sample=True)
    (reviewed, approved, automated) = _db(
        reviewed_book,
        "SELECT count(*), count(*) FILTER (WHERE decision <> 'rejected'), "
        "count(*) FILTER (WHERE a.route = 'automated') "
        "FROM wb.reviews JOIN wb.actions a USING (action_key)",
    )[0]
    assert automated < 30

    # The verdict in big text, with the numbers; the rule in words.
    verdict = at.warning[0].value
    assert verdict.startswith(f"### Not enough reviews: {automated} of at least 30 (")
    m = _metrics(at)
    assert m["Reviewed (automated)"] == str(automated)
    assert m["More reviews needed"] == f"about {30 - automated}"
    assert m["Target"] == "90%"
    assert _has(at.markdown, "lower bound of the 95% Wilson interval")

    # The metrics: overall, by breakdown with charts, reasons, edits.
    assert m["Reviewed (all routes)"] == str(reviewed)
    assert m["Rejected"] == str(reviewed - approved)
    assert m["Approved after edit"] == "1"
    assert [t.label for t in at.tabs][:5] == ["Route", "Segment", "Action type", "Reviewer", "Week"]
    by_route = _table(at, "route", "as_is_rate")
    assert by_route["reviewed"].sum() == reviewed
    charts = list(at.get("vega_lite_chart"))
    assert len(charts) >= 5 * 2 + 3  # rate and mix per breakdown, reasons, edits, gate history
    assert m["Edited drafts"] == "1"
    assert [d.label for d in at.download_button] == [
        ":material/download: CSV",
        ":material/download: XLSX",
    ]
    at.download_button[1].click().run()  # the download is noted in the audit log
    _ok(at)
    (export,) = _db(reviewed_book, "SELECT subject, detail FROM wb.audit_log WHERE kind = 'export'")
    assert export[0].endswith(": approval-approval-v1.xlsx")
    assert f'"rows":{1 + sum(len(t) for t in _breakdown_tables(at))}' in export[1]

    # Autonomous without the gate: refused, with the reason in words.
    at.selectbox(key="ap:target").set_value("autonomous").run()
    _ok(at)
    assert _has(at.warning, "The gate does not pass (not enough reviews")
    at.text_input(key="ap:name").set_value("Dana")
    at.text_input(key="ap:reason").set_value("Pilot with the CS lead's approval")
    at.button(key="ap:change").click().run()
    _ok(at)
    assert _has(at.error, "Autonomous mode is refused: the autonomy gate does not pass")
    assert _db(reviewed_book, "SELECT count(*) FROM wb.mode_changes")[0][0] == 1

    # The override: ticked, confirmed, logged.
    at.checkbox(key="ap:override").check()
    at.button(key="ap:change").click().run()
    _ok(at)
    assert _has(at.warning, "**You are overriding the gate**")
    assert _db(reviewed_book, "SELECT count(*) FROM wb.mode_changes")[0][0] == 1  # not yet
    at.button(key="ap:confirm").click().run()
    _ok(at)
    assert _has(at.toast, "Dana moved the workflow from shadow to autonomous (gate overridden)")
    assert _has(at.success, "mode: autonomous")
    last = _db(
        reviewed_book,
        "SELECT to_mode, actor, reason, override FROM wb.mode_changes ORDER BY seq DESC LIMIT 1",
    )[0]
    assert last == ("autonomous", "Dana", "Pilot with the CS lead's approval", True)
    overrides = _db(reviewed_book, "SELECT actor, detail FROM wb.audit_log WHERE kind = 'override'")
    assert len(overrides) == 1 and overrides[0][0] == "Dana"
    assert "Pilot with the CS lead's approval" in overrides[0][1]
    history = _table(at, "to_mode", "override")
    assert list(history["to_mode"]) == ["shadow", "autonomous"]
    assert list(history["override"]) == [False, True]


def test_gate_passes_and_autonomous_asks_to_confirm(passing_book, open_app):
    at = open_app(passing_book, page="approval.py", sample=True)
    assert at.success[0].value.startswith("### ") and at.success[0].value.endswith(": passes")
    assert at.selectbox(key="ap:target").value == "autonomous"  # the next step comes first
    assert _has(at.success, "The gate passes:")
    assert not any(c.key == "ap:override" for c in at.checkbox)
    at.text_input(key="ap:name").set_value("Dana")
    at.text_input(key="ap:reason").set_value("Three weeks above the bar")
    at.button(key="ap:change").click().run()
    _ok(at)
    assert _has(at.warning, "**Go autonomous?**")
    assert not _has(at.warning, "overriding")
    at.button(key="ap:cancel").click().run()  # cancel: nothing changes, the reason is kept
    _ok(at)
    assert _db(passing_book, "SELECT max(seq) FROM wb.mode_changes")[0][0] == 1
    assert at.text_input(key="ap:reason").value == "Three weeks above the bar"
    at.button(key="ap:change").click().run()
    _ok(at)
    at.button(key="ap:confirm").click().run()
    _ok(at)
    last = _db(
        passing_book, "SELECT to_mode, override FROM wb.mode_changes ORDER BY seq DESC LIMIT 1"
    )[0]
    assert last == ("autonomous", False)
    assert _db(passing_book, "SELECT count(*) FROM wb.audit_log WHERE kind = 'override'")[0][0] == 0
    weeks = _table(at, "week", "as_is_rate")
    assert len(weeks) >= 1


def test_no_reviews_yet_points_to_review(sample_root, tmp_path, monkeypatch, open_app):
    root = _copy(sample_root, tmp_path, monkeypatch)
    at = open_app(root, page="approval.py", sample=True)
    assert at.warning[0].value == "### Not enough reviews: 0 of at least 30"
    assert _has(at.info, "**No reviews yet.**")
    assert any(p.label == "Go to Review" for p in at.get("page_link"))
    assert _has(at.info, "mode: draft")
    options = at.selectbox(key="ap:target").options
    assert [o.split(":")[0] for o in options] == ["shadow"]  # from draft, only shadow
    assert not at.download_button


def test_approval_page_on_an_empty_workspace(tmp_path, open_app):
    at = open_app(tmp_path / "empty", page="approval.py")
    assert _has(at.info, "**No workflow yet.**")
