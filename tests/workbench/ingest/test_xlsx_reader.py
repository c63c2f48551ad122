"""Tests for workbench.ingest.xlsx_reader: sheets, header detection and cell text."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from workbench.errors import InputFileError
from workbench.ingest.staged import quote_ident
from workbench.ingest.xlsx_reader import list_sheets, stage_xlsx


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def sheet_with(
    rows: list[list[object]], title: str = "Accounts"
) -> tuple[openpyxl.Workbook, Worksheet]:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    return book, sheet


def save(book: openpyxl.Workbook, tmp_path: Path, name: str = "accounts.xlsx") -> Path:
    path = tmp_path / name
    book.save(path)
    return path


def patch_sheet_xml(
    path: Path, replacements: dict[str, str], member: str = "xl/worksheets/sheet1.xml"
) -> None:
    """Rewrite a worksheet's XML inside the workbook, for what openpyxl cannot write."""
    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == member:
                text = data.decode()
                for old, new in replacements.items():
                    assert old in text, old
                    text = text.replace(old, new)
                data = text.encode()
            out.writestr(info, data)


def staged_rows(
    con: duckdb.DuckDBPyConnection, table: str, expr: str = "*"
) -> list[tuple[object, ...]]:
    return con.execute(f'SELECT {expr} FROM {quote_ident(table)} ORDER BY "_row"').fetchall()


# --- sheets ----------------------------------------------------------------------


def test_list_sheets_puts_hidden_sheets_last_and_skips_chart_sheets(tmp_path: Path) -> None:
    book, _ = sheet_with([["a"], [1]], title="Hidden one")
    book.active.sheet_state = "hidden"  # type: ignore[union-attr]
    book.create_sheet("Accounts")["A1"] = "x"
    book.create_chartsheet("Chart")
    book.create_sheet("Notes")
    book.active = 1
    path = save(book, tmp_path)

    assert list_sheets(path) == ["Accounts", "Notes", "Hidden one"]


def test_default_sheet_is_the_first_with_data(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([], title="Cover")
    data = book.create_sheet("Accounts")
    data.append(["Account", "Owner"])
    data.append(["Acme", "Ann"])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.sheet == "Accounts"
    assert staged_rows(con, st.table) == [("Acme", "Ann", 2)]


def test_chosen_sheet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account"], ["Acme"]])
    other = book.create_sheet("Contacts")
    other.append(["Contact", "Email"])
    other.append(["Ann", "ann@example.com"])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged", sheet="Contacts")

    assert st.sheet == "Contacts"
    assert st.columns == ("Contact", "Email")
    assert staged_rows(con, st.table) == [("Ann", "ann@example.com", 2)]


def test_unknown_sheet_lists_the_sheets(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account"], ["Acme"]])
    book.create_sheet("Contacts")
    path = save(book, tmp_path)

    with pytest.raises(InputFileError) as info:
        stage_xlsx(con, path, "staged", sheet="Acounts")

    assert "accounts.xlsx" in info.value.message
    assert "'Acounts'" in info.value.message
    assert "'Accounts', 'Contacts'" in info.value.hint


def test_empty_sheet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account"], ["Acme"]])
    book.create_sheet("Blank")["B3"] = "   "
    path = save(book, tmp_path)

    with pytest.raises(InputFileError) as info:
        stage_xlsx(con, path, "staged", sheet="Blank")

    assert "accounts.xlsx" in info.value.message
    assert "'Blank'" in info.value.message
    assert "empty" in info.value.message
    assert "'Accounts'" in info.value.hint


def test_workbook_without_data(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([])
    book.create_sheet("Other")
    path = save(book, tmp_path)

    with pytest.raises(InputFileError, match="accounts.xlsx: every sheet"):
        stage_xlsx(con, path, "staged")


def test_header_without_data_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account", "Owner"], [], ["  ", None]])
    path = save(book, tmp_path)

    with pytest.raises(InputFileError, match="no data rows") as info:
        stage_xlsx(con, path, "staged")

    assert "accounts.xlsx, sheet 'Accounts'" in info.value.message


@pytest.mark.parametrize("content", [b"not a workbook", b"Account,Owner\nAcme,Ann\n"])
def test_not_a_workbook(con: duckdb.DuckDBPyConnection, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)

    with pytest.raises(InputFileError, match="export.xlsx") as info:
        stage_xlsx(con, path, "staged")
    with pytest.raises(InputFileError, match="export.xlsx"):
        list_sheets(path)

    assert info.value.hint


def test_missing_workbook(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="gone.xlsx"):
        stage_xlsx(con, tmp_path / "gone.xlsx", "staged")


# --- header detection ------------------------------------------------------------


def test_title_and_blank_rows_above_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, sheet = sheet_with(
        [
            ["Accounts export — Q3"],
            [],
            ["Account", "ARR", "Owner"],
            ["Acme", 1200, "Ann"],
            ["Beta", 900, "Bob"],
        ]
    )
    sheet.merge_cells("A1:C1")
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.header_row == 3
    assert st.columns == ("Account", "ARR", "Owner")
    assert st.row_expr == '"_row"'
    assert staged_rows(con, st.table, f"{st.row_expr}, *") == [
        (4, "Acme", "1200", "Ann", 4),
        (5, "Beta", "900", "Bob", 5),
    ]
    assert "Skipped 2 rows (titles, notes or blank rows) above the header on row 3." in st.notes


def test_notes_with_two_cells_above_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with(
        [
            ["Exported", dt.datetime(2026, 3, 1, 9, 0)],
            ["Account", "ARR", "Owner", "Region", "Seats"],
            ["Acme", 1, "Ann", "EMEA", 3],
            ["Beta", 2, "Bob", "NA", 4],
        ]
    )
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.header_row == 2
    assert st.columns == ("Account", "ARR", "Owner", "Region", "Seats")


def test_table_that_does_not_start_in_a1(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, sheet = sheet_with([])
    sheet["C5"], sheet["D5"] = "Account", "Owner"
    sheet["C6"], sheet["D6"] = "Acme", "Ann"
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.header_row == 5
    assert st.columns == ("Account", "Owner")  # empty columns A and B are left out
    assert staged_rows(con, st.table, '"Account", "Owner", "_row"') == [("Acme", "Ann", 6)]


def test_header_with_year_numbers(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account", 2024, 2025], ["Acme", 10, 20], ["Beta", 30, 40]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.header_row == 1
    assert st.columns == ("Account", "2024", "2025")


def test_two_row_header_with_merged_group(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, sheet = sheet_with(
        [
            ["Accounts export — Q3"],
            [],
            ["Account", "Usage", None, "Owner"],
            [None, "Logins", "Seats", None],
            ["Acme", 120, 10, "Ann"],
        ]
    )
    sheet.merge_cells("B3:C3")
    sheet.merge_cells("A3:A4")
    sheet.merge_cells("D3:D4")
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Account", "Usage Logins", "Usage Seats", "Owner")
    assert st.header_row == 3
    assert staged_rows(con, st.table) == [("Acme", "120", "10", "Ann", 5)]
    assert any("rows 3-4" in note for note in st.notes)


def test_single_merged_header_spreads_its_name(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, sheet = sheet_with(
        [["Name", None, "Email"], ["Ann", "Lee", "ann@example.com"], ["Bob", "Ray", "bob@x.io"]]
    )
    sheet.merge_cells("A1:B1")
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Name", "Name (2)", "Email")
    assert staged_rows(con, st.table) == [
        ("Ann", "Lee", "ann@example.com", 2),
        ("Bob", "Ray", "bob@x.io", 3),
    ]


def test_merged_title_banner_right_above_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, sheet = sheet_with(
        [["Accounts export"], ["Account", "Owner", "Region"], ["Acme", "Ann", "EMEA"]]
    )
    sheet.merge_cells("A1:C1")
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.header_row == 2
    assert st.columns == ("Account", "Owner", "Region")
    assert staged_rows(con, st.table) == [("Acme", "Ann", "EMEA", 3)]


def test_group_row_needs_a_stand_alone_column_to_be_a_sub_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # The row under the merged "Name" is text, but "Email" has data under it too,
    # so that row is data, not sub-headers.
    book, sheet = sheet_with([["Name", None, "Email"], ["Ann", "Lee", "ann@example.com"]])
    sheet.merge_cells("A1:B1")
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Name", "Name (2)", "Email")
    assert st.n_rows == 1


def test_duplicate_empty_and_reserved_header_names(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([[" Name ", "name", None, "_row", "Owner"], ["a", "b", "c", "d", "e"]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Name", "name (2)", "Column C", "_row (2)", "Owner")
    assert staged_rows(con, st.table) == [("a", "b", "c", "d", "e", 2)]
    assert any("Column C" in note for note in st.notes)


def test_line_breaks_inside_header_cells_become_spaces(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([["Account", "Renewal\ndate"], ["Acme", "soon"]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Account", "Renewal date")


def test_trailing_empty_columns_are_dropped(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, sheet = sheet_with([["Account", "Owner"], ["Acme", "Ann"]])
    sheet["F2"] = " "  # widens the sheet's used range without holding data
    sheet["H3"] = ""
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Account", "Owner")
    assert staged_rows(con, st.table) == [("Acme", "Ann", 2)]


def test_unnamed_column_with_data_is_kept(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account", None, "Owner"], ["Acme", "x", "Ann"]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Account", "Column B", "Owner")
    assert staged_rows(con, st.table) == [("Acme", "x", "Ann", 2)]


def test_empty_spacer_column_is_left_out_keeping_letters(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([["Account", None, "Owner", None], ["Acme", None, "Ann", "x"]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.columns == ("Account", "Owner", "Column D")
    assert staged_rows(con, st.table) == [("Acme", "Ann", "x", 2)]


# --- cell values -----------------------------------------------------------------


def test_dates_become_iso_text(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, sheet = sheet_with(
        [
            ["Kind", "When"],
            ["midnight datetime", dt.datetime(2026, 3, 1)],
            ["datetime", dt.datetime(2026, 3, 1, 14, 30)],
            ["date", dt.date(2026, 3, 1)],
            ["time", dt.time(9, 5)],
            ["duration", dt.timedelta(hours=26, minutes=5)],
        ]
    )
    sheet["B6"].number_format = "[h]:mm:ss"
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert staged_rows(con, st.table, '"When"') == [
        ("2026-03-01",),
        ("2026-03-01 14:30:00",),
        ("2026-03-01",),
        ("09:05:00",),
        ("26:05:00",),
    ]


def test_numbers_and_booleans(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    values: list[object] = [123, 123.0, 0.1, 1 / 3, -4.5, 12345678901234, 1e20, True, False, -0.0]
    book, _ = sheet_with([["Value"], *[[v] for v in values]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert [r[0] for r in staged_rows(con, st.table)] == [
        "123",
        "123",
        "0.1",
        "0.3333333333333333",
        "-4.5",
        "12345678901234",
        "1e+20",
        "true",
        "false",
        "0",
    ]


def test_text_cells_keep_their_content(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Note"], ["  padded  "], ["Café – “ok”"], ["line\nbreak"], ["007"]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert [r[0] for r in staged_rows(con, st.table)] == [
        "  padded  ",
        "Café – “ok”",
        "line\nbreak",
        "007",
    ]


def test_formula_cells_give_their_cached_values(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([["A", "B", "Total", "Label"], [6, 7, "=A2*B2", '="x"&A2']])
    path = save(book, tmp_path)
    # openpyxl writes formulas without a cached value; calamine does not evaluate them.
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[1][2:] == [
        "",
        "",
    ]
    # Cache values a formula could not produce from its inputs, so reading them
    # proves the cache is what is returned.
    patch_sheet_xml(
        path,
        {
            '<c r="C2"><f>A2*B2</f><v /></c>': '<c r="C2"><f>A2*B2</f><v>4242</v></c>',
            '<c r="D2"><f>"x"&amp;A2</f><v /></c>': (
                '<c r="D2" t="str"><f>"x"&amp;A2</f><v>cached text</v></c>'
            ),
        },
    )

    st = stage_xlsx(con, path, "staged")

    assert staged_rows(con, st.table) == [("6", "7", "4242", "cached text", 2)]


def test_blank_and_whitespace_cells_are_null(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, _ = sheet_with([["Account", "Owner", "Note"], ["Acme", "WS", None], ["Beta", "", "x"]])
    path = save(book, tmp_path)
    patch_sheet_xml(path, {"<t>WS</t>": '<t xml:space="preserve"> \t </t>'})
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[1][1] == " \t "

    st = stage_xlsx(con, path, "staged")

    assert staged_rows(con, st.table) == [("Acme", None, None, 2), ("Beta", None, "x", 3)]


def test_blank_rows_inside_data_are_dropped_keeping_row_numbers(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    book, sheet = sheet_with(
        [["Account", "Owner"], ["Acme", "Ann"], [], [None, None], ["Beta", "Bob"]]
    )
    sheet["B4"] = "   "
    sheet["A9"] = "Gamma"
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, "staged")

    assert st.n_rows == 3
    assert staged_rows(con, st.table, f'{st.row_expr}, "Account"') == [
        (2, "Acme"),
        (5, "Beta"),
        (9, "Gamma"),
    ]
    assert (
        "Dropped 5 blank rows inside the data; row numbers still match the spreadsheet." in st.notes
    )


def test_staged_table_shape(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book, _ = sheet_with([["Account", "ARR", "Renewal"], ["Acme", 1.5, dt.date(2026, 3, 1)]])
    path = save(book, tmp_path)

    st = stage_xlsx(con, path, 'stage "1"')

    described = con.execute(f"DESCRIBE {quote_ident(st.table)}").fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        ("Account", "VARCHAR"),
        ("ARR", "VARCHAR"),
        ("Renewal", "VARCHAR"),
        ("_row", "BIGINT"),
    ]
    assert (st.table, st.n_rows, st.file_name, st.sheet) == (
        'stage "1"',
        1,
        "accounts.xlsx",
        "Accounts",
    )
    assert (st.decimal, st.encoding, st.delimiter, st.header_row) == (".", None, None, 1)
    assert st.notes == ()
    temporary = con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = ?", [st.table]
    )
    assert temporary.fetchone() == (True,)


def test_staging_twice_replaces_the_table(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    first, _ = sheet_with([["Account"], ["Acme"], ["Beta"]])
    second, _ = sheet_with([["Owner"], ["Ann"]])

    stage_xlsx(con, save(first, tmp_path, "one.xlsx"), "staged")
    st = stage_xlsx(con, save(second, tmp_path, "two.xlsx"), "staged")

    assert st.columns == ("Owner",)
    assert staged_rows(con, "staged") == [("Ann", 2)]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
