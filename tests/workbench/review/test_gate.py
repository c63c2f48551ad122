"""The autonomy gate: its numbers against statsmodels' Wilson interval, its verdicts, pausing."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from workbench.errors import WorkbenchError
from workbench.review.gate import (
    GateRule,
    evaluate,
    more_reviews_needed,
    should_pause,
)
from workbench.review.stats import wilson

LENIENT = GateRule(rule="point")


def test_the_issue_example():
    # The issue prints "187 of 200 approved, 93.5%, 95% interval 89.2 to 96.2%": statsmodels
    # agrees to one decimal. The lower bound 89.2% is under 90%, so the default rule does not
    # pass yet; the lenient rule does.
    verdict = evaluate(187, 200)
    assert verdict.sentence == (
        "187 of 200 approved, 93.5%, 95% interval 89.2 to 96.2%: "
        "needs about 83 more reviews at this approval rate"
    )
    assert (verdict.status, verdict.passes, verdict.more_needed) == ("needs_more", False, 83)
    assert (round(verdict.low, 6), round(verdict.high, 6)) == (0.891981, 0.961624)

    lenient = evaluate(187, 200, LENIENT)
    assert lenient.sentence == "187 of 200 approved, 93.5%, 95% interval 89.2 to 96.2%: passes"
    assert lenient.passes and lenient.more_needed is None


@pytest.mark.parametrize(
    ("k", "n"), [(0, 30), (30, 30), (27, 30), (35, 35), (34, 35), (187, 200), (950, 1000)]
)
def test_gate_numbers_are_statsmodels_wilson(k, n):
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    verdict = evaluate(k, n)
    assert (verdict.low, verdict.high, verdict.rate) == (low, high, k / n)
    assert verdict.passes == (low >= 0.90)


def test_verdicts_follow_the_wilson_lower_bound_everywhere():
    for n in range(30, 151):
        for k in range(n + 1):
            low = proportion_confint(k, n, alpha=0.05, method="wilson")[0]
            verdict = evaluate(k, n)
            expected = "passes" if low >= 0.9 else "needs_more" if k / n > 0.9 else "fails"
            assert verdict.status == expected, (k, n)


@pytest.mark.parametrize(
    ("k", "n", "more"),
    [(187, 200, 83), (45, 48, 198), (95, 100, 39), (34, 35, 33), (57, 60, 79), (905, 1000, 12830)],
)
def test_more_needed_is_the_smallest_that_clears_at_the_current_rate(k, n, more):
    rule = GateRule()
    assert more_reviews_needed(k, n, rule) == more
    rate = k / n
    # n + N passes and n + N - 1 does not, keeping the current rate (fractional approvals).
    assert wilson(rate * (n + more), n + more).low >= 0.9
    assert wilson(rate * (n + more - 1), n + more - 1).low < 0.9
    assert proportion_confint(rate * (n + more), n + more, method="wilson")[0] >= 0.9
    assert evaluate(k, n).more_needed == more


def test_more_needed_edges():
    rule = GateRule()
    assert more_reviews_needed(36, 36, rule) == 0
    assert more_reviews_needed(90, 100, rule) is None  # at the target: never
    assert more_reviews_needed(80, 100, rule) is None
    assert more_reviews_needed(0, 0, rule) is None
    assert more_reviews_needed(5, 3, rule) is None
    assert more_reviews_needed(27, 30, LENIENT) == 0
    assert more_reviews_needed(26, 30, LENIENT) is None


@pytest.mark.parametrize(
    ("k", "n", "status", "sentence"),
    [
        (35, 35, "passes", "35 of 35 approved, 100.0%, 95% interval 90.1 to 100.0%: passes"),
        (
            34,
            34,
            "needs_more",
            "34 of 34 approved, 100.0%, 95% interval 89.8 to 100.0%: "
            "needs about 1 more review at this approval rate",
        ),
        (
            160,
            200,
            "fails",
            "160 of 200 approved, 80.0%, 95% interval 73.9 to 85.0%: "
            "fails: the approval rate is below the 90% target",
        ),
        (
            90,
            100,
            "fails",
            "90 of 100 approved, 90.0%, 95% interval 82.6 to 94.5%: fails: the approval rate is "
            "at the 90% target, and the interval's lower bound can only reach the target when "
            "the rate is above it",
        ),
        (
            11,
            12,
            "not_enough_reviews",
            "not enough reviews: 12 of at least 30 "
            "(11 of 12 approved, 91.7%, 95% interval 64.6 to 98.5%)",
        ),
        (0, 0, "not_enough_reviews", "not enough reviews: 0 of at least 30"),
        (
            5,
            3,
            "invalid_input",
            "cannot judge 5 approved of 3 reviewed: more approved than reviewed",
        ),
        (-1, 3, "invalid_input", "cannot judge -1 approved of 3 reviewed: a count is negative"),
        (1, -3, "invalid_input", "cannot judge 1 approved of -3 reviewed: a count is negative"),
    ],
)
def test_verdict_sentences(k, n, status, sentence):
    verdict = evaluate(k, n)
    assert (verdict.status, verdict.sentence) == (status, sentence)
    assert verdict.passes == (status == "passes")
    assert (verdict.approved, verdict.reviewed) == (k, n)


def test_not_enough_reviews_says_how_many_more():
    assert evaluate(11, 12).more_needed == 18
    assert evaluate(0, 0).more_needed == 30
    # Only the reviews up to the minimum: a rate from a handful of reviews is too rough.
    assert evaluate(29, 29).more_needed == 1
    assert evaluate(9, 10, LENIENT).status == "not_enough_reviews"


def test_no_minimum_and_no_reviews():
    verdict = evaluate(0, 0, GateRule(min_reviews=0))
    assert verdict.status == "not_enough_reviews" and verdict.rate is None


def test_lenient_rule_and_other_targets():
    assert evaluate(27, 30, LENIENT).status == "passes"
    assert evaluate(26, 30, LENIENT).sentence.endswith(
        "fails: the approval rate is below the 90% target"
    )
    rule = GateRule(target=0.925, rule="point")
    assert evaluate(37, 40, rule).passes
    assert evaluate(36, 40, rule).sentence.endswith("below the 92.5% target")


def test_rate_too_close_to_the_target_to_count():
    verdict = evaluate(900_001, 1_000_000)
    assert verdict.status == "needs_more" and verdict.more_needed is None
    assert "too close to the 90% target" in verdict.sentence


@pytest.mark.parametrize(
    "kwargs",
    [{"target": 1.2}, {"target": 0}, {"confidence": 1.0}, {"min_reviews": -1}, {"rule": "vibes"}],
)
def test_invalid_rule_is_refused(kwargs):
    with pytest.raises(WorkbenchError, match="autonomy gate settings"):
        GateRule(**kwargs)


@pytest.mark.parametrize(
    ("k", "n", "status"),
    [
        (0, 0, "no_sampled_reviews"),
        (0, 1, "keep_going"),  # one rejection alone does not pause
        (1, 2, "keep_going"),
        (0, 5, "pause"),  # settled: 5 of 10 at best, still below
        (3, 9, "pause"),
        (7, 10, "pause"),  # upper bound 89.2%
        (8, 10, "keep_going"),  # upper bound 94.3%
        (30, 40, "pause"),
        (38, 40, "keep_going"),
        (36, 40, "keep_going"),  # 90% observed: not shown below the bar
        (5, 3, "invalid_input"),
    ],
)
def test_should_pause_on_the_wilson_upper_bound(k, n, status):
    verdict = should_pause(k, n)
    assert verdict.status == status
    assert verdict.pause == (status == "pause")
    if n >= 10 and k <= n:
        high = proportion_confint(k, n, alpha=0.05, method="wilson")[1]
        assert verdict.high == high and verdict.pause == (high < 0.9)


def test_pause_sentences():
    assert should_pause(7, 10).sentence == (
        "pause: 7 of 10 sampled reviews approved, 70.0%, 95% interval 39.7 to 89.2%; "
        "the whole interval is below the 90% target"
    )
    assert should_pause(8, 10).sentence == (
        "keep going: 8 of 10 sampled reviews approved, 80.0%, 95% interval 49.0 to 94.3%; "
        "not shown to be below the 90% target"
    )
    assert should_pause(0, 1).sentence.endswith("too few sampled reviews to pause (1 of 10)")


def test_should_pause_lenient_rule():
    assert should_pause(8, 10, LENIENT).pause
    assert not should_pause(9, 10, LENIENT).pause
    assert not should_pause(0, 1, LENIENT).pause  # 9 of 10 at best: not settled
    assert should_pause(0, 2, LENIENT).pause  # 8 of 10 at best: below
