"""Outcome metrics: which exist, and the value each assigned account gets (window, first renewal)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from workbench.experiment.outcomes import (
    available_metrics,
    metrics_table,
    outcome_counts,
    outcome_frame,
    outcome_query,
    resolve_metrics,
)
from workbench.experiment.types import FRAME_COLUMNS, MetricSpec
from workbench.ingest.pipeline import ImportOptions, import_file
from workbench.workflow.model import Experiment

D0 = date(2026, 1, 10)  # every test account is assigned on this day
WINDOW = 30


def assign(con, rows: list[tuple[str, str]], experiment_id: int = 1, on: date = D0) -> None:
    """Assignments (account, arm) of one experiment, all on the same day."""
    con.executemany(
        "INSERT INTO wb.assignments VALUES (?, ?, ?, 'SMB · under 25,000', ?, 'SMB', 10000, 60, 1, ?, ?)",
        [
            [experiment_id, a, arm, i, on, datetime(2026, 1, 10, 9)]
            for i, (a, arm) in enumerate(rows)
        ],
    )


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def make_outcomes(
    con, rows: list[tuple[str, date, str, float, float | None, float | None]]
) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR, "
        "arr_before DOUBLE, arr_after DOUBLE, expansion_arr DOUBLE, churn_reason VARCHAR)"
    )
    con.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, NULL)", rows)


def spec(con, *names: str) -> list[MetricSpec]:
    specs, problems = resolve_metrics(con, Experiment(metrics=list(names), guardrail_metrics=[]))
    assert problems == []
    return specs


def values(con, names: tuple[str, ...], as_of: date | None = None) -> dict[str, dict[str, float]]:
    df = outcome_frame(con, 1, spec(con, *names), WINDOW, as_of=as_of)
    return {n: dict(zip(df["account_id"], df[n], strict=True)) for n in names}


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --- renewal outcomes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("renewal_day", "as_of", "expected"),
    [
        (-1, None, math.nan),  # the day before assignment
        (0, None, 1.0),  # on the assignment day
        (WINDOW, None, 1.0),  # the window's last day
        (WINDOW + 1, None, math.nan),  # one day after the window
        (10, day(10), 1.0),  # on as_of: known
        (10, day(9), math.nan),  # after as_of: not known yet
    ],
)
def test_window_edges(con, renewal_day, as_of, expected):
    assign(con, [("A1", "ai")])
    make_outcomes(con, [("A1", day(renewal_day), "Renewed", 100, 110, 10)])
    assert same(values(con, ("renewed",), as_of)["renewed"]["A1"], expected)


@pytest.mark.parametrize(
    ("outcome", "renewed"),
    [
        ("Renewed", 1.0),
        ("renewed", 1.0),
        ("Downgraded", 1.0),  # a downgrade keeps the customer
        ("Churned", 0.0),
        (" churned ", 0.0),
        ("CHURN", 0.0),
        ("Lost", 0.0),
        ("Closed Lost", 0.0),
        ("Cancelled", 0.0),
        ("Expanded", 1.0),  # anything decided but a churn word counts as renewed
        ("Pending", math.nan),  # not decided yet: no outcome
        (" In Progress ", math.nan),
        ("open", math.nan),
    ],
)
def test_outcome_words(con, outcome, renewed):
    assign(con, [("A1", "ai")])
    make_outcomes(con, [("A1", day(3), outcome, 100, 50, 0)])
    assert same(values(con, ("renewed",))["renewed"]["A1"], renewed)


def test_a_pending_renewal_gives_way_to_the_next_decided_one(con):
    assign(con, [("A1", "ai"), ("A2", "control")])
    make_outcomes(
        con,
        [
            ("A1", day(2), "Pending", 100, None, None),
            ("A1", day(9), "Churned", 100, 0, 0),
            ("A2", day(4), "Pending", 100, None, None),
        ],
    )
    got = values(con, ("renewed", "expansion_arr"))
    assert got["renewed"]["A1"] == 0.0 and got["expansion_arr"]["A1"] == 0.0
    assert math.isnan(got["renewed"]["A2"]) and math.isnan(got["expansion_arr"]["A2"])


def test_first_renewal_in_the_window_counts_and_missing_is_nan(con):
    assign(con, [("A1", "ai"), ("A2", "csm"), ("A3", "control"), ("A4", "control")])
    make_outcomes(
        con,
        [
            ("A1", day(-5), "Churned", 100, 0, 0),  # before assignment: ignored
            ("A1", day(5), "Renewed", 100, 130, 30),  # the first in the window
            ("A1", day(20), "Churned", 130, 0, 0),
            ("A2", day(2), "Downgraded", 200, 150, 0),
            ("A3", day(40), "Renewed", 100, 100, 0),  # outside the window
            ("ZZ", day(1), "Renewed", 1, 1, 0),  # not assigned: not in the frame
        ],
    )
    got = values(con, ("renewed", "expansion_arr", "arr_change"))
    assert got["renewed"]["A1"] == 1.0 and got["expansion_arr"]["A1"] == 30.0
    assert got["arr_change"]["A1"] == 30.0
    assert got["renewed"]["A2"] == 1.0 and got["arr_change"]["A2"] == -50.0
    for name in got:
        assert math.isnan(got[name]["A3"]) and math.isnan(got[name]["A4"])
    assert set(got["renewed"]) == {"A1", "A2", "A3", "A4"}


def test_frame_columns_and_types(con):
    assign(con, [("A2", "csm"), ("A1", "ai")])
    make_outcomes(con, [("A1", day(1), "Churned", 100, 0, 0)])
    df = outcome_frame(con, 1, spec(con, "renewed", "expansion_arr"), WINDOW)
    assert list(df.columns) == [*FRAME_COLUMNS, "renewed", "expansion_arr"]
    assert list(df["account_id"]) == ["A1", "A2"]
    assert df["assigned_on"].tolist() == [D0, D0]
    assert df["run_id"].dtype == "int64"
    assert df["renewed"].dtype == "float64" and df["arr"].dtype == "float64"
    assert df.loc[0, "renewed"] == 0.0 and math.isnan(df.loc[1, "renewed"])


def test_empty_experiment_gives_empty_frame_with_the_columns(con):
    make_outcomes(con, [("A1", day(1), "Renewed", 100, 100, 0)])
    df = outcome_frame(con, 7, spec(con, "renewed"), WINDOW)
    assert df.empty and list(df.columns) == [*FRAME_COLUMNS, "renewed"]
    assert df["renewed"].dtype == "float64"


def test_other_experiments_are_left_out(con):
    assign(con, [("A1", "ai")], experiment_id=1)
    assign(con, [("A1", "control"), ("A2", "ai")], experiment_id=2, on=day(100))
    make_outcomes(con, [("A1", day(1), "Renewed", 100, 100, 0)])
    df = outcome_frame(con, 2, spec(con, "renewed"), WINDOW)
    assert df["account_id"].tolist() == ["A1", "A2"] and df["arm"].tolist() == ["control", "ai"]
    assert df["renewed"].isna().all()  # A1's renewal predates its assignment in experiment 2


def test_query_is_parameterised(con):
    make_outcomes(con, [("A1", day(1), "Renewed", 100, 100, 0)])
    sql, params = outcome_query(con, 3, spec(con, "renewed"), 45, as_of=day(9))
    assert "Churned".lower() not in sql and "45" not in sql and "2026" not in sql
    assert 3 in params.values() and 45 in params.values() and day(9) in params.values()
    assert "churned" in params.values()


# --- tickets and surveys -----------------------------------------------------------


def test_tickets_and_nps(con):
    assign(con, [("A1", "ai"), ("A2", "csm")])
    con.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, "
        "closed_at TIMESTAMP, csat DOUBLE)"
    )
    t = datetime(2026, 1, 10)
    con.executemany(
        "INSERT INTO tickets VALUES (?, ?, ?, ?, ?)",
        [
            ("T1", "A1", t, t + timedelta(days=2, hours=12), 4.0),
            ("T2", "A1", t + timedelta(days=30, hours=23), t + timedelta(days=31, hours=11), 2.0),
            ("T3", "A1", t - timedelta(hours=1), t + timedelta(days=9), 1.0),  # before: ignored
            ("T4", "A2", t + timedelta(days=3), None, None),  # open, no CSAT
        ],
    )
    con.execute(
        "CREATE TABLE surveys (account_id VARCHAR, responded_at DATE, survey_type VARCHAR, score DOUBLE)"
    )
    con.executemany(
        "INSERT INTO surveys VALUES (?, ?, ?, ?)",
        [("A1", day(1), "NPS", 9), ("A1", day(2), "nps", 6), ("A1", day(3), "CSAT", 2)]
        + [("A2", day(31), "NPS", 10)],
    )
    got = values(con, ("ticket_csat", "days_to_close", "nps"))
    assert got["ticket_csat"]["A1"] == 3.0 and math.isnan(got["ticket_csat"]["A2"])
    assert got["days_to_close"]["A1"] == pytest.approx((2.5 + 0.5) / 2)
    assert math.isnan(got["days_to_close"]["A2"])
    assert got["nps"]["A1"] == 7.5 and math.isnan(got["nps"]["A2"])
    # As of day 10: T2 is not opened yet, so only T1 counts.
    early = values(con, ("ticket_csat", "days_to_close"), as_of=day(10))
    assert early["ticket_csat"]["A1"] == 4.0 and early["days_to_close"]["A1"] == 2.5
    # As of day 1: T1 is still open (it closes on day 2), so no ticket of A1 has closed yet.
    assert math.isnan(values(con, ("days_to_close",), as_of=day(1))["days_to_close"]["A1"])


# --- the metrics table -------------------------------------------------------------

METRICS_CSV = (
    "Account ID,Measured At,CSAT,Expanded,Upsold,Notes,TTFR Hours,ARR,Last Call\n"
    "A1,2026-01-15,4.5,yes,1,good,2.5,100,2026-01-02\n"
    "A1,2026-01-20,3.5,no,0,ok,N/A,120,2026-01-02\n"
    "A1,2025-12-01,1.0,yes,1,old,9,1,2026-01-02\n"  # before assignment: ignored
    "A2,,5,No,0,,4,80,2026-01-02\n"  # undated: counts
    "A3,2026-03-01,2,yes,1,late,1,90,2026-01-02\n"  # after the window
)


def test_metrics_file_columns_become_metrics(con, write):
    import_file(con, write("metrics.csv", METRICS_CSV), ImportOptions(kind="metrics"))
    specs, notes = metrics_table(con)
    kinds = {s.name: s.kind for s in specs}
    # yes/no text and 0/1 numbers are binary; 'N/A' keeps TTFR as text, still a number metric;
    # 'arr' would clash with the frame's covariate, so it is renamed.
    assert kinds == {
        "csat": "continuous",
        "expanded": "binary",
        "upsold": "binary",
        "ttfr_hours": "continuous",
        "metrics_arr": "continuous",
    }
    assert notes == [
        "Column 'notes' holds text (for example 'good'), so it is not a metric.",
        "Column 'last_call' holds date values, so it is not a metric.",
    ]
    assert [s.name for s in available_metrics(con)] == list(kinds)  # no other tables here
    assign(con, [("A1", "ai"), ("A2", "csm"), ("A3", "control")])
    got = values(con, tuple(kinds))
    assert got["csat"]["A1"] == 4.0 and got["csat"]["A2"] == 5.0 and math.isnan(got["csat"]["A3"])
    assert got["expanded"]["A1"] == 1.0 and got["expanded"]["A2"] == 0.0  # any yes counts
    assert got["upsold"]["A1"] == 1.0 and got["ttfr_hours"]["A1"] == 2.5  # N/A is missing
    assert got["metrics_arr"]["A1"] == 110.0
    counts = outcome_counts(con, 1, spec(con, "csat", "expanded"), WINDOW)
    assert [c.sentence for c in counts] == [
        "csat: 2 of 3 accounts have an outcome so far",
        "expanded: 2 of 3 accounts have an outcome so far",
    ]


def test_undated_metrics_file_counts_every_row(con, write):
    import_file(
        con, write("m.csv", "Account ID,Score\nA1,3\nA1,5\n"), ImportOptions(kind="metrics")
    )
    assign(con, [("A1", "ai")])
    (s,) = spec(con, "score")
    assert "every row counts" in s.source
    assert values(con, ("score",))["score"]["A1"] == 4.0


# --- resolving the configured metrics ------------------------------------------------


def test_resolve_sets_guardrail_and_direction(con):
    make_outcomes(con, [("A1", day(1), "Renewed", 100, 100, 0)])
    con.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, "
        "closed_at TIMESTAMP, csat DOUBLE)"
    )
    exp = Experiment(
        metrics=["expansion_arr", "days_to_close", "ticket_csat"],
        guardrail_metrics=["renewed", "ticket_csat"],
        lower_is_better=["ticket_csat"],
    )
    specs, problems = resolve_metrics(con, exp)
    assert problems == []
    got = {s.name: (s.guardrail, s.higher_is_better) for s in specs}
    # The guardrail left out of `metrics` is added last; days_to_close is lower-is-better by default.
    assert list(got) == ["expansion_arr", "days_to_close", "ticket_csat", "renewed"]
    assert got == {
        "expansion_arr": (False, True),
        "days_to_close": (False, False),
        "ticket_csat": (True, False),
        "renewed": (True, True),
    }


def test_unknown_metrics_are_problems_in_words(con):
    exp = Experiment(
        metrics=["renewed", "nope"], guardrail_metrics=["renewed"], lower_is_better=["x"]
    )
    specs, problems = resolve_metrics(con, exp)
    assert specs == []
    assert problems[0].startswith("Metric 'renewed' needs outcomes with account_id, renewal_date, ")
    assert "there is no table 'outcomes'" in problems[0]
    assert problems[1].startswith("There is no metric 'nope': no metric is available yet.")
    assert problems[2].startswith("'x' is listed as lower-is-better but is not one")
    con.execute("CREATE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR)")
    exp = Experiment(metrics=["expansion_arr", "nope"], guardrail_metrics=["nps"])
    specs, problems = resolve_metrics(con, exp)
    assert specs == []
    assert "table 'outcomes' has no expansion_arr" in problems[0]
    assert problems[1] == "There is no metric 'nope'. Available: renewed."
    assert problems[2].startswith("Guardrail metric 'nps' needs surveys with ")


def test_unavailable_spec_gives_a_nan_column(con):
    assign(con, [("A1", "ai")])
    ghost = MetricSpec("ghost", "Ghost", "continuous")
    df = outcome_frame(con, 1, [ghost], WINDOW)
    assert df["ghost"].isna().all() and df["ghost"].dtype == "float64"


def test_sample_book_has_the_built_ins(sample_book):
    names = [s.name for s in available_metrics(sample_book)]
    assert names == [
        "renewed",
        "expansion_arr",
        "arr_change",
        "ticket_csat",
        "nps",
        "days_to_close",
    ]
    assert isinstance(outcome_frame(sample_book, -1, [], WINDOW), pd.DataFrame)
