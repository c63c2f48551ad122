"""Golden figures for the outcome statistics, each recomputed here from scipy or the formula.

Data come from numpy's default_rng with fixed seeds; every figure must agree with the
independent computation to at least 6 significant digits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from workbench.experiment.srm import check_srm
from workbench.experiment.stats import (
    compare_binary,
    compare_continuous,
    compare_means,
    compare_summaries,
    skewness,
    summarize,
    summary_from_sums,
)


def close(expected: float) -> object:
    """Six significant digits (and exact zero where the reference is zero)."""
    return pytest.approx(expected, rel=1e-6, abs=1e-15)


# -- binary -------------------------------------------------------------------------------

BINARY_CASES = [
    # seed, n_t, p_t, n_b, p_b, alpha
    (1, 420, 0.84, 410, 0.71, 0.05),
    (2, 4_500, 0.62, 1_000, 0.60, 0.05),
    (3, 60, 0.30, 55, 0.45, 0.10),
    (4, 25_000, 0.91, 24_800, 0.905, 0.01),
    (5, 12, 0.5, 9, 0.2, 0.05),
]


@pytest.mark.parametrize("seed,n_t,p_t,n_b,p_b,alpha", BINARY_CASES)
def test_binary_matches_direct_formulas(seed, n_t, p_t, n_b, p_b, alpha):
    rng = np.random.default_rng(seed)
    yt = (rng.random(n_t) < p_t).astype(float)
    yb = (rng.random(n_b) < p_b).astype(float)
    xt, xb = yt.sum(), yb.sum()
    r = compare_binary(xt, n_t, xb, n_b, alpha)
    assert r.code == "ok" and r.message is None
    rt, rb = yt.mean(), yb.mean()
    diff = rt - rb
    se = math.sqrt(rt * (1 - rt) / n_t + rb * (1 - rb) / n_b)
    q = sps.norm.ppf(1 - alpha / 2)
    pooled = (xt + xb) / (n_t + n_b)
    z = diff / math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_b))
    assert r.value_t == close(rt) and r.value_b == close(rb)
    assert r.diff == close(diff)
    assert r.se == close(se)
    assert r.ci_low == close(diff - q * se) and r.ci_high == close(diff + q * se)
    assert r.statistic == close(z)
    assert r.p == close(2 * sps.norm.sf(abs(z)))
    assert r.lift == close(diff / rb)


def test_binary_matches_statsmodels_ztest_and_wald_interval():
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    rng = np.random.default_rng(11)
    yt = rng.random(3_000) < 0.55
    yb = rng.random(700) < 0.50
    r = compare_binary(yt.sum(), yt.size, yb.sum(), yb.size)
    z, p = proportions_ztest([yt.sum(), yb.sum()], [yt.size, yb.size])
    low, high = confint_proportions_2indep(yt.sum(), yt.size, yb.sum(), yb.size, method="wald")
    assert (r.statistic, r.p) == (close(z), close(p))
    assert (r.ci_low, r.ci_high) == (close(low), close(high))


# -- continuous ---------------------------------------------------------------------------

CONTINUOUS_CASES = [
    # seed, n_t, n_b, generator, alpha
    (21, 500, 480, "normal", 0.05),
    (22, 45_000, 10_000, "lognormal", 0.05),
    (23, 8, 30, "normal", 0.10),
    (24, 2_000, 150, "exponential", 0.01),
]


def _draw(rng: np.random.Generator, kind: str, n: int, shift: float) -> np.ndarray:
    if kind == "normal":
        return rng.normal(100 + shift, 15, n)
    if kind == "lognormal":
        return rng.lognormal(7 + shift / 100, 1.2, n)
    return rng.exponential(40 + shift, n)


@pytest.mark.parametrize("seed,n_t,n_b,gen,alpha", CONTINUOUS_CASES)
def test_welch_matches_scipy(seed, n_t, n_b, gen, alpha):
    rng = np.random.default_rng(seed)
    yt, yb = _draw(rng, gen, n_t, 5.0), _draw(rng, gen, n_b, 0.0)
    r = compare_continuous(n_t, yt.sum(), (yt**2).sum(), n_b, yb.sum(), (yb**2).sum(), alpha)
    ref = sps.ttest_ind(yt, yb, equal_var=False)
    ci = ref.confidence_interval(1 - alpha)
    vt, vb = yt.var(ddof=1) / n_t, yb.var(ddof=1) / n_b
    df = (vt + vb) ** 2 / (vt**2 / (n_t - 1) + vb**2 / (n_b - 1))
    assert r.code == "ok"
    assert r.diff == close(yt.mean() - yb.mean())
    assert r.se == close(math.sqrt(vt + vb))
    assert r.statistic == close(ref.statistic)
    assert r.df == close(df)
    assert r.p == close(ref.pvalue)
    assert (r.ci_low, r.ci_high) == (close(ci.low), close(ci.high))
    assert r.lift == close((yt.mean() - yb.mean()) / yb.mean())
    assert (r.sd_t, r.sd_b) == (close(yt.std(ddof=1)), close(yb.std(ddof=1)))


def test_two_pass_summary_matches_numpy_where_sums_would_cancel():
    rng = np.random.default_rng(31)
    values = 1e7 + rng.normal(0, 0.5, 5_000)  # mean**2 / var ~ 4e14: sums lose digits
    values[rng.random(5_000) < 0.1] = np.nan
    s = summarize("ai", values)
    seen = values[~np.isnan(values)]
    assert (s.n, s.missing) == (seen.size, values.size - seen.size)
    assert s.mean == close(seen.mean())
    assert s.variance == close(seen.var(ddof=1))
    assert s.total == close(seen.sum()) and s.sumsq == close((seen**2).sum())


def test_summaries_feed_the_same_welch_test_as_scipy():
    rng = np.random.default_rng(32)
    yt, yb = rng.gamma(2.0, 300, 900), rng.gamma(2.0, 280, 300)
    r = compare_summaries(summarize("ai", yt), summarize("control", yb), "continuous")
    ref = sps.ttest_ind(yt, yb, equal_var=False)
    assert (r.statistic, r.p) == (close(ref.statistic), close(ref.pvalue))


def test_summary_from_sums_matches_numpy():
    rng = np.random.default_rng(33)
    y = rng.normal(3, 2, 77)
    s = summary_from_sums("csm", y.size, y.sum(), (y**2).sum())
    assert s.mean == close(y.mean()) and s.sd == close(y.std(ddof=1))


@pytest.mark.parametrize("seed", [41, 42])
def test_skewness_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(5, 1.5, 3_000)
    assert skewness(y) == close(sps.skew(y))
    assert skewness(np.r_[y, np.nan]) == close(sps.skew(y))


# -- sample ratio -------------------------------------------------------------------------

SRM_CASES = [
    # seed, n, true shares, planned shares
    (51, 10_000, (0.45, 0.45, 0.10), (0.45, 0.45, 0.10)),
    (52, 10_000, (0.47, 0.45, 0.08), (0.45, 0.45, 0.10)),
    (53, 3_000, (0.5, 0.0, 0.5), (0.5, 0.0, 0.5)),
    (54, 800, (0.3, 0.3, 0.4), (0.3, 0.3, 0.4)),
]


@pytest.mark.parametrize("seed,n,truth,plan", SRM_CASES)
def test_srm_matches_scipy_chisquare(seed, n, truth, plan):
    rng = np.random.default_rng(seed)
    arms = np.array(["ai", "csm", "control"])
    drawn = rng.choice(arms, size=n, p=truth)
    counts = {a: int((drawn == a).sum()) for a in arms}
    shares = dict(zip(arms, plan, strict=True))
    r = check_srm(counts, shares)
    used = [a for a in arms if shares[a] > 0]
    obs = np.array([counts[a] for a in used])
    exp = obs.sum() * np.array([shares[a] for a in used]) / sum(shares[a] for a in used)
    ref = sps.chisquare(obs, exp)
    assert r.chi2 == close(ref.statistic) and r.p == close(ref.pvalue)
    assert r.df == len(used) - 1
    assert r.observed == tuple(obs) and r.expected == tuple(pytest.approx(e) for e in exp)
    assert r.failed is bool(ref.pvalue < 0.001)
    assert r.code == ("mismatch" if ref.pvalue < 0.001 else "ok")


def test_srm_failure_is_loud_and_lists_observed_vs_expected():
    r = check_srm({"ai": 5_200, "csm": 3_900, "control": 900}, {"ai": 45, "csm": 45, "control": 10})
    assert r.failed and r.code == "mismatch"
    assert r.sentence.startswith("WARNING")
    assert "differs from the plan" in r.sentence and "can't be trusted" in r.sentence
    assert "AI-handled 5,200 vs 4,500 expected" in r.sentence


# -- degenerate input ---------------------------------------------------------------------

BINARY_DEGENERATE = [
    # x_t, n_t, x_b, n_b, code, words in the message, figures present
    (0, 0, 0, 0, "no_data", "neither arm", ()),
    (5, 10, 0, 0, "empty_arm", "the baseline arm has no account", ("value_t",)),
    (0, 0, 3, 10, "empty_arm", "the treatment arm has no account", ("value_b",)),
    (1, 1, 5, 10, "too_few", "only one account", ("diff",)),
    (10, 10, 20, 20, "all_same", "every account in both arms had the outcome", ("diff",)),
    (0, 10, 0, 20, "all_same", "no account in either arm had the outcome", ("diff",)),
    (10, 10, 0, 20, "zero_variance", "all-or-nothing", ("diff", "statistic", "p")),
    (11, 10, 0, 20, "invalid", "not valid", ()),
    (-1, 10, 0, 20, "invalid", "not valid", ()),
]


@pytest.mark.parametrize("x_t,n_t,x_b,n_b,code,words,present", BINARY_DEGENERATE)
def test_binary_degenerate_cases_are_explained(x_t, n_t, x_b, n_b, code, words, present):
    r = compare_binary(x_t, n_t, x_b, n_b)
    assert r.code == code
    assert r.message is not None and words in r.message
    for name in present:
        assert getattr(r, name) is not None, name
    assert r.ci_low is None and r.ci_high is None


def test_binary_all_or_nothing_still_gets_the_pooled_z_test():
    r = compare_binary(10, 10, 0, 20)
    pooled = 10 / 30
    z = 1.0 / math.sqrt(pooled * (1 - pooled) * (1 / 10 + 1 / 20))
    assert r.statistic == close(z) and r.p == close(2 * sps.norm.sf(z))


def test_binary_lift_is_none_when_the_baseline_rate_is_zero():
    r = compare_binary(5, 10, 0, 10)
    assert r.lift is None and r.diff == 0.5


CONTINUOUS_DEGENERATE = [
    # (values_t, values_b), code, words in the message
    (([], []), "no_data", "neither arm"),
    (([1.0, 2.0], []), "empty_arm", "the baseline arm has no account"),
    (([5.0], [1.0, 2.0, 3.0]), "too_few", "the treatment arm has only one account"),
    (([4.0, 4.0, 4.0], [4.0, 4.0]), "all_same", "the same value"),
    (([4.0, 4.0, 4.0], [2.0, 2.0]), "zero_variance", "do not vary within either arm"),
    (([np.nan, np.nan], [1.0, 2.0]), "empty_arm", "the treatment arm has no account"),
    (([0.1] * 3, [0.1] * 2), "all_same", "the same value"),  # 0.1 is inexact in binary
    (([0.1] * 5, [0.3] * 4), "zero_variance", "do not vary within either arm"),
]


@pytest.mark.parametrize("arms,code,words", CONTINUOUS_DEGENERATE)
def test_continuous_degenerate_cases_are_explained(arms, code, words):
    t = summarize("ai", np.array(arms[0], dtype=float))
    b = summarize("control", np.array(arms[1], dtype=float))
    r = compare_summaries(t, b, "continuous")
    assert r.code == code
    assert r.message is not None and words in r.message
    assert r.p is None and r.ci_low is None


def test_nan_values_are_counted_as_missing_and_left_out():
    rng = np.random.default_rng(61)
    yt, yb = rng.normal(10, 2, 50), rng.normal(9, 2, 40)
    yt_nan = np.r_[yt, [np.nan] * 7]
    t, b = summarize("ai", yt_nan), summarize("control", yb)
    assert (t.n, t.missing) == (50, 7)
    r = compare_summaries(t, b, "continuous")
    assert r.p == close(sps.ttest_ind(yt, yb, equal_var=False).pvalue)


def test_one_arm_without_spread_uses_the_other_arms_variance():
    rng = np.random.default_rng(62)
    yb = rng.normal(3, 1, 30)
    r = compare_means(20, 5.0, 0.0, 30, yb.mean(), yb.var(ddof=1))
    assert r.code == "ok" and r.df == close(29.0)
    assert r.se == close(math.sqrt(yb.var(ddof=1) / 30))


def test_continuous_from_constant_sums_is_zero_variance_not_rounding_noise():
    # 0.1 is not exact in binary: sumsq - sum**2 / n leaves a tiny non-zero residue.
    r = compare_continuous(3, 0.3, 0.03, 3, 0.6, 0.12)
    assert r.code == "zero_variance"
