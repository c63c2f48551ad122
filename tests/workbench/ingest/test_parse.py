"""Parsing expressions, table-driven: text in, typed value out (NULL = cannot read)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from workbench.ingest.parse import (
    boolean_expr,
    date_expr,
    integer_expr,
    number_expr,
    timestamp_expr,
)


@pytest.fixture(scope="module")
def ev():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")

    def _ev(expr: str, value: str):
        con.execute("DELETE FROM t")
        con.execute("INSERT INTO t VALUES (?)", [value])
        return con.execute(f"SELECT {expr} FROM t").fetchall()[0][0]

    return _ev


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        (" 7 ", 7.0),
        ("-3.5", -3.5),
        ("1e3", 1000.0),
        ("$1,234.50", 1234.5),
        ("1,234,567.5", 1234567.5),
        ("USD 99", 99.0),
        ("12%", 0.12),
        ("4,5", None),  # not thousands groups: never read as 45
        ("1,23", None),
        ("0x10", None),
        ("nan", None),
        ("inf", None),
        ("lots", None),
    ],
)
def test_number_with_dot_decimals(ev, text, expected):
    assert ev(number_expr("v", "."), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,5", 1234.5),
        ("4,5", 4.5),
        ("1234", 1234.0),
        ("12,5%", 0.125),
        ("1.5", None),
        ("€ 1.000", 1000.0),
    ],
)
def test_number_with_decimal_comma(ev, text, expected):
    assert ev(number_expr("v", ","), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("1,234", 1234),
        ("1.0", 1),
        ("1.5", None),
        ("2.5", None),
        ("0x10", None),
        ("1e3", 1000),
    ],
)
def test_integer_never_rounds(ev, text, expected):
    assert ev(integer_expr("v", "."), text) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2026-03-04", "auto", dt.date(2026, 3, 4)),
        ("04/03/2026", "dmy", dt.date(2026, 3, 4)),
        ("03/04/2026", "mdy", dt.date(2026, 3, 4)),
        ("03/04/2026", "auto", None),
        ("4 Mar 2026", "auto", dt.date(2026, 3, 4)),
        ("Mar 4, 2026", "auto", dt.date(2026, 3, 4)),
        ("46085", "auto", dt.date(2026, 3, 4)),  # Excel serial
        ("123", "auto", None),  # a small number is not a date
    ],
)
def test_dates(ev, text, order, expected):
    assert ev(date_expr("v", order), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02 23:30", dt.datetime(2024, 1, 2, 23, 30)),
        ("2024-01-02T23:30:00Z", dt.datetime(2024, 1, 2, 23, 30)),
        ("2024-01-02 23:30-05:00", dt.datetime(2024, 1, 3, 4, 30)),  # offsets become UTC
        ("2024-01-02 23:30+09:00", dt.datetime(2024, 1, 2, 14, 30)),
        ("2024-01-02", dt.datetime(2024, 1, 2)),
    ],
)
def test_timestamps(ev, text, expected):
    assert ev(timestamp_expr("v", "auto"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("Yes", True), ("n", False), ("1", True), ("maybe", None)]
)
def test_booleans(ev, text, expected):
    assert ev(boolean_expr("v"), text) == expected
