"""Analysis benchmark: the full experiment analysis against the bare statsmodels calls.

Generates an outcome frame of 100,000 accounts (three arms split 45/45/10, three segments,
ARR, health score, a binary ``renewed`` metric with 10% not observed and a heavily skewed
continuous ``expansion_arr``), then measures in this one process, best of N:

* ``experiment.analysis.analyze`` for both metrics: summaries, the three pairs compared,
  the adjusted effects, both sample ratio checks, power, the skew check, the sentences;
* the bare statsmodels calls a hand analyst would make for the same outputs on the same
  frame with pandas: per-arm ``groupby`` summaries and skewness, ``proportions_ztest`` +
  ``confint_proportions_2indep(method="wald")``, ``ttest_ind(usevar="unequal")`` +
  ``CompareMeans.tconfint_diff`` (also on log(1 + value)), ``Logit`` + ``get_margeff``
  and ``OLS(cov_type="HC1")`` per pair on a ``get_dummies`` design, ``chisquare`` for the
  split (all accounts and per metric) and ``NormalIndPower`` for power.

The ratio is the price of the orchestration. ``get_margeff(dummy=True)`` is slow (a
numerical Jacobian over every row), while ``analyze`` computes the same average marginal
effect and delta-method standard error analytically; the ratio without it is printed too,
so the figure is not flattered by that one call.

    python bench/analysis_bench.py [--accounts 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from workbench.experiment.analysis import analyze
from workbench.experiment.scenario import synthetic_frame
from workbench.experiment.types import PAIRS, MetricSpec

SHARES = {"ai": 0.45, "csm": 0.45, "control": 0.10}
METRICS = (
    MetricSpec("renewed", "Renewed", "binary", guardrail=True, unit="rate"),
    MetricSpec("expansion_arr", "Expansion ARR", "continuous", unit="currency"),
)


def outcome_frame(n: int, seed: int = 6) -> pd.DataFrame:
    """A seeded outcome frame: AI +0.3 and CSM +0.15 on the log-odds of renewal."""
    return synthetic_frame(n, seed=seed, lift=(0.3, 0.15))


def by_hand(
    frame: pd.DataFrame,
    margeff: bool = True,
    checks: dict[tuple[str, str, str], float] | None = None,
) -> list[object]:
    """What an analyst would type for the same figures, statsmodels all the way.

    ``checks`` collects the treatment coefficient and test statistic per (metric, pair)
    so the bench can confirm both sides computed the same thing.
    """
    out: list[object] = []
    checks = {} if checks is None else checks
    power = NormalIndPower()
    counts = frame["arm"].value_counts()
    obs = np.array([counts.get(a, 0) for a in SHARES])
    out.append(sps.chisquare(obs, obs.sum() * np.array(list(SHARES.values()))))
    for spec in METRICS:
        col = spec.name
        seen = frame.dropna(subset=[col])
        grouped = seen.groupby("arm")[col]
        out.append(grouped.agg(["count", "mean", "std", "sum"]))
        per_arm = seen["arm"].value_counts()
        obs = np.array([per_arm.get(a, 0) for a in SHARES])
        out.append(sps.chisquare(obs, obs.sum() * np.array(list(SHARES.values()))))
        if spec.kind == "continuous":
            out.append(grouped.skew())
        for t, b in PAIRS:
            yt = seen.loc[seen["arm"] == t, col].to_numpy()
            yb = seen.loc[seen["arm"] == b, col].to_numpy()
            sub = seen[seen["arm"].isin([t, b])]
            x = pd.get_dummies(
                sub[["health_score", "arr", "segment"]].assign(arr=sub["arr"] / 10_000),
                columns=["segment"],
                drop_first=True,
                dtype=float,
            )
            x.insert(0, "treat", (sub["arm"] == t).astype(float))
            x = sm.add_constant(x)
            if spec.kind == "binary":
                xt, xb = yt.sum(), yb.sum()
                ztest = proportions_ztest([xt, xb], [len(yt), len(yb)])
                out.append(ztest)
                checks[(col, t, b)] = float(ztest[0])
                out.append(confint_proportions_2indep(xt, len(yt), xb, len(yb), method="wald"))
                fit = sm.Logit(sub[col], x).fit(disp=0)
                checks[(col + ":adjusted", t, b)] = float(fit.params["treat"])
                out.append((fit.params, fit.bse, fit.conf_int(), np.exp(fit.params)))
                if margeff:
                    out.append(fit.get_margeff(dummy=True).summary_frame())
                p1 = yb.mean()
                es = proportion_effectsize(p1, p1 + 0.05)
                out.append(power.solve_power(es, alpha=0.05, power=0.8, ratio=1.0))
                out.append(power.solve_power(None, nobs1=len(yt), alpha=0.05, power=0.8,
                                             ratio=len(yb) / len(yt)))  # fmt: skip
            else:
                welch = ttest_ind(yt, yb, usevar="unequal")
                out.append(welch)
                checks[(col, t, b)] = float(welch[0])
                cm = CompareMeans(DescrStatsW(yt), DescrStatsW(yb))
                out.append(cm.tconfint_diff(usevar="unequal"))
                out.append(ttest_ind(np.log1p(yt), np.log1p(yb), usevar="unequal"))
                fit = sm.OLS(sub[col], x).fit(cov_type="HC1")
                checks[(col + ":adjusted", t, b)] = float(fit.params["treat"])
                out.append((fit.params, fit.bse, fit.conf_int()))
                out.append(power.solve_power(0.2, alpha=0.05, power=0.8, ratio=1.0))
                out.append(power.solve_power(None, nobs1=len(yt), alpha=0.05, power=0.8,
                                             ratio=len(yb) / len(yt)))  # fmt: skip
    return out


def best_of(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each function; the rounds interleave them so load on the machine
    falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: min(ts) for name, ts in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    frame = outcome_frame(args.accounts)
    print(f"outcome frame of {len(frame):,} accounts: generated in {time.perf_counter() - t:.2f} s")

    def run() -> object:
        return analyze(frame, METRICS, SHARES)

    run()  # warm imports and caches on both sides before timing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_hand(frame)
        t = best_of(
            {
                "ours": run,
                "bare": lambda: by_hand(frame),
                "bare_no_me": lambda: by_hand(frame, margeff=False),
            },
            args.repeat,
        )
    ours, bare, bare_no_me = t["ours"], t["bare"], t["bare_no_me"]
    print(f"analyze (2 metrics x 3 pairs, adjusted, SRM, power, sentences): {ours * 1000:.0f} ms")
    print(f"bare statsmodels calls for the same figures: {bare * 1000:.0f} ms "
          f"(ratio {ours / bare:.2f}x; target <= 1.5x)")  # fmt: skip
    print(f"bare calls without get_margeff: {bare_no_me * 1000:.0f} ms "
          f"(ratio {ours / bare_no_me:.2f}x)")  # fmt: skip
    analysis = analyze(frame, METRICS, SHARES)
    checks: dict[tuple[str, str, str], float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_hand(frame, margeff=False, checks=checks)
    worst = 0.0
    for (key, t, b), theirs in checks.items():
        metric = analysis.metric(key.split(":")[0])
        assert metric is not None
        pair = metric.pair(t, b)
        assert pair is not None and pair.comparison is not None and pair.adjusted is not None
        mine = pair.adjusted.coef if key.endswith(":adjusted") else pair.comparison.statistic
        assert mine is not None
        worst = max(worst, abs(mine - theirs) / abs(theirs))
    print(f"same figures on both sides: largest relative difference {worst:.1e} over "
          f"{len(checks)} z/t statistics and adjusted coefficients")  # fmt: skip
    print(analysis.srm.sentence)
    for m in analysis.metrics:
        print(m.verdict)


if __name__ == "__main__":
    main()
