"""Adjusted effects against regressions fitted here by hand (IRLS, lstsq, HC1 by formula)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from workbench.experiment.adjusted import adjusted_effect, build_covariates
from workbench.experiment.types import COVARIATES


def close(expected: float) -> object:
    return pytest.approx(expected, rel=1e-6, abs=1e-12)


def frame(seed: int, n: int, effect: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["ai", "control"], size=n, p=[0.6, 0.4])
    seg = rng.choice(["SMB", "Mid-market", "Enterprise"], size=n, p=[0.5, 0.3, 0.2])
    health = rng.normal(60, 15, n)
    arr = rng.lognormal(10, 0.8, n)
    lin = -0.3 + effect * (arm == "ai") + 0.04 * (health - 60) + 0.5 * (seg == "Enterprise")
    renewed = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(float)
    spend = 200 + 150 * (arm == "ai") + 5 * health + 0.002 * arr + rng.gamma(2, 100, n)
    return pd.DataFrame(
        {
            "arm": pd.array(arm, dtype="str"),
            "segment": pd.array(seg, dtype="str"),
            "health_score": health,
            "arr": arr,
            "renewed": renewed,
            "spend": spend,
        }
    )


def design(df: pd.DataFrame) -> np.ndarray:
    """Intercept, treatment, health, ARR per $10,000, segment dummies vs the largest level."""
    levels = df["segment"].value_counts().index.tolist()
    cols = [np.ones(len(df)), (df["arm"] == "ai").to_numpy(float), df["health_score"].to_numpy()]
    cols.append(df["arr"].to_numpy() / 10_000)
    cols += [(df["segment"] == lv).to_numpy(float) for lv in levels[1:]]
    return np.column_stack(cols)


def irls(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ beta))
        w = p * (1 - p)
        step = np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-13:
            break
    p = 1 / (1 + np.exp(-x @ beta))
    cov = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))
    return beta, cov


def run(df: pd.DataFrame, metric: str, kind: str, alpha: float = 0.05, covariates=COVARIATES):
    y = df[metric].to_numpy(float)
    treat = (df["arm"] == "ai").to_numpy()
    rows = ~np.isnan(y) & df["arm"].isin(["ai", "control"]).to_numpy()
    return adjusted_effect(y, treat, rows, build_covariates(df, covariates), kind, alpha)


@pytest.mark.parametrize("seed,n,alpha", [(71, 3_000, 0.05), (72, 800, 0.10)])
def test_logistic_coefficient_odds_ratio_and_marginal_effect(seed, n, alpha):
    df = frame(seed, n)
    r = run(df, "renewed", "binary", alpha)
    x, y = design(df), df["renewed"].to_numpy()
    beta, cov = irls(y, x)
    se = math.sqrt(cov[1, 1])
    q = sps.norm.ppf(1 - alpha / 2)
    assert r.code == "ok" and r.n_used == n and r.n_dropped == 0
    assert r.coef == close(beta[1]) and r.se == close(se)
    assert (r.ci_low, r.ci_high) == (close(beta[1] - q * se), close(beta[1] + q * se))
    assert r.p == close(2 * sps.norm.sf(abs(beta[1] / se)))
    assert r.odds_ratio == close(math.exp(beta[1]))
    assert (r.or_low, r.or_high) == (
        close(math.exp(beta[1] - q * se)),
        close(math.exp(beta[1] + q * se)),
    )
    # Average discrete change: every account with the indicator at 1, then at 0.
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1, 0

    def ame(b: np.ndarray) -> float:
        return float(np.mean(1 / (1 + np.exp(-x1 @ b)) - 1 / (1 + np.exp(-x0 @ b))))

    assert r.ame == close(ame(beta))
    # Delta method with a numerical gradient of the average effect.
    h = 1e-6
    grad = np.array([(ame(beta + h * e) - ame(beta - h * e)) / (2 * h) for e in np.eye(len(beta))])
    assert r.ame_se == pytest.approx(math.sqrt(grad @ cov @ grad), rel=1e-5)
    margeff = sm.Logit(y, x).fit(disp=0).get_margeff(dummy=True)
    assert r.ame == close(margeff.margeff[0]) and r.ame_se == close(margeff.margeff_se[0])
    assert r.ame_low == close(r.ame - q * r.ame_se)


def test_ols_coefficient_with_hc1_standard_errors():
    df = frame(73, 2_500)
    r = run(df, "spend", "continuous")
    x, y = design(df), df["spend"].to_numpy()
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    resid = y - x @ beta
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    cov = bread @ (x.T @ (x * (resid**2)[:, None])) @ bread * n / (n - k)
    se = math.sqrt(cov[1, 1])
    q = sps.t.ppf(0.975, n - k)
    assert r.code == "ok" and r.method == "OLS with HC1 robust standard errors"
    assert r.coef == close(beta[1]) and r.se == close(se)
    assert (r.ci_low, r.ci_high) == (close(beta[1] - q * se), close(beta[1] + q * se))
    assert r.p == close(2 * sps.t.sf(abs(beta[1] / se), n - k))
    assert r.odds_ratio is None and r.ame is None
    assert r.covariates == (
        "health_score",
        "ARR per $10,000",
        "segment = Mid-market (vs SMB)",
        "segment = Enterprise (vs SMB)",
    )


def test_rows_with_missing_covariates_are_dropped_and_counted():
    df = frame(74, 1_200)
    df.loc[df.index[:37], "health_score"] = np.nan
    df.loc[df.index[30:50], "segment"] = None
    r = run(df, "spend", "continuous")
    keep = df["health_score"].notna() & df["segment"].notna()
    assert r.n_dropped == 50 and r.n_used == int(keep.sum())
    assert any("50 accounts with a missing covariate" in note for note in r.notes)
    sub = df[keep]
    beta = np.linalg.lstsq(design(sub), sub["spend"].to_numpy(), rcond=None)[0]
    assert r.coef == close(beta[1])


def _with(df: pd.DataFrame, **columns: object) -> pd.DataFrame:
    return df.assign(**columns)


DEGENERATE = [
    # name, change to the frame, metric, kind, code, words in message or notes
    ("empty arm", lambda d: d.assign(arm="ai"), "spend", "continuous", "empty_arm", "no usable account"),
    (
        "one account",
        lambda d: d[(d["arm"] == "ai") | (d.index == d.index[d["arm"] == "control"][0])],
        "spend", "continuous", "too_few", "only one usable account",
    ),
    ("all retained", lambda d: d.assign(renewed=1.0), "renewed", "binary", "all_same", "the outcome 1"),
    ("all churned", lambda d: d.assign(renewed=0.0), "renewed", "binary", "all_same", "the outcome 0"),
    (
        "separation by arm",
        lambda d: d.assign(renewed=(d["arm"] == "ai").astype(float)),
        "renewed", "binary", "separation", "odds ratio is infinite",
    ),
    (
        "no outcomes",
        lambda d: d.assign(spend=np.nan),
        "spend", "continuous", "no_data", "no account in either arm",
    ),
]  # fmt: skip


@pytest.mark.parametrize("name,change,metric,kind,code,words", DEGENERATE)
def test_degenerate_fits_are_explained(name, change, metric, kind, code, words):
    r = run(change(frame(75, 600)), metric, kind)
    assert r.code == code, name
    assert r.message is not None and words in r.message
    assert r.coef is None


NOTED = [
    # name, change, expected note, covariates left
    (
        "constant covariate",
        lambda d: d.assign(health_score=55.0),
        "health_score does not vary among these accounts: left out",
        ("ARR per $10,000", "segment = Mid-market (vs SMB)", "segment = Enterprise (vs SMB)"),
    ),
    (
        "collinear covariate",
        lambda d: d.assign(arr=d["health_score"] * 20_000 + 10_000),
        "ARR per $10,000 is fixed by the others among these accounts: left out",
        ("health_score", "segment = Mid-market (vs SMB)", "segment = Enterprise (vs SMB)"),
    ),
    (
        "one segment only",
        lambda d: d.assign(segment="SMB"),
        "only one segment among these accounts: segment left out",
        ("health_score", "ARR per $10,000"),
    ),
    (
        "covariate mostly missing",
        lambda d: d.assign(arr=np.where(d.index % 3 == 0, d["arr"], np.nan)),
        "ARR per $10,000 is missing for",
        ("health_score", "segment = Mid-market (vs SMB)", "segment = Enterprise (vs SMB)"),
    ),
    (
        "covariate not in the data",
        lambda d: d.drop(columns=["arr"]),
        "arr is not in the data: left out",
        ("health_score", "segment = Mid-market (vs SMB)", "segment = Enterprise (vs SMB)"),
    ),
]


@pytest.mark.parametrize("name,change,note,left", NOTED)
def test_dropped_covariates_are_noted_and_the_fit_goes_on(name, change, note, left):
    df = change(frame(76, 1_500))
    r = run(df, "renewed", "binary")
    assert r.code == "ok", name
    assert any(n.startswith(note) for n in r.notes), r.notes
    assert r.covariates == left


def test_separation_by_a_covariate_refits_without_covariates():
    df = frame(77, 1_500)
    df.loc[df["segment"] == "Enterprise", "renewed"] = 1.0  # every enterprise account renewed
    r = run(df, "renewed", "binary")
    assert r.code == "ok" and r.covariates == ()
    assert r.notes == (
        "the covariates predict the outcome perfectly for some accounts (separation): "
        "estimated without covariates",
    )
    y, t = df["renewed"].to_numpy(), (df["arm"] == "ai").to_numpy(float)
    beta, _ = irls(y, np.column_stack([np.ones(len(df)), t]))
    assert r.coef == close(beta[1])
    # Without covariates the log-odds ratio is the one of the 2x2 table.
    odds = [y[t == v].mean() / (1 - y[t == v].mean()) for v in (1, 0)]
    assert r.odds_ratio == close(odds[0] / odds[1])


@pytest.mark.parametrize(
    "n,metric,kind,rarer",
    [
        # A workshop-sized pair: 4 covariates (health, ARR, two segment dummies) need 40.
        (40, "renewed", "binary", "of the rarer outcome"),
        (30, "spend", "continuous", "accounts"),
    ],
)
def test_too_few_accounts_for_the_covariates_are_estimated_without_them(n, metric, kind, rarer):
    df = frame(78, n)
    r = run(df, metric, kind)
    assert r.code == "ok" and r.covariates == ()
    assert len(r.notes) == 1 and r.notes[0].startswith("too few accounts for 4 covariate(s) (")
    assert rarer in r.notes[0] and "at least 40 are needed): estimated without them" in r.notes[0]
    y, t = df[metric].to_numpy(), (df["arm"] == "ai").to_numpy(float)
    if kind == "binary":
        beta, _ = irls(y, np.column_stack([np.ones(n), t]))
        assert r.coef == close(beta[1])
        assert 0.01 < r.odds_ratio < 100  # the 2x2 table's, not a near-separated fit's
    else:
        assert r.coef == close(y[t == 1].mean() - y[t == 0].mean())


def test_enough_of_the_rarer_outcome_keeps_the_covariates():
    df = frame(79, 400)
    r = run(df, "renewed", "binary")
    rarer = min(df["renewed"].sum(), (1 - df["renewed"]).sum())
    assert rarer >= 40 and r.code == "ok" and len(r.covariates) == 4
