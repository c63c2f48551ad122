"""Tidy tables of an experiment analysis for exports: one row per arm, pair or check.

Rates stay fractions (0.84) and differences of rates stay fractions of 1 (0.128 = 12.8
points), so a spreadsheet can format them; the sentences carry the words. Missing
figures are empty (NaN / None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.experiment import wording

if TYPE_CHECKING:
    from workbench.experiment.analysis import ExperimentAnalysis, MetricResult, PairResult
    from workbench.experiment.srm import SrmResult


def analysis_tables(analysis: ExperimentAnalysis) -> dict[str, pd.DataFrame]:
    """The analysis as tables with human column names.

    Returns:
        ``summary`` (one row per metric and arm), ``comparisons`` (per metric and pair,
        plus a row on the log scale where one was made), ``adjusted`` (per metric and
        pair), ``srm`` (per scope and arm: all assigned accounts, then each metric's
        accounts with an outcome) and ``power`` (per metric and pair).
    """
    summary, comparisons, adjusted, srm, power = [], [], [], [], []
    srm.extend(_srm_rows("All assigned accounts", analysis.srm))
    for m in analysis.metrics:
        label = m.spec.label
        for s in m.arms:
            summary.append(
                {
                    "Metric": label,
                    "Arm": wording.arm_label(s.arm),
                    "Accounts with an outcome": s.n,
                    "Missing outcome": s.missing,
                    "Rate / mean": s.mean,
                    "SD": s.sd,
                    "Sum": s.total,
                    "Sum of squares": s.sumsq,
                    "Skewness": dict(m.skew).get(s.arm),
                }
            )
        srm.extend(_srm_rows(label, m.srm))
        for pr in m.pairs:
            comparisons.append(_comparison_row(m, pr, log=False))
            if pr.log_comparison is not None:
                comparisons.append(_comparison_row(m, pr, log=True))
            if pr.adjusted is not None:
                adjusted.append(_adjusted_row(m, pr))
            if pr.power is not None:
                power.append(_power_row(m, pr))
    return {
        "summary": pd.DataFrame(summary, columns=_SUMMARY),
        "comparisons": pd.DataFrame(comparisons, columns=_COMPARISONS),
        "adjusted": pd.DataFrame(adjusted, columns=_ADJUSTED),
        "srm": pd.DataFrame(srm, columns=_SRM),
        "power": pd.DataFrame(power, columns=_POWER),
    }


_SUMMARY = [
    "Metric", "Arm", "Accounts with an outcome", "Missing outcome", "Rate / mean", "SD", "Sum",
    "Sum of squares", "Skewness",
]  # fmt: skip
_COMPARISONS = [
    "Metric", "Treatment", "Baseline", "Scale", "Test", "Treatment accounts", "Baseline accounts",
    "Treatment value", "Baseline value", "Difference", "CI low", "CI high", "Relative lift",
    "Statistic", "df", "p-value", "Result", "Explanation", "Sentence",
]  # fmt: skip
_ADJUSTED = [
    "Metric", "Treatment", "Baseline", "Model", "Accounts used", "Left out (missing covariate)",
    "Covariates", "Coefficient", "SE", "CI low", "CI high", "p-value", "Odds ratio",
    "Odds ratio CI low", "Odds ratio CI high", "Average effect (probability)",
    "Average effect SE", "Average effect CI low", "Average effect CI high", "Average effect p",
    "Result", "Explanation", "Notes",
]  # fmt: skip
_SRM = [
    "Scope", "Arm", "Planned share", "Expected accounts", "Observed accounts", "Chi-square", "df",
    "p-value", "Failed", "Sentence",
]  # fmt: skip
_POWER = [
    "Metric", "Treatment", "Baseline", "Treatment accounts", "Baseline accounts",
    "Equivalent accounts per arm", "Baseline rate", "SD", "Detectable effect", "Chosen effect",
    "Chosen effect is the default", "Required per arm (exact)", "Required per arm",
    "Underpowered", "Sentence",
]  # fmt: skip


def _pair_keys(m: MetricResult, pr: PairResult) -> dict[str, Any]:
    return {
        "Metric": m.spec.label,
        "Treatment": wording.arm_label(pr.treatment),
        "Baseline": wording.arm_label(pr.baseline),
    }


def _comparison_row(m: MetricResult, pr: PairResult, *, log: bool) -> dict[str, Any]:
    c = pr.log_comparison if log else pr.comparison
    row = _pair_keys(m, pr)
    row["Scale"] = "log(1 + value)" if log else "as measured"
    if c is None:
        return {**row, "Result": "skipped", "Explanation": pr.skipped, "Sentence": pr.sentence}
    row.update(
        {
            "Test": c.test,
            "Treatment accounts": c.n_t,
            "Baseline accounts": c.n_b,
            "Treatment value": c.value_t,
            "Baseline value": c.value_b,
            "Difference": c.diff,
            "CI low": c.ci_low,
            "CI high": c.ci_high,
            "Relative lift": c.lift,
            "Statistic": c.statistic,
            "df": c.df,
            "p-value": c.p,
            "Result": c.code,
            "Explanation": c.message,
            "Sentence": None if log else pr.sentence,
        }
    )
    return row


def _adjusted_row(m: MetricResult, pr: PairResult) -> dict[str, Any]:
    a = pr.adjusted
    assert a is not None
    return {
        **_pair_keys(m, pr),
        "Model": a.method,
        "Accounts used": a.n_used,
        "Left out (missing covariate)": a.n_dropped,
        "Covariates": ", ".join(a.covariates),
        "Coefficient": a.coef,
        "SE": a.se,
        "CI low": a.ci_low,
        "CI high": a.ci_high,
        "p-value": a.p,
        "Odds ratio": a.odds_ratio,
        "Odds ratio CI low": a.or_low,
        "Odds ratio CI high": a.or_high,
        "Average effect (probability)": a.ame,
        "Average effect SE": a.ame_se,
        "Average effect CI low": a.ame_low,
        "Average effect CI high": a.ame_high,
        "Average effect p": a.ame_p,
        "Result": a.code,
        "Explanation": a.message,
        "Notes": "; ".join(a.notes),
    }


def _power_row(m: MetricResult, pr: PairResult) -> dict[str, Any]:
    p = pr.power
    assert p is not None
    req = p.required
    return {
        **_pair_keys(m, pr),
        "Treatment accounts": p.n_t,
        "Baseline accounts": p.n_b,
        "Equivalent accounts per arm": p.n_per_arm,
        "Baseline rate": p.detectable.baseline,
        "SD": p.detectable.sd,
        "Detectable effect": p.detectable.effect,
        "Chosen effect": p.mde,
        "Chosen effect is the default": p.mde_default,
        "Required per arm (exact)": None if req is None else req.n_exact,
        "Required per arm": None if req is None else req.n,
        "Underpowered": p.underpowered,
        "Sentence": p.sentence,
    }


def _srm_rows(scope: str, r: SrmResult) -> list[dict[str, Any]]:
    rows = [
        {
            "Scope": scope,
            "Arm": wording.arm_label(a),
            "Planned share": s,
            "Expected accounts": e,
            "Observed accounts": o,
            "Chi-square": r.chi2,
            "df": r.df,
            "p-value": r.p,
            "Failed": r.failed,
            "Sentence": r.sentence,
        }
        for a, s, e, o in zip(r.arms, r.planned, r.expected, r.observed, strict=True)
    ]
    if not rows:
        rows = [{"Scope": scope, "Failed": r.failed, "Sentence": r.sentence}]
    return rows
