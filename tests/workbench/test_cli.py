"""The CLI over the library: import, tables, sql, profiles, delete, reset-sample, errors."""

from __future__ import annotations

import json

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


WORKFLOW_ACTIONS = ["validate", "save", "show", "history", "diff", "restore", "schema"]


@pytest.fixture
def workflow_file(write):
    from workbench.workflow.loader import default_workflow_text

    return write("wf.yaml", default_workflow_text())


def test_workflow_validate_needs_no_workspace(run, ws, workflow_file, write):
    code, out, err = run("workflow", "validate", str(workflow_file))
    assert code == 0, err
    assert out.strip() == (
        f"{workflow_file} is a valid workflow: Senior CSM for at-risk renewals "
        "(2 conditions, 4 escalation rules, action assign_csm)"
    )
    assert not ws.root.exists()  # the workspace was never opened
    bad = write(
        "bad.yaml",
        workflow_file.read_text()
        .replace("value: 60}", "value: [60]}")
        .replace("weight: 30", "weight: 31"),
    )
    code, out, err = run("workflow", "validate", str(bad))
    assert code == 1 and out == ""
    assert f"{bad} is not a valid workflow (2 problems)" in err
    assert "health.inputs: weights sum to 101; they must sum to 100" in err
    assert "conditions.all[0].value: should be true or false, a number, text or a date" in err
    assert "Traceback" not in err and "What to do:" in err
    code, _, err = run("workflow", "validate", str(write("broken.yaml", "name: [\n")))
    assert code == 1 and "broken.yaml is not valid YAML: line 2, column 1" in err
    code, _, err = run("workflow", "validate", str(ws.root / "missing.yaml"))
    assert code == 1 and "File not found" in err


def test_workflow_save_history_show_diff_restore(run, workflow_file, ws):
    code, _, err = run("workflow", "show")
    assert code == 1 and "No workflow is saved" in err
    code, out, err = run(
        "workflow", "save", str(workflow_file), "--reason", "first", "--author", "alice"
    )
    assert code == 0, err
    assert out.strip() == "Saved Senior CSM for at-risk renewals v1."
    code, out, _ = run("workflow", "save", str(workflow_file), "--reason", "again")
    assert out.strip() == "No change: Senior CSM for at-risk renewals is already v1."
    text = workflow_file.read_text().replace("value: 60}", "value: 55}  # after Q3")
    workflow_file.write_text(text)
    code, out, _ = run("workflow", "save", str(workflow_file), "--reason", "lower threshold")
    assert code == 0 and "v2." in out

    code, out, _ = run("workflow", "history")
    lines = out.splitlines()
    assert lines[0] == "Senior CSM for at-risk renewals:"
    assert lines[1].split()[0] == "v2" and lines[1].endswith("lower threshold")
    assert lines[2].split()[0] == "v1" and "alice" in lines[2] and lines[2].endswith("first")

    code, out, _ = run("workflow", "show")
    assert code == 0 and out == text
    code, out, _ = run("workflow", "show", "--version", "1")
    assert "value: 60}" in out
    code, _, err = run("workflow", "show", "--version", "9")
    assert code == 1 and "Versions: v1, v2." in err
    code, _, err = run("workflow", "show", "--name", "Nope")
    assert code == 1 and "No workflow named 'Nope'" in err

    code, out, _ = run("workflow", "diff", "1", "v2")
    assert code == 0
    assert "conditions.all[0] (health_below).value: 60 → 55" in out
    assert "--- v1 (" in out and "+++ v2 (" in out and "+      value: 55" in out
    code, out, _ = run("workflow", "diff", "2", "2")
    assert "have the same content" in out

    code, out, _ = run("workflow", "restore", "1", "--reason", "55 fired too often")
    assert code == 0 and out.strip() == (
        "Saved Senior CSM for at-risk renewals v3 with the content of v1."
    )
    mirror = ws.root / "workflows" / "senior-csm-for-at-risk-renewals"
    assert sorted(p.name for p in mirror.iterdir())[-1] == "v0003.yaml"


def test_workflow_usage_errors_and_schema(run, capsys):
    with pytest.raises(SystemExit) as info:
        run("workflow", "diff", "x", "1")
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        run("workflow", "save", "wf.yaml")  # --reason is required
    assert info.value.code == 2
    capsys.readouterr()
    code, out, _ = run("workflow", "schema")
    assert code == 0 and json.loads(out)["title"] == "Workflow"


@pytest.mark.parametrize("action", WORKFLOW_ACTIONS)
def test_workflow_actions_documented(action):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"workbench workflow {action}" in readme


def test_workflow_action_list_is_complete():
    import argparse

    from workbench.cli import _parser

    def choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return dict(action.choices)

    assert sorted(choices(choices(_parser())["workflow"])) == sorted(WORKFLOW_ACTIONS)
