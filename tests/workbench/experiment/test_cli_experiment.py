"""``workbench experiment status``, ``analyze`` and ``demo outcomes`` on the sample book.

The scenario of the issue: assignments from the shadow-period runs plus generated outcomes
with a known effect; ``analyze`` reports it (figures checked against a direct computation
from the imported file and the assignments), and a planted sample ratio mismatch is flagged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.experiment_scenarios import build_broad
from workbench import audit
from workbench.cli import main
from workbench.experiment.scenario import RENEW_RATE
from workbench.experiment.store import assignments, current_experiment
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.store import latest


@pytest.fixture(scope="module")
def broad_root(tmp_path_factory, sample_root) -> Path:
    ws = Workspace(Path(shutil.copytree(sample_root, tmp_path_factory.mktemp("broad") / "ws")))
    build_broad(ws)
    return ws.root


def _cli(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(sample_copy, capsys):
    """The sample book after the scripted shadow period (no outcomes yet)."""
    root = sample_copy.root
    assert _cli(root, capsys, "demo", "shadow")[0] == 0
    return root


def test_status_before_any_run_says_what_to_do(sample_copy, capsys):
    code, out, _ = _cli(sample_copy.root, capsys, "experiment", "status")
    assert code == 0 and "no experiment yet" in out and "workbench run --mode shadow" in out
    code, out, _ = _cli(sample_copy.root, capsys, "analyze")
    assert code == 0 and "no experiment yet" in out


def test_shadow_period_then_demo_outcomes_is_reported_as_underpowered(small, capsys, tmp_path):
    code, out, _ = _cli(small, capsys, "experiment", "status")
    assert code == 0 and "accounts assigned" in out and "Outcomes so far" in out
    assert "Accounts per stratum" in out and "SMB · under 25,000" in out
    code, out, _ = _cli(small, capsys, "demo", "outcomes", "--dir", str(tmp_path))
    assert code == 0 and "appended them to the outcomes table" in out
    assert len(list(tmp_path.glob("demo_outcomes_experiment_*.csv"))) == 1
    code, out, _ = _cli(small, capsys, "analyze", "--metric", "renewed")
    assert code == 0, out
    assert "The split of accounts matches the plan" in out
    assert "Verdict: Renewed: AI-handled" in out and "underpowered" in out
    assert "Power: With" in out
    # Too few churned accounts for three covariates: the adjusted effect says so rather than
    # reporting a near-separated fit.
    assert "Not adjusted (logistic regression" in out
    assert "Note: too few accounts for 3 covariate(s)" in out


def _direct(root: Path) -> tuple[float, float, int, int]:
    """AI and control renewal rates computed straight from the tables (not via analyze)."""
    con = connect(Workspace(root), read_only=True)
    try:
        v = latest(con)
        info = current_experiment(con, v.name)
        arms = assignments(con, info.experiment_id)[["account_id", "arm", "assigned_on"]]
        out = con.execute("SELECT account_id, renewal_date, outcome FROM outcomes").df()
    finally:
        con.close()
    joined = arms.merge(out, on="account_id")
    joined = joined[pd.to_datetime(joined["renewal_date"]) >= pd.to_datetime(joined["assigned_on"])]
    first = joined.sort_values("renewal_date").groupby("account_id").head(1)
    first = first.assign(renewed=~first["outcome"].str.lower().eq("churned"))
    ai = first[first["arm"] == "ai"]["renewed"]
    ctl = first[first["arm"] == "control"]["renewed"]
    return float(ai.mean()), float(ctl.mean()), len(ai), len(ctl)


def test_the_known_effect_is_detected_and_matches_a_direct_count(broad_root, capsys):
    ai, ctl, n_ai, n_ctl = _direct(broad_root)
    assert n_ai > 300 and n_ctl > 250
    code, out, _ = _cli(broad_root, capsys, "analyze", "--metric", "renewed")
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("  Verdict: Renewed"))
    assert f"AI-handled {ai:.1%} vs control {ctl:.1%}" in line
    assert f"{(ai - ctl) * 100:+.1f} points" in line
    assert "a real improvement" in line
    # The true effect (86% vs 70%) lies in the reported interval.
    low, high = (float(x) for x in line.split("95% CI ")[1].split(")")[0].split(" to "))
    assert low < (RENEW_RATE["ai"] - RENEW_RATE["control"]) * 100 < high


def test_status_shows_strata_balanced_by_the_blocks(broad_root, capsys):
    code, out, _ = _cli(broad_root, capsys, "experiment", "status")
    assert code == 0 and "(ai 40% / csm 30% / control 30%)" in out
    assert "The split of accounts matches the plan" in out


def test_a_planted_sample_ratio_mismatch_is_flagged(sample_copy, capsys):
    build_broad(sample_copy, drop_control_share=0.6)
    code, out, _ = _cli(sample_copy.root, capsys, "analyze", "--metric", "renewed")
    assert code == 0 and "SAMPLE RATIO MISMATCH" in out


def test_a_worse_ai_arm_flags_the_workflow_for_pause_once(sample_copy, capsys):
    build_broad(sample_copy, renew_rate={"control": 0.9, "csm": 0.9, "ai": 0.6})
    code, out, _ = _cli(sample_copy.root, capsys, "analyze")
    assert code == 0 and "FLAGGED FOR PAUSE: Guardrail breached: Renewed" in out
    assert "2 new flags in the audit log" in out  # worse than control and than CSM
    code, out, _ = _cli(sample_copy.root, capsys, "analyze")
    assert "0 new flags" in out
    con = connect(sample_copy, read_only=True)
    try:
        entries = audit.entries(con, kind="guardrail")
        assert len(entries) == 2 and audit.verify(con).ok
        assert '"flagged_for":"pause"' in entries["detail"].iloc[0]
    finally:
        con.close()


def test_mde_and_unknown_metric_and_bad_out(broad_root, capsys, tmp_path):
    code, out, _ = _cli(broad_root, capsys, "analyze", "--metric", "renewed", "--mde",
                        "renewed=0.1")  # fmt: skip
    assert code == 0 and "To detect 10 points you need" in out
    code, out, _ = _cli(broad_root, capsys, "analyze", "--metric", "nope")
    assert code == 0 and "There is no metric 'nope'" in out
    code, _, err = _cli(broad_root, capsys, "analyze", "--out", str(tmp_path / "r.pdf"))
    assert code != 0 and "Use a name ending in .xlsx" in err
    with pytest.raises(SystemExit):
        main(["--workspace", str(broad_root), "analyze", "--mde", "renewed"])
    assert "METRIC=VALUE" in capsys.readouterr().err


def test_analyze_writes_the_report_and_logs_the_export(broad_root, capsys, tmp_path):
    import openpyxl

    for name in ("report.xlsx", "report.html", "report.csv"):
        code, out, err = _cli(broad_root, capsys, "analyze", "--out", str(tmp_path / name))
        assert code == 0 and f"Wrote {tmp_path / name}." in out, err
    book = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert {"Experiment", "Comparisons", "SRM", "Power"} <= set(book.sheetnames)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Experiment report: Senior CSM for at-risk renewals" in html and "<script" not in html
    assert "a real improvement" in html
    con = connect(Workspace(broad_root), read_only=True)
    try:
        exports = audit.entries(con, kind="export", text="experiment report")
        assert len(exports) >= 3
    finally:
        con.close()
