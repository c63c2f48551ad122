"""The CLI over the library: import, tables, sql, profiles, delete, reset-sample, errors."""

from __future__ import annotations

import openpyxl
import pytest

from workbench.cli import main


@pytest.fixture
def run(ws, capsys):
    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(ws.root), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_import_tables_sql_round_trip(run, write, tmp_path):
    path = write("acc.csv", "Customer ID,ARR\nA1,10\nA2,=1+1\n")
    code, out, err = run("import", str(path), "--kind", "accounts", "--map", "account_name=ARR")
    # ARR now holds text (mapped to account_name), so it imports; the formula stays text.
    assert code == 0, err
    assert "Imported 2 rows into 'accounts'" in out
    code, out, _ = run("tables")
    assert code == 0 and "accounts" in out and "2 rows" in out
    target = tmp_path / "out.xlsx"
    code, out, _ = run("sql", "SELECT * FROM accounts ORDER BY 1", "--out", str(target))
    assert code == 0 and "Wrote 2 rows" in out
    ws = openpyxl.load_workbook(target).active
    assert ws["B3"].value == "'=1+1"


def test_bad_input_nonzero_exit_clear_message(run, write, tmp_path):
    path = write("acc.csv", "Customer ID,ARR\nA1,lots\n")
    rejected = tmp_path / "rejected.csv"
    code, out, err = run("import", str(path), "--kind", "accounts", "--rejected-out", str(rejected))
    assert code == 1
    assert "acc.csv, row 2: column 'ARR' (arr) has 'lots', which is not a number" in out
    assert "Nothing was imported" in err
    assert "lots" in rejected.read_text(encoding="utf-8-sig")
    code, out, err = run("import", str(tmp_path / "missing.csv"), "--kind", "accounts")
    assert code == 1 and "File not found" in err and "Traceback" not in err


def test_sql_is_read_only(run, write):
    run("import", str(write("acc.csv", "Account ID\nA1\n")), "--kind", "accounts")
    code, _, err = run("sql", "DROP TABLE accounts")
    assert code == 1 and "read-only" in err
    assert "1 rows" in run("tables")[1]


def test_mapping_profile_and_dry_run(run, write, ws):
    path = write("crm.csv", "Ref,Company\nA1,Acme\n")
    code, out, _ = run(
        "import",
        str(path),
        "--kind",
        "accounts",
        "--map",
        "account_id=Ref",
        "--save-profile",
        "crm",
        "--dry-run",
    )
    assert code == 0 and "Dry run" in out and "Saved mapping profile 'crm'" in out
    assert "No tables yet" in run("tables")[1]
    code, out, _ = run("import", str(path), "--kind", "accounts", "--mapping", "crm")
    assert code == 0 and "Imported 1 rows" in out
    assert "crm" in run("profiles")[1]
    from workbench.storage.profiles import get_profile
    from workbench.storage.workspace import connect

    con = connect(ws)
    assert get_profile(con, "crm").headers == ("Ref", "Company")
    con.close()


def test_delete_needs_yes(run, write):
    run("import", str(write("acc.csv", "Account ID\nA1\n")), "--kind", "accounts")
    code, _, err = run("delete", "accounts")
    assert code == 1 and "--yes" in err
    code, out, _ = run("delete", "accounts", "--yes")
    assert code == 0 and "Deleted table 'accounts'" in out
    code, _, err = run("delete", "nope", "--yes")
    assert code == 1 and "no table 'nope'" in err


def test_unknown_sheet_lists_sheets(run, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    wb.active.append(["Account ID"])
    wb.active.append(["A1"])
    path = tmp_path / "b.xlsx"
    wb.save(path)
    code, _, err = run("import", str(path), "--kind", "accounts", "--sheet", "Nope")
    assert code == 1 and "Accounts" in err
    code, out, _ = run("sheets", str(path))
    assert code == 0 and out.strip() == "Accounts"


def test_unusable_paths_get_messages_not_tracebacks(tmp_path, capsys):
    a_file = tmp_path / "wsfile"
    a_file.write_text("x")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "workbench.duckdb").write_bytes(b"not a database")
    folder_as_out = tmp_path / "out.csv"
    folder_as_out.mkdir()
    cases = [
        (["--workspace", str(a_file), "tables"], "is a file, not a folder"),
        (["--workspace", str(damaged), "tables"], "Cannot open the workspace database"),
        (
            ["--workspace", str(tmp_path / "ok"), "sql", "SELECT 1", "--out", str(folder_as_out)],
            "Cannot write",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert message in err and "What to do:" in err and "Traceback" not in err
