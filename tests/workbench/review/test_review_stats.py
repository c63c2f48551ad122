"""Approval statistics: Wilson golden numbers, approval tables, reasons, edit distance."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from workbench.review.stats import (
    REASON_WORDS,
    REASONS,
    approval_table,
    edit_distance,
    edit_ratio,
    edit_summary,
    rejection_reasons,
    wilson,
)

# (approved, reviewed, low, high): statsmodels 0.15 proportion_confint(method="wilson"), 6 dp.
WILSON_GOLDEN = [
    (187, 200, 0.891981, 0.961624),  # the example: "89.2 to 96.2%"
    (0, 10, 0.0, 0.277533),
    (10, 10, 0.722467, 1.0),
    (1, 2, 0.094531, 0.905469),
    (0, 1, 0.0, 0.793451),
    (1, 1, 0.206549, 1.0),
    (27, 30, 0.743789, 0.9654),
    (9, 10, 0.59585, 0.982124),
    (35, 35, 0.901099, 1.0),
    (450, 500, 0.870578, 0.923322),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), WILSON_GOLDEN)
def test_wilson_golden_numbers(k, n, low, high):
    interval = wilson(k, n)
    assert interval.ok and interval.error is None
    assert (round(interval.low, 6), round(interval.high, 6)) == (low, high)
    assert round(interval.point, 6) == round(k / n, 6)
    assert (interval.n, interval.successes, interval.confidence) == (n, k, 0.95)


@pytest.mark.parametrize(("k", "n"), [(k, n) for k, n, *_ in WILSON_GOLDEN])
def test_wilson_is_statsmodels(k, n):
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    interval = wilson(k, n)
    assert (interval.low, interval.high) == (low, high)


def test_wilson_other_confidence():
    interval = wilson(187, 200, confidence=0.90)
    assert (round(interval.low, 6), round(interval.high, 6)) == (0.900127, 0.958261)


def test_wilson_accepts_a_fractional_count():
    # The gate projects the current rate onto more reviews: 93.5% of 283.
    interval = wilson(0.935 * 283, 283)
    assert interval.ok and round(interval.point, 6) == 0.935


@pytest.mark.parametrize(
    ("k", "n", "code", "words"),
    [
        (0, 0, "no_reviews", "no reviews yet"),
        (-1, 10, "negative_count", "a count is negative"),
        (1, -10, "negative_count", "a count is negative"),
        (11, 10, "more_approved_than_reviewed", "more approved than reviewed"),
        (1, 0, "more_approved_than_reviewed", "more approved than reviewed"),
    ],
)
def test_wilson_degenerate_input_is_explained_not_raised(k, n, code, words):
    interval = wilson(k, n)
    assert not interval.ok
    assert (interval.error_code, interval.error) == (code, words)
    assert (interval.low, interval.high, interval.point) == (None, None, None)


def _decisions() -> pd.DataFrame:
    rows = (
        [("automated", "Ana", "approved", None)] * 8
        + [("automated", "Ana", "edited", None)] * 2
        + [("automated", "Ben", "rejected", "tone")] * 1
        + [("human", "Ben", "approved", None)] * 3
        + [("human", "Ben", "rejected", "wrong_timing")] * 2
        + [("human", "Ana", "rejected", "tone")] * 2
        + [("human", "Ana", None, None)] * 4  # not decided yet: skipped
    )
    return pd.DataFrame(rows, columns=["route", "reviewer", "decision", "reason"])


def test_approval_table_overall_counts_edits_as_approved():
    table = approval_table(_decisions())
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.reviewed, row.approved_as_is, row.approved_after_edit) == (18, 11, 2)
    assert (row.rejected, row.approved) == (5, 13)
    # Golden numbers (statsmodels' Wilson for 13 of 18 and 11 of 18), rounded to 6 dp.
    assert [round(row[c], 6) for c in ("rate", "low", "high")] == [0.722222, 0.491273, 0.875002]
    as_is = [round(row[c], 6) for c in ("as_is_rate", "as_is_low", "as_is_high")]
    assert as_is == [0.611111, 0.38619, 0.796948]
    for k, prefix in ((13, ""), (11, "as_is_")):
        low, high = proportion_confint(k, 18, alpha=0.05, method="wilson")
        assert (round(row[f"{prefix}low"], 12), round(row[f"{prefix}high"], 12)) == (
            round(low, 12),
            round(high, 12),
        )


def test_approval_table_by_group():
    table = approval_table(_decisions(), by=["route"])
    assert list(table["route"]) == ["automated", "human"]
    assert list(table["reviewed"]) == [11, 7]
    assert list(table["approved"]) == [10, 3]
    assert list(table["approved_as_is"]) == [8, 3]
    assert [round(r, 4) for r in table["rate"]] == [0.9091, 0.4286]
    assert [round(x, 4) for x in table["low"]] == [0.6226, 0.1582]

    two = approval_table(_decisions(), by=["route", "reviewer"])
    assert [tuple(r) for r in two[["route", "reviewer", "reviewed", "approved"]].to_numpy()] == [
        ("automated", "Ana", 10, 10),
        ("automated", "Ben", 1, 0),
        ("human", "Ana", 2, 0),
        ("human", "Ben", 5, 3),
    ]


def test_approval_table_empty():
    empty = pd.DataFrame({"decision": pd.Series([], dtype=object), "route": []})
    overall = approval_table(empty)
    assert overall.iloc[0]["reviewed"] == 0
    assert math.isnan(overall.iloc[0]["rate"]) and math.isnan(overall.iloc[0]["low"])
    assert approval_table(empty, by=["route"]).empty


def test_approval_table_refuses_an_unknown_decision():
    with pytest.raises(ValueError, match="unknown decisions"):
        approval_table(pd.DataFrame({"decision": ["approved", "maybe"]}))


def test_rejection_reasons_ranked():
    frame = pd.concat(
        [
            _decisions(),
            pd.DataFrame(
                {
                    "decision": ["rejected", "rejected", "rejected"],
                    "reason": [None, "gut feeling", "policy"],
                }
            ),
        ],
        ignore_index=True,
    )
    ranked = rejection_reasons(frame, include_zero=False)
    assert list(ranked["reason"]) == ["tone", "wrong_timing", "policy", "other", "unspecified"]
    assert list(ranked["count"]) == [3, 2, 1, 1, 1]
    assert [round(s, 4) for s in ranked["share"]] == [0.375, 0.25, 0.125, 0.125, 0.125]
    assert ranked.iloc[0]["label"] == REASON_WORDS["tone"]


def test_rejection_reasons_lists_every_reason_and_survives_no_rejections():
    ranked = rejection_reasons(_decisions())
    # Ties (the zero counts) keep the order of REASONS.
    assert list(ranked["reason"]) == [
        "tone",
        "wrong_timing",
        "wrong_account",
        "should_be_human",
        "factual_error",
        "policy",
    ]
    none = rejection_reasons(pd.DataFrame({"decision": ["approved"], "reason": [None]}))
    assert list(none["reason"]) == list(REASONS)
    assert none["count"].sum() == 0 and none["share"].isna().all()


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("same", "same", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("intention", "execution", 5),
        ("Hi Dana,", "Hello Dana,", 4),
        ("café", "cafe", 1),
        ("a😀b", "ab", 1),
        ("x" * 64, "x" * 63 + "y", 1),  # around the 64-bit word edge
        ("ab" * 40, "ba" * 40, 2),
    ],
)
def test_edit_distance_known_values(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def _levenshtein_table(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        previous = current
    return previous[-1]


def test_edit_distance_matches_the_textbook_table():
    rng = random.Random(42)
    for _ in range(500):
        a = "".join(rng.choice("abc ") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 90)))
        assert edit_distance(a, b) == _levenshtein_table(a, b), (a, b)


def test_edit_ratio():
    assert edit_ratio("", "") == 0.0
    assert edit_ratio("abcd", "abcd") == 0.0
    assert edit_ratio("abcd", "abXd") == 0.25
    assert edit_ratio("", "xyz") == 1.0


def test_edit_summary():
    summary = edit_summary([0, 0, 3, 8, 12, 40, 75, 300, 1500, 5])
    assert summary.error is None
    assert (summary.count, summary.unchanged, summary.max) == (10, 2, 1500)
    assert (summary.mean, summary.median, round(summary.p90, 6)) == (194.3, 10.0, 420.0)
    assert summary.buckets == (
        ("unchanged", 2),
        ("1 to 10 characters", 3),
        ("11 to 50", 2),
        ("51 to 200", 1),
        ("201 to 1,000", 1),
        ("more than 1,000", 1),
    )


def test_edit_summary_of_nothing():
    summary = edit_summary([])
    assert (summary.count, summary.error_code, summary.error) == (
        0,
        "no_edits",
        "no edited drafts yet",
    )
    assert summary.mean is None and summary.median is None and summary.p90 is None
    assert all(count == 0 for _, count in summary.buckets)
