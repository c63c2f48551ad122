"""``workbench run | mode | review | gate | outbox | report | demo`` on the sample book."""

from __future__ import annotations

import openpyxl
import pytest

from workbench.cli import main
from workbench.export.review_book import HEADER_ROW
from workbench.review import store
from workbench.storage.workspace import connect


@pytest.fixture
def cli(book_copy, capsys):
    ws, con = book_copy
    con.close()  # the CLI opens the workspace itself

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(ws.root), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    _run.ws = ws  # type: ignore[attr-defined]
    return _run


def _read(ws, fn):
    con = connect(ws)
    try:
        return fn(con)
    finally:
        con.close()


def test_run_in_shadow_mode_twice_adds_nothing_the_second_time(cli):
    code, out, _ = cli("run", "--mode", "shadow", "--actor", "Ana")
    assert code == 0, out
    assert "from draft to shadow" in out and "50 new actions proposed" in out
    code, out, _ = cli("run", "--mode", "shadow", "--actor", "Ana")
    assert code == 0 and "0 new actions proposed" in out and "already proposed" in out
    code, out, _ = cli("review", "list")
    assert code == 0 and "50 pending." in out


def test_autonomous_is_refused_by_the_gate_then_overridden_with_a_reason(cli):
    assert cli("mode", "shadow", "--reason", "start", "--actor", "Ana")[0] == 0
    code, _, err = cli("run", "--mode", "autonomous", "--reason", "ready")
    assert code == 1 and "Autonomous mode is refused" in err and "not enough reviews" in err
    code, _, err = cli("mode", "autonomous", "--override")
    assert code == 1 and "Add --reason" in err
    code, out, _ = cli("mode", "autonomous", "--reason", "workshop", "--override", "--actor", "Ana")
    assert code == 0 and "(gate overridden)" in out
    code, out, _ = cli("run", "--actor", "Ana")
    assert code == 0 and "to the outbox" in out
    code, out, _ = cli("outbox")
    assert code == 0 and "in the outbox (nothing is sent" in out
    code, out, _ = cli("mode")
    assert code == 0 and "autonomous" in out and "workshop" in out


def test_the_demo_drives_the_gate_and_gate_reports_it(cli):
    code, out, _ = cli("demo", "shadow", "--weeks", "6")
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("- Week of")]
    assert len(lines) == 6
    assert "Gate: not enough reviews" in lines[0] and lines[-1].endswith("passes.")
    code, out, _ = cli("gate")
    assert code == 0 and "passes" in out and "By route:" in out and "By week:" in out


def test_the_worse_demo_fails(cli):
    code, out, _ = cli("demo", "shadow", "--weeks", "4", "--worse")
    assert code == 0 and "fails: the approval rate is below the 90% target" in out


def test_review_export_and_import_round_trip(cli, tmp_path):
    assert cli("run", "--mode", "shadow", "--actor", "Ana")[0] == 0
    book = tmp_path / "queue.xlsx"
    code, out, _ = cli("review", "export", str(book), "--reviewer", "Dana")
    assert code == 0 and book.exists(), out
    wb = openpyxl.load_workbook(book)
    sheet = wb["Review"]
    header = [c.value for c in sheet[HEADER_ROW]]
    col = next(i for i, h in enumerate(header, 1) if str(h).strip().lower() == "decision")
    sheet.cell(row=HEADER_ROW + 1, column=col, value="approve")
    wb.save(book)
    code, out, err = cli("review", "import", str(book), "--reviewer", "Dana")
    assert code == 0, err
    assert "Recorded 1 decision" in out
    assert len(_read(cli.ws, lambda c: store.reviewed(c))) == 1


def test_report_monthly_writes_the_pack(cli, tmp_path):
    assert cli("demo", "shadow", "--weeks", "2")[0] == 0
    out_file = tmp_path / "pack.xlsx"
    code, out, err = cli("report", "monthly", "--month", "2026-10", "--out", str(out_file))
    assert code == 0, err
    assert len(openpyxl.load_workbook(out_file).sheetnames) > 3
    html = tmp_path / "pack.html"
    assert cli("report", "monthly", "--month", "2026-10", "--out", str(html))[0] == 0
    assert "<html" in html.read_text().lower()
    code, _, err = cli("report", "monthly", "--month", "2026-10", "--out", str(tmp_path / "p.pdf"))
    assert code == 1 and ".xlsx or .html" in err
    with pytest.raises(SystemExit):
        cli("report", "monthly", "--month", "Nov", "--out", str(out_file))
