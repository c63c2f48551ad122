"""Mapping suggestion: header synonyms, fuzzy names, values, and kind guessing."""

import pytest

from workbench.errors import WorkbenchError
from workbench.ingest.kinds import ACCOUNTS, KINDS, SURVEYS, TICKETS
from workbench.ingest.mapping import (
    Mapping,
    check_mapping,
    guess_kind,
    normalise_header,
    snake_name,
    suggest_mapping,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Customer ID", "customer id"),
        ("customerID", "customer id"),
        ("CustomerId", "customer id"),
        ("customerid", "customer id"),
        ("Account_Id", "account id"),
        ("ARR (USD)", "arr usd"),
        ("  Renewal   Date ", "renewal date"),
        ("CSM", "csm"),
    ],
)
def test_normalise_header(header, expected):
    assert normalise_header(header) == expected


@pytest.mark.parametrize(
    "header", ["Customer ID", "Account Id", "customerID", "account_id", "GSID"]
)
def test_account_id_synonyms(header):
    s = suggest_mapping(ACCOUNTS, [header, "Name", "ARR"])
    assert s.mapping.assignments["account_id"] == header
    choice = next(c for c in s.choices if c.column == "account_id")
    assert choice.confidence == "exact"
    assert header in choice.reason


def test_full_accounts_export():
    headers = [
        "Account Id",
        "Account Name",
        "Tier",
        "ARR (USD)",
        "CSM Owner",
        "Contract End Date",
        "Plan",
    ]
    m = suggest_mapping(ACCOUNTS, headers).mapping
    assert m.assignments == {
        "account_id": "Account Id",
        "account_name": "Account Name",
        "segment": "Tier",
        "arr": "ARR (USD)",
        "csm_owner": "CSM Owner",
        "renewal_date": "Contract End Date",
    }
    assert m.extras(headers) == ["Plan"]


def test_fuzzy_and_contained_names():
    m = suggest_mapping(
        ACCOUNTS, ["Acct ID", "Renewal Date (Contract)", "Annual Recurring Revenue"]
    ).mapping
    assert m.assignments.get("renewal_date") == "Renewal Date (Contract)"
    assert m.assignments.get("arr") == "Annual Recurring Revenue"


def test_value_based_guess_for_unnamed_columns():
    samples = {
        "col_a": ["T-1", "T-2"],
        "col_b": ["P1", "P2", "P3"],
        "col_c": ["2026-01-02", "2026-02-03"],
    }
    s = suggest_mapping(TICKETS, ["col_a", "col_b", "col_c"], samples)
    assert s.mapping.assignments.get("priority") == "col_b"
    assert next(c for c in s.choices if c.column == "priority").confidence == "guess"


def test_one_header_feeds_one_column():
    m = suggest_mapping(SURVEYS, ["Account ID", "Date", "Score"]).mapping
    assert list(m.assignments.values()).count("Date") == 1


def test_missing_required_listed():
    s = suggest_mapping(ACCOUNTS, ["Name", "ARR"])
    assert s.missing_required == ["account_id"]


def test_check_mapping_rejects_unknown_and_double():
    with pytest.raises(WorkbenchError, match="no such column"):
        check_mapping(ACCOUNTS, Mapping("accounts", {"account_id": "Nope"}), ["A"])
    with pytest.raises(WorkbenchError, match="mapped to both"):
        check_mapping(
            ACCOUNTS, Mapping("accounts", {"account_id": "A", "account_name": "A"}), ["A"]
        )


def test_snake_name():
    assert snake_name("Health Score (Gainsight)") == "health_score_gainsight"
    assert snake_name("2024 Revenue") == "c_2024_revenue"


@pytest.mark.parametrize(
    ("headers", "file_name", "expected"),
    [
        (["Ticket ID", "Account ID", "Created At", "Priority", "Status"], "export.csv", "tickets"),
        (["Account ID", "Week Start", "Active Users"], "x.csv", "usage"),
        (["Account ID", "Account Name", "ARR"], "book.xlsx", "accounts"),
        (["Account ID", "Renewal Date", "Outcome"], "renewals.csv", "outcomes"),
    ],
)
def test_guess_kind(headers, file_name, expected):
    assert guess_kind(list(KINDS.values()), headers, None, file_name).name == expected


def test_mapping_json_round_trip():
    m = Mapping("accounts", {"account_id": "Id"}, ("Secret",))
    assert Mapping.from_json_dict(m.to_json_dict()) == m
