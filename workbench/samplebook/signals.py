"""What the latent state of each account shows in the exports: usage, tickets, NPS, activity."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from workbench.samplebook.accounts import Account, neglected, sigmoid, state
from workbench.samplebook.schema import HEADERS
from workbench.samplebook.words import (
    BROWSERS,
    DEPTS,
    FEATURES,
    IDPS,
    INTEGRATIONS,
    NOTES,
    NPS_DETRACTOR,
    NPS_PASSIVE,
    NPS_PROMOTER,
    RISK_NOTES,
    TICKET_TOPICS,
    WEEKDAYS,
)

_SEG_TICKETS = (0.032, 0.072, 0.16)  # tickets per week at neutral risk
_SEG_TOUCHES = (0.07, 0.18, 0.38)  # unscheduled CSM touches per week
_SEG_NPS = (0.28, 0.35, 0.5)  # chance an account answers a wave


def b62(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        out = digits[r] + out
    return out


def _season(days: np.ndarray, industry: str) -> np.ndarray:
    idx = pd.DatetimeIndex(pd.to_datetime(days - date(1970, 1, 1).toordinal(), unit="D"))
    month, day = np.asarray(idx.month), np.asarray(idx.day)
    s = np.where(((month == 12) & (day >= 22)) | ((month == 1) & (day <= 2)), 0.55, 1.0)
    if industry == "Education":
        s = s * np.where((month == 7) | ((month == 8) & (day <= 20)), 0.6, 1.0)
    return s


def usage_columns(
    rng: np.random.Generator, accounts: list[Account], weeks: np.ndarray, as_of: int
) -> dict:
    cols: dict[str, list] = {h: [] for h in HEADERS["usage"]}
    for a in accounts:
        w = weeks[(weeks >= a.start - 6) & (weeks < a.end(as_of))]
        if len(w) == 0:
            continue
        mid = w + 3
        mult, seats, _, _ = state(a, mid)
        lpu, epl, gb_per_seat, trend = a.usage_params
        level = seats * a.adoption * mult * _season(mid, a.industry)
        level *= np.exp(trend * (mid - weeks[0]) / 365.0 + rng.normal(0, 0.08, len(w)))
        users = np.rint(level).astype(np.int64)
        logins = rng.poisson(users * lpu)
        events = rng.poisson(logins * epl)
        age = np.clip((mid - a.start) / 365.0, 0, None)
        storage = np.round(seats * gb_per_seat * (0.3 + 0.7 * np.minimum(age, 1) + 0.1 * age), 1)
        cols["Account ID"] += [a.id] * len(w)
        cols["Week Start"] += list(w)
        cols["Active Users"] += list(users)
        cols["Logins"] += list(logins)
        cols["Feature Events"] += list(events)
        cols["Storage GB"] += list(storage)
    return cols


def _context(rnd: random.Random, a: Account) -> dict[str, object]:
    """Values for the placeholders of one ticket or note, so subject and text agree."""
    n = rnd.randint(3, 40)
    return {
        "idp": rnd.choice(IDPS),
        "integration": rnd.choice(INTEGRATIONS),
        "browser": rnd.choice(BROWSERS),
        "weekday": rnd.choice(WEEKDAYS),
        "n": n,
        "m": n + rnd.randint(5, 400),
        "dept": rnd.choice(DEPTS),
        "first": rnd.choice(a.contacts)[0],
        "contact": rnd.choice(a.contacts)[0],
        "feature": rnd.choice(FEATURES),
    }


def ticket_rows(
    rng: np.random.Generator, rnd: random.Random, accounts: list[Account], h0: int, as_of: int
) -> list[tuple]:
    rows: list[tuple] = []
    p1_topics = [t for t in TICKET_TOPICS if t[1]]
    export = datetime.fromordinal(as_of)
    weeks = np.arange(h0, as_of, 7)
    for a in accounts:
        mult, _, risk, _ = state(a, weeks + 3)
        dec = mult < 0.85  # a usage decline (or onboarding) brings tickets
        lam = _SEG_TICKETS[a.segment] * np.exp(0.5 * risk) * (1 + 1.5 * dec)
        for wk, count, z, d in zip(weeks, rng.poisson(lam), risk, dec, strict=True):
            for _ in range(int(count)):
                day = int(wk) + rnd.choices(range(7), (1, 1, 1, 1, 1, 0.3, 0.3))[0]
                if day < a.start or day >= a.end(as_of):
                    continue
                created = datetime.fromordinal(day) + timedelta(
                    hours=rnd.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17, 19)),
                    minutes=rnd.randrange(60),
                    seconds=rnd.randrange(60),
                )
                p1 = sigmoid(-3.9 + 0.8 * z + 1.0 * d)
                prio = int(rng.choice(4, p=(p1, *((1 - p1) * np.array((0.2, 0.45, 0.35))))))
                topic = rnd.choice(p1_topics if prio == 0 else TICKET_TOPICS)
                hours = float(np.exp(rng.normal(math.log((6, 24, 60, 120)[prio]), 1.0)))
                if prio == 0 and rng.random() < 0.15:  # stuck escalations
                    hours = float(rng.uniform(240, 960))
                solved: datetime | None = created + timedelta(hours=hours)
                if solved is None or solved >= export:
                    solved, status = None, rnd.choices(("open", "pending"), (0.65, 0.35))[0]
                else:  # Zendesk closes solved tickets after four days
                    status = "closed" if solved + timedelta(days=4) < export else "solved"
                csat = None
                if solved is not None and rng.random() < 0.4:
                    mu = 4.4 - 0.5 * z - 0.5 * (prio == 0) - 0.3 * (hours > 168)
                    csat = int(np.clip(round(rng.normal(mu, 0.8)), 1, 5))
                channel = rnd.choices(
                    ("Email", "Web", "Chat", "Phone"), (45, 30, 15, 10 + 30 * (prio == 0))
                )[0]
                ctx = _context(rnd, a)
                subject = rnd.choice(topic[2]).format_map(ctx)
                text = rnd.choice(topic[3]).format_map(ctx)
                rows.append(
                    (
                        created,
                        a.id,
                        created,
                        solved,
                        f"P{prio + 1}",
                        status,
                        csat,
                        subject,
                        text,
                        channel,
                        topic[0],
                    )
                )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(str(48213 + i), *r[1:]) for i, r in enumerate(rows)]


def survey_rows(
    rng: np.random.Generator, rnd: random.Random, accounts: list[Account], h0: int, as_of: int
) -> list[tuple]:
    waves = [
        date(y, m, 10).toordinal()
        for y in range(date.fromordinal(h0).year, date.fromordinal(as_of).year + 1)
        for m in (1, 4, 7, 10)
    ]
    waves = [w for w in waves if h0 <= w < as_of]
    rows: list[tuple] = []
    used: set[str] = set()
    for a in accounts:
        for wave in waves:
            if not (a.start <= wave < a.end(as_of)) or rng.random() >= _SEG_NPS[a.segment]:
                continue
            k = 1 + int(rng.integers(0, (1, 2, 3)[a.segment]))
            for first, last, role in rnd.sample(a.contacts, min(k, len(a.contacts))):
                day = wave + min(20, int(rng.exponential(4)))
                if day >= a.end(as_of):
                    continue
                mult, _, risk, neglect = (float(x[0]) for x in state(a, np.array([day])))
                mu = 8.5 - 1.3 * risk - 3.5 * (1 - min(mult, 1.0)) - 0.5 * neglect
                score = int(np.clip(round(rng.normal(mu, 1.5)), 0, 10))
                pool, p_comment = (
                    (NPS_DETRACTOR, 0.8)
                    if score <= 6
                    else (NPS_PASSIVE, 0.5)
                    if score <= 8
                    else (NPS_PROMOTER, 0.45)
                )
                comment = rnd.choice(pool) if rnd.random() < p_comment else None
                rid = "R_" + "".join(
                    rnd.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=15)
                )
                while rid in used:
                    rid += rnd.choice("0123456789")
                used.add(rid)
                email = f"{first}.{last}@{a.slug}.example".lower()
                rows.append((rid, a.id, day, "NPS", score, comment, email, role))
    rows.sort(key=lambda r: (r[2], r[1], r[6]))
    return rows


def activity_rows(
    rng: np.random.Generator, rnd: random.Random, accounts: list[Account], h0: int, as_of: int
) -> list[tuple]:
    rows: list[tuple] = []
    weeks = np.arange(h0, as_of, 7)
    durations = {
        "Email": None,
        "Call": (15, 45),
        "Meeting": (30, 60),
        "QBR": (60, 60),
        "EBR": (60, 90),
    }
    for a in accounts:
        end = a.end(as_of)
        events: list[tuple[int, str, str | None]] = []  # (day, type, fixed note)
        mult, _, risk, neglect = state(a, weeks + 3)
        lam = _SEG_TOUCHES[a.segment] * np.where(neglect, 0.0, np.where(mult < 0.85, 1.3, 1.0))
        for wk, count, m, z in zip(weeks, rng.poisson(lam), mult, risk, strict=True):
            for _ in range(int(count)):
                kind = rnd.choices(("Email", "Call", "Meeting"), (50, 30, 20))[0]
                risky = (m < 0.85 or z > 1.2) and rnd.random() < 0.5
                note = rnd.choice(RISK_NOTES if risky else NOTES[kind]).format_map(_context(rnd, a))
                events.append((int(wk) + rnd.randrange(5), kind, note))
        every = (0, 182, 91)[a.segment]
        if every:
            day = a.start + int(rng.integers(20, every))
            while day < end:
                events.append((day, "QBR", None))
                day += every + int(rng.integers(-10, 11))
        for r in (a.renewal_prev, a.renewal_next):
            if r is None:
                continue
            if a.segment == 2:
                events.append((r - int(rng.integers(90, 121)), "EBR", None))
            kickoff = "Renewal kickoff: confirmed stakeholders and timeline."
            events.append(
                (r - int(rng.integers(45, 76)), "Call" if a.segment else "Email", kickoff)
            )
        for day, kind, fixed in events:
            if max(a.start, h0) <= day < end and not neglected(a, day):
                note = fixed or rnd.choice(NOTES[kind]).format_map(_context(rnd, a))
                span = durations[kind]
                minutes = (
                    None if span is None else 5 * (int(rng.integers(span[0], span[1] + 1)) // 5)
                )
                rows.append((day, a.id, kind, a.csm, note, minutes))
        if a.outcome == "Churned" and a.renewal_prev is not None and rng.random() < 0.6:
            note = "Customer confirmed they will not renew; agreed offboarding and data export."
            rows.append((a.renewal_prev - int(rng.integers(5, 25)), a.id, "Call", a.csm, note, 30))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[4]))
    return [(f"00T5g{b62(1_000_000 + i, 10)}", r[1], r[0], *r[2:]) for i, r in enumerate(rows)]


def health_score(rng: np.random.Generator, a: Account, as_of: int) -> int | None:
    if a.outcome == "Churned":
        return None
    mult, _, risk, neglect = (float(x[0]) for x in state(a, np.array([as_of])))
    x = 1.3 - 1.0 * risk - 3.0 * (1 - min(mult, 1.0)) - 0.6 * neglect + rng.normal(0, 0.3)
    return int(np.clip(round(100 * sigmoid(x)), 1, 100))
