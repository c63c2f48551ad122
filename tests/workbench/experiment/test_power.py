"""Power and sample size against the formulas written out here, plus the sentences."""

from __future__ import annotations

import math

import pytest
from scipy import optimize
from scipy import stats as sps

from workbench.experiment.power import (
    detectable_binary,
    detectable_continuous,
    effective_n,
    plan_power,
    required_n_binary,
    required_n_continuous,
)


def close(expected: float) -> object:
    return pytest.approx(expected, rel=1e-6)


def fleiss_n(p1: float, p2: float, alpha: float, power: float) -> float:
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    pbar = (p1 + p2) / 2
    top = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return top**2 / (p2 - p1) ** 2


def conservative_n(p1: float, delta: float, alpha: float, power: float) -> float:
    """The larger n of a rise and a fall (each where it stays within 0..1)."""
    options = [
        fleiss_n(p1, p1 + s * delta, alpha, power) for s in (1, -1) if 0 <= p1 + s * delta <= 1
    ]
    return max(options)


BINARY = [
    # baseline, mde, alpha, power
    (0.712, 0.05, 0.05, 0.8),
    (0.30, 0.05, 0.05, 0.8),
    (0.50, 0.10, 0.05, 0.9),
    (0.90, 0.03, 0.01, 0.8),
    (0.05, 0.02, 0.10, 0.8),
    (0.97, 0.05, 0.05, 0.8),  # a rise of 5 points would pass 100%: only the fall counts
]


@pytest.mark.parametrize("baseline,mde,alpha,power", BINARY)
def test_required_n_binary_matches_the_formula(baseline, mde, alpha, power):
    r = required_n_binary(baseline, mde, alpha, power)
    exact = conservative_n(baseline, mde, alpha, power)
    assert r.code == "ok"
    assert r.n_exact == close(exact)
    assert r.n == math.ceil(exact)


def test_required_n_binary_golden_value():
    # 71.2% baseline, 5 points, 5% / 80%: towards 50% means 66.2%.
    za, zb = 1.959963984540054, 0.8416212335729143
    p1, p2 = 0.712, 0.662
    pbar = (p1 + p2) / 2
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    n /= 0.05**2
    r = required_n_binary(0.712, 0.05)
    assert r.n_exact == close(n) and r.n == math.ceil(n) == 1350


@pytest.mark.parametrize(
    "baseline,n,alpha,power",
    [
        (0.712, 420, 0.05, 0.8),
        (0.3, 1_000, 0.05, 0.8),
        (0.5, 60, 0.10, 0.9),
        (0.95, 5_000, 0.01, 0.8),
    ],
)
def test_detectable_binary_solves_the_formula(baseline, n, alpha, power):
    d = detectable_binary(baseline, n, alpha, power)
    widest = max(baseline, 1 - baseline)
    ref = optimize.bisect(
        lambda x: conservative_n(baseline, x, alpha, power) - n, 1e-6, widest, xtol=1e-15
    )
    assert d.code == "ok"
    assert d.effect == close(ref)
    assert conservative_n(baseline, d.effect, alpha, power) == close(n)


@pytest.mark.parametrize(
    "sd,mde,alpha,power",
    [(2_400.0, 480.0, 0.05, 0.8), (1.0, 0.2, 0.05, 0.9), (35.0, 3.0, 0.01, 0.8)],
)
def test_continuous_sample_size_and_detectable_effect(sd, mde, alpha, power):
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    exact = 2 * (za + zb) ** 2 * sd**2 / mde**2
    r = required_n_continuous(sd, mde, alpha, power)
    assert r.n_exact == close(exact) and r.n == math.ceil(exact)
    d = detectable_continuous(sd, 420, alpha, power)
    assert d.effect == close((za + zb) * sd * math.sqrt(2 / 420))


def test_effective_n_is_the_harmonic_mean():
    assert effective_n(4_500, 1_000) == close(2 * 4_500 * 1_000 / 5_500)
    assert effective_n(420, 420) == 420
    assert effective_n(0, 10) == 0


def test_sentences_in_plain_words():
    r = plan_power("binary", 420, 420, baseline=0.712)
    d = optimize.bisect(lambda x: conservative_n(0.712, x, 0.05, 0.8) - 420, 1e-6, 0.712)
    need = math.ceil(conservative_n(0.712, 0.05, 0.05, 0.8))
    assert r.sentence == (
        f"With 420 accounts per arm you can detect a change of {d * 100:.1f} points or more "
        f"(80% power, 5% significance). To detect 5 points you need {need:,} accounts per arm; "
        "you have 420."
    )
    assert r.underpowered and r.mde == 0.05 and r.mde_default


def test_unequal_arms_say_how_they_are_counted():
    r = plan_power("continuous", 4_500, 1_000, sd=2_000.0, unit="currency")
    assert "4,500 and 1,000 accounts in the two arms (worth 1,636 per arm" in r.sentence
    assert "To detect $400 (0.2 SD) you need" in r.sentence
    assert "you have the equivalent of 1,636" in r.sentence
    assert r.detectable.effect == close(
        (sps.norm.ppf(0.975) + sps.norm.ppf(0.8))
        * 2_000
        * math.sqrt(2 / (2 * 4_500 * 1_000 / 5_500))
    )
    assert not r.underpowered


DEGENERATE = [
    # call, code, words in the message
    (lambda: required_n_binary(None, 0.05), "no_data", "baseline rate is not known"),
    (lambda: required_n_binary(0.7, 5), "invalid", "0.05 = 5 points"),
    (lambda: required_n_binary(0.7, 0.8), "invalid", "0 to 100% range"),
    (lambda: required_n_binary(0.7, 0.05, alpha=1.5), "invalid", "between 0 and 1"),
    (lambda: detectable_binary(0.7, 0), "no_data", "no accounts"),
    (lambda: detectable_binary(0.8, 3), "not_detectable", "not even a change"),
    (lambda: required_n_continuous(None, 10.0), "no_data", "spread of the values is not known"),
    (lambda: required_n_continuous(0.0, 10.0), "zero_variance", "do not vary"),
    (lambda: detectable_continuous(5.0, 0), "no_data", "no accounts"),
    (lambda: required_n_continuous(5.0, -1.0), "invalid", "positive number"),
]


@pytest.mark.parametrize("call,code,words", DEGENERATE)
def test_degenerate_power_inputs_are_explained(call, code, words):
    r = call()
    assert r.code == code
    assert r.message is not None and words in r.message


def test_all_churned_baseline_still_plans_upwards():
    r = required_n_binary(0.0, 0.05)
    assert r.code == "ok" and r.n_exact == close(fleiss_n(0.0, 0.05, 0.05, 0.8))


def test_nothing_detectable_counts_as_underpowered():
    r = plan_power("binary", 3, 3, baseline=0.8)
    assert r.underpowered and r.detectable.effect is None
    assert r.sentence.startswith("With 3 accounts per arm not even a change")
