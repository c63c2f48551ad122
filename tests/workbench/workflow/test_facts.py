"""Account facts as of a date, on a small hand-made book whose every number is known."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from workbench.storage.migrate import migrate
from workbench.storage.sql import Params
from workbench.workflow.facts import build_facts, dates_sql, default_as_of, facts_frame

D = dt.date(2026, 3, 1)
TS = pd.Timestamp

SCHEMA = {
    "accounts": "account_id VARCHAR, account_name VARCHAR, segment VARCHAR, arr DOUBLE, "
    "renewal_date DATE, start_date DATE, seats BIGINT, csm_owner VARCHAR",
    "outcomes": "account_id VARCHAR, renewal_date DATE, outcome VARCHAR, arr_before DOUBLE, "
    "arr_after DOUBLE",
    "usage": "account_id VARCHAR, date DATE, active_users BIGINT, logins BIGINT",
    "tickets": "ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, closed_at TIMESTAMP, "
    "priority VARCHAR, status VARCHAR, csat DOUBLE",
    "surveys": "response_id VARCHAR, account_id VARCHAR, responded_at DATE, survey_type VARCHAR, "
    "score DOUBLE, comment VARCHAR",
    "activity": "activity_id VARCHAR, account_id VARCHAR, date DATE, activity_type VARCHAR",
}

# Everything dated before D (2026-03-01), except where a comment says otherwise.
BOOK = {
    "accounts": [
        ("A1", "Acme", "SMB", 1000, "2026-12-31", "2024-01-01", 10, "Jo"),
        ("A2", "Beta", "Enterprise", 5000, "2026-04-15", "2023-05-01", 100, "Al"),
        ("A3", "Gone", "SMB", 700, "2026-02-01", "2022-01-01", 5, "Jo"),  # churned 2026-02-01
        ("A4", "New", "Mid-Market", 900, "2027-03-01", "2026-03-01", 20, "Al"),  # starts on D
        ("A5", "Quiet", "SMB", None, None, None, None, None),  # no other rows at all
        ("A6", "Today", "SMB", 2500, "2026-09-01", "2025-03-01", 50, "Jo"),  # renews on D
    ],
    "outcomes": [
        ("A1", "2025-06-01", "renewed", 800, 1000),
        ("A1", "2026-06-01", "renewed", 1200, 1500),  # the next renewal of A1 as of D
        ("A1", "2027-06-01", "renewed", 1500, 1600),
        ("A2", "2025-04-15", "renewed", 4000, 5000),
        ("A3", "2026-02-01", "Churned", 700, 0),
        ("A6", "2026-03-01", "renewed", 3000, 3300),  # on D: counts as the next renewal
    ],
    "usage": [
        # A1, default 30-day window: recent [01-30, 03-01), prior [12-31, 01-30)
        ("A1", "2025-12-30", 1000, 0),  # before the prior window
        ("A1", "2025-12-31", 15, 100),
        ("A1", "2026-01-01", 10, 100),
        ("A1", "2026-01-29", 20, 100),  # prior avg: active 15, logins 100
        ("A1", "2026-01-30", 6, 150),
        ("A1", "2026-02-15", 12, 150),
        ("A1", "2026-02-28", 9, 150),  # recent avg: active 9, logins 150
        ("A2", "2026-01-15", 0, 0),  # prior 0: no change percent
        ("A2", "2026-02-15", 5, 7),
        ("A6", "2026-02-20", 3, 3),  # no prior rows
    ],
    "tickets": [
        ("T1", "A1", "2026-02-10 09:00", None, "P1", "open", None),
        ("T2", "A1", "2026-02-01 09:00", "2026-03-01 08:00", "P2", "solved", 5),  # closed on D
        ("T3", "A1", "2026-01-01 09:00", "2026-02-28 17:00", "P2", "solved", 4),
        ("T4", "A1", "2025-10-01 09:00", "2025-11-15 09:00", "P3", "solved", 1),  # csat too old
        ("T5", "A1", "2025-12-05 09:00", "2025-12-10 09:00", "p1", "solved", 2),
        ("T6", "A2", "2026-02-27 23:59:59", None, "P1", "open", None),
    ],
    "surveys": [
        ("S1", "A1", "2026-01-10", "NPS", 10, "love it"),
        ("S2", "A1", "2026-02-20", "NPS", 6, "slow"),
        ("S3", "A1", "2026-02-20", "nps", 8, "ok"),  # same day as S2: averaged
        ("S4", "A1", "2026-02-25", "CSAT", 2, "bad"),  # not NPS
        ("S5", "A2", "2026-02-01", None, 9, None),
    ],
    "activity": [
        ("X1", "A1", "2026-02-19", "call"),
        ("X2", "A1", "2025-11-01", "meeting"),
        ("X3", "A6", "2025-12-01", "email"),  # exactly 90 days before D
    ],
}

# Rows dated on or after D in every dated table. Outcomes on or after D do count (they
# carry the next renewal), so the planted outcomes come after each account's next one.
FUTURE = {
    "usage": [
        ("A1", "2026-03-01", 999, 999),
        ("A1", "2026-03-10", 999, 999),
        ("A2", "2026-03-01", 500, 500),
        ("A5", "2026-03-02", 1, 1),
    ],
    "tickets": [
        ("F1", "A1", "2026-03-01 00:00", None, "P1", "open", None),
        ("F2", "A2", "2026-03-05 09:00", "2026-03-06 09:00", "P3", "solved", 1),
        ("F3", "A5", "2026-03-01 12:00", "2026-03-01 13:00", "P1", "solved", 5),
        ("F4", "A6", "2026-03-02 12:00", None, "P2", "open", None),
    ],
    "surveys": [
        ("F5", "A1", "2026-03-01", "NPS", 0, "future"),
        ("F6", "A2", "2026-03-05", "NPS", 0, "future"),
        ("F7", "A5", "2026-03-01", "NPS", 10, None),
    ],
    "activity": [
        ("F8", "A2", "2026-03-01", "call"),
        ("F9", "A5", "2026-04-01", "call"),
    ],
    "outcomes": [
        ("A1", "2027-09-01", "churned", 99, 0),
        ("A3", "2026-06-01", "renewed", 1, 1),
        ("A6", "2026-05-01", "churned", 98, 0),
    ],
}


def create(con, tables=tuple(SCHEMA)) -> None:
    for name in tables:
        con.execute(f"CREATE TABLE {name} ({SCHEMA[name]})")


def insert(con, rows: dict[str, list]) -> None:
    for name, values in rows.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            con.executemany(f"INSERT INTO {name} VALUES ({marks})", [list(v) for v in values])


@pytest.fixture
def con():
    """An in-memory workspace database (the workspace migrations, no file)."""
    c = duckdb.connect()
    migrate(c)
    yield c
    c.close()


@pytest.fixture
def book(con):
    create(con)
    insert(con, BOOK)
    return con


def by_account(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("account_id")


def test_future_rows_change_nothing(book):
    dates = [D, dt.date(2026, 2, 1)]
    later = dt.date(2026, 4, 2)
    q1, before = facts_frame(book, dates)
    _, later_before = facts_frame(book, later)
    insert(book, FUTURE)
    q2, after = facts_frame(book, dates)
    assert q1.facts == q2.facts
    assert len(before) == 9  # A1 A2 A3 A5 A6 as of 02-01 (A3 churns that day), A3 gone by D
    pd.testing.assert_frame_equal(before, after)
    # The planted rows are not inert: as of a later date they change facts of every source.
    _, later_after = facts_frame(book, later)
    changed = {c for c in later_after.columns if not later_before[c].equals(later_after[c])}
    for fact in (
        "active_users_recent",
        "open_tickets",
        "csat_recent",
        "nps_score",
        "days_since_touch",
        "arr",
    ):
        assert fact in changed


def test_accounts_in_the_frame(book):
    _, df = facts_frame(book, [dt.date(2026, 1, 15), D, dt.date(2026, 3, 2)])
    got = df.groupby("as_of")["account_id"].apply(list).to_dict()
    assert got == {
        TS("2026-01-15"): ["A1", "A2", "A3", "A5", "A6"],  # A3 churns 02-01, A4 not started
        TS("2026-03-01"): ["A1", "A2", "A5", "A6"],  # A3 churned before D, A4 starts on D
        TS("2026-03-02"): ["A1", "A2", "A4", "A5", "A6"],
    }


def test_arr_and_renewal_from_the_next_outcome(book):
    _, df = facts_frame(book, D)
    f = by_account(df)
    assert f.loc["A1", ["arr", "renewal_date", "days_to_renewal"]].tolist() == [
        1200.0,
        TS("2026-06-01"),
        92,
    ]
    # No outcome on or after D: the accounts table's values.
    assert f.loc["A2", ["arr", "renewal_date", "days_to_renewal"]].tolist() == [
        5000.0,
        TS("2026-04-15"),
        45,
    ]
    # A renewal on D is the next renewal.
    assert f.loc["A6", ["arr", "renewal_date", "days_to_renewal"]].tolist() == [
        3000.0,
        TS("2026-03-01"),
        0,
    ]
    assert f.loc["A5", ["arr", "renewal_date"]].isna().all()
    # Before its churn, A3 is there with the churned renewal as its next one.
    _, early = facts_frame(book, dt.date(2026, 1, 15))
    assert by_account(early).loc["A3", ["arr", "renewal_date"]].tolist() == [
        700.0,
        TS("2026-02-01"),
    ]


def test_account_columns(book):
    _, df = facts_frame(book, D)
    a1 = by_account(df).loc["A1"]
    assert a1["tenure_days"] == (D - dt.date(2024, 1, 1)).days == 790
    assert (a1["account_name"], a1["segment"], a1["seats"], a1["csm_owner"]) == (
        "Acme",
        "SMB",
        10,
        "Jo",
    )
    assert a1["start_date"] == TS("2024-01-01")


def test_usage_windows(book):
    _, df = facts_frame(book, D)
    f = by_account(df)
    cols = [
        "active_users_recent",
        "active_users_prior",
        "active_users_change_pct",
        "logins_recent",
        "logins_prior",
        "logins_change_pct",
        "seat_utilisation_pct",
    ]
    assert f.loc["A1", cols].tolist() == [9.0, 15.0, -40.0, 150.0, 100.0, 50.0, 90.0]
    a2 = f.loc["A2", cols]
    assert a2[["active_users_recent", "active_users_prior"]].tolist() == [5.0, 0.0]
    assert a2[["logins_recent", "logins_prior"]].tolist() == [7.0, 0.0]
    assert pd.isna(a2["active_users_change_pct"]) and pd.isna(a2["logins_change_pct"])
    assert a2["seat_utilisation_pct"] == 5.0
    a6 = f.loc["A6", cols]
    assert a6["active_users_recent"] == 3.0 and a6["seat_utilisation_pct"] == 6.0
    assert pd.isna(a6["active_users_prior"]) and pd.isna(a6["active_users_change_pct"])
    assert f.loc["A5", cols].isna().all()


def test_usage_window_setting_and_extra_windows(book):
    _, df = facts_frame(book, D, usage_days=14)
    a1 = by_account(df).loc["A1"]
    # last 14 days: 02-15 and 02-28; the 14 before (02-01 .. 02-14): no rows
    assert a1["active_users_recent"] == 10.5
    assert pd.isna(a1["active_users_prior"])
    params = Params()
    dates = dates_sql(params, D)
    q = build_facts(book, params, extra_usage_windows=(60,))
    assert q.fact("active_users_change_pct_60d") is not None
    assert q.fact("active_users_change_pct") is not None
    assert q.fact("active_users_recent_60d") is None
    extra = book.execute(q.with_dates(dates), params.values).df().set_index("account_id")
    # last 60 days: 12-31 .. 02-28 (6 rows, avg 12); the 60 before: 12-30 (1000)
    assert extra.loc["A1", "active_users_change_pct_60d"] == pytest.approx(-98.8)


def test_tickets(book):
    _, df = facts_frame(book, D)
    f = by_account(df)
    cols = [
        "open_tickets",
        "open_tickets_p1",
        "open_tickets_p2",
        "open_tickets_p3",
        "oldest_open_ticket_days",
        "tickets_90d",
        "csat_recent",
    ]
    # T1 open, T2 closed on D (so open that morning); csat of T3 and T5, not T4 (too old)
    assert f.loc["A1", cols].tolist() == [2, 1, 1, 0, 28, 4, 3.0]
    a2 = f.loc["A2", cols].tolist()
    assert a2[:6] == [1, 1, 0, 0, 2, 1] and pd.isna(a2[6])
    a5 = f.loc["A5", cols].tolist()
    assert a5[:4] == [0, 0, 0, 0] and a5[5] == 0
    assert pd.isna(a5[4]) and pd.isna(a5[6])


def test_open_as_of_a_later_date(book):
    _, df = facts_frame(book, dt.date(2026, 3, 2))
    # T2 closed on 03-01: no longer open
    assert by_account(df).loc["A1", ["open_tickets", "open_tickets_p2"]].tolist() == [1, 0]


def test_csat_window(book):
    _, df = facts_frame(book, D, csat_days=30)
    assert by_account(df).loc["A1", "csat_recent"] == 4.0
    _, df = facts_frame(book, D, csat_days=120)
    assert by_account(df).loc["A1", "csat_recent"] == pytest.approx((4 + 2 + 1) / 3)


def test_latest_nps(book):
    _, df = facts_frame(book, D)
    f = by_account(df)
    cols = ["nps_score", "nps_category", "nps_date", "nps_comment"]
    assert f.loc["A1", cols].tolist() == [7.0, "passive", TS("2026-02-20"), "slow"]
    a2 = f.loc["A2", cols].tolist()
    assert a2[:3] == [9.0, "promoter", TS("2026-02-01")] and pd.isna(a2[3])
    assert f.loc["A5", cols].isna().all()


@pytest.mark.parametrize(
    "scores,category",
    [
        ([0], "detractor"),
        ([6], "detractor"),
        ([6, 7], "detractor"),  # averages 6.5
        ([7], "passive"),
        ([8], "passive"),
        ([8, 9], "passive"),  # 8.5
        ([9], "promoter"),
        ([8, 10], "promoter"),  # 9
        ([10], "promoter"),
    ],
)
def test_nps_category_boundaries(con, scores, category):
    create(con, ("accounts", "outcomes", "surveys"))
    insert(con, {"accounts": [("B", "B", "SMB", 1, None, None, None, None)]})
    rows = [("old", "B", "2026-01-01", "NPS", 0, None)]
    rows += [(f"r{i}", "B", "2026-02-01", "NPS", s, None) for i, s in enumerate(scores)]
    insert(con, {"surveys": rows})
    _, df = facts_frame(con, D)
    assert df.loc[0, "nps_score"] == sum(scores) / len(scores)
    assert df.loc[0, "nps_category"] == category


def test_activity(book):
    _, df = facts_frame(book, D)
    f = by_account(df)
    cols = ["last_touch_date", "days_since_touch", "touches_90d"]
    assert f.loc["A1", cols].tolist() == [TS("2026-02-19"), 10, 1]
    assert f.loc["A6", cols].tolist() == [TS("2025-12-01"), 90, 1]
    a2 = f.loc["A2", cols].tolist()
    assert pd.isna(a2[0]) and pd.isna(a2[1]) and a2[2] == 0


def test_fact_catalogue(book):
    q, df = facts_frame(book, D)
    assert [f.name for f in q.facts] == list(df.columns)
    types = {f.name: (f.type, f.source) for f in q.facts}
    assert types["account_id"] == ("text", "accounts")
    assert types["as_of"] == ("date", "facts")
    assert types["arr"] == ("number", "accounts")
    assert types["renewal_date"] == ("date", "accounts")
    assert types["segment"] == ("text", "accounts")
    assert types["seats"] == ("number", "accounts")
    assert types["active_users_change_pct"] == ("number", "usage")
    assert types["open_tickets_p1"] == ("number", "tickets")
    assert types["nps_category"] == ("text", "surveys")
    assert types["nps_date"] == ("date", "surveys")
    assert types["days_since_touch"] == ("number", "activity")
    assert q.fact("nope") is None
    assert q.fact("arr").description


def test_several_dates_in_one_call(book):
    dates = [dt.date(2026, 1, 15), D, dt.date(2026, 3, 2)]
    _, both = facts_frame(book, dates)
    assert not both.duplicated(["account_id", "as_of"]).any()
    assert both["as_of"].drop_duplicates().tolist() == [TS(d) for d in dates]
    for d in dates:
        _, one = facts_frame(book, d)
        part = both[both["as_of"] == TS(d)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, one, check_dtype=False)


def test_default_as_of(book):
    # latest dated row: usage 2026-02-28 (tickets 02-27, surveys 02-25, activity 02-19)
    assert default_as_of(book) == D
    insert(book, {"activity": [("F9", "A5", "2026-04-01", "call")]})
    assert default_as_of(book) == dt.date(2026, 4, 2)
    # Outcomes are not activity: a far renewal does not move the date.
    insert(book, {"outcomes": [("A5", "2030-01-01", "renewed", 1, 1)]})
    assert default_as_of(book) == dt.date(2026, 4, 2)


def test_default_as_of_without_dated_tables(con):
    assert default_as_of(con) == dt.date.today()
    create(con, ("accounts", "usage"))
    assert default_as_of(con) == dt.date.today()  # usage empty
    insert(con, {"usage": [("A1", "2026-01-05", 1, 1)]})
    assert default_as_of(con) == dt.date(2026, 1, 6)


def test_no_accounts_table(con):
    create(con, ("usage",))
    q, df = facts_frame(con, D)
    assert q.facts == () and df.empty


ACCOUNT_FACTS = [
    "account_id",
    "as_of",
    "arr",
    "renewal_date",
    "days_to_renewal",
    "tenure_days",
    "account_name",
    "segment",
    "start_date",
    "seats",
    "csm_owner",
]


def test_accounts_and_outcomes_only(con):
    create(con, ("accounts", "outcomes"))
    insert(con, {"accounts": BOOK["accounts"], "outcomes": BOOK["outcomes"]})
    q, df = facts_frame(con, D)
    assert [f.name for f in q.facts] == ACCOUNT_FACTS
    assert df["account_id"].tolist() == ["A1", "A2", "A5", "A6"]


@pytest.mark.parametrize("outcomes", [None, "account_id VARCHAR, renewal_date DATE"])
def test_accounts_only(con, outcomes):
    create(con, ("accounts",))
    if outcomes:
        con.execute(f"CREATE TABLE outcomes ({outcomes})")
    insert(con, {"accounts": BOOK["accounts"]})
    q, df = facts_frame(con, D)
    assert [f.name for f in q.facts] == ACCOUNT_FACTS
    assert {f.source for f in q.facts} == {"accounts", "facts"}
    # Without outcomes nobody has churned; A4 starts on D.
    assert df["account_id"].tolist() == ["A1", "A2", "A3", "A5", "A6"]
    assert by_account(df).loc["A1", "arr"] == 1000.0
