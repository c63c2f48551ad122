"""Numbers in plain words for the experiment sentences: rates as points, money with a $.

Rates are fractions (0.84) shown as percentages ("84.0%"); a difference of two rates is
shown in percentage points ("+12.8 points"). Other units keep their own scale.
"""

from __future__ import annotations

import math

from workbench.experiment.types import ARM_LABELS, Unit

# How a baseline arm is named after "vs" / "than" in a sentence.
ARM_AS_BASELINE: dict[str, str] = {
    "control": "control",
    "csm": "the CSM-handled arm",
    "ai": "the AI-handled arm",
}


def arm_label(arm: str) -> str:
    """Human label of an arm ("AI-handled"); unknown arms are shown as they are."""
    return ARM_LABELS.get(arm, arm)


def count(n: float) -> str:
    """1234 -> "1,234"; a fractional count (a harmonic mean) is rounded down."""
    return f"{math.floor(n):,}"


def percent(share: float) -> str:
    """0.05 -> "5%", 0.025 -> "2.5%" (a significance level or a power)."""
    return f"{share * 100:.4g}%"


def _number(x: float) -> str:
    ax = abs(x)
    if ax >= 100:
        return f"{ax:,.0f}"
    if ax >= 10:
        return f"{ax:.1f}"
    if ax >= 1:
        return f"{ax:.2f}"
    if ax == 0:
        return "0"
    return f"{ax:.3g}"


def _money(x: float) -> str:
    """Whole dollars from $10 up ("$92", not "$92.1"); cents below ("$4.57")."""
    ax = abs(x)
    if ax >= 10:
        return f"{ax:,.0f}"
    return "0" if ax == 0 else f"{ax:.2f}"


def value(x: float | None, unit: Unit) -> str:
    """A level: a rate "84.0%", money "$1,234", "3.2 hours", other numbers "12.3"."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    if unit == "rate":
        return f"{x * 100:.1f}%"
    if unit == "currency":
        return f"{sign}${_money(x)}"
    if unit == "hours":
        return f"{sign}{_number(x)} hours"
    return f"{sign}{_number(x)}"


def diff(x: float | None, unit: Unit, *, signed: bool = True, bare: bool = False) -> str:
    """A change: "+12.8 points" for rates, "+$234", "-3.2 hours", "+0.41".

    Args:
        x: The change (a fraction for rates).
        unit: The metric's unit.
        signed: Prefix "+" to a positive change (a minus sign is always shown).
        bare: Leave out the unit word ("+4.1" instead of "+4.1 points"), for intervals.
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    if unit == "rate":
        return f"{sign}{abs(x) * 100:.1f}" + ("" if bare else " points")
    if unit == "currency":
        return f"{sign}${_money(x)}"
    if unit == "hours":
        return f"{sign}{_number(x)}" + ("" if bare else " hours")
    return f"{sign}{_number(x)}"


def interval(low: float | None, high: float | None, unit: Unit, alpha: float) -> str:
    """ "95% CI +4.1 to +21.5" (rates in points)."""
    return f"{percent(1 - alpha)} CI {diff(low, unit, bare=True)} to {diff(high, unit, bare=True)}"


def p_value(p: float | None) -> str:
    """ "p = 0.004", "p < 0.001", "p = 0.12" (below 0.1 rounded down to 3 decimals)."""
    if p is None or not math.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:
        # Rounded down, so a p of 0.0496 reads "0.049", on the same side of 0.05 as itself.
        return f"p = {math.floor(p * 1000) / 1000:.3f}"
    return f"p = {p:.2f}"
