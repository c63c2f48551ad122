"""Tests for workbench.ingest.csv_reader: dialect sniffing and staging into DuckDB."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest

from workbench.errors import InputFileError
from workbench.ingest.csv_reader import CsvDialect, sniff_csv, stage_csv
from workbench.ingest.staged import StagedTable, quote_ident


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def write(tmp_path: Path, data: str | bytes, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def rows(con: duckdb.DuckDBPyConnection, table: str, expr: str = "*") -> list[tuple[object, ...]]:
    return con.execute(f"SELECT {expr} FROM {quote_ident(table)} ORDER BY rowid").fetchall()


def numbered(con: duckdb.DuckDBPyConnection, st: StagedTable) -> list[tuple[object, ...]]:
    """Rows with the row number the user sees first."""
    return rows(con, st.table, f"{st.row_expr} AS row_number, *")


# --- delimiters and quoting ----------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(",", "commas"), (";", "semicolons"), ("\t", "tabs"), ("|", "pipes")],
)
def test_delimiters_are_detected_and_staged(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, delimiter: str, name: str
) -> None:
    lines = [["Account", "Owner", "Note"], ["Acme", "Ann", "renewal due"], ["Beta", "Bob", ""]]
    path = write(tmp_path, "\n".join(delimiter.join(line) for line in lines) + "\n")

    assert sniff_csv(path).delimiter == delimiter
    st = stage_csv(con, path, "staged")

    assert st.delimiter == delimiter
    assert st.columns == ("Account", "Owner", "Note")
    assert rows(con, st.table) == [("Acme", "Ann", "renewal due"), ("Beta", "Bob", None)]
    assert (name in " ".join(st.notes)) == (delimiter != ",")


def test_commas_inside_a_semicolon_file_do_not_win(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    body = "".join(f"Acme, Inc. {i};{i},5;Paris, FR\n" for i in range(40))
    path = write(tmp_path, "Account;ARR;City\n" + body)

    st = stage_csv(con, path, "staged")

    assert st.delimiter == ";"
    assert rows(con, st.table)[0] == ("Acme, Inc. 0", "0,5", "Paris, FR")


def test_double_quoted_fields_keep_delimiters_and_doubled_quotes(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, 'Account,Note\n"Acme, Inc.","said ""hi"""\n')

    st = stage_csv(con, path, "staged")

    assert rows(con, st.table) == [("Acme, Inc.", 'said "hi"')]


def test_single_quote_quoting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,City\n'Acme, Inc.','Paris'\n'Beta','Lyon, FR'\n")

    dialect = sniff_csv(path)
    st = stage_csv(con, path, "staged")

    assert dialect.quote == "'"
    assert rows(con, st.table) == [("Acme, Inc.", "Paris"), ("Beta", "Lyon, FR")]
    assert any("single quotes" in note for note in st.notes)


def test_apostrophes_do_not_switch_the_quote(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Contact,Account\nO'Brien,Bob's Bikes\n\"Smith, J\",Acme\n")

    st = stage_csv(con, path, "staged")

    assert sniff_csv(path).quote == '"'
    assert rows(con, st.table) == [("O'Brien", "Bob's Bikes"), ("Smith, J", "Acme")]


def test_backslash_escaped_quotes(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, 'Id,Note\n1,"he said \\"hi\\", then left"\n2,plain\n')

    st = stage_csv(con, path, "staged")

    assert sniff_csv(path).escape == "\\"
    assert rows(con, st.table) == [("1", 'he said "hi", then left'), ("2", "plain")]


def test_single_column_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Email\nann@example.com\nbob@example.com\n")

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Email",)
    assert rows(con, st.table) == [("ann@example.com",), ("bob@example.com",)]


# --- encodings -------------------------------------------------------------------


def test_utf8(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Price\nCafé Müller,€12 – “net”\n")

    st = stage_csv(con, path, "staged")

    assert st.encoding == "utf-8"
    assert rows(con, st.table) == [("Café Müller", "€12 – “net”")]
    assert st.notes == ()


def test_utf8_bom_does_not_leak_into_the_first_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "\ufeffAccount,Owner\nCafé,Zoë\n".encode())

    dialect = sniff_csv(path)
    st = stage_csv(con, path, "staged")

    assert (dialect.encoding, dialect.has_bom) == ("utf-8-sig", True)
    assert st.columns == ("Account", "Owner")
    assert rows(con, st.table, '"Account", "Owner"') == [("Café", "Zoë")]


def test_utf8_bom_with_title_lines(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffAccounts export\n\nAccount,Owner\nAcme,Ann\n".encode())

    st = stage_csv(con, path, "staged")

    assert st.header_row == 3
    assert st.columns == ("Account", "Owner")
    assert numbered(con, st) == [(4, "Acme", "Ann")]


def test_cp1252_round_trips_euro_accents_and_smart_quotes(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    text = "Account,Price,Note\nCafé,€1.234,It’s “fine”\nSoirée,€5,naïve – ok\n"
    path = write(tmp_path, text.encode("cp1252"))

    st = stage_csv(con, path, "staged")

    assert st.encoding == "cp1252"
    assert rows(con, st.table) == [
        ("Café", "€1.234", "It’s “fine”"),
        ("Soirée", "€5", "naïve – ok"),
    ]
    assert any("cp1252" in note for note in st.notes)


def test_cp1252_header_names(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Société,Montant €\nAcme,5\n".encode("cp1252"))

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Société", "Montant €")


def test_latin1_when_bytes_are_undefined_in_cp1252(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # 0x8D is unassigned in Windows-1252, so only Latin-1 decodes this file.
    path = write(tmp_path, "Account,Note\nCafé,x\x8dy\n".encode("latin-1"))

    st = stage_csv(con, path, "staged")

    assert st.encoding == "latin-1"
    assert rows(con, st.table) == [("Café", "x\x8dy")]


def test_non_utf8_bytes_after_the_sample_fall_back_to_cp1252(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    filler = "".join(f"Acct {i:07d},plain ascii text here\n" for i in range(60_000))
    assert len(filler) > 1 << 20
    data = ("Account,Note\n" + filler).encode() + "Café,€9\n".encode("cp1252")
    path = write(tmp_path, data)

    assert sniff_csv(path).encoding == "utf-8"
    st = stage_csv(con, path, "staged")

    assert st.encoding == "cp1252"
    assert st.n_rows == 60_001
    assert rows(con, st.table)[-1] == ("Café", "€9")
    assert any("not valid UTF-8" in note and "60002" in note for note in st.notes)


def test_utf16_with_bom(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account\tPrice\nCafé\t€5\n".encode("utf-16"))

    st = stage_csv(con, path, "staged")

    assert st.encoding == "utf-16"
    assert st.delimiter == "\t"
    assert rows(con, st.table) == [("Café", "€5")]


def test_transcoded_copy_is_deleted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = write(tmp_path, "Account\nCafé\n".encode("cp1252"))

    stage_csv(con, path, "staged")

    assert os.listdir(scratch) == []


# --- decimal separator -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("Account;ARR\nAcme;1.234,56\nBeta;12,5\nGamma;7\n", ","),
        ("Account\tARR\nAcme\t1234,56\nBeta\t0,5\n", ","),
        ("Account;ARR\nAcme;1234.56\nBeta;0.5\n", "."),
        ('Account,ARR\nAcme,1234.56\nBeta,"0,5"\n', "."),
        ("Account;ARR\nAcme;1.234\nBeta;2.500\n", "."),  # ambiguous: thousands or decimals
        ("Account;ARR\nAcme;€ 1.234,50\nBeta;12,5 %\n", ","),
    ],
)
def test_decimal_separator(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str, decimal: str
) -> None:
    path = write(tmp_path, text)

    st = stage_csv(con, path, "staged")

    assert sniff_csv(path).decimal == decimal
    assert st.decimal == decimal
    assert any("decimal comma" in note for note in st.notes) == (decimal == ",")


def test_decimal_comma_values_stay_text(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account;ARR\nAcme;1.234,56\n")

    st = stage_csv(con, path, "staged")

    assert rows(con, st.table) == [("Acme", "1.234,56")]


# --- line breaks and row numbers -------------------------------------------------


def test_quoted_fields_with_embedded_newlines(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        'Account,Note,Owner\nAcme,"line one\nline two",Ann\nBeta,"a\r\nb\n\nc",Bob\nGamma,x,Cy\n',
    )

    st = stage_csv(con, path, "staged")

    # One row per record, counted like a spreadsheet shows them (header = row 1).
    assert numbered(con, st) == [
        (2, "Acme", "line one\nline two", "Ann"),
        (3, "Beta", "a\r\nb\n\nc", "Bob"),
        (4, "Gamma", "x", "Cy"),
    ]
    assert not any("Blank lines" in note for note in st.notes)  # the empty line is quoted


def test_quoted_newline_beyond_the_sample_with_short_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # DuckDB's parallel reader refuses null padding once it meets a quoted line
    # break; the sample shows none, so staging must retry serially.
    filler = "".join(f"{i},plain {i},x\n" for i in range(70_000))
    assert len(filler) > 1 << 20
    path = write(tmp_path, "Id,Note,Flag\n" + filler + '70000,"two\nlines"\n70001,short\n')

    st = stage_csv(con, path, "staged")

    assert st.n_rows == 70_002
    tail = rows(con, st.table, f"{st.row_expr}, *")[-2:]
    assert tail == [(70_002, "70000", "two\nlines", None), (70_003, "70001", "short", None)]


def test_crlf_line_endings(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Owner\r\nAcme,Ann\r\nBeta,Bob\r\n")

    st = stage_csv(con, path, "staged")

    assert numbered(con, st) == [(2, "Acme", "Ann"), (3, "Beta", "Bob")]


@pytest.mark.parametrize(
    "text",
    [
        # DuckDB takes its line ending from the first line break, here a CRLF
        # inside a quoted header cell, and would then find no rows at all.
        'Account,"Renewal\r\ndate"\nAcme,soon\nBeta,later\n',
        # Excel's own CSV: CRLF between records, bare LF inside cells.
        'Account,Note\r\nAcme,"x\ny"\r\nBeta,later\r\n',
    ],
)
def test_line_endings_inside_quotes_do_not_hide_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, text)

    st = stage_csv(con, path, "staged")

    assert st.n_rows == 2
    assert [r[1] for r in numbered(con, st)] == ["Acme", "Beta"]


def test_mixed_line_endings_that_cannot_be_split_are_reported(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, 'Account,"Renewal\r\ndate"\nAcme,soon\r\nBeta,later\n')

    # DuckDB reads no rows (or fails) with every line ending: refuse rather than lose rows.
    with pytest.raises(InputFileError, match="accounts.csv: the lines of the file") as info:
        stage_csv(con, path, "staged")

    assert "save it again as CSV" in info.value.hint


def test_no_newline_at_end_of_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Owner\nAcme,Ann")

    st = stage_csv(con, path, "staged")

    assert rows(con, st.table) == [("Acme", "Ann")]


def test_blank_lines_inside_data_are_skipped_with_a_note(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Account,Owner\nAcme,Ann\n\nBeta,Bob\n")

    st = stage_csv(con, path, "staged")

    assert rows(con, st.table) == [("Acme", "Ann"), ("Beta", "Bob")]
    assert any("Blank lines" in note for note in st.notes)


def test_blank_line_beyond_the_sample_gets_a_note(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    filler = "".join(f"Acct {i:07d},plain ascii text here\n" for i in range(60_000))
    path = write(tmp_path, "Account,Note\n" + filler + "\nLast,row\n")

    st = stage_csv(con, path, "staged")

    assert st.n_rows == 60_001
    assert any("Blank lines" in note for note in st.notes)


def test_trailing_blank_lines_are_harmless(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Title\n\nAccount,Owner\nAcme,Ann\n\n\n")

    st = stage_csv(con, path, "staged")

    assert st.n_rows == 1
    assert not any("Blank lines" in note for note in st.notes)


# --- header detection ------------------------------------------------------------


def test_title_and_note_lines_above_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Accounts export — Q3\nGenerated 2026-03-01 by CRM\n\nAccount,ARR,Seats\n"
        "Acme,1200,10\nBeta,900,4\n",
    )

    dialect = sniff_csv(path)
    st = stage_csv(con, path, "staged")

    assert (dialect.header_line, dialect.skip_lines) == (4, 3)
    assert st.header_row == 4
    assert st.columns == ("Account", "ARR", "Seats")
    assert numbered(con, st) == [(5, "Acme", "1200", "10"), (6, "Beta", "900", "4")]
    assert "Skipped 3 lines (titles, notes or blank lines) above the header on line 4." in st.notes


def test_title_line_with_a_comma_is_not_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Accounts, Q3 export\nAccount,ARR,Seats,Owner\nAcme,1,2,Ann\n")

    st = stage_csv(con, path, "staged")

    assert st.header_row == 2
    assert st.columns == ("Account", "ARR", "Seats", "Owner")


def test_header_with_year_names_is_still_the_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Account,2024,2025\nAcme,10,20\nBeta,30,40\n")

    st = stage_csv(con, path, "staged")

    assert st.header_row == 1
    assert st.columns == ("Account", "2024", "2025")


def test_header_names_are_stripped_deduplicated_and_filled(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, " Name ,Name,,name,  ,Owner\n1,2,3,4,5,6\n")

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Name", "Name (2)", "column_3", "name (3)", "column_5", "Owner")
    assert rows(con, st.table, '"Name (2)", "column_5"') == [("2", "5")]
    assert any("column_3, column_5" in note for note in st.notes)
    assert any("Name (2), name (3)" in note for note in st.notes)


def test_line_breaks_inside_header_names_become_spaces(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, 'Account,"Renewal\r\n  date",Owner\nAcme,2026-03-01,Ann\n')

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Account", "Renewal date", "Owner")
    # Row numbers count records, as a spreadsheet shows them: the header is row 1.
    assert numbered(con, st) == [(2, "Acme", "2026-03-01", "Ann")]


def test_trailing_delimiter_on_data_lines_adds_an_unnamed_column(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Account,Owner\nAcme,Ann,\nBeta,Bob,\n")

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Account", "Owner", "column_3")
    assert rows(con, st.table) == [("Acme", "Ann", None), ("Beta", "Bob", None)]


def test_short_rows_are_padded_with_nulls(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Owner,Note\nAcme,Ann\nBeta,Bob,x\n")

    st = stage_csv(con, path, "staged")

    assert rows(con, st.table) == [("Acme", "Ann", None), ("Beta", "Bob", "x")]


def test_unquoted_values_keep_their_whitespace(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Account , Owner\n Acme , Ann\n")

    st = stage_csv(con, path, "staged")

    assert st.columns == ("Account", "Owner")
    assert rows(con, st.table) == [(" Acme ", " Ann")]


# --- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\n\n  \r\n", "empty"),
        (b"Account,Owner\n", "no data rows"),
        (b"Account,Owner\n\n\n", "no data rows"),
        (random.Random(1).randbytes(4096), "binary"),
        (b"Account\x00,Owner\x00\n", "binary"),
    ],
)
def test_unusable_files_raise_input_file_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, data: bytes, fragment: str
) -> None:
    path = write(tmp_path, data, name="broken export.csv")

    with pytest.raises(InputFileError) as info:
        stage_csv(con, path, "staged")

    assert "broken export.csv" in info.value.message
    assert fragment in info.value.message
    assert info.value.hint


def test_header_only_file_leaves_no_table(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Owner\n")

    with pytest.raises(InputFileError):
        stage_csv(con, path, "staged")

    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'staged'"
    ).fetchone() == (0,)


def test_an_excel_workbook_named_csv(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Account"])
    path = tmp_path / "accounts.csv"
    book.save(path)

    with pytest.raises(InputFileError, match="Excel workbook") as info:
        sniff_csv(path)

    assert "accounts.csv" in info.value.message


def test_missing_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="gone.csv"):
        stage_csv(con, tmp_path / "gone.csv", "staged")


def test_a_line_with_too_many_fields_is_named(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "Account,Owner\nAcme,Ann\nBeta,Bob\nGamma,Cy,extra\n")

    with pytest.raises(InputFileError) as info:
        stage_csv(con, path, "staged")

    assert "accounts.csv" in info.value.message
    assert "line 4" in info.value.message
    assert "Gamma,Cy,extra" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        'Account,Owner\nAcme,Ann\nBeta,"Bob\nGamma,Cy\n',
        # Short rows and quoted line breaks take DuckDB's serial reader, which
        # on its own would silently drop everything after the stray quote.
        'Account,Owner\nAcme,"A\nnn"\nShort\nBeta,"Bob\nGamma,Cy\nDelta,Di\n',
    ],
)
def test_an_unterminated_quote_is_named(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(InputFileError) as info:
        stage_csv(con, path, "staged")

    assert "accounts.csv" in info.value.message
    assert "quote" in info.value.message


# --- staging mechanics -----------------------------------------------------------


def test_explicit_dialect_is_used(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "a;b,c\n1;2,3\n")
    dialect = CsvDialect(
        encoding="utf-8",
        delimiter=",",
        quote='"',
        escape='"',
        decimal=".",
        header_line=1,
        skip_lines=0,
        has_bom=False,
    )

    st = stage_csv(con, path, "staged", dialect)

    assert st.columns == ("a;b", "c")
    assert rows(con, st.table) == [("1;2", "3")]


def test_awkward_file_and_table_names(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account\nAcme\n", name='it\'s "odd" ; drop.csv')

    st = stage_csv(con, path, 'stage "1"; x')

    assert st.file_name == 'it\'s "odd" ; drop.csv'
    assert rows(con, 'stage "1"; x') == [("Acme",)]


def test_all_columns_are_varchar(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Id,Date,Flag\n1,2026-03-01,true\n")

    st = stage_csv(con, path, "staged")

    types = con.execute(f"DESCRIBE {quote_ident(st.table)}").fetchall()
    assert [(name, kind) for name, kind, *_ in types] == [
        ("Id", "VARCHAR"),
        ("Date", "VARCHAR"),
        ("Flag", "VARCHAR"),
    ]
    assert con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = 'staged'"
    ).fetchone() == (True,)


def test_staging_twice_replaces_the_table(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    first = write(tmp_path, "Account\nAcme\nBeta\n", name="one.csv")
    second = write(tmp_path, "Owner\nAnn\n", name="two.csv")

    stage_csv(con, first, "staged")
    st = stage_csv(con, second, "staged")

    assert st.columns == ("Owner",)
    assert rows(con, "staged") == [("Ann",)]


def test_staged_table_fields(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(tmp_path, "Account,Owner\nAcme,Ann\nBeta,Bob\n")

    st = stage_csv(con, path, "staged")

    assert st.table == "staged"
    assert st.row_expr == "(rowid + 2)"
    assert st.n_rows == 2
    assert st.file_name == "accounts.csv"
    assert st.sheet is None
    assert st.header_row == 1


def test_a_large_file_stages_every_row(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # Speed is measured in bench/import_bench.py, not here; this checks the row count and numbering.
    lines = "".join(f"{i},Account {i},{i % 97}.5,2026-03-01\n" for i in range(200_000))
    path = write(tmp_path, "Id,Account,ARR,Renewal\n" + lines)

    st = stage_csv(con, path, "staged")

    assert st.n_rows == 200_000
    last = con.execute(f"SELECT max({st.row_expr}) FROM {quote_ident(st.table)}").fetchone()
    assert last == (200_001,)
