"""The orchestrator: figures per pair against scipy on the same rows, words, degenerate frames."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from workbench.experiment.analysis import analysis_tables, analyze, guardrail_breaches
from workbench.experiment.scenario import synthetic_frame
from workbench.experiment.types import ARMS, FRAME_COLUMNS, PAIRS, MetricSpec

SHARES = {"ai": 0.45, "csm": 0.45, "control": 0.10}
RENEWED = MetricSpec("renewed", "Renewed", "binary", guardrail=True, unit="rate")
EXPANSION = MetricSpec("expansion_arr", "Expansion ARR", "continuous", unit="currency")
METRICS = (RENEWED, EXPANSION)


def close(expected: float) -> object:
    return pytest.approx(expected, rel=1e-6, abs=1e-15)


def outcome_frame(
    seed: int,
    n: int,
    p: tuple[float, float, float] = (0.45, 0.45, 0.10),
    lift: tuple[float, float] = (0.4, 0.2),
) -> pd.DataFrame:
    return synthetic_frame(n, seed=seed, shares=p, lift=lift)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return outcome_frame(81, 6_000)


@pytest.fixture(scope="module")
def result(frame):
    return analyze(frame, METRICS, SHARES)


def test_every_pair_matches_scipy_on_the_same_rows(frame, result):
    renewed = result.metric("renewed")
    for t, b in PAIRS:
        yt = frame.loc[frame["arm"] == t, "renewed"].dropna().to_numpy()
        yb = frame.loc[frame["arm"] == b, "renewed"].dropna().to_numpy()
        c = renewed.pair(t, b).comparison
        pooled = (yt.sum() + yb.sum()) / (yt.size + yb.size)
        z = (yt.mean() - yb.mean()) / math.sqrt(pooled * (1 - pooled) * (1 / yt.size + 1 / yb.size))
        se = math.sqrt(
            yt.mean() * (1 - yt.mean()) / yt.size + yb.mean() * (1 - yb.mean()) / yb.size
        )
        assert (c.value_t, c.value_b) == (close(yt.mean()), close(yb.mean()))
        assert (c.statistic, c.p) == (close(z), close(2 * sps.norm.sf(abs(z))))
        assert c.ci_low == close(yt.mean() - yb.mean() - sps.norm.ppf(0.975) * se)
    expansion = result.metric("expansion_arr")
    for t, b in PAIRS:
        yt = frame.loc[frame["arm"] == t, "expansion_arr"].to_numpy()
        yb = frame.loc[frame["arm"] == b, "expansion_arr"].to_numpy()
        pr = expansion.pair(t, b)
        ref = sps.ttest_ind(yt, yb, equal_var=False)
        ci = ref.confidence_interval()
        assert (pr.comparison.statistic, pr.comparison.p) == (
            close(ref.statistic),
            close(ref.pvalue),
        )
        assert (pr.comparison.ci_low, pr.comparison.ci_high) == (close(ci.low), close(ci.high))
        # Heavy skew: the log(1 + value) comparison is made too.
        log_ref = sps.ttest_ind(np.log1p(yt), np.log1p(yb), equal_var=False)
        assert pr.log_comparison.p == close(log_ref.pvalue)


def test_summaries_and_both_sample_ratio_checks(frame, result):
    counts = frame["arm"].value_counts()
    obs = np.array([counts[a] for a in ARMS])
    ref = sps.chisquare(obs, obs.sum() * np.array([SHARES[a] for a in ARMS]))
    assert result.n_accounts == len(frame)
    assert (result.srm.chi2, result.srm.p) == (close(ref.statistic), close(ref.pvalue))
    renewed = result.metric("renewed")
    seen = frame.dropna(subset=["renewed"])["arm"].value_counts()
    obs = np.array([seen[a] for a in ARMS])
    ref = sps.chisquare(obs, obs.sum() * np.array([SHARES[a] for a in ARMS]))
    assert renewed.srm.chi2 == close(ref.statistic) and renewed.srm.observed == tuple(obs)
    assert renewed.n_observed == int(frame["renewed"].notna().sum())
    assert renewed.n_missing == int(frame["renewed"].isna().sum())
    ai = renewed.arm("ai")
    assert ai.n == seen["ai"] and ai.mean == close(
        frame.loc[frame["arm"] == "ai", "renewed"].mean()
    )


def test_adjusted_effects_are_made_for_every_pair(result):
    for m in result.metrics:
        for pr in m.pairs:
            assert pr.adjusted.code == "ok" and pr.adjusted.n_dropped == 0
            if m.spec.kind == "binary":
                assert pr.adjusted.odds_ratio == close(math.exp(pr.adjusted.coef))
                assert pr.adjusted.ame is not None


def test_verdict_reads_as_one_plain_sentence(result):
    renewed = result.metric("renewed")
    c = renewed.pair("ai", "control").comparison
    assert renewed.verdict == (
        f"Renewed: AI-handled {c.value_t * 100:.1f}% vs control {c.value_b * 100:.1f}%: "
        f"+{c.diff * 100:.1f} points (95% CI +{c.ci_low * 100:.1f} to +{c.ci_high * 100:.1f}), "
        "p < 0.001 — a real improvement."
    )
    # Significant, yet the ~540 control accounts are fewer than 5 points would need.
    power = renewed.pair("ai", "control").power
    assert power.n_per_arm < power.required.n_exact and renewed.underpowered is True
    expansion = result.metric("expansion_arr")
    assert expansion.skew_note.startswith("Expansion ARR is heavily skewed (sample skewness")
    assert "log(1 + value)" in expansion.skew_note


def test_small_experiment_is_called_underpowered():
    small = outcome_frame(82, 120, lift=(0.0, 0.0))
    r = analyze(small, [RENEWED], SHARES).metric("renewed")
    assert r.underpowered
    assert "not distinguishable from control" in r.verdict
    assert re.search(
        r"this experiment is underpowered: it can only detect changes of [\d.]+ points", r.verdict
    )
    power = r.pair("ai", "control").power
    assert power.underpowered and power.required.n == math.ceil(power.required.n_exact)


def test_pairs_with_an_arm_planned_at_zero_are_skipped_with_a_reason():
    df = outcome_frame(83, 2_000, p=(0.5, 0.5, 0.0))
    r = analyze(df, [RENEWED], {"ai": 0.5, "csm": 0.5, "control": 0.0})
    m = r.metric("renewed")
    assert [p.skipped is None for p in m.pairs] == [False, False, True]
    assert m.pair("ai", "control").skipped == (
        "the plan gives Control 0% of accounts, so there is nothing to compare"
    )
    assert m.verdict.startswith("Renewed: AI-handled") and "vs CSM-handled" in m.verdict
    assert r.srm.arms == ("ai", "csm") and r.srm.excluded == ("control",)


def test_a_mismatched_split_is_loud_everywhere():
    df = outcome_frame(84, 5_000, p=(0.55, 0.37, 0.08))
    r = analyze(df, [RENEWED], SHARES)
    assert r.srm.failed and r.srm.sentence.startswith("WARNING — SAMPLE RATIO MISMATCH")
    verdict = r.metric("renewed").verdict
    assert verdict.startswith("Do not trust this yet, the split differs from the plan. Renewed:")
    # The figures stay; the judgement is withheld.
    assert verdict.endswith(" — no verdict until the mismatch is explained.")
    assert "real improvement" not in verdict and "not distinguishable" not in verdict


def test_outcomes_missing_more_in_one_arm_fail_the_metric_check_only():
    df = outcome_frame(85, 6_000)
    ai = df.index[df["arm"] == "ai"]
    df.loc[ai[: len(ai) // 2], "renewed"] = np.nan
    r = analyze(df, [RENEWED], SHARES)
    assert not r.srm.failed and r.metric("renewed").srm.failed
    assert "accounts with an observed Renewed outcome" in r.metric("renewed").srm.sentence


def test_segment_filter_keeps_its_rows_and_drops_the_segment_covariate(frame):
    r = analyze(frame, [RENEWED], SHARES, segment="Enterprise")
    assert (
        r.n_accounts == int((frame["segment"] == "Enterprise").sum()) and r.segment == "Enterprise"
    )
    adjusted = r.metric("renewed").pair("ai", "csm").adjusted
    assert r.covariates == ("health_score", "arr")
    assert not any("segment" in note for note in adjusted.notes)
    assert adjusted.covariates == ("health_score", "ARR per $10,000")


def test_chosen_mde_is_used_for_the_required_sample_size(result, frame):
    r = analyze(frame, METRICS, SHARES, mde={"renewed": 0.02, "expansion_arr": 100.0})
    assert r.metric("renewed").pair("ai", "control").power.mde == 0.02
    power = r.metric("expansion_arr").pair("ai", "control").power
    assert power.mde == 100.0 and not power.mde_default
    assert "To detect $100 you need" in power.sentence


def _breach_frame(higher_is_better: bool) -> tuple[pd.DataFrame, MetricSpec]:
    df = outcome_frame(86, 4_000, lift=(-1.2, 0.0))
    spec = MetricSpec("renewed", "Renewed", "binary", higher_is_better, guardrail=True)
    return df, spec


def test_guardrail_breach_when_ai_is_significantly_worse():
    df, spec = _breach_frame(True)
    analysis = analyze(df, [spec], SHARES)
    breaches = guardrail_breaches(analysis)
    assert [(b.metric, b.baseline) for b in breaches] == [
        ("renewed", "control"),
        ("renewed", "csm"),
    ]
    assert breaches[0].figures.diff < 0 and breaches[0].figures.p < 0.05
    assert breaches[0].sentence.startswith("Guardrail breached: Renewed: AI-handled")
    assert "significantly worse than control" in breaches[0].sentence


def test_no_breach_when_lower_is_better_or_not_a_guardrail():
    df, spec = _breach_frame(False)
    assert guardrail_breaches(analyze(df, [spec], SHARES)) == []
    plain = MetricSpec("renewed", "Renewed", "binary", guardrail=False)
    assert guardrail_breaches(analyze(df, [plain], SHARES)) == []


EMPTY_FRAMES = [
    ("no columns", pd.DataFrame()),
    ("no rows", pd.DataFrame(columns=[*FRAME_COLUMNS, "renewed"])),
]


@pytest.mark.parametrize("name,df", EMPTY_FRAMES)
def test_empty_frame_gives_an_explained_result(name, df):
    r = analyze(df, METRICS, SHARES)
    assert r.code == "no_data" and r.n_accounts == 0
    assert r.message == "no accounts have been assigned yet"
    assert r.srm.code == "no_data" and not r.srm.failed
    for m in r.metrics:
        assert m.code == "no_data" and m.underpowered
        assert m.verdict == f"{m.spec.label}: no accounts have been assigned yet."
    tables = analysis_tables(r)
    assert set(tables) == {"summary", "comparisons", "adjusted", "srm", "power"}


METRIC_CASES = [
    # name, change, code, words in the verdict
    (
        "column missing",
        lambda d: d.drop(columns=["renewed"]),
        "missing_column",
        "no renewed column",
    ),
    (
        "nothing observed",
        lambda d: d.assign(renewed=np.nan),
        "no_data",
        "no account has an observed",
    ),
    ("not 0/1", lambda d: d.assign(renewed=d["renewed"] * 2), "not_binary", "neither 0 nor 1"),
    ("segment missing", lambda d: d.assign(segment=None), "ok", "Renewed: AI-handled"),
]


@pytest.mark.parametrize("name,change,code,words", METRIC_CASES)
def test_metric_level_problems_are_explained(name, change, code, words):
    df = change(outcome_frame(87, 800))
    m = analyze(df, [RENEWED], SHARES).metric("renewed")
    assert m.code == code, name
    assert words in m.verdict


def test_an_arm_without_outcomes_is_explained_in_its_pairs():
    df = outcome_frame(88, 1_500)
    df.loc[df["arm"] == "control", "renewed"] = np.nan
    m = analyze(df, [RENEWED], SHARES).metric("renewed")
    c = m.pair("ai", "control").comparison
    assert c.code == "empty_arm"
    # The accounts with an outcome no longer follow the plan: the metric's split check fails.
    assert m.srm.failed
    assert m.verdict == (
        "Do not trust this yet, the split differs from the plan. "
        "Renewed, AI-handled vs control: the control arm has no account with an observed outcome "
        "yet, so the AI-handled arm has nothing to be compared with."
    )
    assert m.pair("ai", "csm").comparison.code == "ok"


def test_tables_carry_the_same_figures(result):
    t = analysis_tables(result)
    comp = t["comparisons"]
    # 2 metrics x 3 pairs, plus the log-scale rows of the skewed metric.
    assert len(comp) == 9 and len(t["adjusted"]) == 6 and len(t["power"]) == 6
    row = comp[(comp["Metric"] == "Renewed") & (comp["Baseline"] == "Control")].iloc[0]
    c = result.metric("renewed").pair("ai", "control").comparison
    assert row["Difference"] == c.diff and row["p-value"] == c.p and row["Test"] == c.test
    assert list(t["summary"]["Arm"][:3]) == ["AI-handled", "CSM-handled", "Control"]
    assert len(t["srm"]) == 9  # all accounts plus each metric, three arms each
    assert t["adjusted"]["Odds ratio"].notna().sum() == 3


def test_a_significant_result_on_a_tiny_arm_is_only_a_hint():
    # 19 AI-handled accounts, 17 renewed; 2 control accounts, both churned: p = 0.002.
    n = 21
    df = outcome_frame(90, n).assign(
        arm=pd.array(["ai"] * 19 + ["control"] * 2, dtype="str"),
        renewed=[1.0] * 17 + [0.0] * 4,
    )
    pair = analyze(df, [RENEWED], SHARES).metric("renewed").pair("ai", "control")
    assert pair.comparison.p < 0.05
    assert "a real improvement." not in pair.sentence
    assert pair.sentence.endswith(
        "— it looks like a real improvement, but with only 2 control accounts with an outcome "
        "the test can't be relied on yet (it needs at least 10 per arm)."
    )
