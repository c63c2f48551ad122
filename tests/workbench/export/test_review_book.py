"""The review workbook: one row per pending action, drop-downs, locked ids, instructions."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from io import BytesIO

import pandas as pd
import pytest
from openpyxl import load_workbook

from workbench.export.review_book import (
    COLUMNS,
    DECISION_WORDS,
    HEADER_ROW,
    HEADERS,
    INSTRUCTIONS_SHEET,
    REASON_LABELS,
    REVIEW_SHEET,
    restore_text,
    review_xlsx,
    row_check,
)
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.runs import run_workflow
from workbench.review.stats import REASON_WORDS, REASONS
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow
from workbench.workflow.store import latest

FIRST = HEADER_ROW + 1
LETTER = {c.header: chr(ord("A") + i) for i, c in enumerate(COLUMNS)}


@pytest.fixture(scope="module")
def shadow_book(sample_root, tmp_path_factory):
    """The sample book in shadow mode after one run: (connection, workflow name, queue)."""
    root = shutil.copytree(sample_root, tmp_path_factory.mktemp("review-book") / "ws")
    con = connect(Workspace(root))
    version = latest(con)
    assert version is not None
    wf = parse_workflow(version.yaml)
    change_mode(con, wf, "shadow", actor="Ana", reason="start the shadow period")
    run_workflow(con, wf, version.version, default_as_of(con) - timedelta(days=21), actor="Ana")
    queue = store.pending(con, wf.name)
    assert len(queue) > 5
    yield con, wf.name, queue
    con.close()


@pytest.fixture(scope="module")
def book(shadow_book):
    con, name, _ = shadow_book
    return load_workbook(BytesIO(review_xlsx(con, name, reviewer="Dana")))


def _column(ws, header: str) -> list:
    n = ws.max_row
    return [ws[f"{LETTER[header]}{r}"].value for r in range(FIRST, n + 1)]


def test_one_row_per_pending_action_with_ids_and_checks(shadow_book, book):
    _, _, queue = shadow_book
    ws = book[REVIEW_SHEET]
    assert book.sheetnames == [REVIEW_SHEET, INSTRUCTIONS_SHEET]
    assert [c.value for c in ws[HEADER_ROW]] == list(HEADERS)
    assert ws.max_row - HEADER_ROW == len(queue)
    assert _column(ws, "action id") == list(queue["action_key"])
    assert _column(ws, "account id") == list(queue["account_id"])
    assert _column(ws, "draft body") == list(queue["body"])
    assert _column(ws, "check") == [
        row_check(k, a) for k, a in zip(queue["action_key"], queue["account_id"], strict=True)
    ]
    assert ws.column_dimensions[LETTER["check"]].hidden
    for header in ("decision", "reason", "comment", "edited subject", "edited body"):
        assert set(_column(ws, header)) == {None}
    assert ws["A1"].value == "Reviewer" and ws["B1"].value == "Dana"


def test_reviewer_cell_is_empty_when_no_name_is_given(shadow_book):
    con, name, _ = shadow_book
    ws = load_workbook(BytesIO(review_xlsx(con, name)))[REVIEW_SHEET]
    assert ws["B1"].value is None


def test_cells_are_typed(shadow_book, book):
    _, _, queue = shadow_book
    ws = book[REVIEW_SHEET]
    arr, as_of = ws[f"{LETTER['ARR']}{FIRST}"], ws[f"{LETTER['as of']}{FIRST}"]
    run = ws[f"{LETTER['run']}{FIRST}"]
    assert arr.data_type == "n" and arr.value == pytest.approx(float(queue["arr"].iloc[0]))
    assert arr.number_format == "#,##0"
    assert isinstance(as_of.value, datetime) and as_of.number_format == "yyyy-mm-dd"
    assert as_of.value.date() == queue["as_of"].iloc[0].date()
    assert run.value == int(queue["run_id"].iloc[0]) and run.data_type == "n"
    # Read back the way the import reads it: numbers stay numbers.
    raw = BytesIO()
    book.save(raw)
    frame = pd.read_excel(raw, sheet_name=REVIEW_SHEET, header=HEADER_ROW - 1, engine="calamine")
    assert pd.api.types.is_numeric_dtype(frame["ARR"])
    assert pd.api.types.is_datetime64_any_dtype(frame["as of"])


def test_decision_and_reason_are_drop_downs(shadow_book, book):
    _, _, queue = shadow_book
    ws = book[REVIEW_SHEET]
    last = HEADER_ROW + len(queue)
    lists = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    decision = lists[f"{LETTER['decision']}{FIRST}:{LETTER['decision']}{last}"]
    reason = lists[f"{LETTER['reason']}{FIRST}:{LETTER['reason']}{last}"]
    assert decision.type == reason.type == "list"
    assert decision.formula1 == '"approve,edit,reject"'
    assert set(DECISION_WORDS) == {"approve", "edit", "reject"}
    assert reason.formula1.strip('"').split(",") == [REASON_LABELS[r] for r in REASONS]
    assert decision.showErrorMessage and decision.allow_blank


def test_fill_in_columns_stand_out_and_the_rest_is_locked(book):
    ws = book[REVIEW_SHEET]
    assert ws.protection.sheet and ws.protection.password is None
    assert not ws.protection.autoFilter and not ws.protection.sort  # filtering stays allowed
    fill_in = {c.header for c in COLUMNS if c.fill_in}
    assert fill_in == {"decision", "reason", "comment", "edited subject", "edited body"}
    colours = {}
    for col in COLUMNS:
        cell = ws[f"{LETTER[col.header]}{FIRST}"]
        assert cell.protection.locked is (not col.fill_in), col.header
        colours.setdefault(col.fill_in, set()).add(cell.fill.start_color.rgb)
    assert len(colours[True]) == len(colours[False]) == 1
    assert colours[True] != colours[False]
    assert ws["B1"].protection.locked is False  # the reviewer's name
    assert ws.freeze_panes == f"D{FIRST}"
    assert ws[f"{LETTER['draft body']}{FIRST}"].alignment.wrap_text
    assert ws.column_dimensions[LETTER["draft body"]].width >= 60


def test_instructions_explain_decisions_reasons_and_ids(book):
    ws = book[INSTRUCTIONS_SHEET]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    for word in ("approve", "edit", "reject", "edited subject", "edited body", "B1"):
        assert word in text
    for reason in REASONS:
        assert REASON_LABELS[reason] in text
        assert REASON_WORDS[reason].split(": ", 1)[1] in text
    assert "action id" in text and "account id" in text and "refuses" in text


def test_text_that_looks_like_a_formula_is_written_as_text(shadow_book):
    con, name, queue = shadow_book
    risky = queue.head(2).copy()
    risky.loc[0, "account_name"] = '=HYPERLINK("http://evil.example","click")'
    risky.loc[0, "subject"] = "+1+1"
    risky.loc[0, "body"] = "-2+3\nsecond line"
    risky.loc[0, "assignee"] = "@SUM(A1:A9)"
    ws = load_workbook(BytesIO(review_xlsx(con, name, pending=risky, reviewer="=cmd")))[
        REVIEW_SHEET
    ]
    cells = [ws[f"{LETTER[h]}{FIRST}"] for h in ("account name", "draft subject", "draft body")]
    cells += [ws[f"{LETTER['assignee']}{FIRST}"], ws["B1"]]
    for cell in cells:
        assert cell.data_type == "s" and str(cell.value).startswith("'"), cell.coordinate
    assert restore_text(cells[0].value) == risky.loc[0, "account_name"]
    formulas = [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_an_empty_queue_still_makes_a_workbook(shadow_book):
    con, name, queue = shadow_book
    ws = load_workbook(BytesIO(review_xlsx(con, name, pending=queue.iloc[0:0])))[REVIEW_SHEET]
    assert [c.value for c in ws[HEADER_ROW]] == list(HEADERS)
    assert ws.max_row == HEADER_ROW
    assert list(ws.data_validations.dataValidation) == []
    assert "0 pending actions" in ws["C2"].value


def test_a_given_queue_needs_no_connection(shadow_book):
    """The page builds the file on another thread from the frame it already read."""
    _, name, queue = shadow_book
    ws = load_workbook(BytesIO(review_xlsx(None, name, pending=queue.head(3))))[REVIEW_SHEET]
    assert ws.max_row == HEADER_ROW + 3
    with pytest.raises(ValueError):
        review_xlsx(None, name)


def test_restore_text_only_undoes_neutralising():
    assert restore_text("'=1+1") == "=1+1"
    assert restore_text("'-x") == "-x"
    assert restore_text("'quoted'") == "'quoted'"
    assert restore_text("plain") == "plain"
