"""Seeded generator of the sample book of business: one data frame per dataset kind.

Only ``random.Random(seed)`` and ``numpy.random.default_rng(seed)`` are used,
so the same seed gives the same bytes.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pandas as pd

from workbench.samplebook.accounts import decide_outcomes, make_accounts
from workbench.samplebook.schema import AS_OF, HEADERS, SEED, TIMESTAMP_HEADERS, USAGE_WEEKS
from workbench.samplebook.signals import (
    activity_rows,
    b62,
    health_score,
    survey_rows,
    ticket_rows,
    usage_columns,
)
from workbench.samplebook.words import SEGMENTS


def _dates(days: list[int] | np.ndarray) -> pd.Series:
    arr = np.asarray(days, dtype=np.int64) - date(1970, 1, 1).toordinal()
    return pd.Series(arr.astype("datetime64[D]").astype("datetime64[s]"))


def generate_book(
    seed: int = SEED, n_accounts: int = 2000, as_of: date = AS_OF
) -> dict[str, pd.DataFrame]:
    """Generate the sample book of business.

    Args:
        seed: Seed for all random draws; the same seed gives identical frames.
        n_accounts: Number of accounts in the book.
        as_of: The export date ("today" of the sample); data ends the day before.

    Returns:
        One frame per dataset kind (accounts, usage, tickets, surveys, outcomes,
        activity) whose columns are the export-style headers in ``HEADERS``.
        Accounts that churned at their last renewal stay in ``accounts`` with
        status "Churned", ARR and seats 0 and the churn date as renewal date;
        their usage, tickets, surveys and activity stop at the churn date.
    """
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    accounts = make_accounts(rng, rnd, n_accounts, as_of)
    decide_outcomes(rng, rnd, accounts)
    day_before = as_of - timedelta(days=7)
    last_week = (day_before - timedelta(days=day_before.weekday())).toordinal()
    weeks = np.arange(last_week - 7 * (USAGE_WEEKS - 1), last_week + 1, 7)
    h0, today = int(weeks[0]), as_of.toordinal()

    acc = pd.DataFrame(
        {
            "Account ID": [a.id for a in accounts],
            "Account Name": [a.name for a in accounts],
            "Segment": [SEGMENTS[a.segment] for a in accounts],
            "ARR (USD)": [a.arr_after for a in accounts],
            "CSM Owner": [a.csm for a in accounts],
            "Renewal Date": _dates(
                [
                    a.renewal_prev if a.outcome == "Churned" and a.renewal_prev else a.renewal_next
                    for a in accounts
                ]
            ),
            "Industry": [a.industry for a in accounts],
            "Region": [a.region for a in accounts],
            "Customer Since": _dates([a.start for a in accounts]),
            "Seats": [a.seats_after for a in accounts],
            "Plan": [a.plan for a in accounts],
            "Health Score (Gainsight)": pd.array(
                [health_score(rng, a, today) for a in accounts], "Int64"
            ),
            "Account Status": ["Churned" if a.outcome == "Churned" else "Active" for a in accounts],
        }
    )
    usage = pd.DataFrame(usage_columns(rng, accounts, weeks, today))
    usage["Week Start"] = _dates(usage["Week Start"].to_numpy(dtype=np.int64))

    tickets = pd.DataFrame(
        ticket_rows(rng, rnd, accounts, h0, today), columns=list(HEADERS["tickets"])
    )
    for col in TIMESTAMP_HEADERS:
        tickets[col] = pd.to_datetime(tickets[col]).astype("datetime64[s]")
    tickets["CSAT"] = tickets["CSAT"].astype("Int64")

    surveys = pd.DataFrame(
        survey_rows(rng, rnd, accounts, h0, today), columns=list(HEADERS["surveys"])
    )
    surveys["Response Date"] = _dates(surveys["Response Date"].to_numpy(dtype=np.int64))

    act = pd.DataFrame(
        activity_rows(rng, rnd, accounts, h0, today), columns=list(HEADERS["activity"])
    )
    act["Activity Date"] = _dates(act["Activity Date"].to_numpy(dtype=np.int64))
    act["Duration (min)"] = act["Duration (min)"].astype("Int64")

    hist = sorted(
        (a for a in accounts if a.outcome is not None and a.renewal_prev is not None),
        key=lambda a: (a.renewal_prev, a.id),
    )
    out = pd.DataFrame(
        {
            "Account ID": [a.id for a in hist],
            "Renewal Date": [a.renewal_prev for a in hist],
            "Outcome": [a.outcome for a in hist],
            "ARR Before": [a.arr for a in hist],
            "ARR After": [a.arr_after for a in hist],
            "Expansion ARR": [max(0, a.arr_after - a.arr) for a in hist],
            "Churn Reason": [a.reason or None for a in hist],
            "Opportunity ID": [f"0065g{b62(2_000_000 + i, 10)}" for i in range(len(hist))],
        }
    )
    out["Renewal Date"] = _dates(out["Renewal Date"].to_numpy(dtype=np.int64))
    return {
        "accounts": acc,
        "usage": usage,
        "tickets": tickets,
        "surveys": surveys,
        "outcomes": out,
        "activity": act,
    }
