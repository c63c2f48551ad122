"""The experiment's findings in sentences: one comparison, its power, a skew warning.

The sentences put the figures first and the judgement last, e.g. "Renewed: AI-handled
84.0% vs control 71.2%: +12.8 points (95% CI +4.1 to +21.5), p = 0.004 — a real
improvement."
"""

from __future__ import annotations

from workbench.experiment import wording
from workbench.experiment.adjusted import AdjustedEffect
from workbench.experiment.power import PowerResult
from workbench.experiment.stats import SKEW_LIMIT, Comparison
from workbench.experiment.types import MetricSpec

MIN_ARM_FOR_TEST = 10
"""Below this many accounts with an outcome in an arm, a significant result is only a hint:
the z and Welch tests rest on a normal approximation that needs more accounts (two control
accounts that both churned give p = 0.002 against 19 that renewed)."""


def too_few_for_test(c: Comparison) -> bool:
    """Whether either arm of a comparison is too small for its test to be relied on."""
    return min(c.n_t, c.n_b) < MIN_ARM_FOR_TEST


def pair_sentence(spec: MetricSpec, t: str, b: str, c: Comparison, pw: PowerResult) -> str:
    """One comparison in a sentence: the two levels, the change with its interval and p,
    and what it means ("a real improvement", "significantly worse than control", or "not
    distinguishable from control" with what the experiment could have detected)."""
    unit = "rate" if spec.kind == "binary" else spec.unit
    label = spec.label if spec.kind == "binary" else f"{spec.label}, mean per account"
    head = f"{label}: {wording.arm_label(t)}"
    against = wording.ARM_AS_BASELINE.get(b, b)
    if c.p is None or c.diff is None:
        return f"{spec.label}, {wording.arm_label(t)} vs {against}: {c.message}."
    ci = (
        wording.interval(c.ci_low, c.ci_high, unit, c.alpha)
        if c.ci_low is not None
        else "no interval: each arm is all-or-nothing"
    )
    base_word = "control" if b == "control" else wording.arm_label(b)
    figures = (
        f"{head} {wording.value(c.value_t, unit)} vs {base_word} {wording.value(c.value_b, unit)}: "
        f"{wording.diff(c.diff, unit)} ({ci}), {wording.p_value(c.p)}"
    )
    if c.p < c.alpha and c.diff != 0:
        better = (c.diff > 0) == spec.higher_is_better
        if too_few_for_test(c):
            looks = "like a real improvement" if better else f"worse than {against}"
            n, arm = (c.n_t, wording.arm_label(t)) if c.n_t <= c.n_b else (c.n_b, base_word)
            return (
                f"{figures} — it looks {looks}, but with only {n:,} {arm} accounts with an "
                f"outcome the test can't be relied on yet (it needs at least {MIN_ARM_FOR_TEST} "
                "per arm)."
            )
        judged = "a real improvement" if better else f"significantly worse than {against}"
        return f"{figures} — {judged}."
    return f"{figures} — not distinguishable from {against}{power_clause(pw)}."


def power_clause(pw: PowerResult) -> str:
    """After "not distinguishable": whether that says much, given the detectable change."""
    arms = (
        f"{wording.count(pw.n_t)} accounts per arm"
        if pw.n_t == pw.n_b
        else f"{wording.count(pw.n_t)} and {wording.count(pw.n_b)} accounts"
    )
    det = pw.detectable
    if det.effect is None:
        return (
            f"; with {arms} this experiment is underpowered: {det.message}"
            if pw.underpowered
            else ""
        )
    size = wording.diff(det.effect, pw.unit, signed=False)
    if pw.underpowered:
        return f"; with {arms} this experiment is underpowered: it can only detect changes of {size} or more"
    return f"; it could detect changes of {size} or more, so any real effect is probably smaller"


def skew_note(spec: MetricSpec, skew: tuple[tuple[str, float | None], ...], log_ok: bool) -> str:
    """Why the mean of a heavily skewed metric needs care, and what is shown instead."""
    arms = ", ".join(
        f"{s:.1f} in {wording.arm_label(a)}"
        for a, s in skew
        if s is not None and abs(s) > SKEW_LIMIT
    )
    head = (
        f"{spec.label} is heavily skewed (sample skewness {arms}; above {SKEW_LIMIT:g} counts as "
        "heavy): a few large values move the mean a lot"
    )
    if log_ok:
        return head + ", so Welch's test on log(1 + value) is shown as well."
    return head + "; the values include negatives, so no log comparison is made."


def adjusted_sentence(spec: MetricSpec, a: AdjustedEffect) -> str:
    """The covariate-adjusted effect in a sentence (or why there is none)."""
    if a.code != "ok":
        return f"Adjusted for covariates: {a.message or 'not estimated'}"
    head = f"Adjusted for {', '.join(a.covariates)}" if a.covariates else "Not adjusted"
    if spec.kind == "binary" and a.odds_ratio is not None and a.ame is not None:
        text = (
            f"{head} ({a.method}, {a.n_used:,} accounts): odds ratio "
            f"{a.odds_ratio:.3g} (95% CI {a.or_low:.3g} to {a.or_high:.3g}); average effect "
            f"{wording.diff(a.ame, 'rate')} "
            f"({wording.interval(a.ame_low, a.ame_high, 'rate', a.alpha)}), "
            f"{wording.p_value(a.ame_p)}."
        )
    else:
        unit = spec.unit if spec.kind == "continuous" else "rate"
        text = (
            f"{head} ({a.method}, {a.n_used:,} accounts): "
            f"{wording.diff(a.coef, unit)} ({wording.interval(a.ci_low, a.ci_high, unit, a.alpha)}), "
            f"{wording.p_value(a.p)}."
        )
    if a.notes:
        text += " Note: " + "; ".join(a.notes) + "."
    return text
