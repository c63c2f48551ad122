"""Backtest: figures on a hand-built book, the AUC formula, the random rule, the sample."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from importlib import resources
from itertools import product
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from workbench.errors import WorkbenchError
from workbench.export.backtest_book import backtest_workbook
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.backtest import (
    BacktestResult,
    backtest_dates,
    rank_auc,
    run_backtest,
)
from workbench.workflow.compiler import evaluation
from workbench.workflow.model import Workflow

EVIL = '=HYPERLINK("http://evil.example","click")'

TINY_YAML = """
name: Tiny
health:
  inputs:
    - {fact: score, weight: 100, normalise: linear, worst: 0, best: 100}
scope:
  - {fact: segment, op: ne, value: Out}
conditions:
  all:
    - {fact: health_score, op: lt, value: 50}
    - {fact: renewal_date, op: within_days, days: 14}
escalation:
  - {name: Big, route: human, when: {fact: arr, op: ge, value: 100000}}
  - {name: Seg B, route: manager, when: {fact: segment, op: eq, value: B}}
action: {type: alert, channel: "#cs-risk"}
guardrails: {cooldown_days: 14}
"""

# account, segment, arr, score (= health), current renewal_date, start_date
ACCOUNTS = [
    ("A1", "A", 50_000, 20, "2026-01-20", None),
    ("A2", EVIL, 200_000, 80, "2026-02-01", None),
    ("A3", "B", 150_000, 30, "2027-01-25", None),
    ("A4", "Out", 10_000, 10, "2026-01-15", None),
    ("A5", "B", 30_000, 40, "2026-02-05", None),
    ("A6", "A", 80_000, 45, "2026-02-08", None),
    ("A7", "A", 60_000, 25, "2026-01-28", "2026-01-10"),
    ("F1", "A", 20_000, 90, "2026-06-01", None),
    ("F2", "A", 20_000, 91, "2026-06-01", None),
    ("F3", "A", 20_000, 92, "2026-06-01", None),
]
OUTCOMES = [
    ("A1", "2026-01-20", "Churned", 50_000),
    ("A2", "2026-02-01", "Churned", 200_000),
    ("A3", "2026-01-25", "Renewed", 150_000),
    ("A4", "2026-01-15", "Churned", 10_000),
    ("A5", "2026-02-05", "Churned", 30_000),
    ("A6", "2026-01-19", "Renewed", 80_000),
    ("A7", "2026-01-28", "Churned", 60_000),
]
# Mondays; label_days 30; cooldown 14 days.
RUNS = [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)]


def tiny_workspace(root: Path, outcomes: bool = True) -> duckdb.DuckDBPyConnection:
    con = connect(Workspace(root))
    con.execute(
        "CREATE TABLE accounts (account_id VARCHAR, segment VARCHAR, arr DOUBLE, score DOUBLE, "
        "renewal_date DATE, start_date DATE)"
    )
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", ACCOUNTS)
    # One activity row fixes default_as_of at 2026-04-01.
    con.execute("CREATE TABLE activity AS SELECT 'F1' AS account_id, DATE '2026-03-31' AS date")
    if outcomes:
        con.execute(
            "CREATE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR, "
            "arr_before DOUBLE)"
        )
        con.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?)", OUTCOMES)
    return con


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    con = tiny_workspace(tmp_path_factory.mktemp("tiny"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def tiny_result(tiny: duckdb.DuckDBPyConnection) -> BacktestResult:
    wf = Workflow.model_validate(yaml.safe_load(TINY_YAML))
    return run_backtest(tiny, wf, RUNS, label_days=30)


def default_yaml() -> str:
    return resources.files("workbench.workflow").joinpath("default_workflow.yaml").read_text()


@pytest.fixture(scope="module")
def sample_result(sample: duckdb.DuckDBPyConnection) -> BacktestResult:
    wf = Workflow.model_validate(yaml.safe_load(default_yaml()))
    return run_backtest(sample, wf, backtest_dates(sample), label_days=90)


# --- a hand-built book where every figure is known -------------------------------------


def test_tiny_per_date(tiny_result: BacktestResult):
    # Fires: d0 A6 | d1 A1 A3(human) A6 | d2 A1 A3(human) A6 A7 | d3 A5(manager) A6 A7.
    # New actions (cooldown 14 days from the last action): d0 A6 | d1 A1 A3 |
    # d2 A6 (14 days after d0) A7 | d3 A5.
    # Churn within 30 days, eligible: d0 A1 A2 | d1 A1 A2 A5 A7 | d2 same | d3 A2 A5 A7.
    expected = pd.DataFrame(
        {
            "as_of": pd.to_datetime(RUNS),
            "eligible": [8, 9, 9, 8],
            "fired": [1, 3, 4, 3],
            "fired_automated": [1, 2, 3, 2],
            "fired_human": [0, 1, 1, 0],
            "fired_manager": [0, 0, 0, 1],
            "new_actions": [1, 2, 2, 1],
            "churners_ahead": [2, 4, 4, 3],
            "caught": [0, 1, 2, 2],
            "precision": [0 / 1, 1 / 3, 2 / 4, 2 / 3],
            "recall": [0 / 2, 1 / 4, 2 / 4, 2 / 3],
        }
    )
    got = tiny_result.per_date.copy()
    got["as_of"] = got["as_of"].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_tiny_events(tiny_result: BacktestResult):
    ev = tiny_result.events
    rows = [
        (
            r.account_id,
            r.churn_date.date(),
            r.arr,
            r.first_eligible.date(),
            r.runs,
            None if pd.isna(r.first_flagged) else r.first_flagged.date(),
            None if pd.isna(r.lead_time_days) else int(r.lead_time_days),
            bool(r.caught),
        )
        for r in ev.itertuples()
    ]
    d0, d1, d2, d3 = RUNS
    assert rows == [
        ("A1", date(2026, 1, 20), 50_000, d0, 3, d1, 8, True),
        ("A7", date(2026, 1, 28), 60_000, d1, 3, d2, 9, True),
        ("A2", date(2026, 2, 1), 200_000, d0, 4, None, None, False),
        ("A5", date(2026, 2, 5), 30_000, d1, 3, d3, 10, True),
    ]
    assert ev.loc[ev.account_id == "A2", "segment"].item() == EVIL


def test_tiny_summary(tiny_result: BacktestResult):
    r = tiny_result
    share = [1 / 8, 3 / 9, 4 / 9, 3 / 8]  # fired / eligible per run
    miss = [1 - s for s in share]
    random_recall = (
        (1 - miss[0] * miss[1] * miss[2])  # A1: runs 0-2
        + (1 - miss[0] * miss[1] * miss[2] * miss[3])  # A2: runs 0-3
        + 2 * (1 - miss[1] * miss[2] * miss[3])  # A5, A7: runs 1-3
    ) / 4
    assert (r.events_total, r.caught) == (4, 3)
    assert r.recall == pytest.approx(3 / 4)
    assert r.precision == pytest.approx(5 / 11)
    assert r.base_rate == pytest.approx(13 / 34)
    assert r.median_lead_days == 9 and r.mean_lead_days == pytest.approx(9)
    assert r.new_actions == 6 and r.weeks == pytest.approx(4)
    assert r.actions_per_week == pytest.approx(1.5)
    assert r.caught_arr == pytest.approx(140_000)
    assert r.random_recall == pytest.approx(random_recall, abs=1e-12)
    assert r.lift == pytest.approx(0.75 / random_recall)
    assert r.cadence == "weekly"
    assert r.sentence() == (
        "Over 4 weekly runs the workflow would have flagged 3 of 4 churners (75%) a median 9 "
        "days before they churned; a random rule flagging as many accounts each run would "
        "catch about 75%. 45% of flags were followed by churn within 30 days (base rate 38%); "
        "about 1.5 new actions a week."
    )


def test_tiny_deciles_sum_to_totals(tiny_result: BacktestResult):
    dec = tiny_result.lift_by_decile
    assert dec["decile"].tolist() == list(range(1, 11))
    assert dec["rows"].sum() == tiny_result.per_date["eligible"].sum() == 34
    assert dec["churners"].sum() == tiny_result.per_date["churners_ahead"].sum() == 13
    assert dec["rows"].max() - dec["rows"].min() <= 1
    assert (dec["health_min"].diff().dropna() >= 0).all()
    overall = 13 / 34
    assert dec["lift"].tolist() == pytest.approx((dec["churners"] / dec["rows"] / overall).tolist())


def test_progress_reported(tiny: duckdb.DuckDBPyConnection):
    calls: list[tuple[float, str]] = []
    wf = Workflow.model_validate(yaml.safe_load(TINY_YAML))
    run_backtest(tiny, wf, RUNS, label_days=30, progress=lambda f, m: calls.append((f, m)))
    fracs = [f for f, _ in calls]
    assert len(calls) >= 3 and fracs[0] == 0.0 and fracs[-1] == 1.0 and fracs == sorted(fracs)


def test_run_backtest_errors(tmp_path: Path, tiny: duckdb.DuckDBPyConnection):
    wf = Workflow.model_validate(yaml.safe_load(TINY_YAML))
    with pytest.raises(WorkbenchError, match="no run dates"):
        run_backtest(tiny, wf, [])
    con = tiny_workspace(tmp_path / "bare", outcomes=False)
    try:
        with pytest.raises(WorkbenchError, match="no renewal outcomes") as err:
            run_backtest(con, wf, RUNS)
        assert "outcomes" in err.value.hint
        with pytest.raises(WorkbenchError, match="no renewal outcomes"):
            backtest_dates(con)
    finally:
        con.close()


# --- dates ------------------------------------------------------------------------------


def test_dates_default_from_history(tiny: duckdb.DuckDBPyConnection):
    # Data ends 2026-03-31 (as of 2026-04-01); 12 months back is 2025-04, but the first
    # outcome is in 2026-01; labels of 30 days are complete up to 2026-03-02.
    assert backtest_dates(tiny, label_days=30) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    weeks = backtest_dates(tiny, every="week", label_days=30)
    assert weeks[0] == date(2026, 1, 5) and weeks[-1] == date(2026, 3, 2)
    assert all(d.weekday() == 0 for d in weeks)
    assert all((b - a).days == 7 for a, b in zip(weeks, weeks[1:], strict=False))


def test_dates_default_on_sample(sample: duckdb.DuckDBPyConnection):
    months = backtest_dates(sample)
    assert months[0] == date(2025, 11, 1) and months[-1] == date(2026, 8, 1)
    assert len(months) == 10 and all(d.day == 1 for d in months)
    weeks = backtest_dates(sample, every="week")
    assert weeks[0] == date(2025, 11, 3) and weeks[-1] == date(2026, 8, 3)


@pytest.mark.parametrize(
    ("start", "end", "every", "expected"),
    [
        (date(2026, 1, 15), date(2026, 3, 1), "month", [date(2026, 2, 1), date(2026, 3, 1)]),
        (date(2026, 1, 1), date(2026, 1, 1), "month", [date(2026, 1, 1)]),
        (date(2025, 12, 1), date(2026, 1, 31), "month", [date(2025, 12, 1), date(2026, 1, 1)]),
        (date(2026, 1, 6), date(2026, 1, 19), "week", [date(2026, 1, 12), date(2026, 1, 19)]),
    ],
)
def test_dates_explicit_range(tiny, start, end, every, expected):
    assert backtest_dates(tiny, start, end, every) == expected


@pytest.mark.parametrize(
    ("start", "end", "every", "message"),
    [
        (date(2026, 3, 1), date(2026, 2, 1), "month", "starts on 2026-03-01 but ends on"),
        (date(2026, 3, 2), date(2026, 3, 31), "month", "No first of a month"),
        (date(2026, 1, 6), date(2026, 1, 10), "week", "No Monday"),
    ],
)
def test_dates_errors(tiny, start, end, every, message):
    with pytest.raises(WorkbenchError, match=message) as err:
        backtest_dates(tiny, start, end, every)
    assert err.value.hint


# --- AUC --------------------------------------------------------------------------------


def brute_auc(risk: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = risk[positive], risk[~positive]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_matches_pairwise_count_with_ties():
    rng = np.random.default_rng(20260101)
    checked = 0
    for _ in range(200):
        n = int(rng.integers(2, 30))
        risk = rng.integers(0, 5, n).astype(float)  # few values: many ties
        positive = rng.random(n) < 0.35
        if positive.all() or not positive.any():
            assert rank_auc(risk, positive) is None
            continue
        assert rank_auc(risk, positive) == pytest.approx(brute_auc(risk, positive), abs=1e-12)
        checked += 1
    assert checked > 150


@pytest.mark.parametrize(
    ("risk", "positive", "expected"),
    [
        ([1, 2, 3], [False, False, True], 1.0),
        ([3, 2, 1], [False, False, True], 0.0),
        ([1, 1, 1, 1], [True, False, True, False], 0.5),
        ([1, 2, 2, 3], [False, True, False, True], 0.875),
        ([1, 2], [True, True], None),
        ([1, 2], [False, False], None),
        ([], [], None),
    ],
)
def test_auc_golden(risk, positive, expected):
    assert rank_auc(np.array(risk, dtype=float), np.array(positive, dtype=bool)) == expected


# --- the sample book --------------------------------------------------------------------


def test_sample_beats_a_random_rule(sample_result: BacktestResult):
    r = sample_result
    assert r.recall is not None and r.random_recall is not None
    assert r.events_total > 100
    assert r.recall > 2 * r.random_recall
    assert r.recall > r.random_recall + 0.1
    assert r.precision is not None and r.base_rate is not None
    assert r.precision > r.base_rate
    assert r.median_lead_days is not None and r.median_lead_days > 0
    assert r.sentence().startswith(
        f"Over 10 monthly runs the workflow would have flagged {r.caught} of"
    )


def test_sample_health_score_ranks_churn(sample_result: BacktestResult):
    assert sample_result.auc is not None and sample_result.auc > 0.5
    dec = sample_result.lift_by_decile
    assert dec["rows"].sum() == sample_result.per_date["eligible"].sum()
    assert dec["churners"].sum() == sample_result.per_date["churners_ahead"].sum()
    assert dec["rows"].max() - dec["rows"].min() <= 1
    rate = dec.set_index("decile")["churn_rate"]
    assert rate[1] > rate[10]


def test_random_recall_matches_monte_carlo(sample: duckdb.DuckDBPyConnection, sample_result):
    wf = Workflow.model_validate(yaml.safe_load(default_yaml()))
    with evaluation(sample, wf, list(sample_result.dates), label_days=90) as ev:
        rows = ev.frame("in_scope")
    run = pd.to_datetime(rows["as_of"]).dt.date.to_numpy()
    churn = rows["churn_date"].notna().to_numpy()
    event = pd.factorize(rows["account_id"].astype(str) + "|" + rows["churn_date"].astype(str))[0]
    fired = dict(
        zip(sample_result.per_date["as_of"].dt.date, sample_result.per_date["fired"], strict=True)
    )
    by_run = {d: np.flatnonzero(run == d) for d in sample_result.dates}
    events = np.unique(event[churn])
    rng = np.random.default_rng(42)
    recalls = []
    for _ in range(400):
        chosen = np.zeros(len(rows), dtype=bool)
        for d, idx in by_run.items():
            chosen[rng.choice(idx, size=int(fired[d]), replace=False)] = True
        hit = np.zeros(event.max() + 1, dtype=bool)
        hit[event[chosen & churn]] = True
        recalls.append(hit[events].mean())
    assert len(events) == sample_result.events_total
    assert np.mean(recalls) == pytest.approx(sample_result.random_recall, abs=0.005)


# --- workbook ---------------------------------------------------------------------------


def test_workbook_sheets_and_headers(sample_result: BacktestResult):
    data = backtest_workbook(sample_result, "At-risk renewals", "v3", default_yaml(), "7/12/x")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Per date", "Churn events", "Lift by decile"]
    frames = {
        "Per date": sample_result.per_date,
        "Churn events": sample_result.events,
        "Lift by decile": sample_result.lift_by_decile,
    }
    for name, frame in frames.items():
        ws = wb[name]
        assert [c.value for c in ws[1]] == list(frame.columns)
        assert all(c.font.bold for c in ws[1])
        assert ws.max_row == len(frame) + 1
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Backtest"] == sample_result.sentence()
    assert summary["Workflow"] == "At-risk renewals" and summary["Workflow version"] == "v3"
    assert summary["Data version"] == "7/12/x" and summary["Label days"] == 90
    assert summary["Workflow YAML"] == default_yaml()
    assert summary["Recall"] == pytest.approx(sample_result.recall)
    assert summary["Run dates"].split(", ")[0] == "2025-11-01"
    assert wb["Per date"]["A2"].value == datetime(2025, 11, 1)  # a real date cell


def test_workbook_neutralises_formulas(tiny_result: BacktestResult):
    data = backtest_workbook(tiny_result, "=cmd|' /C calc'!A0", "1", TINY_YAML, "+1")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    values = [c.value for c in cells]
    assert "'" + EVIL in values
    assert "'=cmd|' /C calc'!A0" in values and "'+1" in values
    assert EVIL not in values


@pytest.mark.parametrize("run", [date(2026, 6, 1), date(2020, 1, 1)])
def test_no_churn_ahead_gives_a_result_not_an_error(tiny: duckdb.DuckDBPyConnection, run: date):
    wf = Workflow.model_validate(yaml.safe_load(TINY_YAML))
    r = run_backtest(tiny, wf, [run], label_days=30)
    assert (r.events_total, r.recall, r.random_recall, r.lift, r.auc) == (0, None, None, None, None)
    assert r.precision is None and r.events.empty and list(r.events.columns)
    assert r.sentence() == (
        "Over 1 run no eligible account churned within 30 days of a run, so recall cannot be "
        "measured. It flagged no account."
    )
    assert backtest_workbook(r, "Tiny", "1", TINY_YAML, "v").startswith(b"PK")


def test_result_is_immutable(tiny_result: BacktestResult):
    with pytest.raises(AttributeError):
        tiny_result.recall = 1.0  # type: ignore[misc]
    assert tiny_result.dates == tuple(RUNS)
    assert tiny_result.dates[-1] - tiny_result.dates[0] == timedelta(days=21)


def test_current_state_account_columns_are_flagged(sample: duckdb.DuckDBPyConnection) -> None:
    """A status column taken as it is today gives churn away; the result says so."""
    text = default_yaml().replace(
        "{id: health_below, fact: health_score, op: lt, value: 60}",
        "{id: gone, fact: account_status, op: eq, value: churned}",
    )
    leaky = run_backtest(
        sample, Workflow.model_validate(yaml.safe_load(text)), backtest_dates(sample)
    )
    assert leaky.current_state == ("account_status",)
    assert leaky.warning is not None and "`account_status`" in leaky.warning
    fair = run_backtest(
        sample, Workflow.model_validate(yaml.safe_load(default_yaml())), backtest_dates(sample)
    )
    assert fair.current_state == () and "account_status" not in (fair.warning or "")
    # The default workflow's monthly runs exceed its cap of 50 on some dates: said, with the peak.
    over = fair.per_date[fair.per_date["fired"] > 50]
    assert len(over) > 0
    assert f"{len(over)} of {len(fair.dates)} runs fire on more accounts than the cap of 50" in (
        fair.warning or ""
    )
    assert not any("cannot see a full" in w for w in fair.warnings)  # default dates are complete
    late = run_backtest(
        sample,
        Workflow.model_validate(yaml.safe_load(default_yaml())),
        backtest_dates(sample, date(2026, 9, 1), date(2026, 11, 1)),
    )
    assert any("after 2026-08-03 cannot see a full 90 days" in w for w in late.warnings)
