"""The direct path for clean CSVs gives the same table as the general path, or steps aside."""

from __future__ import annotations

import pytest

from workbench.errors import ImportBlocked
from workbench.ingest.direct import NotDirect, import_direct
from workbench.ingest.pipeline import (
    ImportOptions,
    import_file,
    run_import,
    sha256_file,
    staged_file,
    suggest_for,
)
from workbench.ingest.sample import SAMPLE_DIR, manifest
from workbench.storage.workspace import Workspace, connect

CSV_SAMPLES = [e for e in manifest() if e.file.endswith(".csv")]


def table_snapshot(con, name):
    schema = con.execute(f'DESCRIBE "{name}"').fetchall()
    rows = con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
    return [(c[0], c[1]) for c in schema], rows


def general_import(con, path, options):
    with staged_file(con, path) as staged:
        mapping = suggest_for(con, staged, options.kind).mapping
        return run_import(con, staged, mapping, options, file_sha256=sha256_file(path))


@pytest.mark.parametrize("entry", CSV_SAMPLES, ids=lambda e: e.file)
def test_direct_equals_general_on_the_sample_files(entry, tmp_path):
    path = SAMPLE_DIR / entry.file
    options = ImportOptions(kind=entry.kind)
    a = connect(Workspace(tmp_path / "direct"))
    b = connect(Workspace(tmp_path / "general"))
    report, _, imported, _, _ = import_direct(a, path, options, None, sha256_file(path))
    general = general_import(b, path, options)
    assert general.committed
    assert imported == general.rows_imported
    assert table_snapshot(a, entry.kind) == table_snapshot(b, entry.kind)
    assert [p.code for p in report.problems] == [p.code for p in general.report.problems]


def test_direct_equals_general_with_padding_blanks_and_extras(write, tmp_path):
    text = "Account ID,Account Name,Segment,ARR,Renewal Date,Plan,Seats Extra,Since\n"
    text += "A1, Acme ,Enterprise,1200.5,2026-03-01,Gold,5,2020-01-02\n"
    text += "A2,   ,SMB,,2026-04-01, ,7,2021-02-03\n"
    text += "A3,Gamma,smb,3,,Silver,,\n"
    path = write("acc.csv", text)
    a = connect(Workspace(tmp_path / "direct"))
    b = connect(Workspace(tmp_path / "general"))
    import_direct(a, path, ImportOptions(kind="accounts"), None, "x")
    general_import(b, path, ImportOptions(kind="accounts"))
    assert table_snapshot(a, "accounts") == table_snapshot(b, "accounts")
    assert ("seats_extra", "BIGINT") in table_snapshot(a, "accounts")[0]
    assert ("since", "DATE") in table_snapshot(a, "accounts")[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Account ID;ARR;X\nA1;1,5;x\n", "dialect"),
        ("Account ID,ARR,X\nA1,lots,x\n", "sample values"),
        ("Account ID,ARR,X\nA1,n/a,x\n", "sample values"),
        ("Account ID,Renewal Date,X\nA1,03/04/2026,x\n", "dates need an order"),
        ("Account ID,ARR,X\nA1,1,x\nA1,2,y\n", "repeated keys"),
        ("Account ID,ARR,X\n,1,x\n", "missing required"),
    ],
)
def test_not_direct_changes_nothing(con, write, text, reason):
    path = write("f.csv", text)
    with pytest.raises(NotDirect, match=reason):
        import_direct(con, path, ImportOptions(kind="accounts"), None, "x")
    assert leftovers(con) == []
    assert con.execute("SELECT count(*) FROM wb.import_history").fetchall() == [(0,)]


def test_bad_value_beyond_the_sample_falls_back_to_the_full_report(con, write):
    rows = "".join(f"A{i},{i},x\n" for i in range(6000))
    path = write("big.csv", "Account ID,ARR,X\n" + rows + "A9999,lots,x\n")
    with pytest.raises(NotDirect):
        import_direct(con, path, ImportOptions(kind="accounts"), None, "x")
    with pytest.raises(ImportBlocked) as exc:
        import_file(con, path, ImportOptions(kind="accounts"))
    problem = exc.value.report.report.problems[0]
    assert problem.code == "bad_value" and problem.row == 6002 and problem.value == "lots"


def leftovers(con):
    return con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '__')"
    ).fetchall()


def test_direct_path_types_extras_over_the_whole_file(tmp_path, write, monkeypatch):
    import workbench.ingest.direct as direct

    monkeypatch.setattr(direct, "SAMPLE_ROWS", 3)
    rows = "".join(f"A{i},,2024-01-0{1 + i % 9},{i}\n" for i in range(3))
    rows += "A8,12,2024-01-04 10:30,3\nA9,01234,2024-01-05,2\n"
    path = write("acc.csv", "Account ID,Later Number,Later Date,Seats\n" + rows)
    a = connect(Workspace(tmp_path / "direct"))
    b = connect(Workspace(tmp_path / "general"))
    import_direct(a, path, ImportOptions(kind="accounts"), None, "x")
    general_import(b, path, ImportOptions(kind="accounts"))
    assert table_snapshot(a, "accounts") == table_snapshot(b, "accounts")
    schema = dict(table_snapshot(a, "accounts")[0])
    assert schema["later_number"] == "VARCHAR" and schema["later_date"] == "VARCHAR"


def test_fraction_in_an_integer_column_beyond_the_sample_falls_back(con, write, monkeypatch):
    import workbench.ingest.direct as direct

    monkeypatch.setattr(direct, "SAMPLE_ROWS", 2)
    path = write(
        "u.csv",
        "Account ID,Week Start,Active Users,X\nA1,2026-01-05,3,x\nA2,2026-01-05,4,x\nA3,2026-01-05,1.5,x\n",
    )
    with pytest.raises(NotDirect):
        import_direct(con, path, ImportOptions(kind="usage"), None, "x")
    assert leftovers(con) == []
    r = import_file(con, path, ImportOptions(kind="usage"), commit=False)
    assert [(p.code, p.row, p.value) for p in r.report.problems] == [("bad_value", 4, "1.5")]


def test_header_only_file_leaves_no_sample_table(con, write):
    with pytest.raises(NotDirect):
        import_direct(
            con, write("h.csv", "Account ID,ARR,X\n"), ImportOptions(kind="accounts"), None, "x"
        )
    assert leftovers(con) == []
