"""The import pipeline end to end: every validation problem kind, atomicity, append, history."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from workbench.errors import ImportBlocked, InputFileError
from workbench.ingest.mapping import Mapping
from workbench.ingest.pipeline import ImportOptions, import_file
from workbench.storage import history, profiles

ACCOUNTS_OK = """Customer ID,Account Name,Tier,ARR (USD),CSM,Renewal Date,Plan
A1,Acme,Enterprise,"$120,000.50",Jo,2026-04-03,Gold
A2,Beta,SMB,5000,Jo,2026-06-05,Silver
A3,Gamma,SMB,700,Al,2026-08-07,Gold
"""


def codes(result):
    return sorted(p.code for p in result.report.problems)


def test_clean_import_types_and_extras(con, write):
    r = import_file(con, write("acc.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))
    assert r.committed and r.rows_imported == 3 and r.report.problems == ()
    rows = con.execute(
        "SELECT account_id, arr, renewal_date, plan FROM accounts ORDER BY 1"
    ).fetchall()
    assert rows[0] == ("A1", 120000.5, dt.date(2026, 4, 3), "Gold")
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='accounts'"
        ).fetchall()
    )
    assert (
        types["arr"] == "DOUBLE" and types["renewal_date"] == "DATE" and types["plan"] == "VARCHAR"
    )


def test_history_records_file_sha_sheet_mapping_counts(con, write):
    path = write("acc.csv", ACCOUNTS_OK)
    import_file(con, path, ImportOptions(kind="accounts"))
    h = history.history_frame(con)
    assert len(h) == 1
    row = h.iloc[0]
    import hashlib

    assert row["file_name"] == "acc.csv"
    assert row["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert '"account_id": "Customer ID"' in row["mapping_json"]
    assert (row["rows_in_file"], row["rows_imported"], row["rows_in_table"]) == (3, 3, 3)


def test_missing_required_column_blocks(con, write):
    path = write("acc.csv", "Name,ARR\nAcme,10\n")
    with pytest.raises(ImportBlocked) as exc:
        import_file(con, path, ImportOptions(kind="accounts"))
    result = exc.value.report
    p = result.report.problems[0]
    assert p.code == "missing_required_column"
    assert "account_id" in p.message and "acc.csv" in p.message and "Name, ARR" in p.message
    assert "Map the column" in p.hint


def test_bad_number_and_date_name_row_column_value(con, write):
    text = ACCOUNTS_OK + "A4,Delta,SMB,lots,Al,2026-13-45,Gold\n"
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"), commit=False)
    bad = {p.column: p for p in r.report.problems if p.code == "bad_value"}
    assert bad["ARR (USD)"].row == 5 and bad["ARR (USD)"].value == "lots"
    assert "acc.csv, row 5: column 'ARR (USD)'" in bad["ARR (USD)"].message
    assert bad["Renewal Date"].value == "2026-13-45"
    assert r.rejected is not None and list(r.rejected["row"]) == [5]
    assert "ARR (USD): cannot read value" in r.rejected["reason"].iloc[0]


def test_missing_required_value(con, write):
    r = import_file(
        con,
        write("acc.csv", ACCOUNTS_OK + ",NoId,SMB,1,Al,2026-01-01,x\n"),
        ImportOptions(kind="accounts"),
        commit=False,
    )
    p = next(p for p in r.report.problems if p.code == "missing_value")
    assert p.row == 5 and p.column == "Customer ID"


def test_duplicate_keys_reported_with_rows(con, write):
    text = ACCOUNTS_OK + "A2,Beta again,SMB,1,Al,2026-01-01,x\nA2,Beta 3,SMB,1,Al,2026-01-01,x\n"
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"), commit=False)
    p = next(p for p in r.report.problems if p.code == "duplicate_key")
    assert "A2 appears in rows 3, 5, 6" in p.message
    assert p.rows_affected == 2 and p.row == 5


def test_skip_bad_rows_keeps_first_of_duplicates(con, write):
    text = ACCOUNTS_OK + "A2,Beta again,SMB,1,Al,2026-01-01,x\nA9,Bad,SMB,zzz,Al,2026-01-01,x\n"
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts", skip_bad_rows=True))
    assert r.committed and r.rows_imported == 3
    assert con.execute("SELECT account_name FROM accounts WHERE account_id='A2'").fetchall() == [
        ("Beta",)
    ]
    assert sorted(r.rejected["row"]) == [5, 6]
    assert history.history_frame(con).iloc[0]["rows_skipped"] == 2


@pytest.mark.parametrize(
    ("dates", "order", "expected"),
    [
        (["25/12/2026", "03/04/2026"], "dmy", dt.date(2026, 4, 3)),
        (["12/25/2026", "03/04/2026"], "mdy", dt.date(2026, 3, 4)),
    ],
)
def test_date_order_detected_from_values(con, write, dates, order, expected):
    text = "Account ID,Renewal Date\n" + "".join(f"A{i},{d}\n" for i, d in enumerate(dates))
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"))
    assert r.report.date_order == order
    assert any("only fit that order" in n for n in r.report.notes)
    assert (
        con.execute("SELECT renewal_date FROM accounts WHERE account_id='A1'").fetchall()[0][0]
        == expected
    )


def test_ambiguous_date_order_asks_never_guesses(con, write):
    path = write("acc.csv", "Account ID,Renewal Date\nA1,03/04/2026\nA2,05/06/2026\n")
    with pytest.raises(ImportBlocked) as exc:
        import_file(con, path, ImportOptions(kind="accounts"))
    problems = exc.value.report.report.problems
    assert [p.code for p in problems] == ["ambiguous_date_order"]
    assert problems[0].severity == "question" and problems[0].value == "03/04/2026"
    assert (
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name='accounts'").fetchall()[
            0
        ][0]
        == 0
    )
    r = import_file(con, path, ImportOptions(kind="accounts", date_order="mdy"))
    assert con.execute("SELECT renewal_date FROM accounts WHERE account_id='A1'").fetchall()[0][
        0
    ] == dt.date(2026, 3, 4)
    assert r.committed


def test_mixed_date_order_is_an_error(con, write):
    path = write("acc.csv", "Account ID,Renewal Date\nA1,25/04/2026\nA2,04/25/2026\n")
    r = import_file(con, path, ImportOptions(kind="accounts"), commit=False)
    assert "mixed_date_order" in codes(r)


def test_category_variants_warned_and_unified(con, write):
    text = "Account ID,Segment\nA1,Enterprise\nA2,Enterprise\nA3,enterprise\nA4,Mid-Market\nA5,Mid Market\nA6,Mid-Market\n"
    path = write("acc.csv", text)
    r = import_file(con, path, ImportOptions(kind="accounts"), commit=False)
    p = next(p for p in r.report.problems if p.code == "category_variants")
    assert p.severity == "warning" and "'Enterprise' (2) / 'enterprise' (1)" in p.message
    assert p.rows_affected == 2
    import_file(con, path, ImportOptions(kind="accounts", unify_categories=True))
    got = con.execute("SELECT segment, count(*) FROM accounts GROUP BY 1 ORDER BY 1").fetchall()
    assert got == [("Enterprise", 3), ("Mid-Market", 3)]


def test_suspicious_shape_whole_line_quoted(con, write):
    text = '"Account ID,Account Name,ARR"\n"A1,Acme,100"\n"A2,Beta,200"\n'
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"), commit=False)
    assert "suspicious_shape" in codes(r)
    p = next(p for p in r.report.problems if p.code == "suspicious_shape")
    assert "quoted" in p.message or "quotes" in p.message


def test_header_without_rows_is_refused_naming_the_file(con, write, tmp_path):
    with pytest.raises(InputFileError, match="acc.csv"):
        import_file(con, write("acc.csv", "Account ID,ARR\n"), ImportOptions(kind="accounts"))
    wb = openpyxl.Workbook()
    wb.active.title = "Empty"
    wb.active.append(["Account ID", "ARR"])
    wb.save(tmp_path / "acc.xlsx")
    with pytest.raises(InputFileError, match="acc.xlsx") as exc:
        import_file(con, tmp_path / "acc.xlsx", ImportOptions(kind="accounts"))
    assert exc.value.hint


def test_failed_import_leaves_table_and_history_unchanged(con, write):
    import_file(con, write("acc.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))
    before = con.execute("SELECT * FROM accounts ORDER BY 1").fetchall()
    hist_before = history.history_frame(con)
    bad = write("acc2.csv", "Customer ID,ARR\nZ1,oops\n")
    with pytest.raises(ImportBlocked):
        import_file(con, bad, ImportOptions(kind="accounts"))
    assert con.execute("SELECT * FROM accounts ORDER BY 1").fetchall() == before
    assert history.history_frame(con).equals(hist_before)
    assert not [t for t in con.execute("SHOW ALL TABLES").fetchall() if t[2].startswith("__import")]


def test_crash_mid_import_rolls_back(con, write, monkeypatch):
    import_file(con, write("acc.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))
    before = con.execute("SELECT * FROM accounts ORDER BY 1").fetchall()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "record_import", boom)
    with pytest.raises(RuntimeError):
        import_file(con, write("acc3.csv", "Customer ID\nNEW\n"), ImportOptions(kind="accounts"))
    assert con.execute("SELECT * FROM accounts ORDER BY 1").fetchall() == before
    assert len(history.history_frame(con)) == 1


def test_append_adds_rows_and_columns_and_checks_keys(con, write):
    import_file(con, write("acc.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))
    more = write("more.csv", "Customer ID,ARR (USD),Region Code\nA7,10,EU\n")
    r = import_file(con, more, ImportOptions(kind="accounts", mode="append"))
    assert r.rows_in_table == 4
    assert con.execute("SELECT region_code FROM accounts WHERE account_id='A7'").fetchall() == [
        ("EU",)
    ]
    dup = write("dup.csv", "Customer ID,ARR (USD)\nA1,10\n")
    with pytest.raises(ImportBlocked) as exc:
        import_file(con, dup, ImportOptions(kind="accounts", mode="append"))
    assert exc.value.report.report.problems[0].code == "duplicate_in_table"
    assert con.execute("SELECT count(*) FROM accounts").fetchall()[0][0] == 4


def test_decimal_comma_numbers(con, write):
    text = "Account ID;ARR\nA1;1.234,50\nA2;99,9\n"
    import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"))
    assert con.execute("SELECT arr FROM accounts ORDER BY 1").fetchall() == [(99.9,), (1234.5,)]


def test_xlsx_serial_dates_and_title_rows(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Book"
    ws.append(["Accounts export"])
    ws.append([])
    ws.append(["Account ID", "Renewal Date", "ARR", "Notes"])
    ws.append(["A1", 46100, 100, "  "])  # 46100 = 2026-03-19 as an Excel serial in a plain cell
    ws.append(["A2", dt.datetime(2026, 5, 1), 200, "x"])
    path = tmp_path / "acc.xlsx"
    wb.save(path)
    r = import_file(con, path, ImportOptions(kind="accounts"))
    assert r.report.sheet == "Book"
    rows = con.execute("SELECT account_id, renewal_date, notes FROM accounts ORDER BY 1").fetchall()
    assert rows == [("A1", dt.date(2026, 3, 19), None), ("A2", dt.date(2026, 5, 1), "x")]


def test_xlsx_errors_name_sheet_and_row(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Account ID", "ARR"])
    ws.append(["A1", "n/a"])
    ws.append(["A2", "ten"])
    path = tmp_path / "acc.xlsx"
    wb.save(path)
    r = import_file(con, path, ImportOptions(kind="accounts"), commit=False)
    p = r.report.problems[0]
    assert p.code == "bad_value" and p.row == 3 and p.sheet == "Data"
    assert "acc.xlsx, sheet 'Data', row 3: column 'ARR'" in p.message


def test_profile_round_trip_and_match(con, write):
    path = write("export.csv", "Cust Ref,Company,Money\nA1,Acme,10\n")
    mapping = Mapping(
        "accounts", {"account_id": "Cust Ref", "account_name": "Company", "arr": "Money"}
    )
    profiles.save_profile(con, "My CRM", mapping, ["Cust Ref", "Company", "Money"])
    found = profiles.match_profile(con, "accounts", ["Cust Ref", "Company", "Money"])
    assert found is not None and found.mapping == mapping
    r = import_file(
        con, path, ImportOptions(kind="accounts", profile="My CRM"), mapping=found.mapping
    )
    assert r.committed
    assert con.execute("SELECT account_id, arr FROM accounts").fetchall() == [("A1", 10.0)]
    assert profiles.match_profile(con, "accounts", ["Other"]) is None


def test_null_words_read_as_empty_are_reported(con, write):
    text = "Account ID,ARR\nA1,n/a\nA2,-\nA3,5\n"
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"))
    assert r.report.problems == ()
    assert "Column 'ARR' (arr): 2 cells holding '-', 'n/a' read as empty." in r.report.notes


def test_unify_prefers_spelling_already_in_table_then_mixed_case(con, write):
    first = write("a.csv", "Account ID,Segment\nA1,ENTERPRISE\nA2,Enterprise\nA3,enterprise\n")
    r = import_file(con, first, ImportOptions(kind="accounts"), commit=False)
    assert "'Enterprise' (1) / 'ENTERPRISE' (1) / 'enterprise' (1)" in r.report.problems[0].message
    import_file(
        con, write("b.csv", "Account ID,Segment\nB1,ENTERPRISE\n"), ImportOptions(kind="accounts")
    )
    r = import_file(
        con, first, ImportOptions(kind="accounts", mode="append", unify_categories=True)
    )
    assert r.committed
    got = con.execute("SELECT DISTINCT segment FROM accounts").fetchall()
    assert got == [("ENTERPRISE",)]


def test_unanswered_date_order_does_not_reject_rows(con, write):
    text = "Account ID,Renewal Date\nA1,03/04/2026\nA2,05/06/2026\nA1,07/08/2026\n"
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"), commit=False)
    assert r.report.rows_rejected == 1  # the duplicate only, not every undecided date


def test_unify_keeps_scripts_and_grades_apart(con, write):
    text = (
        "Account ID,Segment\nA1,北美\nA2,欧洲\nA3,A+\nA4,A\nA5,A-\nA6,Mid-Market\nA7,mid market\n"
    )
    r = import_file(con, write("acc.csv", text), ImportOptions(kind="accounts"), commit=False)
    warnings = [p for p in r.report.problems if p.code == "category_variants"]
    assert len(warnings) == 1 and "'Mid-Market' (1) / 'mid market' (1)" in warnings[0].message


def test_append_widens_without_rounding_or_refuses(con, write):
    import_file(con, write("a.csv", "Account ID,Health\nA1,7\n"), ImportOptions(kind="accounts"))
    import_file(
        con,
        write("b.csv", "Account ID,Health\nA2,7.6\n"),
        ImportOptions(kind="accounts", mode="append"),
    )
    assert con.execute("SELECT health FROM accounts ORDER BY account_id").fetchall() == [
        (7.0,),
        (7.6,),
    ]
    import_file(
        con,
        write("c.csv", "Account ID,Launch\nA3,2026-01-02\n"),
        ImportOptions(kind="accounts", mode="append"),
    )
    with pytest.raises(Exception, match="column types differ: launch"):
        import_file(
            con,
            write("d.csv", "Account ID,Launch\nA4,12.5\n"),
            ImportOptions(kind="accounts", mode="append"),
        )
    assert con.execute("SELECT count(*) FROM accounts").fetchall() == [(3,)]


def test_leading_zeros_keep_extra_column_text(con, write):
    import_file(
        con,
        write("a.csv", "Account ID,Zip,Phone\nA1,01231,+4930123\nA2,10115,+4930999\n"),
        ImportOptions(kind="accounts"),
    )
    assert con.execute("SELECT zip, phone FROM accounts ORDER BY 1").fetchall() == [
        ("01231", "+4930123"),
        ("10115", "+4930999"),
    ]


def test_skip_bad_rows_never_empties_the_table(con, write):
    import_file(con, write("a.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))
    bad = write("b.csv", "Customer ID,ARR (USD)\nX1,lots\nX2,many\n")
    with pytest.raises(ImportBlocked) as exc:
        import_file(con, bad, ImportOptions(kind="accounts", skip_bad_rows=True))
    assert "no_rows_left" in [p.code for p in exc.value.report.report.problems]
    assert con.execute("SELECT count(*) FROM accounts").fetchall() == [(3,)]


def test_optional_dates_are_not_guessed_from_values(con, write):
    text = "Account ID,Account Name,Last Login,ARR\nA1,Acme,2026-01-02,5\n"
    r = import_file(con, write("a.csv", text), ImportOptions(kind="accounts"))
    assert "renewal_date" not in r.mapping.assignments
    text = "Account ID,When,Active Users\nA1,2026-01-05,5\n"
    r = import_file(con, write("u.csv", text), ImportOptions(kind="usage"))
    assert r.mapping.assignments["date"] == "When"
    assert any(
        "'When' was mapped to date only because values look like dates" in n for n in r.report.notes
    )


def test_interrupted_import_rolls_back_and_connection_stays_usable(con, write, monkeypatch):
    """Streamlit stops a run with a BaseException; the transaction must not stay open."""

    class StopRun(BaseException):
        pass

    def stop(*a, **k):
        raise StopRun()

    import workbench.ingest.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module.consistency, "category_problems", stop)
    with pytest.raises(StopRun):
        import_file(
            con,
            write("a.csv", "Account ID,Segment\nA1,SMB\n"),
            ImportOptions(kind="accounts", date_order="dmy"),
        )
    monkeypatch.undo()
    r = import_file(con, write("b.csv", "Account ID\nB1\n"), ImportOptions(kind="accounts"))
    assert r.committed


def test_reset_interrupted_by_progress_rolls_back(con, write):
    from workbench.ingest.sample import reset_to_sample

    import_file(con, write("a.csv", ACCOUNTS_OK), ImportOptions(kind="accounts"))

    class StopRun(BaseException):
        pass

    calls = []

    def progress(fraction, message):
        calls.append(fraction)
        if len(calls) == 3:
            raise StopRun()

    with pytest.raises(StopRun):
        reset_to_sample(con, progress=progress)
    assert con.execute("SELECT count(*) FROM accounts").fetchall() == [(3,)]
    assert sorted(t[0] for t in con.execute("SHOW TABLES").fetchall()) == [
        "_schema_migrations",
        "accounts",
    ]
    assert reset_to_sample(con)["accounts"] == 2000
