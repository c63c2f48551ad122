"""Sample ratio mismatch: does the split of accounts over the arms match the plan?

A chi-square goodness-of-fit test of the accounts per arm against the planned shares.
Arms the plan gives 0% are left out of the test (an arm with a planned share and no
accounts is kept: that is a mismatch in itself); accounts found in such an arm, or in an
arm the plan does not know, fail the check outright. The check fails below
p = 0.001, GrowthBook's threshold: a mismatch that large means assignment or outcome
collection is broken somewhere, and every other figure is suspect until it is explained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from scipy import stats as sps

from workbench.experiment import wording

SrmCode = Literal["ok", "mismatch", "unplanned_arm", "no_data", "one_arm", "invalid"]
SRM_THRESHOLD = 0.001
_LOUD = "WARNING — SAMPLE RATIO MISMATCH"
_DISTRUST = "The other results can't be trusted until the cause is found."


@dataclass(frozen=True)
class SrmResult:
    """The sample ratio check.

    Attributes:
        arms: The arms in the test (planned share above 0), in plan order.
        planned: Their planned shares, rescaled to add up to 1.
        observed: Accounts found per arm.
        expected: Accounts expected per arm (total x planned share).
        excluded: Arms left out because the plan gives them 0%.
        unplanned: Accounts found in an excluded or unknown arm (each one is a failure).
        chi2: Chi-square statistic; None when there is nothing to test.
        df: Degrees of freedom (arms in the test - 1).
        p: p-value of the chi-square test.
        threshold: p below which the check fails (0.001).
        failed: Whether the split differs from the plan.
        code: ``ok``, ``mismatch`` (p below the threshold), ``unplanned_arm``, ``no_data``,
            ``one_arm`` (a single planned arm: nothing to check) or ``invalid`` shares.
        message: Why there is no test, in plain words (None when there is one).
        sentence: The finding in plain words; loud when the check fails.
    """

    arms: tuple[str, ...]
    planned: tuple[float, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    excluded: tuple[str, ...]
    unplanned: int
    chi2: float | None
    df: int | None
    p: float | None
    threshold: float
    failed: bool
    code: SrmCode
    message: str | None
    sentence: str


def check_srm(
    counts: Mapping[str, int],
    shares: Mapping[str, float],
    threshold: float = SRM_THRESHOLD,
    what: str = "accounts",
) -> SrmResult:
    """Chi-square test of the accounts per arm against the planned shares.

    Args:
        counts: Accounts per arm (arms with none may be left out).
        shares: Planned share per arm (``Allocation.shares()``: 0..1; any positive scale
            works, the shares are rescaled to add up to 1).
        threshold: p below which the split counts as mismatched.
        what: What is counted, for the sentence ("accounts with an observed outcome").
    """
    bad = [a for a, s in shares.items() if not (math.isfinite(s) and s >= 0)]
    arms = tuple(a for a, s in shares.items() if a not in bad and s > 0)
    excluded = tuple(a for a, s in shares.items() if a not in bad and s == 0)
    observed = tuple(int(counts.get(a, 0)) for a in arms)
    extra = {a: int(c) for a, c in counts.items() if a not in arms and c}
    unplanned = sum(extra.values())
    total = sum(observed)
    scale = sum(shares[a] for a in arms)
    planned = tuple(shares[a] / scale for a in arms) if scale else ()
    expected = tuple(total * s for s in planned)

    def result(code: SrmCode, message: str | None, sentence: str, **fig: float | None) -> SrmResult:
        chi2, p = fig.get("chi2"), fig.get("p")
        return SrmResult(
            arms, planned, observed, expected, excluded, unplanned, chi2,
            len(arms) - 1 if chi2 is not None else None, p, threshold,
            code in ("mismatch", "unplanned_arm"), code, message, sentence,
        )  # fmt: skip

    if bad or not arms:
        msg = "the planned shares are not valid: " + ", ".join(
            f"{wording.arm_label(a)} {s:g}" for a, s in shares.items()
        )
        return result("invalid", msg, f"The split cannot be checked: {msg}.")
    fig: dict[str, float] = {}
    figures = ""
    if total and len(arms) > 1:
        chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
        fig = {"chi2": chi2, "p": float(sps.chi2.sf(chi2, len(arms) - 1))}
        detail = ", ".join(
            f"{wording.arm_label(a)} {o:,} vs {e:,.0f} expected"
            if e >= 100
            else f"{wording.arm_label(a)} {o:,} vs {e:.1f} expected"
            for a, o, e in zip(arms, observed, expected, strict=True)
        )
        figures = f"{detail}; chi-square {chi2:.2f}, {wording.p_value(fig['p'])}"
    if unplanned:
        where = ", ".join(
            f"{c:,} in {wording.arm_label(a)}"
            + (" (planned 0%)" if a in excluded else " (unknown)")
            for a, c in extra.items()
        )
        msg = f"{unplanned:,} {what} are in arms the plan does not use: {where}"
        return result("unplanned_arm", msg, f"{_LOUD}: {msg}. {_DISTRUST}", **fig)
    if total == 0:
        msg = f"there are no {what} yet"
        return result("no_data", msg, f"The split cannot be checked yet: {msg}.")
    if len(arms) == 1:
        msg = f"only one arm is planned ({wording.arm_label(arms[0])}), so there is no split"
        return result("one_arm", msg, f"The split needs no check: {msg}.")
    if fig["p"] < threshold:
        return result(
            "mismatch",
            None,
            f"{_LOUD}: the split of {what} differs from the plan ({figures}). {_DISTRUST}",
            **fig,
        )
    return result("ok", None, f"The split of {what} matches the plan ({figures}).", **fig)
