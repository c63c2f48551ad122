"""``workbench audit verify`` and ``workbench audit show``: exit codes, output and exports."""

from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pytest

from workbench.audit import record
from workbench.cli import main
from workbench.storage.workspace import connect

T0 = datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def run(ws, capsys):
    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(ws.root), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


@pytest.fixture
def logged(ws):
    """A workspace whose audit log holds four entries; yields a function to run SQL on it."""
    con = connect(ws)
    rows = [
        ("import", "accounts.csv", {"rows": 120}, "Dana"),
        ("workflow_version", "renewal-risk v2", {"reason": "tighter threshold"}, "Lee"),
        ("review", "action 17", {"decision": "approve"}, "Dana"),
        ("export", '=HYPERLINK("http://x")', {"file": "pack.xlsx"}, "Lee"),
    ]
    for i, (kind, subject, detail, actor) in enumerate(rows):
        record(con, kind, subject, detail, actor, at=T0 + timedelta(days=i))  # type: ignore[arg-type]
    con.close()

    def sql(statement: str) -> None:
        c = connect(ws)
        c.execute(statement)
        c.close()

    return sql


def test_verify_exit_codes_and_problems(run, logged) -> None:
    code, out, err = run("audit", "verify")
    assert code == 0, err
    assert out.startswith("The audit log is intact: 4 entries.\nHead: 4:")
    head = out.split("Head: ")[1].split()[0]
    assert run("audit", "verify", "--anchor", head)[0] == 0
    logged("UPDATE wb.audit_log SET actor = 'Mallory' WHERE seq = 2")
    logged("DELETE FROM wb.audit_log WHERE seq = 3")
    code, out, _ = run("audit", "verify", "--anchor", head)
    assert code == 1
    assert out.splitlines()[:3] == [
        "The audit log is not intact: 2 problems in 3 entries.",
        "  - entry 2 (workflow_version by Mallory at 2026-03-03 09:00 UTC) was changed after it "
        "was written",
        "  - entry 3 is missing (between 2 and 4)",
    ]


def test_verify_on_an_empty_log_and_a_bad_anchor(run, capsys) -> None:
    code, out, _ = run("audit", "verify")
    assert code == 0 and "intact: 0 entries" in out and f"Head: 0:{'0' * 64}" in out
    with pytest.raises(SystemExit) as exc:  # a usage error: argparse exits with 2
        main(["audit", "verify", "--anchor", "12:abc"])
    assert exc.value.code == 2 and "is not an audit head" in capsys.readouterr().err


def test_show_lists_filters_and_limits(run, logged) -> None:
    code, out, err = run("audit", "show")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["seq", "recorded_at", "actor", "kind", "subject", "detail"]
    assert "2026-03-02 09:00" in lines[1] and "accounts.csv" in lines[1]
    assert lines[-2:] == ["(4 entries)", "The audit log is intact: 4 entries."]
    out = run("audit", "show", "--kind", "review", "--kind", "import")[1]
    assert "accounts.csv" in out and "action 17" in out and "(2 entries)" in out
    out = run("audit", "show", "--actor", "lee", "--limit", "1")[1]
    assert "HYPERLINK" in out and "(1 entries)" in out
    out = run("audit", "show", "--since", "2026-03-03", "--until", "2026-03-04")[1]
    assert "renewal-risk v2" in out and "action 17" in out and "(2 entries)" in out
    assert "No audit entries match." in run("audit", "show", "--text", "nothing like it")[1]


def test_show_on_an_empty_log(run) -> None:
    code, out, _ = run("audit", "show")
    assert code == 0 and out.startswith("No audit entries yet.")


def test_show_out_writes_safe_files(run, logged, tmp_path) -> None:
    target = tmp_path / "audit.xlsx"
    code, out, err = run("audit", "show", "--kind", "export", "--out", str(target))
    assert code == 0, err
    assert out.strip() == f"Wrote 1 audit entries to {target}."
    book = openpyxl.load_workbook(target)
    sheet = book["audit_log"]
    assert sheet["E2"].value == '\'=HYPERLINK("http://x")' and sheet["A2"].value == 4
    about = {k: v for k, v in book["about"].iter_rows(min_row=2, values_only=True)}
    assert about["Audit chain"] == "The audit log is intact: 4 entries."
    assert about["Filters"] == "kind=['export']"
    csv = tmp_path / "audit.csv"
    assert run("audit", "show", "--out", str(csv))[0] == 0
    text = csv.read_bytes().decode("utf-8-sig")
    assert text.startswith("seq,recorded_at,actor,kind,subject,detail,prev_hash,hash\r\n")
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "audit.txt"], "unknown file type '.txt'"),
        (["--limit", "0"], "--limit is 0; it must be 1 or more."),
    ],
)
def test_show_refuses_bad_flags(run, args, message) -> None:
    code, out, err = run("audit", "show", *args)
    assert code == 1 and message in err and "What to do:" in err and out == ""
