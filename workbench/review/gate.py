"""The autonomy gate: may this workflow act on its own, and should it pause?

The playbook's bar is "shadow accuracy above a defined threshold, for example
90% would have been approved". ``evaluate`` turns the review counts into a
verdict and one sentence with the numbers:

    187 of 200 approved, 93.5%, 95% interval 89.2 to 96.2%: passes

Default rule: the **Wilson lower bound** must reach the target, so a run of
luck on a few reviews does not open the gate. The lenient rule compares the
point estimate instead. Either way at least ``min_reviews`` reviewed actions
are required first.

After going autonomous a sample of actions keeps going to review;
``should_pause`` reads those sampled reviews and pauses the workflow when they
show the rate has fallen below the bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from workbench.errors import WorkbenchError
from workbench.review.stats import INTERVAL_ERROR_WORDS, Interval, interval_error, wilson

GateStatus = Literal["not_enough_reviews", "passes", "fails", "needs_more", "invalid_input"]
PauseStatus = Literal["no_sampled_reviews", "keep_going", "pause", "invalid_input"]

# Beyond this many extra reviews "needs about N more" is no longer useful advice.
MAX_MORE = 10_000_000


@dataclass(frozen=True)
class GateRule:
    """When the gate opens.

    Attributes:
        target: The approval rate to clear, 0 < target < 1 (playbook: 0.90).
        min_reviews: Reviewed actions required before any verdict. 30 is the usual
            floor for a rate to mean anything and two to four weeks of shadow mode
            reach it easily. Under the default rule it rarely binds: at a 90%
            target even 35 approvals out of 35 are needed before the Wilson lower
            bound can reach 90%; it protects the lenient rule from 9 of 10.
        rule: ``wilson_lower`` (default): the interval's lower bound must reach the
            target. ``point``: the observed rate must reach it (lenient).
        confidence: Two-sided confidence of the Wilson interval.
        min_sampled_reviews: Sampled reviews in autonomous mode before the rate
            alone can pause the workflow (see ``should_pause``).
    """

    target: float = 0.90
    min_reviews: int = 30
    rule: Literal["wilson_lower", "point"] = "wilson_lower"
    confidence: float = 0.95
    min_sampled_reviews: int = 10

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.target < 1:
            problems.append(f"target {self.target!r} is not between 0 and 1")
        if not 0 < self.confidence < 1:
            problems.append(f"confidence {self.confidence!r} is not between 0 and 1")
        if self.min_reviews < 0 or self.min_sampled_reviews < 0:
            problems.append("minimum review counts cannot be negative")
        if self.rule not in ("wilson_lower", "point"):
            problems.append(f"rule {self.rule!r} is not 'wilson_lower' or 'point'")
        if problems:
            raise WorkbenchError(
                "The autonomy gate settings are not valid: " + "; ".join(problems) + ".",
                "Use a target such as 0.90, a confidence such as 0.95 and whole, "
                "non-negative minimums.",
            )


@dataclass(frozen=True)
class GateVerdict:
    """The gate's answer; ``sentence`` is what the page and the CLI print.

    ``rate``, ``low`` and ``high`` are None with no reviews or invalid counts.
    ``more_needed`` is the number of further reviews to seek: for
    ``not_enough_reviews`` those up to ``min_reviews`` (the rate of a handful of
    reviews is too rough to project), for ``needs_more`` about how many more at
    the current rate until the rule passes. None otherwise.
    """

    passes: bool
    status: GateStatus
    sentence: str
    approved: int
    reviewed: int
    rate: float | None
    low: float | None
    high: float | None
    more_needed: int | None
    rule: GateRule


@dataclass(frozen=True)
class PauseVerdict:
    """Whether sampled reviews in autonomous mode should pause the workflow."""

    pause: bool
    status: PauseStatus
    sentence: str
    approved: int
    reviewed: int
    rate: float | None
    low: float | None
    high: float | None


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _target(rule: GateRule) -> str:
    return f"{rule.target * 100:g}%"


def _numbers(interval: Interval, noun: str = "approved") -> str:
    head = f"{_fmt_count(interval.successes)} of {interval.n} {noun}"
    if interval.point is None or interval.low is None or interval.high is None:
        return head
    return (
        f"{head}, {_pct(interval.point)}, {interval.confidence * 100:g}% interval "
        f"{interval.low * 100:.1f} to {interval.high * 100:.1f}%"
    )


def _fmt_count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _clears(interval: Interval, rule: GateRule) -> bool:
    value = interval.low if rule.rule == "wilson_lower" else interval.point
    return value is not None and value >= rule.target


def more_reviews_needed(approved: int, reviewed: int, rule: GateRule) -> int | None:
    """About how many more reviews, at the current approval rate, until the rule passes.

    The projection keeps the current rate exactly: after ``N`` more reviews the
    approvals are ``rate * (reviewed + N)``, a fraction in general. Rounding to
    whole approvals would make the answer jump back and forth by a review or
    two, which is why the verdict says "about". The Wilson lower bound at a
    fixed rate rises with the number of reviews, so the smallest ``N`` is found
    by bisection.

    Returns:
        0 when the rule already passes; None when the current rate is not above
        the target (no number of reviews at that rate will do), when the counts
        are invalid or empty, or when more than ``MAX_MORE`` would be needed.
    """
    if interval_error(approved, reviewed) is not None:
        return None
    rate = approved / reviewed
    if rule.rule == "point":
        return 0 if rate >= rule.target else None
    if rate <= rule.target:
        return None

    def passes_at(extra: int) -> bool:
        total = reviewed + extra
        return _clears(wilson(rate * total, total, rule.confidence), rule)

    if passes_at(0):
        return 0
    low, high = 0, 1  # passes_at(low) is False
    while not passes_at(high):
        low, high = high, high * 2
        if high > MAX_MORE:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        if passes_at(mid):
            high = mid
        else:
            low = mid
    return high


def evaluate(approved: int, reviewed: int, rule: GateRule | None = None) -> GateVerdict:
    """The gate's verdict on ``approved`` of ``reviewed`` actions.

    Approved counts actions approved as they were and approved after an edit
    (see ``workbench.review.stats``).

    Statuses: ``not_enough_reviews`` below ``rule.min_reviews``; ``passes``;
    ``needs_more`` when the rate is above the target but the Wilson lower bound
    is not yet; ``fails`` when the rate itself is not above the target (under the
    default rule a rate exactly at the target fails too: its lower bound never
    reaches it); ``invalid_input`` for negative counts or more approved than
    reviewed. Never raises on counts.
    """
    rule = rule or GateRule()
    interval = wilson(approved, reviewed, rule.confidence)

    def verdict(status: GateStatus, sentence: str, more: int | None = None) -> GateVerdict:
        return GateVerdict(
            passes=status == "passes",
            status=status,
            sentence=sentence,
            approved=approved,
            reviewed=reviewed,
            rate=interval.point,
            low=interval.low,
            high=interval.high,
            more_needed=more,
            rule=rule,
        )

    code = interval.error_code
    if code is not None and code != "no_reviews":
        return verdict(
            "invalid_input",
            f"cannot judge {approved} approved of {reviewed} reviewed: "
            f"{INTERVAL_ERROR_WORDS[code]}",
        )
    if reviewed < rule.min_reviews:
        sentence = f"not enough reviews: {reviewed} of at least {rule.min_reviews}"
        if interval.ok:
            sentence += f" ({_numbers(interval)})"
        return verdict("not_enough_reviews", sentence, rule.min_reviews - reviewed)
    if not interval.ok:  # min_reviews == 0 and nothing reviewed
        return verdict("not_enough_reviews", "not enough reviews: no reviews yet", None)

    numbers = _numbers(interval)
    if _clears(interval, rule):
        return verdict("passes", f"{numbers}: passes")
    rate = approved / reviewed
    if rate < rule.target:
        return verdict(
            "fails", f"{numbers}: fails: the approval rate is below the {_target(rule)} target"
        )
    if rate == rule.target:
        return verdict(
            "fails",
            f"{numbers}: fails: the approval rate is at the {_target(rule)} target, and the "
            "interval's lower bound can only reach the target when the rate is above it",
        )
    more = more_reviews_needed(approved, reviewed, rule)
    if more is None:
        return verdict(
            "needs_more",
            f"{numbers}: needs more reviews; the rate is too close to the {_target(rule)} "
            "target to say how many",
        )
    plural = "review" if more == 1 else "reviews"
    return verdict(
        "needs_more", f"{numbers}: needs about {more} more {plural} at this approval rate", more
    )


def should_pause(
    recent_approved: int, recent_reviewed: int, rule: GateRule | None = None
) -> PauseVerdict:
    """Whether the sampled reviews of an autonomous workflow call for a pause.

    Default rule: pause when the Wilson **upper** bound is below the target, that
    is when the sample shows with the chosen confidence that the rate has
    fallen below the bar. Pausing on the lower bound instead (the gate's own
    test) would pause almost every time, since a monitoring sample is small and
    its interval wide: even 20 approvals out of 20 have a lower bound of 84%.
    The lenient rule pauses when the sampled rate is below the target.

    Fewer than ``rule.min_sampled_reviews`` sampled reviews pause only when the
    outcome is already settled: if every review still to come up to that
    minimum were approved the rule would still pause. On one or two reviews
    Wilson's interval is too short to decide alone (a single rejection gives an
    upper bound of 79%, where the exact binomial interval says 97.5%), but 0 of
    5 approved pauses at once.
    """
    rule = rule or GateRule()
    interval = wilson(recent_approved, recent_reviewed, rule.confidence)

    def verdict(status: PauseStatus, sentence: str) -> PauseVerdict:
        return PauseVerdict(
            pause=status == "pause",
            status=status,
            sentence=sentence,
            approved=recent_approved,
            reviewed=recent_reviewed,
            rate=interval.point,
            low=interval.low,
            high=interval.high,
        )

    code = interval.error_code
    if code == "no_reviews":
        return verdict("no_sampled_reviews", "keep going: no sampled reviews yet")
    if code is not None:
        return verdict(
            "invalid_input",
            f"cannot judge {recent_approved} approved of {recent_reviewed} sampled: "
            f"{INTERVAL_ERROR_WORDS[code]}",
        )
    numbers = _numbers(interval, "sampled reviews approved")
    settled = recent_reviewed >= rule.min_sampled_reviews
    if settled:
        judged = interval
    else:
        # The best case: every review still missing up to the minimum is approved.
        missing = rule.min_sampled_reviews - recent_reviewed
        judged = wilson(recent_approved + missing, rule.min_sampled_reviews, rule.confidence)
    target = _target(rule)
    if _below(judged, rule):
        if rule.rule == "wilson_lower":
            why = f"the whole interval is below the {target} target"
        else:
            why = f"the sampled approval rate is below the {target} target"
        if not settled:
            why += (
                f", and would stay below it even if every review up to "
                f"{rule.min_sampled_reviews} were approved"
            )
        return verdict("pause", f"pause: {numbers}; {why}")
    if not settled:
        return verdict(
            "keep_going",
            f"keep going: {numbers}; too few sampled reviews to pause "
            f"({recent_reviewed} of {rule.min_sampled_reviews})",
        )
    return verdict(
        "keep_going",
        f"keep going: {numbers}; not shown to be below the {target} target",
    )


def _below(interval: Interval, rule: GateRule) -> bool:
    value = interval.high if rule.rule == "wilson_lower" else interval.point
    return value is not None and not math.isnan(value) and value < rule.target
