"""`workbench draft`: the template drafter offline, a model over loopback, --limit, --out."""

from __future__ import annotations

import csv
import os
import socket

import openpyxl
import pytest

from tests.llm_server import LLMServer
from workbench.cli import main
from workbench.drafting.settings import ENV_PREFIX
from workbench.ingest.sample import reset_to_sample
from workbench.storage.workspace import Workspace, connect


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("cli_draft") / "ws")
    con = connect(ws)
    reset_to_sample(con)
    con.close()
    return ws


@pytest.fixture(autouse=True)
def _no_developer_settings(tmp_path, monkeypatch):
    """No .streamlit/secrets.toml and no WORKBENCH_LLM_* from the developer's machine."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def cli(sample_ws, capsys):
    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(sample_ws.root), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def _table_rows(out: str) -> list[str]:
    """The printed table's data rows (between the header line and the "Saved as" line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["account_id", "account"])
    end = next(i for i, line in enumerate(lines) if line.startswith("Saved as draft run"))
    return [line for line in lines[start + 1 : end] if line.strip()]


def test_template_drafter_drafts_offline_with_progress_and_a_table(cli, monkeypatch):
    opened: list[object] = []
    real = socket.socket.connect

    def guarded(self, address):  # a loopback-only world: any other address fails the test
        opened.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    code, out, err = cli("draft", "--limit", "4")
    assert code == 0, err
    assert opened == []
    first = out.splitlines()[0]
    assert "drafting 4 (assign_csm) with template drafter (no LLM configured)" in first
    assert "Drafted 4 of 4 accounts (4 template)" in out
    rows = _table_rows(out)
    assert len(rows) == 4
    assert all(" template " in r and "Assignment: " in r for r in rows)
    assert "drafted 4/4" in err


def test_all_fired_accounts_are_drafted_without_a_limit(cli, tmp_path):
    out_file = tmp_path / "drafts.csv"
    code, out, err = cli("draft", "--out", str(out_file))
    assert code == 0, err
    fired = int(out.split(" fires on ")[1].split()[0])
    assert f"Drafted {fired} of {fired} accounts" in out
    assert len(_table_rows(out)) == fired
    assert f"drafted {fired}/{fired}" in err
    with out_file.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == fired
    assert {"account_id", "outcome", "original subject", "original body"} <= set(rows[0])
    assert {r["outcome"] for r in rows} == {"template"}
    assert f"Wrote {fired} drafts to {out_file}." in out


def test_xlsx_out_writes_the_drafts_workbook(cli, tmp_path):
    out_file = tmp_path / "drafts.xlsx"
    code, out, err = cli("draft", "--limit", "3", "--out", str(out_file))
    assert code == 0, err
    wb = openpyxl.load_workbook(out_file)
    assert {"Summary", "Drafts"} <= set(wb.sheetnames)
    assert wb["Drafts"].max_row == 1 + 3


def test_a_model_over_loopback_then_the_cache(cli):
    with LLMServer() as srv:
        args = ("draft", "--model", "openai/fake", "--api-base", srv.api_base, "--limit", "3")
        code, out, err = cli(*args)
        assert code == 0, err
        assert f"with openai/fake at {srv.api_base} (local, redaction off)" in out
        assert "Drafted 3 of 3 accounts (3 ok)" in out and "3 requests" in out
        assert len(srv.requests) == 3
        rows = _table_rows(out)
        assert len(rows) == 3 and all(" ok " in r and "Renewal check-in for" in r for r in rows)

        code, out, err = cli(*args)  # the same packets and prompts: answers from the cache
        assert code == 0, err
        assert "(3 cached)" in out and len(srv.requests) == 3

        code, out, err = cli(*args, "--no-cache")
        assert code == 0, err
        assert "(3 ok)" in out and len(srv.requests) == 6


def test_environment_variables_choose_the_model(cli, monkeypatch):
    with LLMServer() as srv:
        monkeypatch.setenv(f"{ENV_PREFIX}MODEL", "openai/fake-env")
        monkeypatch.setenv(f"{ENV_PREFIX}API_BASE", srv.api_base)
        code, out, err = cli("draft", "--limit", "1", "--no-cache")
        assert code == 0, err
        assert "with openai/fake-env at" in out
        assert srv.requests and srv.requests[0]["model"] == "fake-env"


def test_an_unreachable_model_falls_back_to_the_template_drafter(cli):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = cli(
        "draft", "--model", "openai/fake", "--api-base", f"http://127.0.0.1:{port}/v1",
        "--limit", "2", "--no-cache",
    )  # fmt: skip
    assert code == 0, err
    assert "(2 fallback)" in out
    assert all(" fallback " in r for r in _table_rows(out))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--limit", "0"), "--limit is 0; it must be 1 or more."),
        (("--limit", "-3"), "--limit is -3; it must be 1 or more."),
        (("--out", "drafts.txt"), "unknown file type '.txt'"),
    ],
)
def test_bad_flags_are_refused_before_drafting(cli, sample_ws, argv, message):
    con = connect(sample_ws)
    try:
        before = con.execute("SELECT count(*) FROM wb.draft_runs").fetchone()
    finally:
        con.close()
    code, out, err = cli("draft", *argv)
    assert code == 1
    assert f"Error: {message}" in err or message in err
    assert "What to do:" in err
    con = connect(sample_ws)
    try:
        assert con.execute("SELECT count(*) FROM wb.draft_runs").fetchone() == before
    finally:
        con.close()


def test_a_bad_setting_in_the_environment_is_explained(cli, monkeypatch):
    monkeypatch.setenv(f"{ENV_PREFIX}CONCURRENCY", "lots")
    code, out, err = cli("draft", "--limit", "1")
    assert code == 1
    assert "environment: concurrency should be a number" in err


def test_a_limit_that_is_not_a_number_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as exit_:
        cli("draft", "--limit", "ten")
    assert exit_.value.code == 2
