"""CSV and XLSX exports: formula injection neutralised, real types kept, layout set."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from workbench.errors import WorkbenchError
from workbench.export import neutralise, to_csv_bytes, to_xlsx_bytes, write_table

TRIGGERS = ["=", "+", "-", "@", "\t", "\r"]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes, sheet: str = "data") -> Worksheet:
    return openpyxl.load_workbook(io.BytesIO(data))[sheet]


def as_cell(cell: object) -> Cell:
    assert isinstance(cell, Cell)
    return cell


def typed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account": pd.Series(["Acme", "Globex", None], dtype="str"),
            "seats": pd.Series([10, None, 3], dtype="Int64"),
            "arr": [1234567.5, float("nan"), -12.25],
            "renewal": pd.Series(
                [datetime(2024, 5, 1), None, datetime(2025, 1, 31)], dtype="datetime64[us]"
            ),
            "last_login": pd.Series(
                [datetime(2024, 5, 1, 13, 45), datetime(2024, 5, 2, 8), None],
                dtype="datetime64[us]",
            ),
            "active": pd.Series([True, None, False], dtype="boolean"),
            "delta": [-5, 0, 7],
        }
    )


# --- neutralise --------------------------------------------------------------------------


@pytest.mark.parametrize("lead", TRIGGERS)
def test_neutralise_prefixes_risky_text(lead: str) -> None:
    assert neutralise(f"{lead}cmd|' /C calc'!A0") == f"'{lead}cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-12, -12),
        (-1.5, -1.5),
        (np.int64(-3), np.int64(-3)),
        (None, None),
        ("Acme", "Acme"),
        ("", ""),
        ("a=b", "a=b"),
        ("-12", "'-12"),  # text that looks like a number is still text
    ],
)
def test_neutralise_leaves_numbers_and_plain_text(value: object, expected: object) -> None:
    assert neutralise(value) == expected


# --- CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", TRIGGERS)
def test_csv_neutralises_each_trigger(lead: str) -> None:
    df = pd.DataFrame({"note": [f"{lead}1+1", "fine"], "n": [-1, 2]})
    rows = read_csv(to_csv_bytes(df))
    assert rows[1] == [f"'{lead}1+1", "-1"]
    assert rows[2] == ["fine", "2"]


def test_csv_neutralises_headers_and_object_values() -> None:
    df = pd.DataFrame({"=HYPERLINK()": pd.Series([pd.Timedelta(days=-1), "@x"], dtype=object)})
    rows = read_csv(to_csv_bytes(df))
    assert rows[0] == ["'=HYPERLINK()"]
    assert rows[1][0].startswith("'-1 days")
    assert rows[2] == ["'@x"]


def test_csv_types_dates_and_missing_values() -> None:
    rows = read_csv(to_csv_bytes(typed_frame()))
    assert rows[0] == ["account", "seats", "arr", "renewal", "last_login", "active", "delta"]
    assert rows[1] == ["Acme", "10", "1234567.5", "2024-05-01", "2024-05-01 13:45:00", "True", "-5"]
    assert rows[2] == ["Globex", "", "", "", "2024-05-02 08:00:00", "", "0"]
    assert rows[3] == ["", "3", "-12.25", "2025-01-31", "", "False", "7"]


def test_csv_from_duckdb_result() -> None:
    df = duckdb.execute(
        "SELECT 'x' AS s, DATE '2024-01-02' AS d, [1, 2] AS l, NULL::INTEGER AS n"
    ).df()
    rows = read_csv(to_csv_bytes(df))
    assert rows[1] == ["x", "2024-01-02", "[1, 2]", ""]


# --- XLSX --------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", TRIGGERS)
def test_xlsx_neutralises_each_trigger(lead: str) -> None:
    df = pd.DataFrame({"note": [f"{lead}1+1"]})
    cell = read_xlsx(to_xlsx_bytes(df))["A2"]
    # XML parsers normalise a raw carriage return to a line feed when reading back.
    expected = f"'{lead}1+1".replace("\r", "\n")
    assert cell.value == expected
    assert cell.data_type == "s"


def test_xlsx_keeps_real_types() -> None:
    ws = read_xlsx(to_xlsx_bytes(typed_frame()))
    assert [c.value for c in ws[1]] == [
        "account",
        "seats",
        "arr",
        "renewal",
        "last_login",
        "active",
        "delta",
    ]
    seats, arr, renewal, last_login, active, delta = (as_cell(ws.cell(2, i)) for i in range(2, 8))
    assert (seats.value, seats.data_type) == (10, "n")
    assert (arr.value, arr.data_type) == (1234567.5, "n")
    assert "#,##0" in arr.number_format
    assert renewal.is_date and renewal.value == datetime(2024, 5, 1)
    assert renewal.number_format == "yyyy-mm-dd"
    assert last_login.is_date and last_login.value == datetime(2024, 5, 1, 13, 45)
    assert last_login.number_format == "yyyy-mm-dd hh:mm"
    assert (active.value, active.data_type) == (True, "b")
    assert (delta.value, delta.data_type) == (-5, "n")
    assert ws["C4"].value == -12.25


def test_xlsx_missing_values_are_empty() -> None:
    ws = read_xlsx(to_xlsx_bytes(typed_frame()))
    assert [ws.cell(3, i).value for i in (2, 3, 4, 6)] == [None, None, None, None]
    assert ws["A4"].value is None
    assert ws["E4"].value is None


def test_xlsx_header_layout() -> None:
    df = pd.DataFrame({"id": [1, 2], "name": ["short", "a much longer account name"]})
    ws = read_xlsx(to_xlsx_bytes(df))
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B3"
    assert all(c.font.bold for c in ws[1])
    assert ws["A1"].fill.fill_type == "solid"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width
    assert ws.column_dimensions["A"].width >= len("id")


def test_xlsx_width_is_capped() -> None:
    ws = read_xlsx(to_xlsx_bytes(pd.DataFrame({"note": ["x" * 500]})))
    assert ws.column_dimensions["A"].width == 60


def test_xlsx_meta_sheet() -> None:
    meta = {"sql": "SELECT * FROM accounts", "workspace": "demo", "generated_at": "2024-05-01"}
    data = to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet_name="accounts", meta=meta)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["accounts", "about"]
    rows = list(wb["about"].values)
    assert rows[0] == ("key", "value")
    assert {row[0]: row[1] for row in rows[1:]} == meta


def test_xlsx_without_meta_has_one_sheet() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(pd.DataFrame({"a": [1]}))))
    assert wb.sheetnames == ["data"]


# DuckDB 2.0's own TIMESTAMPTZ -> pandas 3.1 conversion warns (DataFrame.drop inplace).
@pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_xlsx_from_duckdb_result_with_object_columns() -> None:
    df = duckdb.execute(
        "SELECT DATE '2024-01-02' AS d, TIMESTAMPTZ '2024-01-02 03:04:00+00' AS tz, "
        "'00000000-0000-0000-0000-000000000001'::UUID AS u, [1, 2] AS l, 2.50::DECIMAL(10, 2) AS dec"
    ).df()
    df["py_date"] = pd.Series([date(2024, 3, 4)], dtype=object)
    ws = read_xlsx(to_xlsx_bytes(df))
    d, tz, u, lst, dec, py_date = map(as_cell, ws[2])
    assert d.is_date and d.number_format == "yyyy-mm-dd"
    assert tz.is_date
    assert u.value == "00000000-0000-0000-0000-000000000001"
    assert lst.value == "[1, 2]"
    assert (dec.value, dec.data_type) == (2.5, "n")
    assert py_date.is_date and py_date.value == datetime(2024, 3, 4)


def test_xlsx_drops_illegal_control_characters() -> None:
    ws = read_xlsx(to_xlsx_bytes(pd.DataFrame({"a": ["bad\x01text"]})))
    assert ws["A2"].value == "badtext"


def test_xlsx_sheet_name_cannot_clash_with_meta() -> None:
    with pytest.raises(WorkbenchError, match="about"):
        to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet_name="about", meta={"k": "v"})


def test_xlsx_many_rows() -> None:
    n = 100_000
    df = pd.DataFrame({"id": range(n), "arr": np.arange(n) * 1.5})
    ws = read_xlsx(to_xlsx_bytes(df))
    assert ws.max_row == n + 1
    assert ws.cell(n + 1, 2).value == (n - 1) * 1.5


# --- write_table -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".XLSX"])
def test_write_table_by_suffix(tmp_path: Path, suffix: str) -> None:
    path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "out" / f"table{suffix}")
    assert path.exists() and path.stat().st_size > 0


def test_write_table_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as info:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "table.json")
    assert ".json" in info.value.message
    assert ".csv" in info.value.hint and ".xlsx" in info.value.hint
    assert not (tmp_path / "table.json").exists()
