"""What writes audit entries: imports, deletions, resets, workflow versions, draft runs,
prompt saves and exports, each exactly one entry, in the same transaction as the change."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from workbench import audit
from workbench.cli import main
from workbench.drafting.prompts import DEFAULT_ACTIONS, save_text
from workbench.drafting.run import draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.errors import ImportBlocked, WorkbenchError
from workbench.export.logged import write_export, write_table_export
from workbench.ingest.pipeline import ImportOptions, import_file, sha256_file
from workbench.ingest.sample import manifest, reset_to_sample
from workbench.storage.tables import drop_table, list_tables
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, dump_workflow, parse_workflow
from workbench.workflow.preview import preview


def added(con: duckdb.DuckDBPyConnection, after: int) -> pd.DataFrame:
    """The entries written after entry number ``after``, oldest first."""
    df = audit.entries(con)
    return df[df["seq"] > after].reset_index(drop=True)


def seq(con: duckdb.DuckDBPyConnection) -> int:
    top = audit.head(con)
    assert top is not None
    return top.seq


def detail(row: pd.Series) -> dict:
    return json.loads(row["detail"])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed workspace holding the sample book, reset by 'Ana'."""
    ws = Workspace(tmp_path_factory.mktemp("audit_wiring") / "ws")
    con = connect(ws)
    reset_to_sample(con, actor="Ana")
    con.close()
    return ws.root


@pytest.fixture
def book(prepared: Path, tmp_path: Path):
    """A writable copy of the sample workspace: (workspace, connection)."""
    root = tmp_path / "book"
    shutil.copytree(prepared, root)
    ws = Workspace(root)
    con = connect(ws)
    yield ws, con
    con.close()


# --- imports, deletions, resets -------------------------------------------------------------


def test_an_import_writes_one_entry_with_the_file_and_counts(con, write):
    path = write("acc.csv", "Account ID,Segment,ARR\nA1,SMB,10\nA2,Enterprise,20\n")
    done = import_file(con, path, ImportOptions(kind="accounts", actor="Dana"))
    (entry,) = audit.entries(con).to_dict("records")
    assert (entry["kind"], entry["actor"]) == ("import", "Dana")
    assert entry["subject"] == "acc.csv into table accounts"
    assert json.loads(entry["detail"]) == {
        "import_id": done.import_id,
        "table": "accounts",
        "kind": "accounts",
        "mode": "create",
        "file": "acc.csv",
        "sheet": None,
        "sha256": sha256_file(path),
        "rows_in_file": 2,
        "rows_imported": 2,
        "rows_skipped": 0,
        "rows_in_table": 2,
        "profile": None,
    }
    assert audit.verify(con).ok


def test_an_import_skipping_bad_rows_counts_them(con, write):
    path = write("acc.csv", "Account ID,ARR\nA1,10\nA2,lots\nA3,30\n")
    # No actor given: "local user".
    import_file(con, path, ImportOptions(kind="accounts", skip_bad_rows=True))
    path = write("more.csv", "Account ID,ARR\nB1,1\nB2,many\n")
    import_file(con, path, ImportOptions(kind="accounts", mode="append", skip_bad_rows=True))
    first, second = (detail(r) for _, r in audit.entries(con).iterrows())
    assert first["rows_imported"] == 2 and first["rows_skipped"] == 1  # lots left out
    assert (second["mode"], second["rows_imported"], second["rows_skipped"]) == ("append", 1, 1)
    assert second["rows_in_table"] == 3
    assert set(audit.entries(con)["actor"]) == {"local user"}


def test_a_failed_import_logs_nothing_and_imports_nothing(con, write):
    path = write("acc.csv", "Account ID,ARR\nA1,lots\n")
    with pytest.raises(ImportBlocked):
        import_file(con, path, ImportOptions(kind="accounts", actor="Dana"))
    assert audit.entries(con).empty and audit.head(con) == audit.Head(0, audit.GENESIS)
    assert not list_tables(con)
    assert con.execute("SELECT count(*) FROM wb.import_history").fetchall() == [(0,)]


def test_an_import_whose_entry_fails_is_rolled_back(con, write):
    # With the head record gone nothing can be appended; the table must not change either.
    con.execute("DELETE FROM wb.audit_head")
    path = write("acc.csv", "Account ID\nA1\n")
    with pytest.raises(WorkbenchError, match="head record is missing"):
        import_file(con, path, ImportOptions(kind="accounts"))
    assert not list_tables(con)
    assert con.execute("SELECT count(*) FROM wb.import_history").fetchall() == [(0,)]


def test_deleting_a_table_is_logged(con, write):
    import_file(con, write("acc.csv", "Account ID\nA1\nA2\nA3\n"), ImportOptions(kind="accounts"))
    before = seq(con)
    assert drop_table(con, "accounts", actor="Lee") == 3
    (entry,) = added(con, before).to_dict("records")
    assert (entry["kind"], entry["actor"], entry["subject"]) == (
        "import",
        "Lee",
        "table accounts deleted",
    )
    assert json.loads(entry["detail"]) == {
        "import_id": 2,
        "table": "accounts",
        "mode": "delete",
        "rows": 3,
    }
    assert audit.verify(con).ok


def test_a_reset_logs_what_it_dropped_then_each_sample_file(book):
    _, con = book
    files = manifest()
    rows = {t.name: t.rows for t in list_tables(con)}
    # The prepared reset: the reset, one import per file, the example workflow as v1.
    kinds = list(audit.entries(con)["kind"])
    assert kinds == ["import"] * (1 + len(files)) + ["workflow_version"]
    before = seq(con)
    reset_to_sample(con, actor="Lee")
    new = added(con, before)
    assert list(new["kind"]) == ["import"] * (1 + len(files))  # the workflow is kept
    assert set(new["actor"]) == {"Lee"}
    reset = detail(new.iloc[0])
    assert new["subject"].iloc[0] == "workspace reset to the sample book"
    assert reset == {"mode": "reset", "dropped": rows, "files": [f.file for f in files]}
    imported = [detail(r) for _, r in new.iloc[1:].iterrows()]
    assert [d["file"] for d in imported] == [f.file for f in files]
    assert all(d["profile"] == "sample" and d["mode"] == "create" for d in imported)
    assert {d["table"]: d["rows_in_table"] for d in imported} == rows
    assert audit.verify(con).ok


# --- workflow versions, drafts, prompts ----------------------------------------------------


def test_workflow_saves_and_restores_are_logged_and_no_change_is_not(con, ws):
    text = default_workflow_text()
    v1 = store.save_version(con, text, "Dana", "first", ws)
    (entry,) = audit.entries(con).to_dict("records")
    assert (entry["kind"], entry["actor"]) == ("workflow_version", "Dana")
    assert entry["subject"] == f"workflow {v1.name} v1"
    assert json.loads(entry["detail"]) == {
        "workflow": v1.name,
        "version": 1,
        "reason": "first",
        "sha256": v1.sha256,
        "source": "workflow.yaml",
    }

    # The same content (comments and layout aside) saves nothing and logs nothing.
    head = audit.head(con)
    same = store.save_version(con, "# a comment\n" + text, "Lee", "again", ws)
    assert same.version == 1 and audit.head(con) == head

    wf = parse_workflow(text)
    changed = wf.model_copy(update={"description": "changed"})
    v2 = store.save_version(con, dump_workflow(changed), "Lee", "describe it", ws)
    restored = store.restore_version(con, v1.name, 1, "Ana", "back to the first", ws)
    assert (v2.version, restored.version) == (2, 3)
    saved, back = audit.entries(con).iloc[1:].to_dict("records")
    assert (saved["actor"], detail(saved)["version"]) == ("Lee", 2)
    assert "restored_from" not in detail(saved)
    assert (back["actor"], back["subject"]) == ("Ana", f"workflow {v1.name} v3")
    assert detail(back)["restored_from"] == "v1" and detail(back)["reason"] == "back to the first"

    # Restoring what is already the latest content is no change either.
    head = audit.head(con)
    assert store.restore_version(con, v1.name, 1, "Ana", "again", ws).version == 3
    assert audit.head(con) == head
    assert audit.verify(con).ok


def test_a_draft_run_writes_one_entry_when_it_ends(book):
    _, con = book
    version = store.latest(con)
    assert version is not None
    wf = version.workflow
    pv = preview(con, wf, default_as_of(con))
    before = seq(con)
    report = draft_workflow(
        con, wf, pv, LLMSettings(), workflow_version=version.version, limit=4, actor="Dana"
    )
    (entry,) = added(con, before).to_dict("records")
    assert (entry["kind"], entry["actor"]) == ("draft", "Dana")
    assert entry["subject"] == f"draft run {report.run_id}: workflow {wf.name} v{version.version}"
    d = json.loads(entry["detail"])
    assert d["run_id"] == report.run_id and d["version"] == version.version
    assert d["as_of"] == pv.as_of.isoformat() and d["accounts"] == 4 and d["drafted"] == 4
    assert d["by_outcome"] == report.summary.by_outcome and sum(d["by_outcome"].values()) == 4
    assert d["drafter"] == LLMSettings().describe() and d["cancelled"] is False

    # A stopped run is logged once too, as stopped.
    seen: list[object] = []
    before = seq(con)
    stopped = draft_workflow(
        con,
        wf,
        pv,
        LLMSettings(),
        limit=6,
        on_result=lambda r, done, total: seen.append(r),
        should_stop=lambda: len(seen) >= 2,
    )
    (entry,) = added(con, before).to_dict("records")
    d = json.loads(entry["detail"])
    assert entry["actor"] == "local user" and d["run_id"] == stopped.run_id
    assert d["cancelled"] is True and d["drafted"] < 6 and d["version"] is None
    assert audit.verify(con).ok


def test_a_prompt_template_save_is_logged_as_other(con):
    assert save_text(con, "alert", DEFAULT_ACTIONS["alert"]) is None  # unchanged: nothing
    assert audit.entries(con).empty
    saved = save_text(con, "alert", DEFAULT_ACTIONS["alert"] + "\nBe brief.", saved_by="Ana")
    assert saved is not None
    (entry,) = audit.entries(con).to_dict("records")
    assert (entry["kind"], entry["actor"], entry["subject"]) == (
        "other",
        "Ana",
        "prompt template alert saved",
    )
    assert json.loads(entry["detail"])["version"] == saved.version


# --- exports -------------------------------------------------------------------------------


def test_cli_exports_log_the_file_rows_and_hash(ws, write, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "cli-user")

    def run(*args: str) -> int:
        code = main(["--workspace", str(ws.root), *args])
        capsys.readouterr()
        return code

    assert run("import", str(write("acc.csv", "Account ID,ARR\nA1,10\nA2,20\n")), "--kind",
               "accounts") == 0  # fmt: skip
    out = tmp_path / "out" / "result.xlsx"
    assert run("sql", "SELECT * FROM accounts ORDER BY 1", "--out", str(out)) == 0
    log = tmp_path / "log.csv"
    assert run("audit", "show", "--kind", "import", "--out", str(log)) == 0
    assert run("sql", "SELECT 1", "--out", str(tmp_path / "bad.txt")) == 1  # refused: no entry

    con = connect(ws)
    try:
        entries = audit.entries(con)
        assert list(entries["kind"]) == ["import", "export", "export"]
        assert set(entries["actor"]) == {"cli-user"}
        sql_entry, log_entry = (detail(r) for _, r in entries.iloc[1:].iterrows())
        assert entries["subject"].iloc[1] == "query result: result.xlsx"
        assert sql_entry == {
            "file": "result.xlsx",
            "what": "query result",
            "rows": 2,
            "bytes": out.stat().st_size,
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        }
        assert log_entry["what"] == "audit log" and log_entry["rows"] == 1
        assert log_entry["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
        assert log_entry["filters"] == {"kind": ["import"]}
        assert not (tmp_path / "bad.txt").exists()
        assert audit.verify(con).ok
    finally:
        con.close()


def test_an_export_that_cannot_be_written_logs_nothing(con, tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(WorkbenchError, match="Cannot write"):
        write_export(con, folder, b"data", what="something")  # a folder, not a file
    with pytest.raises(WorkbenchError, match="unknown file type"):
        write_table_export(con, pd.DataFrame({"a": [1]}), tmp_path / "x.json", what="x")
    assert audit.entries(con).empty
    assert not list(tmp_path.glob("*.part")) and not list(folder.iterdir())


def test_an_export_whose_entry_fails_leaves_no_file(con, tmp_path):
    con.execute("DELETE FROM wb.audit_head")
    target = tmp_path / "out.csv"
    with pytest.raises(WorkbenchError, match="head record is missing"):
        write_export(con, target, b"a,b\n", what="x")
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_the_chain_holds_across_every_kind_of_entry(book, tmp_path):
    ws, con = book
    version = store.latest(con)
    assert version is not None
    wf = version.workflow
    store.save_version(con, dump_workflow(wf.model_copy(update={"description": "x"})), "A", "b", ws)
    store.restore_version(con, wf.name, version.version, "A", "back", ws)
    draft_workflow(con, wf, preview(con, wf, default_as_of(con)), LLMSettings(), limit=2)
    save_text(con, "alert", DEFAULT_ACTIONS["alert"] + "\nShort.", saved_by="A")
    write_export(con, tmp_path / "x.csv", b"a\n1\n", what="x", rows=1, actor="A")
    drop_table(con, "tickets", actor="A")
    kinds = set(audit.entries(con)["kind"])
    assert kinds == {"import", "workflow_version", "draft", "other", "export"}
    result = audit.verify(con)
    assert result.ok and result.entries == seq(con), result.problems
