"""Covariate-adjusted effects: the arm difference after accounting for pre-period covariates.

For one pair of arms the outcome is regressed on a treatment indicator (1 = treatment arm)
plus the covariates recorded at assignment: ``health_score`` as it is, ``arr`` per $10,000
(the scale only makes the coefficient readable; it does not change the effect), and
``segment`` as 0/1 dummies against its largest level.

* Binary metrics: logistic regression (statsmodels ``Logit``, Newton's method, standard
  errors from the inverse Hessian). Reported as the log-odds coefficient, the odds ratio
  with its interval, and the average marginal effect on the probability scale: the mean
  over the pair's accounts of p(treated) - p(not treated), its standard error by the
  delta method (the same discrete change statsmodels' ``get_margeff(dummy=True)`` gives).
* Continuous metrics: OLS with HC1 (heteroskedasticity-robust) standard errors and a t
  interval on the residual degrees of freedom.

With fewer than 10 accounts per covariate (for a binary outcome: 10 of the rarer outcome)
the effect is estimated without covariates, with a note: a handful of accounts lets the
covariates nearly predict the outcome, and the fit then reports absurd odds ratios with
small p-values. Rows whose covariates are missing are left out and counted. A covariate
that is missing for more than half of the pair's accounts, constant, or a linear
combination of the others is left out with a note. When the covariates predict a binary outcome perfectly
(separation) or the fit does not converge, the effect is refitted without covariates and
the note says so; when the arm itself separates the outcome (one arm all 0 or all 1) the
odds ratio is infinite and the result carries the code ``separation`` instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from scipy.special import expit
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from workbench.experiment.types import MetricKind

AdjustedCode = Literal[
    "ok", "no_data", "empty_arm", "too_few", "all_same", "separation", "singular", "no_convergence"
]
ARR_SCALE = 10_000.0
_MISSING_LIMIT = 0.5  # a covariate missing for more than this share is dropped, not its rows
_SEPARATED = 15.0  # |log-odds| of a fitted account beyond this: p within 3e-7 of 0 or 1
_DEPENDENT = 1e-10  # residual share of a scaled column explained by the others
# The usual rule of thumb for a stable regression: at least 10 accounts per covariate (for a
# binary outcome, 10 of the rarer outcome). Below it the covariates are left out: with a
# handful of accounts they can nearly predict the outcome and give absurd, "significant"
# effects.
_PER_COVARIATE = 10
_NAMES = ("the treatment arm", "the baseline arm")


@dataclass(frozen=True)
class CovariateBlock:
    """The covariates of a whole frame, built once and then cut per pair of arms.

    ``numeric`` is one column per numeric covariate (NaN where missing), named by
    ``labels``; ``segment`` the segment codes (-1 missing) and ``levels`` their names;
    ``notes`` what was left out and why.
    """

    numeric: np.ndarray
    labels: tuple[str, ...]
    segment: np.ndarray | None
    levels: tuple[str, ...]
    notes: tuple[str, ...]


def empty_block(n: int = 0) -> CovariateBlock:
    """No covariates at all (the effect is then the unadjusted one)."""
    return CovariateBlock(np.empty((n, 0)), (), None, (), ())


def build_covariates(frame: pd.DataFrame, covariates: Sequence[str]) -> CovariateBlock:
    """Read the covariates from an outcome frame (columns per ``experiment.types``)."""
    columns: list[np.ndarray] = []
    labels: list[str] = []
    notes: list[str] = []
    segment: np.ndarray | None = None
    levels: tuple[str, ...] = ()
    for name in covariates:
        if name not in frame.columns:
            notes.append(f"{name} is not in the data: left out")
            continue
        if name == "segment":
            codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
            names = [str(u) for u in uniques]
            blank = [i for i, u in enumerate(names) if not u.strip()]
            codes = np.where(np.isin(codes, blank), -1, codes).astype(np.int64)
            segment, levels = codes, tuple(names)
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values = np.where(np.isfinite(values), values, np.nan)
        if name == "arr":
            columns.append(values / ARR_SCALE)
            labels.append(f"ARR per ${ARR_SCALE:,.0f}")
        else:
            columns.append(values)
            labels.append(name)
    numeric = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    return CovariateBlock(numeric, tuple(labels), segment, levels, tuple(notes))


@dataclass(frozen=True)
class AdjustedEffect:
    """The treatment coefficient of one regression, with what went into it.

    ``coef`` is the log-odds difference (binary) or the difference in means (continuous);
    ``se``, ``ci_low``/``ci_high``, ``statistic`` (z or t) and ``p`` belong to it. Binary
    only: ``odds_ratio`` with ``or_low``/``or_high``, and the average marginal effect
    ``ame`` (probability scale, e.g. 0.06 = 6 points) with ``ame_se``, its interval and
    ``ame_p``. ``n_used`` rows went into the fit, ``n_dropped`` were left out for missing
    covariates; ``covariates`` are the columns used besides the treatment indicator.
    """

    kind: MetricKind
    method: str
    alpha: float
    n_used: int = 0
    n_dropped: int = 0
    covariates: tuple[str, ...] = ()
    coef: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    statistic: float | None = None
    p: float | None = None
    odds_ratio: float | None = None
    or_low: float | None = None
    or_high: float | None = None
    ame: float | None = None
    ame_se: float | None = None
    ame_low: float | None = None
    ame_high: float | None = None
    ame_p: float | None = None
    notes: tuple[str, ...] = field(default=())
    code: AdjustedCode = "ok"
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def _method(kind: MetricKind) -> str:
    if kind == "binary":
        return "logistic regression (model-based standard errors)"
    return "OLS with HC1 robust standard errors"


def adjusted_effect(
    y: np.ndarray,
    treat: np.ndarray,
    rows: np.ndarray,
    block: CovariateBlock,
    kind: MetricKind,
    alpha: float = 0.05,
    names: tuple[str, str] = _NAMES,
) -> AdjustedEffect:
    """Fit the adjusted effect of the treatment arm against the baseline arm.

    Args:
        y: The outcome for every row of the frame (0/1 for binary; NaN = not observed).
        treat: Per row, True for the treatment arm.
        rows: Per row, True when the row belongs to the pair and has an outcome.
        block: The frame's covariates (``build_covariates``).
        kind: ``binary`` (logistic) or ``continuous`` (OLS, HC1).
        alpha: Significance level; intervals are (1 - alpha).
        names: How the two arms are called in messages.

    Returns:
        An ``AdjustedEffect``; it never raises on degenerate data. Codes: ``no_data``,
        ``empty_arm``, ``too_few`` (fewer than two accounts in an arm), ``all_same`` (the
        outcome never varies), ``separation`` (one arm is all 0 or all 1: the odds ratio
        is infinite), ``singular`` (the fit still fails without covariates),
        ``no_convergence``.
    """
    out = AdjustedEffect(kind, _method(kind), alpha)
    notes = list(block.notes)
    n_rows = int(rows.sum())
    if n_rows == 0:
        return _done(out, "no_data", "no account in either arm has an observed outcome", notes)
    x, labels, used = _design(block, rows, treat, notes)
    yy, tt = y[used], x[:, 1]
    n_used, n_dropped = x.shape[0], n_rows - x.shape[0]
    base: dict[str, Any] = {"n_used": n_used, "n_dropped": n_dropped}
    if n_dropped:
        notes.append(f"{n_dropped:,} accounts with a missing covariate were left out")
    n_t = int(tt.sum())
    n_b = n_used - n_t
    if n_t == 0 or n_b == 0:
        empty = names[0] if n_t == 0 else names[1]
        return _done(out, "empty_arm", f"{empty} has no usable account", notes, **base)
    if min(n_t, n_b) < 2:
        few = names[0] if n_t < 2 else names[1]
        return _done(out, "too_few", f"{few} has only one usable account", notes, **base)
    if np.all(yy == yy[0]):
        return _done(
            out, "all_same", f"every account in both arms has the outcome {yy[0]:g}", notes, **base
        )
    if kind == "binary":
        for arm_name, part in ((names[0], yy[tt == 1]), (names[1], yy[tt == 0])):
            if np.all(part == part[0]):
                what = "had the outcome" if part[0] == 1 else "lacked the outcome"
                return _done(
                    out,
                    "separation",
                    f"every account in {arm_name} {what}, so the odds ratio is infinite; "
                    "see the difference in rates instead",
                    notes,
                    **base,
                )
    x, labels = _independent(x, labels, notes)
    k = x.shape[1] - 2
    if k:
        rarer = min(int(yy.sum()), int((1 - yy).sum())) if kind == "binary" else n_used
        what = "of the rarer outcome" if kind == "binary" else "accounts"
        if rarer < _PER_COVARIATE * k or x.shape[0] - x.shape[1] < 2:
            notes.append(
                f"too few accounts for {k} covariate(s) ({rarer:,} {what}; at least "
                f"{_PER_COVARIATE * k:,} are needed): estimated without them"
            )
            x, labels = x[:, :2], []
    fit = _fit(yy, x, kind, alpha)
    if fit.problem and x.shape[1] > 2:
        notes.append(f"{fit.problem}: estimated without covariates")
        x, labels = x[:, :2], []
        fit = _fit(yy, x, kind, alpha)
    base["covariates"] = tuple(labels)
    if fit.problem:
        return _done(out, fit.code, fit.problem, notes, **base)
    return _done(out, "ok", None, notes, **base, **fit.figures)


def _design(
    block: CovariateBlock, rows: np.ndarray, treat: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The design matrix (intercept, treatment, covariates) of the pair's complete rows,
    its covariate labels and the indices of those rows in the frame."""
    idx = np.flatnonzero(rows)
    n = idx.size
    complete = np.ones(n, dtype=bool)
    sub = block.numeric[idx]
    missing = np.isnan(sub)
    keep: list[int] = []
    for j, (label, count) in enumerate(zip(block.labels, missing.sum(axis=0), strict=True)):
        if count > _MISSING_LIMIT * n:
            notes.append(f"{label} is missing for {count:,} of {n:,} accounts: left out")
            continue
        keep.append(j)
        if count:
            complete &= ~missing[:, j]
    labels = [block.labels[j] for j in keep]
    seg = None
    if block.segment is not None:
        seg = block.segment[idx]
        count = int((seg < 0).sum())
        if count > _MISSING_LIMIT * n:
            notes.append(f"segment is missing for {count:,} of {n:,} accounts: left out")
            seg = None
        elif count:
            complete &= seg >= 0
    used = idx[complete] if not complete.all() else idx
    dummies: list[int] = []
    if seg is not None:
        seg = seg[complete] if used is not idx else seg
        counts = np.bincount(seg, minlength=len(block.levels))
        present = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
        if len(present) < 2:
            notes.append("only one segment among these accounts: segment left out")
        dummies = present[1:]
        labels += [f"segment = {block.levels[i]} (vs {block.levels[present[0]]})" for i in dummies]
    x = np.empty((used.size, 2 + len(keep) + len(dummies)))
    x[:, 0] = 1.0
    x[:, 1] = treat[used]
    if keep:
        x[:, 2 : 2 + len(keep)] = (sub[complete] if used is not idx else sub)[:, keep]
    for k, level in enumerate(dummies):
        assert seg is not None
        x[:, 2 + len(keep) + k] = seg == level
    return x, labels, used


def _independent(
    x: np.ndarray, labels: list[str], notes: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Keep the intercept and treatment, then each covariate that adds a new direction
    (a constant column adds none: it is a multiple of the intercept)."""
    gram = x.T @ x
    norms = np.sqrt(np.diag(gram))
    norms[norms == 0] = 1.0
    gram = gram / np.outer(norms, norms)
    keep = [0, 1]
    for j in range(2, x.shape[1]):
        g_kk = gram[np.ix_(keep, keep)]
        g_kj = gram[keep, j]
        try:
            explained = float(g_kj @ np.linalg.solve(g_kk, g_kj))
        except np.linalg.LinAlgError:
            explained = 1.0
        if gram[j, j] - explained > _DEPENDENT:
            keep.append(j)
        else:
            why = "does not vary" if np.ptp(x[:, j]) == 0 else "is fixed by the others"
            notes.append(f"{labels[j - 2]} {why} among these accounts: left out")
    if len(keep) == x.shape[1]:
        return x, labels
    return x[:, keep], [labels[j - 2] for j in keep[2:]]


@dataclass
class _Fit:
    figures: dict[str, float]
    problem: str | None = None
    code: AdjustedCode = "ok"


def _fit(y: np.ndarray, x: np.ndarray, kind: MetricKind, alpha: float) -> _Fit:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "binary":
                # The rank was checked above (_independent): skip statsmodels' own QR.
                model = sm.Logit(y, x, check_rank=False)
                res = model.fit(disp=0, method="newton", maxiter=100)
            else:
                res = sm.OLS(y, x).fit(cov_type="HC1", use_t=True)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            return _Fit({}, f"the regression could not be fitted ({exc})", "singular")
    categories = {w.category for w in caught}
    if kind == "binary":
        converged = res.mle_retvals.get("converged", True) and ConvergenceWarning not in categories
        if PerfectSeparationWarning in categories or not converged:
            # Separation shows as a diverging fit: some fitted probabilities run to 0 or 1.
            eta = x @ np.asarray(res.params, dtype=float)
            if PerfectSeparationWarning in categories or not np.all(np.abs(eta) < _SEPARATED):
                return _Fit(
                    {},
                    "the covariates predict the outcome perfectly for some accounts (separation)",
                    "separation",
                )
            return _Fit({}, "the logistic regression did not converge", "no_convergence")
    params = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)
    coef, se = float(params[1]), math.sqrt(cov[1, 1]) if cov[1, 1] > 0 else float("nan")
    if not (math.isfinite(coef) and math.isfinite(se) and se > 0):
        return _Fit({}, "the regression has no finite standard error", "singular")
    stat = coef / se
    if kind == "binary":
        q = float(sps.norm.ppf(1 - alpha / 2))
        p = float(2 * sps.norm.sf(abs(stat)))
    else:
        df = float(res.df_resid)
        q = float(sps.t.ppf(1 - alpha / 2, df))
        p = float(2 * sps.t.sf(abs(stat), df))
    figs = {"coef": coef, "se": se, "statistic": stat, "p": p}
    figs.update(ci_low=coef - q * se, ci_high=coef + q * se)
    if kind == "binary":
        figs.update(odds_ratio=math.exp(coef), or_low=math.exp(figs["ci_low"]))
        figs["or_high"] = math.exp(figs["ci_high"])
        figs.update(_marginal(x, params, cov, q))
    return _Fit(figs)


def _marginal(x: np.ndarray, params: np.ndarray, cov: np.ndarray, q: float) -> dict[str, float]:
    """Average discrete change in probability from treatment 0 to 1, delta-method SE."""
    eta0 = x @ params - params[1] * x[:, 1]
    p1 = expit(eta0 + params[1])
    p0 = expit(eta0)
    n = x.shape[0]
    ame = float((p1 - p0).mean())
    f1, f0 = p1 * (1 - p1), p0 * (1 - p0)
    grad = (f1 - f0) @ x / n
    grad[1] = f1.sum() / n
    se = math.sqrt(float(grad @ cov @ grad))
    z = ame / se if se > 0 else float("nan")
    return {
        "ame": ame,
        "ame_se": se,
        "ame_low": ame - q * se,
        "ame_high": ame + q * se,
        "ame_p": float(2 * sps.norm.sf(abs(z))),
    }


def _done(
    out: AdjustedEffect,
    code: AdjustedCode,
    message: str | None,
    notes: list[str],
    **figures: Any,
) -> AdjustedEffect:
    return replace(out, code=code, message=message, notes=tuple(notes), **figures)
