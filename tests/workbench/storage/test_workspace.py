"""Workspace folder, migrations, and the lock between processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.config import resolve_workspace
from workbench.errors import WorkspaceLocked
from workbench.storage.migrate import available_migrations, current_version, migrate
from workbench.storage.workspace import Workspace, connect

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_workspace(ws: Workspace, seconds: float) -> subprocess.Popen[str]:
    ws.root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws.db_path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_resolve_workspace_order(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace() == (tmp_path / "workspace").resolve()
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "env"))
    assert resolve_workspace() == tmp_path / "env"
    assert resolve_workspace(tmp_path / "cli") == tmp_path / "cli"


def test_migrations_run_once_in_order(ws):
    con = connect(ws)
    versions = [m.version for m in available_migrations()]
    assert versions == sorted(versions) and versions[0] == 1
    assert current_version(con) == versions[-1]
    assert migrate(con) == []  # idempotent
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name='wb'"
        ).fetchall()
    }
    assert {"import_history", "mapping_profiles", "tables"} <= tables
    con.close()


def test_lock_error_names_the_holder(ws):
    proc = hold_workspace(ws, 30)
    try:
        start = time.monotonic()
        with pytest.raises(WorkspaceLocked) as exc:
            connect(ws, wait_seconds=0.5)
        assert time.monotonic() - start >= 0.5
        assert f"process {proc.pid}" in exc.value.message
        assert "python" in exc.value.message
        assert "--workspace" in exc.value.hint
    finally:
        proc.kill()
        proc.wait()


def test_connect_waits_for_a_brief_lock(ws):
    proc = hold_workspace(ws, 1.0)
    try:
        con = connect(ws, wait_seconds=10)
        assert con.execute("SELECT 1").fetchall() == [(1,)]
        con.close()
    finally:
        proc.wait()


def cli(ws: Workspace, *args: str, wait: str = "0.5") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKBENCH_LOCK_WAIT": wait}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(ws.root), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        timeout=120,
    )


def test_cli_while_workspace_is_open_explains_and_changes_nothing(ws, write):
    con = connect(ws)
    con.execute("CREATE TABLE accounts AS SELECT 'A1' AS account_id")
    con.close()
    proc = hold_workspace(ws, 60)
    try:
        path = write("acc.csv", "Account ID\nB1\n")
        for args in (("tables",), ("import", str(path), "--kind", "accounts"), ("sql", "SELECT 1")):
            out = cli(ws, *args)
            assert out.returncode == 1, out
            assert "is in use by process" in out.stderr
            assert "Traceback" not in out.stderr and "IO Error" not in out.stderr
    finally:
        proc.kill()
        proc.wait()
    con = connect(ws)
    assert con.execute("SELECT * FROM accounts").fetchall() == [("A1",)]
    con.close()
