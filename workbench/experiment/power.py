"""Power and sample size for comparing two arms: two-sided tests, normal approximation.

Binary metrics (a difference in rates) use the classic formula for two independent
proportions (Fleiss, *Statistical Methods for Rates and Proportions*, without continuity
correction; the one most online calculators use)::

    n = (z_{1-a/2} * sqrt(2 * pbar * qbar) + z_{1-b} * sqrt(p1*q1 + p2*q2))**2 / delta**2

with p1 the baseline rate, p2 = p1 +- delta, pbar = (p1 + p2) / 2 and q = 1 - p. The change
is taken **towards 50%** (down from a baseline above 50%, up from one below): of the two
directions that is the one needing more accounts, so the answer holds for a rise or a
fall. The detectable effect with n accounts per arm solves the same formula for delta
(Brent's method).

Continuous metrics: n = 2 * (z_{1-a/2} + z_{1-b})**2 * sd**2 / delta**2 and its inverse,
MDE = (z_{1-a/2} + z_{1-b}) * sd * sqrt(2 / n).

n is per arm and assumes equal arms. Arms of unequal size count as their **harmonic
mean** 2 * n_t * n_b / (n_t + n_b): the equal-arm size with the same variance of the
difference (exact for means, close for rates), which is larger than the smaller arm.
Required sizes are rounded up to whole accounts; ``n_exact`` keeps the unrounded value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from scipy import optimize
from scipy import stats as sps

from workbench.experiment import wording
from workbench.experiment.types import MetricKind, Unit

PowerCode = Literal["ok", "no_data", "zero_variance", "invalid", "not_detectable"]
DEFAULT_BINARY_MDE = 0.05  # 5 points
DEFAULT_SD_MDE = 0.2  # a fifth of a standard deviation


@dataclass(frozen=True)
class SampleSize:
    """Accounts per arm needed to detect ``effect``; ``n`` rounded up, None when not computable.

    ``effect`` is absolute: a fraction for rates (0.05 = 5 points), metric units otherwise.
    ``baseline`` is the baseline rate (binary) and ``sd`` the standard deviation (continuous).
    """

    kind: MetricKind
    effect: float
    alpha: float
    power: float
    baseline: float | None = None
    sd: float | None = None
    n_exact: float | None = None
    n: int | None = None
    code: PowerCode = "ok"
    message: str | None = None


@dataclass(frozen=True)
class Detectable:
    """The smallest change detectable with ``n_per_arm`` accounts per arm (``effect``)."""

    kind: MetricKind
    n_per_arm: float
    alpha: float
    power: float
    baseline: float | None = None
    sd: float | None = None
    effect: float | None = None
    code: PowerCode = "ok"
    message: str | None = None


def _z(alpha: float, power: float) -> tuple[float, float]:
    return float(sps.norm.ppf(1 - alpha / 2)), float(sps.norm.ppf(power))


def _bad_levels(alpha: float, power: float) -> str | None:
    if not (0 < alpha < 1) or not (0 < power < 1):
        return f"alpha ({alpha:g}) and power ({power:g}) must both lie between 0 and 1"
    return None


def binary_n(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The unrounded accounts per arm to tell rate p2 from p1 (the formula above)."""
    za, zb = _z(alpha, power)
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root * root / (p2 - p1) ** 2


def _towards_half(p1: float, delta: float) -> float:
    return p1 - delta if p1 > 0.5 else p1 + delta


def required_n_binary(
    baseline: float | None, mde: float, alpha: float = 0.05, power: float = 0.8
) -> SampleSize:
    """Accounts per arm to detect an absolute change of ``mde`` in a rate (0.05 = 5 points)."""
    out = SampleSize("binary", mde, alpha, power, baseline=baseline)
    bad = _bad_levels(alpha, power)
    if bad:
        return _with(out, "invalid", bad)
    if baseline is None or not math.isfinite(baseline):
        return _with(out, "no_data", "the baseline rate is not known yet")
    if not 0 <= baseline <= 1:
        return _with(out, "invalid", f"a baseline rate must lie in 0..1, not {baseline:g}")
    if not (math.isfinite(mde) and 0 < mde < 1):
        return _with(
            out,
            "invalid",
            f"the effect for a rate is a fraction above 0 (0.05 = 5 points), not {mde:g}",
        )
    if mde > max(baseline, 1 - baseline):
        return _with(
            out,
            "invalid",
            f"a change of {wording.diff(mde, 'rate', signed=False)} from "
            f"{wording.value(baseline, 'rate')} would leave the 0 to 100% range",
        )
    exact = binary_n(baseline, _towards_half(baseline, mde), alpha, power)
    return _with(out, "ok", None, n_exact=exact, n=math.ceil(exact))


def detectable_binary(
    baseline: float | None, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> Detectable:
    """The smallest absolute change in a rate detectable with ``n_per_arm`` accounts per arm."""
    out = Detectable("binary", n_per_arm, alpha, power, baseline=baseline)
    bad = _bad_levels(alpha, power)
    if bad:
        return _with(out, "invalid", bad)
    if not n_per_arm > 0:
        return _with(out, "no_data", "there are no accounts with an observed outcome yet")
    if baseline is None or not math.isfinite(baseline):
        return _with(out, "no_data", "the baseline rate is not known yet")
    if not 0 <= baseline <= 1:
        return _with(out, "invalid", f"a baseline rate must lie in 0..1, not {baseline:g}")
    widest = max(baseline, 1 - baseline)

    def gap(delta: float) -> float:
        return binary_n(baseline, _towards_half(baseline, delta), alpha, power) - n_per_arm

    if gap(widest) > 0:
        return _with(
            out,
            "not_detectable",
            f"with {wording.count(n_per_arm)} accounts per arm not even a change of the rate "
            f"from {wording.value(baseline, 'rate')} all the way to "
            f"{wording.value(_towards_half(baseline, widest), 'rate')} would be detected reliably",
        )
    delta = optimize.brentq(gap, 1e-9, widest, xtol=1e-14, rtol=1e-13, maxiter=200)
    return _with(out, "ok", None, effect=float(delta))


def required_n_continuous(
    sd: float | None, mde: float, alpha: float = 0.05, power: float = 0.8
) -> SampleSize:
    """Accounts per arm to detect a change of ``mde`` (metric units) in a mean."""
    out = SampleSize("continuous", mde, alpha, power, sd=sd)
    bad = _bad_levels(alpha, power) or _bad_sd(sd)
    if bad:
        return _with(out, _sd_code(sd), bad)
    assert sd is not None
    if not (math.isfinite(mde) and mde > 0):
        return _with(out, "invalid", f"the effect must be a positive number, not {mde:g}")
    za, zb = _z(alpha, power)
    exact = 2 * (za + zb) ** 2 * sd * sd / (mde * mde)
    return _with(out, "ok", None, n_exact=exact, n=math.ceil(exact))


def detectable_continuous(
    sd: float | None, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> Detectable:
    """The smallest change in a mean detectable with ``n_per_arm`` accounts per arm."""
    out = Detectable("continuous", n_per_arm, alpha, power, sd=sd)
    bad = _bad_levels(alpha, power)
    if bad:
        return _with(out, "invalid", bad)
    if not n_per_arm > 0:
        return _with(out, "no_data", "there are no accounts with an observed outcome yet")
    bad = _bad_sd(sd)
    if bad:
        return _with(out, _sd_code(sd), bad)
    assert sd is not None
    za, zb = _z(alpha, power)
    return _with(out, "ok", None, effect=(za + zb) * sd * math.sqrt(2 / n_per_arm))


def _bad_sd(sd: float | None) -> str | None:
    if sd is None or not math.isfinite(sd):
        return "the spread of the values is not known yet (it needs two accounts per arm)"
    if sd < 0:
        return f"a standard deviation cannot be negative ({sd:g})"
    if sd == 0:
        return "the values do not vary at all yet, so the spread a sample size needs is unknown"
    return None


def _sd_code(sd: float | None) -> PowerCode:
    if sd is None or not math.isfinite(sd):
        return "no_data"
    return "zero_variance" if sd == 0 else "invalid"


_R = TypeVar("_R", SampleSize, Detectable)


def _with(out: _R, code: PowerCode, message: str | None, **figures: Any) -> _R:
    return replace(out, code=code, message=message, **figures)


def effective_n(n_t: float, n_b: float) -> float:
    """Equal-arm size worth two unequal arms: their harmonic mean (0 when either is 0)."""
    if n_t <= 0 or n_b <= 0:
        return 0.0
    return 2 * n_t * n_b / (n_t + n_b)


@dataclass(frozen=True)
class PowerResult:
    """What a pair of arms can detect now, and what the chosen effect would need.

    ``n_per_arm`` is the harmonic mean of ``n_t`` and ``n_b``; ``mde`` the chosen effect
    (absolute; ``mde_default`` when it is the default: 5 points, or 0.2 SD);
    ``underpowered`` when the arms are smaller than the chosen effect needs (or nothing can
    be detected at all); ``sentence`` both findings in plain words.
    """

    kind: MetricKind
    unit: Unit
    n_t: int
    n_b: int
    n_per_arm: float
    mde: float | None
    mde_default: bool
    detectable: Detectable
    required: SampleSize | None
    underpowered: bool
    sentence: str


def plan_power(
    kind: MetricKind,
    n_t: int,
    n_b: int,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    mde: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    unit: Unit = "number",
) -> PowerResult:
    """Detectable effect with the current arms and accounts needed for the chosen effect.

    Args:
        kind: ``binary`` or ``continuous``.
        n_t: Treatment accounts with an observed outcome.
        n_b: Baseline accounts with an observed outcome.
        baseline: The baseline rate (binary).
        sd: The standard deviation of the values (continuous; pooled over the two arms).
        mde: The effect worth detecting, absolute (0.05 = 5 points for a rate); None for
            the default: 5 points, or 0.2 standard deviations.
        alpha: Two-sided significance level.
        power: Chance of detecting an effect of that size.
        unit: How the effect is written (``rate`` as points).
    """
    if kind == "binary":
        unit = "rate"
    n_eff = effective_n(n_t, n_b)
    default = mde is None
    if default:
        mde = DEFAULT_BINARY_MDE if kind == "binary" else (DEFAULT_SD_MDE * sd if sd else None)
    if kind == "binary":
        det = detectable_binary(baseline, n_eff, alpha, power)
        req = required_n_binary(baseline, mde, alpha, power) if mde is not None else None
    else:
        det = detectable_continuous(sd, n_eff, alpha, power)
        req = required_n_continuous(sd, mde, alpha, power) if mde is not None else None
    under = det.code in ("no_data", "not_detectable") or (
        req is not None and req.n_exact is not None and n_eff < req.n_exact
    )
    levels = f"({wording.percent(power)} power, {wording.percent(alpha)} significance)"
    arms = (
        f"{wording.count(n_t)} accounts per arm"
        if n_t == n_b
        else f"{wording.count(n_t)} and {wording.count(n_b)} accounts in the two arms "
        f"(worth {wording.count(n_eff)} per arm if they were equal)"
    )
    if det.effect is not None:
        first = (
            f"With {arms} you can detect a change of "
            f"{wording.diff(det.effect, unit, signed=False)} or more {levels}."
        )
    elif det.code == "not_detectable" and det.message:
        first = det.message[0].upper() + det.message[1:] + "."
    else:
        first = f"The detectable change is not known: {det.message}."
    second = ""
    if req is not None and mde is not None:
        what = (
            f"{mde * 100:.4g} points" if kind == "binary" else wording.diff(mde, unit, signed=False)
        ) + (f" ({DEFAULT_SD_MDE:g} SD)" if default and kind == "continuous" else "")
        if req.n is not None:
            have = wording.count(n_t) if n_t == n_b else f"the equivalent of {wording.count(n_eff)}"
            second = f" To detect {what} you need {req.n:,} accounts per arm; you have {have}."
        else:
            second = f" The accounts needed to detect {what} are not known: {req.message}."
    return PowerResult(
        kind, unit, n_t, n_b, n_eff, mde, default, det, req, under, (first + second).strip()
    )
