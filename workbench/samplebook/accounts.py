"""The accounts of the sample book, their latent risk, renewal outcomes and state over time.

Every account has a latent risk per contract year. The risk drives what the
exports show (a usage decline that starts months before the renewal, more and
more severe tickets, lower NPS, a CSM who stopped calling) and, through a
logistic model, whether the account churned at its last renewal. Signals are
dated before the renewal they foreshadow, so a backtest "as of renewal minus
90 days" can see them.

The random generators are passed in, so the caller's seed fixes every draw.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from workbench.samplebook.words import (
    CHURN_REASONS,
    CSMS,
    DOWNGRADE_REASONS,
    FIRST,
    INDUSTRIES,
    LAST,
    LEGAL,
    PREFIXES,
    REGIONS,
    ROLES,
)

_SEG_P = (0.60, 0.28, 0.12)
_SEG_ARR = ((13_000, 0.55, 5_000, 40_000), (85_000, 0.45, 40_000, 200_000),
            (420_000, 0.55, 200_000, 1_500_000))  # (median, sigma, low, high)  # fmt: skip
_SEG_PRICE = ((450, 900), (350, 700), (250, 550))  # per seat per year
_SEG_SHIFT = (0.2, 0.0, -0.3)  # latent risk offset: SMB churns more
_SEG_PLANS = (("Starter", "Growth"), ("Growth", "Business"), ("Enterprise",))
_SEG_CONTACTS = (2, 3, 5)
_INDUSTRY_P = (0.18, 0.12, 0.11, 0.11, 0.09, 0.07, 0.07, 0.06, 0.08, 0.04, 0.04, 0.03)
_REGION_P = (0.5, 0.3, 0.12, 0.08)


@dataclass
class Period:
    """One contract year: its risk and the episodes that risk set off."""

    end: int  # renewal day (ordinal)
    risk: float
    decline_onset: int | None = None
    decline_rate: float = 0.0
    neglect_from: int | None = None


@dataclass
class Account:
    id: str
    name: str
    slug: str
    segment: int
    industry: str
    region: str
    csm: str
    plan: str
    start: int
    renewal_next: int
    renewal_prev: int | None
    arr: int  # contract ARR of the earliest contract year in view
    seats: int
    adoption: float
    prev: Period | None
    next: Period
    contacts: list[tuple[str, str, str]]
    outcome: str | None = None
    arr_after: int = 0
    seats_after: int = 0
    reason: str = ""
    usage_params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def end(self, as_of: int) -> int:
        """First day without data: the churn date, or the export date."""
        return self.renewal_prev if self.outcome == "Churned" and self.renewal_prev else as_of


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _round_to(x: float, step: int) -> int:
    return int(round(x / step) * step)


def _period(rng: np.random.Generator, end: int, risk: float) -> Period:
    p = Period(end=end, risk=risk)
    if rng.random() < sigmoid(-2.0 + 1.8 * risk):
        p.decline_onset = end - int(rng.integers(110, 231))
        p.decline_rate = float(rng.uniform(0.06, 0.14))
    if rng.random() < sigmoid(-2.2 + 1.3 * risk):
        p.neglect_from = end - int(rng.integers(150, 301))
    return p


def make_accounts(
    rng: np.random.Generator, rnd: random.Random, n: int, as_of: date
) -> list[Account]:
    industries = list(INDUSTRIES)
    used: set[str] = set()
    accounts = []
    for i in range(1, n + 1):
        seg = int(rng.choice(3, p=_SEG_P))
        industry = industries[int(rng.choice(len(industries), p=_INDUSTRY_P))]
        region_i = int(rng.choice(4, p=_REGION_P))
        words = INDUSTRIES[industry].split()
        base = f"{rnd.choice(PREFIXES)} {rnd.choice(words)}"
        for _ in range(200):
            if base not in used:
                break
            base = f"{rnd.choice(PREFIXES)} {rnd.choice(words)}"
        else:
            base = f"{rnd.choice(PREFIXES)} {rnd.choice(PREFIXES)} {rnd.choice(words)}"
            while base in used:
                base = f"{base} {i}"
        used.add(base)
        median, sigma, low, high = _SEG_ARR[seg]
        arr = float(np.clip(median * math.exp(sigma * rng.normal()), low, high))
        arr_i = _round_to(arr, 100 if seg == 0 else 1000)
        seats = max(3, round(arr_i / rng.uniform(*_SEG_PRICE[seg])))
        tenure = int(rng.choice(7, p=(0.25, 0.25, 0.17, 0.12, 0.09, 0.07, 0.05))) + 1
        renewal = as_of + timedelta(days=int(rng.integers(1, 366)))
        base_risk = rng.normal()
        risks = [_SEG_SHIFT[seg] + 0.75 * base_risk + 0.66 * rng.normal() for _ in range(2)]
        prev_end = _years_before(renewal, 1).toordinal()
        prev = _period(rng, prev_end, risks[0]) if tenure > 1 else None
        nxt = _period(rng, renewal.toordinal(), risks[1] + (0.2 if tenure == 1 else 0.0))
        names: list[tuple[str, str, str]] = []
        while len(names) < _SEG_CONTACTS[seg]:
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            if all(first != f or last != la for f, la, _ in names):
                names.append((first, last, ROLES[len(names) % len(ROLES)]))
        accounts.append(
            Account(
                id=f"ACC-{i:05d}",
                name=base + rnd.choice(LEGAL[region_i]),
                slug=re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-"),
                segment=seg,
                industry=industry,
                region=REGIONS[region_i],
                csm=rnd.choice(CSMS[seg]),
                plan=rnd.choice(_SEG_PLANS[seg]),
                start=_years_before(renewal, tenure).toordinal(),
                renewal_next=renewal.toordinal(),
                renewal_prev=prev_end if tenure > 1 else None,
                arr=arr_i,
                seats=seats,
                adoption=float(np.clip(0.72 - 0.08 * base_risk + rng.normal(0, 0.1), 0.2, 0.97)),
                prev=prev,
                next=nxt,
                contacts=names,
                usage_params=(
                    float(rng.uniform(2.5, 6.0)),  # logins per active user per week
                    float(rng.uniform(4.0, 15.0)),  # feature events per login
                    float(rng.uniform(0.2, 1.5)),  # storage GB per seat
                    float(rng.normal(0.05, 0.08)),  # yearly usage trend
                ),
            )
        )
    return accounts


def decide_outcomes(rng: np.random.Generator, rnd: random.Random, accounts: list[Account]) -> None:
    for a in accounts:
        a.arr_after, a.seats_after = a.arr, a.seats
        if a.prev is None:
            continue
        z = a.prev.risk
        if rng.random() < sigmoid(-2.85 + 1.5 * z):
            a.outcome, a.arr_after, a.seats_after = "Churned", 0, 0
            weights = [
                1 + 4 * (a.prev.decline_onset is not None),
                0.5 + 3 * (a.prev.neglect_from is not None),
                0.5 + max(z, 0),
                1 + max(z, 0),
                1.0,
                1.0,
                0.4,
            ]
            a.reason = rnd.choices(CHURN_REASONS, weights)[0]
        elif rng.random() < sigmoid(-2.6 + 0.7 * z):
            ratio = float(rng.uniform(0.5, 0.85))
            a.outcome = "Downgraded"
            a.arr_after = _round_to(a.arr * ratio, 10)
            a.seats_after = max(1, round(a.seats * ratio))
            a.reason = rnd.choice(DOWNGRADE_REASONS)
        else:
            a.outcome = "Renewed"
            if rng.random() < sigmoid(-1.0 - 0.8 * z):
                growth = float(rng.uniform(0.08, 0.6))
                a.seats_after = round(a.seats * (1 + growth))
            else:
                growth = float(rng.choice([0.0, rng.uniform(0.03, 0.07)]))
            growth = min(growth, max(0.0, _SEG_ARR[a.segment][3] / a.arr - 1))  # stay in segment
            a.arr_after = _round_to(a.arr * (1 + growth), 10)


def _decline(p: Period | None, t: np.ndarray) -> np.ndarray:
    if p is None or p.decline_onset is None:
        return np.ones_like(t, dtype=float)
    weeks = np.maximum(t - p.decline_onset, 0) / 7.0
    return np.maximum(np.exp(-p.decline_rate * weeks), 0.05)


def state(a: Account, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usage multiplier, seats, risk and whether the CSM is absent, at days ``t``."""
    nxt = _decline(a.next, t)
    seats = np.full(t.shape, float(a.seats_after))
    risk = np.full(t.shape, a.next.risk)
    nf = a.next.neglect_from
    neglect = (t >= nf) if nf is not None else np.zeros(t.shape, dtype=bool)
    if a.prev is not None and a.renewal_prev is not None:
        in_prev = t <= a.renewal_prev
        m_end = float(_decline(a.prev, np.array([a.renewal_prev]))[0])
        recovery = np.minimum(1.0, m_end + (1 - m_end) * (t - a.renewal_prev) / 42.0)
        mult = np.where(in_prev, _decline(a.prev, t), recovery * nxt)
        seats = np.where(in_prev, float(a.seats), seats)
        risk = np.where(in_prev, a.prev.risk, risk)
        if a.prev.neglect_from is not None:  # the next period's neglect starts after r_prev
            neglect = neglect | (in_prev & (t >= a.prev.neglect_from))
    else:
        mult = nxt
    ramp = np.clip(0.25 + 0.75 * (t - a.start) / 56.0, 0.25, 1.0)
    return mult * ramp, seats, risk, neglect


def neglected(a: Account, day: int) -> bool:
    """Whether the CSM had stopped touching the account by ``day`` (scalar ``state``)."""
    p = a.prev if a.prev is not None and a.renewal_prev and day <= a.renewal_prev else a.next
    return p.neglect_from is not None and day >= p.neglect_from
