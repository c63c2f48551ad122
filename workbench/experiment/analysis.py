"""The experiment analysis: every metric, every pair of arms, in figures and plain words.

``analyze`` takes the outcome frame (see ``experiment.types``), the metrics and the planned
shares, and returns one frozen ``ExperimentAnalysis``: the sample ratio check on all
assigned accounts, then per metric the arm summaries, the comparison of every pair in
``PAIRS`` (rates with a z-test, or means with Welch's t-test), the covariate-adjusted
effect, a sample ratio check on the accounts with an observed outcome, power, a note on
heavy skew and a one-sentence verdict. Nothing raises on degenerate data: an empty frame,
a metric nobody has an outcome for yet or an empty arm each give an explained result.

The frame is reduced to numpy arrays once (arm codes, covariates) and every metric and
pair is cut from those, so the work on top of the regressions stays small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from workbench.experiment import wording
from workbench.experiment.adjusted import (
    AdjustedEffect,
    CovariateBlock,
    adjusted_effect,
    build_covariates,
    empty_block,
)
from workbench.experiment.power import PowerResult, plan_power
from workbench.experiment.sentences import pair_sentence, skew_note
from workbench.experiment.srm import SrmResult, check_srm
from workbench.experiment.stats import (
    SKEW_LIMIT,
    ArmSummary,
    Comparison,
    ContinuousComparison,
    compare_means,
    compare_summaries,
    skewness,
    summarize,
)
from workbench.experiment.tables import analysis_tables
from workbench.experiment.types import ARMS, COVARIATES, PAIRS, MetricSpec

__all__ = [
    "Breach",
    "ExperimentAnalysis",
    "MetricResult",
    "PairResult",
    "analysis_tables",
    "analyze",
    "guardrail_breaches",
]

MetricCode = Literal["ok", "no_data", "missing_column", "not_binary"]


@dataclass(frozen=True)
class PairResult:
    """One pair of arms compared on one metric.

    ``skipped`` says why the pair is not compared (the plan gives an arm 0%); then the
    other fields are None. ``log_comparison`` is Welch's test on log(1 + value), made
    when the metric is heavily skewed and never negative. ``sentence`` is the finding.
    """

    treatment: str
    baseline: str
    skipped: str | None
    comparison: Comparison | None
    adjusted: AdjustedEffect | None
    log_comparison: ContinuousComparison | None
    power: PowerResult | None
    sentence: str


@dataclass(frozen=True)
class MetricResult:
    """Everything about one metric.

    ``arms`` has one summary per arm in ``ARMS``; ``pairs`` one entry per pair in
    ``PAIRS``; ``srm`` checks the split of the accounts with an observed outcome;
    ``skew`` the sample skewness per arm (continuous metrics); ``verdict`` the headline
    (the first compared pair: AI vs control, or AI vs CSM when there is no control arm);
    ``underpowered`` when that pair is smaller than the chosen effect needs.
    """

    spec: MetricSpec
    code: MetricCode
    message: str | None
    n_observed: int
    n_missing: int
    arms: tuple[ArmSummary, ...]
    pairs: tuple[PairResult, ...]
    srm: SrmResult
    skew: tuple[tuple[str, float | None], ...]
    skew_note: str | None
    verdict: str
    underpowered: bool

    @property
    def primary(self) -> PairResult | None:
        """The headline pair (the verdict's): the first pair that could be compared."""
        return next((p for p in self.pairs if p.skipped is None), None)

    @property
    def significant(self) -> bool:
        """The headline comparison found a difference at the analysis' significance level."""
        c = self.primary.comparison if self.primary is not None else None
        return c is not None and c.p is not None and c.p < c.alpha

    def pair(self, treatment: str, baseline: str) -> PairResult | None:
        return next(
            (p for p in self.pairs if (p.treatment, p.baseline) == (treatment, baseline)), None
        )

    def arm(self, arm: str) -> ArmSummary | None:
        return next((s for s in self.arms if s.arm == arm), None)


@dataclass(frozen=True)
class ExperimentAnalysis:
    """The whole analysis: ``srm`` on all assigned accounts (after the segment filter)."""

    n_accounts: int
    segment: str | None
    alpha: float
    power: float
    shares: tuple[tuple[str, float], ...]
    covariates: tuple[str, ...]
    srm: SrmResult
    metrics: tuple[MetricResult, ...]
    code: Literal["ok", "no_data"]
    message: str | None

    def metric(self, name: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.spec.name == name), None)


@dataclass(frozen=True)
class _Context:
    n: int
    masks: dict[str, np.ndarray]
    unknown: np.ndarray  # rows whose arm is not one of ARMS
    unknown_codes: np.ndarray
    unknown_names: tuple[str, ...]
    block: CovariateBlock
    shares: Mapping[str, float]
    alpha: float
    power: float
    srm_failed: bool


def analyze(
    frame: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    shares: Mapping[str, float],
    *,
    covariates: Sequence[str] = COVARIATES,
    alpha: float = 0.05,
    power: float = 0.8,
    segment: str | None = None,
    mde: Mapping[str, float] | None = None,
) -> ExperimentAnalysis:
    """Analyse an experiment's outcome frame.

    Args:
        frame: The outcome frame: one row per assigned account (``experiment.types``).
        metrics: The metrics to analyse; each needs a column named ``spec.name``.
        shares: The planned share per arm (``Allocation.shares()``).
        covariates: Covariates for the adjusted effect (``health_score``, ``arr``,
            ``segment``).
        alpha: Significance level; intervals are (1 - alpha).
        power: Power for the sample-size figures.
        segment: Only analyse accounts of this segment (the segment covariate then drops
            out, being constant).
        mde: The effect worth detecting per metric name, absolute: a fraction for rates
            (0.05 = 5 points), metric units otherwise. Default 5 points / 0.2 SD.

    Raises:
        ValueError: The frame has rows but no ``arm`` column (not an outcome frame).
    """
    if len(frame) and "arm" not in frame.columns:
        raise ValueError("the outcome frame needs an 'arm' column")
    if segment is not None and len(frame):
        keep = (
            (frame["segment"] == segment).fillna(False).to_numpy(dtype=bool)
            if "segment" in frame.columns
            else np.zeros(len(frame), dtype=bool)
        )
        frame = frame.loc[keep]
        # One segment: the segment covariate is constant, so it is not adjusted for at all.
        covariates = [c for c in covariates if c != "segment"]
    n = len(frame)
    share_items = tuple((str(a), float(s)) for a, s in shares.items())
    arm = frame["arm"] if n else pd.Series([], dtype=object)
    codes, uniques = pd.factorize(arm, use_na_sentinel=True)
    names = [str(u) for u in uniques] + ["(no arm)"]
    codes = np.where(codes < 0, len(names) - 1, codes)
    counts = np.bincount(codes, minlength=len(names))
    by_name = {names[i]: int(c) for i, c in enumerate(counts) if c}
    masks: dict[str, np.ndarray] = {
        a: codes == names.index(a) if a in names else np.zeros(n, dtype=bool) for a in ARMS
    }
    unknown = ~np.logical_or.reduce([masks[a] for a in ARMS])
    block = build_covariates(frame, covariates) if n else empty_block()
    srm = check_srm(by_name, shares)
    ctx = _Context(
        n, masks, unknown, codes[unknown], tuple(names), block, dict(shares), alpha, power,
        srm.failed,
    )  # fmt: skip
    results = tuple(_metric(frame, spec, ctx, (mde or {}).get(spec.name)) for spec in metrics)
    where = f" in segment {segment}" if segment is not None else ""
    return ExperimentAnalysis(
        n, segment, alpha, power, share_items, tuple(covariates), srm, results,
        "ok" if n else "no_data", None if n else f"no accounts have been assigned{where} yet",
    )  # fmt: skip


def _metric(
    frame: pd.DataFrame, spec: MetricSpec, ctx: _Context, mde: float | None
) -> MetricResult:
    if ctx.n and spec.name in frame.columns:
        y = pd.to_numeric(frame[spec.name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        y = np.where(np.isfinite(y), y, np.nan)
        code: MetricCode = "ok"
        message = None
    else:
        y = np.full(ctx.n, np.nan)
        code = "missing_column" if ctx.n else "no_data"
        message = (
            f"the data has no {spec.name} column yet"
            if ctx.n
            else "no accounts have been assigned yet"
        )
    observed = ~np.isnan(y)
    if code == "ok" and spec.kind == "binary":
        odd = observed & (y != 0) & (y != 1)
        if odd.any():
            code = "not_binary"
            message = (
                f"{int(odd.sum()):,} values of {spec.name} are neither 0 nor 1 "
                f"(for example {y[odd][0]:g}), so it cannot be read as a rate"
            )
            y = np.full(ctx.n, np.nan)  # no rate is computed from values that are not 0/1
            observed = np.zeros(ctx.n, dtype=bool)
    n_obs = int(observed.sum())
    if code == "ok" and n_obs == 0:
        code, message = "no_data", f"no account has an observed outcome for {spec.label} yet"
    arms = tuple(summarize(a, y[ctx.masks[a]]) for a in ARMS)
    summary = {s.arm: s for s in arms}
    seen = {s.arm: s.n for s in arms if s.n}
    if ctx.unknown.any():
        extra = np.bincount(
            ctx.unknown_codes[observed[ctx.unknown]], minlength=len(ctx.unknown_names)
        )
        seen.update({ctx.unknown_names[i]: int(c) for i, c in enumerate(extra) if c})
    srm = check_srm(seen, ctx.shares, what=f"accounts with an observed {spec.label} outcome")
    skew: tuple[tuple[str, float | None], ...] = ()
    heavy = False
    log_ok = False
    if spec.kind == "continuous" and code == "ok":
        skew = tuple((a, skewness(y[ctx.masks[a]])) for a in ARMS)
        heavy = any(s is not None and abs(s) > SKEW_LIMIT for _, s in skew)
        log_ok = heavy and bool(np.all(y[observed] >= 0))
    note = skew_note(spec, skew, log_ok) if heavy else None
    pairs = []
    for t, b in PAIRS:
        pairs.append(_pair(spec, t, b, y, observed, summary, ctx, mde, log_ok, code))
    primary = next((p for p in pairs if p.skipped is None), None)
    distrust = ctx.srm_failed or srm.failed
    if code != "ok":
        verdict = f"{spec.label}: {message}."
    elif primary is None:
        verdict = f"{spec.label}: no pair of arms can be compared under this plan."
    else:
        verdict = primary.sentence
    if distrust:
        # The figures stay visible; the judgement after them ("a real improvement") goes.
        figures, judged, _ = verdict.partition(" — ")
        if judged:
            verdict = f"{figures} — no verdict until the mismatch is explained."
        verdict = "Do not trust this yet, the split differs from the plan. " + verdict
    under = primary is None or primary.power is None or primary.power.underpowered
    return MetricResult(
        spec, code, message, n_obs, ctx.n - n_obs, arms, tuple(pairs), srm, skew, note,
        verdict, under,
    )  # fmt: skip


def _pair(
    spec: MetricSpec,
    t: str,
    b: str,
    y: np.ndarray,
    observed: np.ndarray,
    summary: Mapping[str, ArmSummary],
    ctx: _Context,
    mde: float | None,
    log_ok: bool,
    code: MetricCode,
) -> PairResult:
    zero = [a for a in (t, b) if ctx.shares.get(a, 0) <= 0]
    if zero:
        why = " and ".join(wording.arm_label(a) for a in zero)
        reason = f"the plan gives {why} 0% of accounts, so there is nothing to compare"
        return PairResult(t, b, reason, None, None, None, None, f"{spec.label}: {reason}.")
    names = (_arm_phrase(t), _arm_phrase(b))
    st, sb = summary[t], summary[b]
    comparison = compare_summaries(st, sb, spec.kind, ctx.alpha, names)
    adjusted = None
    if code == "ok" and st.n and sb.n:
        rows = observed & (ctx.masks[t] | ctx.masks[b])
        adjusted = adjusted_effect(y, ctx.masks[t], rows, ctx.block, spec.kind, ctx.alpha, names)
    log_cmp = None
    if log_ok:
        lt = summarize(t, np.log1p(y[ctx.masks[t]]))
        lb = summarize(b, np.log1p(y[ctx.masks[b]]))
        log_cmp = compare_means(
            lt.n, lt.mean, lt.variance, lb.n, lb.mean, lb.variance, ctx.alpha, names
        )
    if spec.kind == "binary":
        pw = plan_power(
            "binary", st.n, sb.n, baseline=sb.mean, mde=mde, alpha=ctx.alpha, power=ctx.power
        )
    else:
        pw = plan_power(
            "continuous", st.n, sb.n, sd=_pooled_sd(st, sb), mde=mde, alpha=ctx.alpha,
            power=ctx.power, unit=spec.unit,
        )  # fmt: skip
    sentence = pair_sentence(spec, t, b, comparison, pw)
    return PairResult(t, b, None, comparison, adjusted, log_cmp, pw, sentence)


def _arm_phrase(arm: str) -> str:
    return "the control arm" if arm == "control" else f"the {wording.arm_label(arm)} arm"


def _pooled_sd(t: ArmSummary, b: ArmSummary) -> float | None:
    parts = [(s.n - 1, s.variance) for s in (t, b) if s.variance is not None]
    dof = sum(d for d, _ in parts)
    if not dof:
        return None
    return math.sqrt(sum(d * v for d, v in parts if v is not None) / dof)


@dataclass(frozen=True)
class Breach:
    """A guardrail metric on which the AI arm is significantly worse than ``baseline``."""

    metric: str
    baseline: str
    figures: Comparison
    sentence: str


def guardrail_breaches(analysis: ExperimentAnalysis) -> list[Breach]:
    """AI arm vs control and vs CSM on guardrail metrics: significantly worse (p < alpha
    in the harmful direction, by ``higher_is_better``) is a breach."""
    out: list[Breach] = []
    for m in analysis.metrics:
        if not m.spec.guardrail or m.code != "ok":
            continue
        for pr in m.pairs:
            c = pr.comparison
            if pr.treatment != "ai" or c is None or c.p is None or c.diff is None:
                continue
            worse = c.diff < 0 if m.spec.higher_is_better else c.diff > 0
            if worse and c.p < analysis.alpha:
                out.append(
                    Breach(m.spec.name, pr.baseline, c, f"Guardrail breached: {pr.sentence}")
                )
    return out
