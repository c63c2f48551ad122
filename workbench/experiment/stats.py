"""Outcome statistics from sufficient statistics: arm summaries, rates and means compared.

Everything here takes counts, sums and sums of squares (or an array it reduces to them)
and returns frozen dataclasses; nothing reads a frame or the database. Degenerate input
(an empty arm, one account, no spread, every account retained) gives a result whose
``code`` says what is wrong and whose ``message`` says it in plain words, the way
gbstats returns its default output, instead of raising.

* Binary metrics: the difference in rates (treatment - baseline) with a Wald interval
  on the unpooled standard error, and the two-proportion z-test on the pooled one.
* Continuous metrics: the difference in means with Welch's t-test, the
  Welch-Satterthwaite degrees of freedom and a t interval at those degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import numpy as np
from scipy import stats as sps

from workbench.experiment.types import MetricKind

StatCode = Literal["ok", "no_data", "empty_arm", "too_few", "zero_variance", "all_same", "invalid"]
SKEW_LIMIT = 2.0  # |sample skewness| above this in an arm counts as heavy skew
# A variance below this share of the mean square is rounding noise: from sums,
# sumsq - sum**2 / n cancels to about 1e-16 of the mean square; around the mean (two
# passes) a constant leaves at most a few ulp**2, about 1e-31 of it.
_REL_ZERO_SUMS = 1e-12
_REL_ZERO_CENTRED = 1e-24


@dataclass(frozen=True)
class ArmSummary:
    """One arm's outcome values reduced to sufficient statistics.

    Attributes:
        arm: Arm code (``ai``, ``csm``, ``control``).
        n: Accounts with an observed outcome.
        missing: Accounts in the arm whose outcome is missing (NaN), left out of ``n``.
        total: Sum of the observed values (for a binary metric: the number of 1s).
        sumsq: Sum of squares of the observed values.
        mean: Mean (for a binary metric: the rate); None when ``n`` is 0.
        variance: Sample variance (divisor n - 1); None when ``n`` < 2.
    """

    arm: str
    n: int
    missing: int
    total: float
    sumsq: float
    mean: float | None
    variance: float | None

    @property
    def sd(self) -> float | None:
        return None if self.variance is None else math.sqrt(self.variance)


def summarize(arm: str, values: np.ndarray) -> ArmSummary:
    """Summarise one arm's values; NaN counts as missing and is left out.

    The variance is computed in two passes (around the mean), which stays exact where
    ``sumsq - sum**2 / n`` would cancel (large values with a small spread).
    """
    v = np.asarray(values, dtype=float)
    seen = v[~np.isnan(v)]
    n = int(seen.size)
    missing = int(v.size - n)
    if n == 0:
        return ArmSummary(arm, 0, missing, 0.0, 0.0, None, None)
    total = float(seen.sum())
    mean = total / n
    sumsq = float(np.dot(seen, seen))
    var = None
    if n >= 2:
        centred = seen - mean
        var = _clean_var(float(np.dot(centred, centred)) / (n - 1), sumsq / n, _REL_ZERO_CENTRED)
    return ArmSummary(arm, n, missing, total, sumsq, mean, var)


def summary_from_sums(arm: str, n: int, total: float, sumsq: float, missing: int = 0) -> ArmSummary:
    """An ``ArmSummary`` from sufficient statistics (n, sum, sum of squares)."""
    if n <= 0:
        return ArmSummary(arm, 0, missing, 0.0, 0.0, None, None)
    mean = total / n
    var = (
        _clean_var((sumsq - total * mean) / (n - 1), sumsq / n, _REL_ZERO_SUMS) if n >= 2 else None
    )
    return ArmSummary(arm, n, missing, float(total), float(sumsq), mean, var)


def _clean_var(var: float, mean_square: float, rel: float) -> float:
    return 0.0 if var <= rel * mean_square else var


def skewness(values: np.ndarray) -> float | None:
    """Sample skewness g1 = m3 / m2**1.5 (``scipy.stats.skew`` with its default
    ``bias=True``) of the non-missing values; None below 3 values or with no spread."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size < 3:
        return None
    c = v - v.mean()
    m2 = float(np.dot(c, c)) / v.size
    if m2 <= _REL_ZERO_CENTRED * float(np.dot(v, v)) / v.size:
        return None
    m3 = float(np.dot(c * c, c)) / v.size
    return m3 / m2**1.5


@dataclass(frozen=True)
class BinaryComparison:
    """Treatment rate minus baseline rate.

    ``value_t``/``value_b`` are the rates; ``diff`` their difference; ``ci_low``/``ci_high``
    the (1 - alpha) Wald interval on the unpooled standard error ``se``; ``statistic`` the
    two-proportion z on the pooled standard error ``se_pooled``; ``p`` its two-sided p-value;
    ``lift`` = diff / baseline rate (None when the baseline rate is 0). Figures that cannot
    be computed are None, and ``code``/``message`` say why.
    """

    x_t: float
    n_t: int
    x_b: float
    n_b: int
    alpha: float
    value_t: float | None = None
    value_b: float | None = None
    diff: float | None = None
    se: float | None = None
    se_pooled: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    statistic: float | None = None
    p: float | None = None
    lift: float | None = None
    code: StatCode = "ok"
    message: str | None = None
    test: str = "two-proportion z-test"
    df: float | None = None  # always None: the z-test has no degrees of freedom

    @property
    def ok(self) -> bool:
        return self.code == "ok"


@dataclass(frozen=True)
class ContinuousComparison:
    """Treatment mean minus baseline mean, with Welch's t-test.

    ``se`` = sqrt(var_t / n_t + var_b / n_b); ``statistic`` = diff / se; ``df`` the
    Welch-Satterthwaite degrees of freedom; ``p`` two-sided from t(df); the interval is
    diff +- t_{1 - alpha/2, df} * se; ``lift`` = diff / baseline mean (None when it is 0).
    """

    n_t: int
    n_b: int
    alpha: float
    value_t: float | None = None
    value_b: float | None = None
    sd_t: float | None = None
    sd_b: float | None = None
    diff: float | None = None
    se: float | None = None
    df: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    statistic: float | None = None
    p: float | None = None
    lift: float | None = None
    code: StatCode = "ok"
    message: str | None = None
    test: str = "Welch t-test"

    @property
    def ok(self) -> bool:
        return self.code == "ok"


Comparison = BinaryComparison | ContinuousComparison
_C = TypeVar("_C", BinaryComparison, ContinuousComparison)
_NAMES = ("the treatment arm", "the baseline arm")


def _lift(diff: float, base: float) -> float | None:
    return diff / base if base != 0 else None


def _bad_alpha(alpha: float) -> bool:
    return not (0 < alpha < 1)


def compare_binary(
    x_t: float,
    n_t: int,
    x_b: float,
    n_b: int,
    alpha: float = 0.05,
    names: tuple[str, str] = _NAMES,
) -> BinaryComparison:
    """Compare two rates: x_t of n_t treatment accounts against x_b of n_b baseline ones.

    Args:
        x_t: Treatment accounts with the outcome (renewed).
        n_t: Treatment accounts with an observed outcome.
        x_b: Baseline accounts with the outcome.
        n_b: Baseline accounts with an observed outcome.
        alpha: Significance level; the interval is (1 - alpha).
        names: How the two arms are called in messages ("AI-handled", "control").

    Returns:
        A ``BinaryComparison``; codes: ``no_data`` / ``empty_arm`` (no accounts), ``too_few``
        (one account in an arm), ``all_same`` (every account in both arms has the same
        outcome: nothing to test), ``zero_variance`` (each arm is all-or-nothing but they
        differ: the z-test applies, the Wald interval has no width and is left out),
        ``invalid`` (a negative count, more successes than accounts, alpha outside 0..1).
    """
    base = BinaryComparison(x_t, n_t, x_b, n_b, alpha)
    nt, nb = names
    if (
        _bad_alpha(alpha)
        or not all(math.isfinite(v) for v in (x_t, n_t, x_b, n_b))
        or min(x_t, n_t, x_b, n_b) < 0
        or x_t > n_t
        or x_b > n_b
    ):
        return _replace(base, "invalid", "the counts are not valid: " + _counts(x_t, n_t, x_b, n_b))
    if n_t == 0 and n_b == 0:
        return _replace(base, "no_data", "neither arm has an account with an observed outcome yet")
    if n_t == 0 or n_b == 0:
        empty, other = (nt, nb) if n_t == 0 else (nb, nt)
        rate_t = x_t / n_t if n_t else None
        rate_b = x_b / n_b if n_b else None
        return _replace(
            base,
            "empty_arm",
            f"{empty} has no account with an observed outcome yet, so {other} has nothing "
            "to be compared with",
            value_t=rate_t,
            value_b=rate_b,
        )
    pt, pb = x_t / n_t, x_b / n_b
    diff = pt - pb
    fig = {"value_t": pt, "value_b": pb, "diff": diff, "lift": _lift(diff, pb)}
    if n_t < 2 or n_b < 2:
        few = nt if n_t < 2 else nb
        return _replace(
            base, "too_few", f"{few} has only one account with an observed outcome", **fig
        )
    pooled = (x_t + x_b) / (n_t + n_b)
    if pooled in (0.0, 1.0):
        what = (
            "every account in both arms had the outcome (100% in each)"
            if pooled == 1.0
            else "no account in either arm had the outcome (0% in each)"
        )
        return _replace(base, "all_same", f"{what}: there is no variation to test", **fig)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_b))
    z = diff / se_pooled
    fig.update(se_pooled=se_pooled, statistic=z, p=float(2 * sps.norm.sf(abs(z))))
    se = math.sqrt(pt * (1 - pt) / n_t + pb * (1 - pb) / n_b)
    if se == 0:
        return _replace(
            base,
            "zero_variance",
            f"each arm is all-or-nothing ({pt:.0%} vs {pb:.0%}), so the Wald interval has "
            "no width and is left out; the z-test still applies",
            se=0.0,
            **fig,
        )
    q = float(sps.norm.ppf(1 - alpha / 2))
    return _replace(base, "ok", None, se=se, ci_low=diff - q * se, ci_high=diff + q * se, **fig)


def _counts(x_t: float, n_t: float, x_b: float, n_b: float) -> str:
    return f"{x_t:g} of {n_t:g} against {x_b:g} of {n_b:g}"


def _replace(base: _C, code: StatCode, message: str | None, **figures: Any) -> _C:
    return replace(base, code=code, message=message, **figures)


def compare_continuous(
    n_t: int,
    sum_t: float,
    sumsq_t: float,
    n_b: int,
    sum_b: float,
    sumsq_b: float,
    alpha: float = 0.05,
    names: tuple[str, str] = _NAMES,
) -> ContinuousComparison:
    """Compare two means from (n, sum, sum of squares) per arm with Welch's t-test.

    See ``compare_means`` for the figures and codes.
    """
    t = summary_from_sums("t", n_t, sum_t, sumsq_t)
    b = summary_from_sums("b", n_b, sum_b, sumsq_b)
    return compare_means(n_t, t.mean, t.variance, n_b, b.mean, b.variance, alpha, names)


def compare_means(
    n_t: int,
    mean_t: float | None,
    var_t: float | None,
    n_b: int,
    mean_b: float | None,
    var_b: float | None,
    alpha: float = 0.05,
    names: tuple[str, str] = _NAMES,
) -> ContinuousComparison:
    """Welch's t-test from the arms' counts, means and sample variances.

    Returns:
        A ``ContinuousComparison``; codes: ``no_data`` / ``empty_arm`` (no values),
        ``too_few`` (one value in an arm: no variance), ``all_same`` (every value in both
        arms is the same), ``zero_variance`` (neither arm has any spread but their means
        differ: there is nothing to test the difference against), ``invalid`` (alpha
        outside 0..1, a negative variance, a non-finite figure). One arm without spread and
        the other with it is fine: Welch's test uses the other arm's variance alone.
    """
    base = ContinuousComparison(n_t, n_b, alpha)
    nt, nb = names
    if n_t <= 0 and n_b <= 0:
        return _replace(base, "no_data", "neither arm has an account with an observed outcome yet")
    if n_t <= 0 or n_b <= 0 or mean_t is None or mean_b is None:
        empty, other = (nt, nb) if n_t <= 0 or mean_t is None else (nb, nt)
        return _replace(
            base,
            "empty_arm",
            f"{empty} has no account with an observed outcome yet, so {other} has nothing "
            "to be compared with",
            value_t=mean_t,
            value_b=mean_b,
        )
    diff = mean_t - mean_b
    fig: dict[str, float | None] = {
        "value_t": mean_t,
        "value_b": mean_b,
        "diff": diff,
        "lift": _lift(diff, mean_b),
    }
    if _bad_alpha(alpha) or not math.isfinite(diff):
        return _replace(base, "invalid", "the means or alpha are not valid numbers", **fig)
    if n_t < 2 or n_b < 2 or var_t is None or var_b is None:
        few = nt if n_t < 2 or var_t is None else nb
        return _replace(
            base,
            "too_few",
            f"{few} has only one account with an observed outcome, so its spread is unknown",
            **fig,
        )
    if var_t < 0 or var_b < 0 or not (math.isfinite(var_t) and math.isfinite(var_b)):
        return _replace(base, "invalid", "a variance is negative or not a number", **fig)
    fig.update(sd_t=math.sqrt(var_t), sd_b=math.sqrt(var_b))
    a, b = var_t / n_t, var_b / n_b
    if a + b == 0:
        if abs(diff) <= 1e-12 * max(abs(mean_t), abs(mean_b)):
            return _replace(
                base,
                "all_same",
                f"every account in both arms has the same value ({mean_t:g}): there is no "
                "variation to test",
                **fig,
            )
        return _replace(
            base,
            "zero_variance",
            f"the values do not vary within either arm ({mean_t:g} vs {mean_b:g}), so the "
            "difference cannot be tested",
            **fig,
        )
    se = math.sqrt(a + b)
    t = diff / se
    df = (a + b) ** 2 / (a * a / (n_t - 1) + b * b / (n_b - 1))
    q = float(sps.t.ppf(1 - alpha / 2, df))
    return _replace(
        base,
        "ok",
        None,
        se=se,
        df=df,
        statistic=t,
        p=float(2 * sps.t.sf(abs(t), df)),
        ci_low=diff - q * se,
        ci_high=diff + q * se,
        **fig,
    )


def compare_summaries(
    t: ArmSummary,
    b: ArmSummary,
    kind: MetricKind,
    alpha: float = 0.05,
    names: tuple[str, str] = _NAMES,
) -> Comparison:
    """Compare two arm summaries: rates for a binary metric, Welch means otherwise."""
    if kind == "binary":
        return compare_binary(t.total, t.n, b.total, b.n, alpha, names)
    return compare_means(t.n, t.mean, t.variance, b.n, b.mean, b.variance, alpha, names)
