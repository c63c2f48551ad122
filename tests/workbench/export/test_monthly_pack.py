"""The monthly review pack as a workbook (sheets, typed cells, formula-safe) and as HTML."""

from __future__ import annotations

import html
import shutil
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from workbench.export.experiment_report import PACK_SHEETS
from workbench.export.monthly_pack import (
    PERCENT_FORMAT,
    SHEETS,
    html_value,
    monthly_pack_html,
    monthly_pack_xlsx,
)
from workbench.export.tabular import excel_value
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.governance import MonthlyPack, build_pack
from workbench.review.runs import run_workflow
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store as versions
from workbench.workflow.facts import default_as_of

MONTH = "2026-11"
AT = datetime(2026, 11, 3, 9, 0)
PLANTED = {
    "account": '=HYPERLINK("http://evil.example","click")',
    "comment": "+1 and more",
    "reviewer": "@SUM(A1:A9)",
    "reason_comment": "-2+3",
    "script": "<script>alert('x')</script> & more",
}


@pytest.fixture(scope="module")
def packs(
    sample_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[MonthlyPack, MonthlyPack]:
    """(busy, empty): a shadow period with planted risky text, and a new workspace."""
    root = shutil.copytree(sample_root, tmp_path_factory.mktemp("pack") / "ws")
    con = connect(Workspace(root))
    v1 = versions.latest(con)
    assert v1 is not None
    wf = v1.workflow
    change_mode(con, wf, "shadow", actor="Ana", reason="Start", at=AT)
    as_of = default_as_of(con)
    run_workflow(con, wf, 1, as_of - timedelta(days=7), actor="Ana", at=AT)
    queue = list(store.pending(con, wf.name)["action_key"])
    # An account name that a spreadsheet would run as a formula (as if imported so).
    con.execute(
        "UPDATE wb.actions SET account_name = ? WHERE action_key = ?",
        [PLANTED["account"], queue[0]],
    )
    record_decisions(
        con,
        wf,
        [
            DecisionInput(queue[0], "rejected", reason="tone", comment=PLANTED["comment"]),
            DecisionInput(queue[1], "rejected", reason="policy", comment=PLANTED["script"]),
            DecisionInput(queue[2], "rejected", reason="tone", comment=PLANTED["reason_comment"]),
            DecisionInput(queue[3], "approved"),
            DecisionInput(queue[4], "approved", subject="A better subject"),
        ],
        reviewer=PLANTED["reviewer"],
        at=AT + timedelta(hours=1),
    )
    run_workflow(con, wf, 1, as_of, actor="Ana", at=AT + timedelta(days=7))
    versions.save_version(con, v1.yaml.replace("value: 60", "value: 55"), "Ana", "Threshold 55")
    busy = build_pack(con, None, MONTH)
    con.close()
    empty_con = connect(Workspace(tmp_path_factory.mktemp("pack_empty") / "ws"))
    empty = build_pack(empty_con, None, MONTH)
    empty_con.close()
    return busy, empty


def _load(pack: MonthlyPack):
    return load_workbook(BytesIO(monthly_pack_xlsx(pack)))


def _column(ws: Worksheet, header: str) -> list:
    headers = [c.value for c in ws[1]]
    i = headers.index(header) + 1
    return [row[0] for row in ws.iter_rows(min_row=2, min_col=i, max_col=i)]


def _summary(ws: Worksheet) -> dict:
    return {r[0].value: r[1] for r in ws.iter_rows(min_row=2) if r[0].value is not None}


# --- the workbook ----------------------------------------------------------------------


def test_the_workbook_has_the_expected_sheets(packs):
    busy, empty = packs
    for pack in packs:
        wb = _load(pack)
        assert wb.sheetnames == list(SHEETS)
        for ws in wb.worksheets:
            assert ws.freeze_panes == "A2", ws.title
            assert all(c.font.bold for c in ws[1] if c.value is not None), ws.title
    assert "Summary" in SHEETS and "Rollback plan" in SHEETS and "Audit" in SHEETS
    # The experiment's sheets follow the outcomes so far, named apart from them.
    at = SHEETS.index("Outcomes") + 1
    assert SHEETS[at : at + len(PACK_SHEETS)] == PACK_SHEETS
    assert all(len(t) <= 31 for t in SHEETS) and len(set(SHEETS)) == len(SHEETS)


def test_the_experiment_sheets_hold_the_packs_experiment(packs):
    busy, empty = packs
    report = busy.experiment
    assert report is not None and report.experiment is not None
    wb = _load(busy)
    experiment = _summary(wb["Experiment"])
    assert experiment["Experiment"].value == report.sentence()
    assert experiment["Accounts assigned"].value == len(report.frame) > 0
    assert len(list(wb["Exp outcomes"].iter_rows(min_row=2))) == len(report.frame)
    summary = _summary(wb["Summary"])
    assert summary["Experiment"].value == report.sentence()
    assert summary["Guardrails"].value == busy.guardrail_sentence
    wb = _load(empty)
    assert "no workflow" in _summary(wb["Experiment"])["Experiment"].value
    for title in PACK_SHEETS[1:]:
        assert "there is no workflow" in str(wb[title]["A2"].value), title


def test_summary_cells_are_typed(packs):
    busy, _ = packs
    summary = _summary(_load(busy)["Summary"])
    assert summary["Month"].value == MONTH
    assert (
        isinstance(summary["Workflow version"].value, int)
        and summary["Workflow version"].value == 2
    )
    assert (
        isinstance(summary["Runs in the month"].value, int)
        and summary["Runs in the month"].value == 2
    )
    rate = summary["Approval rate in the month"]
    assert isinstance(rate.value, float) and rate.value == pytest.approx(0.4)
    assert rate.number_format == PERCENT_FORMAT
    assert summary["Gate target"].number_format == PERCENT_FORMAT
    assert isinstance(summary["Generated at"].value, datetime)
    assert summary["Generated at"].number_format.startswith("yyyy-mm-dd")
    assert isinstance(summary["Version saved at"].value, datetime)
    assert summary["Audit chain"].value.startswith("The audit log is intact")


def test_table_sheets_keep_numbers_rates_and_dates(packs):
    busy, _ = packs
    wb = _load(busy)
    runs = wb["Runs"]
    assert all(isinstance(v.value, int) for v in _column(runs, "run"))
    assert all(isinstance(v.value, int) for v in _column(runs, "proposed"))
    started = _column(runs, "started at")
    assert all(isinstance(c.value, datetime) for c in started)
    assert started[0].number_format == "yyyy-mm-dd hh:mm"
    as_of = _column(runs, "as of")
    assert all(isinstance(c.value, datetime) for c in as_of)  # Excel dates
    assert as_of[0].number_format == "yyyy-mm-dd"
    approval = wb["Approval"]
    rates = [c for c in _column(approval, "approval rate") if c.value is not None]
    assert rates and all(isinstance(c.value, float | int) for c in rates)
    assert all(c.number_format == PERCENT_FORMAT for c in rates)
    assert all(c.number_format == PERCENT_FORMAT for c in _column(approval, "low (95%)"))
    assert all(isinstance(c.value, int) for c in _column(approval, "reviewed"))
    gate = wb["Gate history"]
    assert all(isinstance(c.value, bool) for c in _column(gate, "passes"))
    assert all(isinstance(c.value, datetime) for c in _column(gate, "checked at"))
    assert wb["Audit"]["B4"].value == busy.audit.entries  # Entries, a number
    assert isinstance(wb["Audit"]["B3"].value, bool)
    plan = _summary(wb["Rollback plan"])
    assert plan["Roll back to"].value == 1 and plan["Current version"].value == 2


def test_risky_text_is_stored_as_text_never_as_a_formula(packs):
    busy, _ = packs
    wb = _load(busy)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}: {cell.value!r}"
    rejected = wb["Rejected samples"]
    planted = {
        "account": PLANTED["account"],
        "comment": PLANTED["comment"],
        "reviewer": PLANTED["reviewer"],
    }
    for header, text in planted.items():
        cells = [c for c in _column(rejected, header) if text in str(c.value)]
        assert cells, header
        for c in cells:
            assert c.data_type == "s" and c.value == "'" + text
    comments = {c.value for c in _column(rejected, "comment")}
    assert "'" + PLANTED["reason_comment"] in comments
    assert PLANTED["script"] in comments  # text as it is: not a formula, so unchanged


def test_an_empty_workspace_gives_a_pack_whose_sheets_say_what_is_missing(packs):
    _, empty = packs
    wb = _load(empty)
    summary = _summary(wb["Summary"])
    assert summary["Workflow"].value == "(none saved yet)"
    assert summary["Runs in the month"].value == 0
    assert summary["Approval rate in the month"].value is None
    steps = [r[1].value for r in wb["Summary"].iter_rows() if r[0].value == "What to do next"]
    assert len(steps) == 2 and "Workflow page" in steps[0]
    for title in ("Runs", "Approval", "Gate history", "Rejected samples", "Outbox"):
        assert "Workflow page" in str(wb[title]["A2"].value), title
    assert str(wb["Outcomes"]["A2"].value).startswith("No outcomes yet")
    assert _summary(wb["Rollback plan"])["Roll back to"].value == "none"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@cmd", "'@cmd"),
        ("plain", "plain"),
        (3, 3),
        (-2.5, -2.5),
        (float("nan"), None),
        (None, None),
        (date(2026, 11, 1), date(2026, 11, 1)),
    ],
)
def test_cell_value(value, expected):
    assert excel_value(value) == expected


# --- the HTML page ---------------------------------------------------------------------


def test_html_escapes_every_value_and_has_no_scripts_or_external_files(packs):
    busy, _ = packs
    page = monthly_pack_html(busy)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "=HYPERLINK(&quot;http://evil.example&quot;,&quot;click&quot;)" in page
    for external in ("src=", "<link", "@import", "url(", "<a "):
        assert external not in page
    assert "@media print" in page and "@page" in page


def test_html_holds_the_gate_sentence_tables_and_the_rollback_plan(packs):
    busy, _ = packs
    page = monthly_pack_html(busy)
    assert f"Gate now: {busy.gate_sentence}" in page
    for title in ("Runs", "Approval", "Gate history", "Rejected samples", "Outcomes so far"):
        assert f"<h2>{title}" in page
    assert "Audit chain" in page and 'class="ok"' in page
    assert busy.rollback.why.replace("'", "&#x27;") in page
    assert "40.0%" in page  # the month's approval rate, as a percentage
    assert page.count("<table>") >= 8
    assert busy.experiment is not None
    assert "<h2>Experiment</h2>" in page and "<h3>Verdicts</h3>" in page
    assert html.escape(busy.experiment.sentence()) in page


def test_html_of_an_empty_workspace_says_what_to_do(packs):
    _, empty = packs
    page = monthly_pack_html(empty)
    assert "no workflow yet" in page
    assert "playbook example on the Workflow page" in page
    assert "No outcomes yet" in page
    assert "<h2>Experiment</h2>" in page and "there is no workflow" in page


def test_html_names_audit_problems_in_red(packs, tmp_path: Path):
    con = connect(Workspace(tmp_path / "ws"))
    from workbench import audit

    for i in range(3):
        audit.record(con, "other", f"entry {i}", {}, "Ana")
    con.execute("DELETE FROM wb.audit_log WHERE seq = 2")
    page = monthly_pack_html(build_pack(con, None, MONTH))
    con.close()
    assert 'class="bad"' in page and "The audit log is not intact" in page
    assert "Audit log page" in page


@pytest.mark.parametrize(
    ("value", "percent", "expected"),
    [
        (0.935, True, "93.5%"),
        (1234.5, False, "1,234.50"),
        (datetime(2026, 11, 3, 9, 5), False, "2026-11-03 09:05"),
        (datetime(2026, 11, 3), False, "2026-11-03"),
        (True, False, "yes"),
        ("<b>", False, "&lt;b&gt;"),
        (None, False, ""),
    ],
)
def test_html_value(value, percent, expected):
    assert html_value(value, percent) == expected
