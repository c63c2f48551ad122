"""Outcomes flow: the empty states, an underpowered shadow period, an adequate experiment with
a real AI effect (segment filter, metric filter, power calculator, downloads), a planted
sample ratio mismatch and a guardrail breach flagged for pause."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.experiment_scenarios import add_outcomes, build_small, run_broad
from workbench.experiment import wording
from workbench.experiment.evaluate import ExperimentReport, evaluate
from workbench.experiment.power import required_n_binary
from workbench.review.control import change_mode
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.store import latest

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/outcomes.py"


# --- workspaces, built once per module ---------------------------------------------------


def _no_recent_outcomes(root: Path) -> None:
    """Replace the sample book's renewal outcomes with one from long before any assignment."""
    from workbench.ingest.pipeline import ImportOptions, import_file

    path = root / "old_outcomes.csv"
    path.write_text(
        "Account ID,Renewal Date,Outcome,ARR Before,ARR After,Expansion ARR,Churn Reason\n"
        "ACC-00001,2020-01-15,Renewed,10000,10000,0,\n"
    )
    con = connect(Workspace(root))
    try:
        import_file(con, path, ImportOptions(kind="outcomes", mode="replace", actor="tester"))
    finally:
        con.close()


@pytest.fixture(scope="module")
def prepared(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Closed workspace folders: small, assigned (no outcomes), adequate, srm, breach."""

    base = tmp_path_factory.mktemp("outcomes")
    out = {name: base / name for name in ("small", "assigned", "adequate", "srm", "breach")}
    shutil.copytree(sample_root, out["small"])
    build_small(out["small"])

    shutil.copytree(sample_root, out["assigned"])
    run_broad(out["assigned"])
    _no_recent_outcomes(out["assigned"])
    for name in ("adequate", "srm", "breach"):
        shutil.copytree(out["assigned"], out[name])
    add_outcomes(out["adequate"])
    add_outcomes(out["srm"], drop_control_share=0.6)
    add_outcomes(out["breach"], renew_rate={"control": 0.85, "csm": 0.85, "ai": 0.6})
    return out


@pytest.fixture
def workspace(prepared, sample_root, tmp_path, monkeypatch):
    """workspace(name) -> a fresh copy of a prepared folder (``empty``: the sample book)."""

    def _copy(name: str) -> Path:
        source = sample_root if name == "empty" else prepared[name]
        return Path(shutil.copytree(source, tmp_path / name))

    return _copy


# --- helpers -----------------------------------------------------------------------------


def _open(root: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(root))
    monkeypatch.setenv("WORKBENCH_NO_SAMPLE", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    at.switch_page(PAGE)
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception


def _texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def _has(elements, text: str) -> bool:
    return any(text in t for t in _texts(elements))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _report(root: Path, segment: str | None = None) -> ExperimentReport:
    from workbench.workflow.store import latest

    con = connect(Workspace(root))
    try:
        v = latest(con)
        assert v is not None
        return evaluate(con, v.workflow, segment=segment)
    finally:
        con.close()


def _pair_table(at: AppTest, index: int = 0):
    return [d.value for d in at.dataframe if "Difference" in d.value.columns][index]


def _page_links(at: AppTest) -> list[str]:
    return [e.proto.page for e in at.get("page_link")]


def _db(root: Path, sql: str) -> list[tuple]:
    con = connect(Workspace(root))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- tests -------------------------------------------------------------------------------


def test_no_experiment_says_what_to_do_next(workspace, monkeypatch):
    at = _open(workspace("empty"), monkeypatch)
    assert at.title[0].value == "Outcomes"
    assert _has(at.markdown, "without accounts left alone you can neither prove nor disprove")
    assert _has(at.info, "has no experiment yet")
    assert _has(at.info, "Start shadow mode and run it on the Review page")
    assert any(p == "review" for p in _page_links(at))
    assert not at.metric and not at.multiselect


def test_assigned_without_outcomes_points_to_the_import(workspace, monkeypatch):
    root = workspace("assigned")
    at = _open(root, monkeypatch)
    report = _report(root)
    assert _has(at.markdown, report.sentence())
    assert _has(at.info, "none has an outcome yet")
    assert any(c.value == "workbench outcomes import FILE" for c in at.code)
    assert any(p == "data" for p in _page_links(at))
    counts = report.arm_counts()
    assert _metrics(at)["Control"] == f"{counts['control']:,}"
    # Planning before the first outcome: the accounts a 5-point change needs.
    need = required_n_binary(0.7, 0.05)
    assert _metrics(at)["Needed per arm"] == f"{need.n:,}"
    assert not at.multiselect  # no results to filter yet


def test_small_shadow_period_is_underpowered_in_words(workspace, monkeypatch):
    root = workspace("small")
    at = _open(root, monkeypatch)
    report = _report(root)
    assert report.analysis is not None
    renewed = report.analysis.metric("renewed")
    assert renewed is not None and renewed.underpowered
    assert _has(at.info, "Renewed: AI-handled")
    assert _has(at.info, "this experiment is underpowered")
    counts = report.arm_counts()
    m = _metrics(at)
    assert (m["AI-handled"], m["CSM-handled"], m["Control"]) == tuple(
        f"{counts[a]:,}" for a in ("ai", "csm", "control")
    )
    c = renewed.pair("ai", "control").comparison
    row = _pair_table(at).iloc[0]
    assert row["Pair"] == "AI-handled vs control"
    assert row["Treatment"] == wording.value(c.value_t, "rate")
    assert row["Baseline"] == wording.value(c.value_b, "rate")
    assert row["Difference"] == wording.diff(c.diff, "rate")
    assert row["Accounts"] == f"{c.n_t:,} vs {c.n_b:,}"
    assert len(list(at.get("vega_lite_chart"))) >= 4  # difference and weekly per metric


def test_adequate_experiment_shows_a_real_improvement(workspace, monkeypatch):
    root = workspace("adequate")
    at = _open(root, monkeypatch)
    verdict = next(t for t in _texts(at.success) if t.startswith("Renewed: AI-handled"))
    assert "— a real improvement." in verdict
    assert _has(at.caption, "The split of accounts matches the plan")
    assert not at.error
    assert [t.value for t in at.markdown if t.value.startswith("#### ")] == [
        "#### Renewed",
        "#### Expansion ARR",
    ]
    adjusted = next(d.value for d in at.dataframe if "Odds ratio" in d.value.columns)
    assert list(adjusted["Pair"])[0] == "AI-handled vs control"

    # The power calculator: the required accounts in words and as a figure.
    report = _report(root)
    control = report.analysis.metric("renewed").arm("control").mean
    need = required_n_binary(control, 0.05)
    assert _metrics(at)["Needed per arm"] == f"{need.n:,}"
    assert _has(at.warning, f"To detect 5 points you need {need.n:,} accounts per arm")
    at.number_input(key="oc:pw-mde:renewed").set_value(10.0).run()
    _ok(at)
    need10 = required_n_binary(control, 0.10)
    assert _metrics(at)["Needed per arm"] == f"{need10.n:,}"
    # A continuous metric: a change of nothing is refused in words, not replaced silently.
    at.selectbox(key="oc:pw-metric").set_value("expansion_arr").run()
    _ok(at)
    at.number_input(key="oc:pw-mde:expansion_arr:ai:control").set_value(0.0).run()
    _ok(at)
    assert _has(at.info, "Enter the change worth detecting (above zero)")
    assert "Needed per arm" not in _metrics(at)
    at.selectbox(key="oc:pw-metric").set_value("renewed").run()

    # A segment: the figures are the segment's, guardrails stay on the whole experiment.
    segment = report.segments[-1]
    at.selectbox(key="oc:segment").set_value(segment).run()
    _ok(at)
    assert _has(at.caption, "Guardrails are judged on the whole experiment")
    seg = _report(root, segment).analysis.metric("renewed").pair("ai", "control").comparison
    assert _pair_table(at).iloc[0]["Accounts"] == f"{seg.n_t:,} vs {seg.n_b:,}"

    # Fewer metrics: the guardrail (renewed) stays.
    at.multiselect(key="oc:metrics").set_value(["renewed"]).run()
    _ok(at)
    assert [t.value for t in at.markdown if t.value.startswith("#### ")] == ["#### Renewed"]

    # The analysis tables download, noted in the audit log.
    at.selectbox(key="oc:download-table").set_value("comparisons").run()
    at.download_button(key="oc:xlsx").click().run()
    _ok(at)
    (subject,) = _db(root, "SELECT subject FROM wb.audit_log WHERE kind = 'export'")[0]
    assert subject.endswith(f"outcomes-comparisons-experiment-1-{segment.lower()}.xlsx")


def test_planted_sample_ratio_mismatch_is_loud(workspace, monkeypatch):
    at = _open(workspace("srm"), monkeypatch)
    loud = next(t for t in _texts(at.error) if "Sample ratio mismatch" in t)
    assert "WARNING — SAMPLE RATIO MISMATCH" in loud
    assert "Renewed" in loud
    assert _has(at.warning, "Do not trust this yet, the split differs from the plan.")
    assert not _has(at.success, "Renewed:")


def test_guardrail_breach_is_flagged_for_pause_once(workspace, monkeypatch):
    root = workspace("breach")
    at = _open(root, monkeypatch)
    banner = next(t for t in _texts(at.error) if "Guardrail breached" in t)
    assert "flagged for pause — see Governance" in banner
    assert "significantly worse than control" in banner
    assert any(p == "governance" for p in _page_links(at))
    flags = _db(root, "SELECT metric, baseline FROM wb.guardrail_flags ORDER BY baseline")
    assert ("renewed", "control") in flags
    at.run()  # a rerun on the same data stores nothing new
    _ok(at)
    assert _db(root, "SELECT count(*) FROM wb.guardrail_flags")[0][0] == len(flags)
    audits = _db(root, "SELECT count(*) FROM wb.audit_log WHERE kind = 'guardrail'")[0][0]
    assert audits == len(flags)

    # Paused (here through the library, as the Governance page does): the cached analysis is
    # reused, but the banner now says who paused the workflow instead of asking for a pause.
    con = connect(Workspace(root))
    try:
        wf = latest(con).workflow
        change_mode(con, wf, "paused", actor="Ana", reason="AI arm renews less often")
    finally:
        con.close()
    at.run()
    _ok(at)
    assert not [t for t in _texts(at.error) if "Guardrail breached" in t]
    banner = next(t for t in _texts(at.warning) if "Guardrail breached" in t)
    assert "The workflow was **paused by Ana on " in banner
    assert "(AI arm renews less often)**" in banner
