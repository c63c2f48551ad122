"""The review queue as a workbook a reviewer fills in: Review and Instructions sheets.

One row per pending action: its ids, the account, route, reasons and the draft (grey,
locked), then the columns the reviewer fills (yellow, unlocked): a decision and a reason
chosen from drop-down lists, a comment, and the edited subject and body. The reviewer's
name goes in cell B1. A hidden ``check`` column holds a checksum of each row's action id
and account id, so the import (``review.sheet_import``) notices a changed id instead of
recording a decision against the wrong action. The sheet is protected without a password:
it guards the grey columns against slips, not against a determined editor.

Text that a spreadsheet would run as a formula is neutralised; ARR is a number, the
as-of date a date.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from workbench.export.tabular import FORMULA_TRIGGERS, excel_value
from workbench.review import store
from workbench.review.stats import REASON_WORDS, REASONS

REVIEW_SHEET = "Review"
INSTRUCTIONS_SHEET = "Instructions"
REVIEWER_LABEL = "Reviewer"
REVIEWER_CELL = "B1"
HEADER_ROW = 4
"""The Excel row of the column headers; data rows follow it."""

DECISION_WORDS: dict[str, str] = {"approve": "approved", "edit": "edited", "reject": "rejected"}
"""The drop-down's words and the decisions they record."""

REASON_LABELS: dict[str, str] = {r: REASON_WORDS[r].split(":")[0] for r in REASONS}
"""The reason drop-down's words (``wrong account``) for ``stats.REASONS`` (``wrong_account``)."""


@dataclass(frozen=True)
class Column:
    """A column of the Review sheet: its header, the queue column it shows, its width."""

    header: str
    source: str | None
    width: float
    fill_in: bool = False
    wrap: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("action id", "action_key", 27),
    Column("account id", "account_id", 13),
    Column("account name", "account_name", 26),
    Column("route", "route", 11),
    Column("segment", "segment", 12),
    Column("ARR", "arr", 12),
    Column("assignee", "assignee", 18),
    Column("run", "run_id", 6),
    Column("as of", "as_of", 11),
    Column("reasons", "reasons", 42, wrap=True),
    Column("draft subject", "subject", 36, wrap=True),
    Column("draft body", "body", 70, wrap=True),
    Column("decision", None, 12, fill_in=True),
    Column("reason", None, 17, fill_in=True),
    Column("comment", None, 30, fill_in=True, wrap=True),
    Column("edited subject", None, 36, fill_in=True, wrap=True),
    Column("edited body", None, 70, fill_in=True, wrap=True),
    Column("check", None, 14),
)
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
REQUIRED_HEADERS: tuple[str, ...] = (
    "action id", "account id", "decision", "reason", "comment", "edited subject",
    "edited body", "check",
)  # fmt: skip

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_GREY_FONT = Font(color="595959")
_HEADER_FILL = PatternFill(fill_type="solid", start_color="D9D9D9", end_color="D9D9D9")
_READ_ONLY_FILL = PatternFill(fill_type="solid", start_color="F2F2F2", end_color="F2F2F2")
_FILL_IN_HEADER = PatternFill(fill_type="solid", start_color="FFD966", end_color="FFD966")
_FILL_IN_FILL = PatternFill(fill_type="solid", start_color="FFF2CC", end_color="FFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_UNLOCKED = Protection(locked=False)
_LINE_POINTS = 15.0
_MAX_ROW_POINTS = 300.0


def row_check(action_key: str, account_id: str) -> str:
    """The checksum the ``check`` column holds for a row's action id and account id."""
    digest = hashlib.sha256(f"{action_key}\x1f{account_id}".encode()).hexdigest()
    return digest[:12]


def restore_text(value: str) -> str:
    """Undo ``neutralise``: ``'=x`` written to the sheet reads back as ``=x``."""
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _lines(text: Any, width: float) -> int:
    if not isinstance(text, str) or not text:
        return 1
    per_line = max(int(width) - 2, 1)
    return sum(max(1, math.ceil(len(line) / per_line)) for line in text.split("\n"))


def _header_block(ws: Worksheet, wf_name: str, reviewer: str, n: int) -> None:
    ws["A1"] = REVIEWER_LABEL
    ws["A1"].font = _BOLD
    name = ws[REVIEWER_CELL]
    name.value = excel_value(reviewer.strip()) or None
    name.fill = _FILL_IN_FILL
    name.protection = _UNLOCKED
    ws["C1"] = "Your name in B1: every decision in this workbook is recorded under it."
    ws["C1"].font = _GREY_FONT
    ws["A2"] = "Workflow"
    ws["A2"].font = _BOLD
    ws["B2"] = excel_value(wf_name)
    ws["C2"] = (
        f"{n} pending action{'s' * (n != 1)}. Fill the yellow columns; "
        "see the Instructions sheet. Nothing here is sent to anyone."
    )
    ws["C2"].font = _GREY_FONT
    ws["D2"] = datetime.now().replace(microsecond=0)
    ws["D2"].number_format = "yyyy-mm-dd hh:mm"
    ws["D2"].font = _GREY_FONT


def _values(queue: pd.DataFrame) -> list[list[Any]]:
    rows = []
    for rec in queue.to_dict("records"):
        row: list[Any] = []
        for col in COLUMNS:
            if col.source is None:
                row.append(None)
            elif col.source == "reasons":
                row.append(excel_value(str(rec["reasons"] or "").replace(" · ", "\n")))
            else:
                row.append(excel_value(rec[col.source], "auto"))
        row[-1] = row_check(str(rec["action_key"]), str(rec["account_id"]))
        rows.append(row)
    return rows


def _review_sheet(ws: Worksheet, queue: pd.DataFrame, wf_name: str, reviewer: str) -> None:
    _header_block(ws, wf_name, reviewer, len(queue))
    for i, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, i, col.header)
        cell.font = _BOLD
        cell.fill = _FILL_IN_HEADER if col.fill_in else _HEADER_FILL
        cell.alignment = _TOP
        ws.column_dimensions[get_column_letter(i)].width = col.width
    for r, values in enumerate(_values(queue), start=HEADER_ROW + 1):
        lines = 1
        for i, (col, value) in enumerate(zip(COLUMNS, values, strict=True), start=1):
            cell = ws.cell(r, i, value)
            cell.alignment = _WRAP if col.wrap else _TOP
            if col.fill_in:
                cell.fill = _FILL_IN_FILL
                cell.protection = _UNLOCKED
            else:
                cell.fill = _READ_ONLY_FILL
            if isinstance(value, float):
                cell.number_format = "#,##0"
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            if col.wrap:
                lines = max(lines, _lines(value, col.width))
        ws.row_dimensions[r].height = min(lines * _LINE_POINTS, _MAX_ROW_POINTS)
    last = HEADER_ROW + len(queue)
    check = get_column_letter(len(COLUMNS))
    ws.column_dimensions[check].hidden = True
    ws.freeze_panes = f"D{HEADER_ROW + 1}"  # ids and account name stay in view
    ws.auto_filter.ref = f"A{HEADER_ROW}:{check}{max(last, HEADER_ROW)}"
    if len(queue):
        _drop_downs(ws, last)
    # Locked cells guard the ids against slips; no password, so anyone may unprotect.
    ws.protection.sheet = True
    for allowed in ("autoFilter", "sort", "formatColumns", "formatRows"):
        setattr(ws.protection, allowed, False)


def _drop_downs(ws: Worksheet, last: int) -> None:
    letter = {c.header: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
    lists = (
        ("decision", list(DECISION_WORDS), "Pick approve, edit or reject, or leave it empty."),
        ("reason", list(REASON_LABELS.values()), "Pick a reason from the list (reject needs one)."),
    )
    for header, words, error in lists:
        dv = DataValidation(
            type="list",
            formula1='"' + ",".join(words) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"Not a {header}",
            error=error,
        )
        dv.add(f"{letter[header]}{HEADER_ROW + 1}:{letter[header]}{last}")
        ws.add_data_validation(dv)


def instructions(wf_name: str) -> list[tuple[str, str]]:
    """The Instructions sheet, line by line: (label, text)."""
    lines: list[tuple[str, str]] = [
        ("Review queue", f"Workflow: {wf_name}. Nothing in this workbook is sent to anyone."),
        ("", ""),
        ("Your name", f"Write it in cell {REVIEWER_CELL} of the {REVIEW_SHEET} sheet."),
        ("Decision", "One per row, in the yellow 'decision' column:"),
        ("approve", "The action is right and the draft can go as written."),
        (
            "edit",
            "The action is right but the draft needs changes: write the new text in 'edited "
            "subject' and/or 'edited body' (copy the draft there and change it; an empty "
            "edited cell keeps the draft's text).",
        ),
        ("reject", "The action should not happen. A reason is required."),
        ("(empty)", "No decision yet: the action stays in the review queue."),
        ("", "An approve with changed text in the edited columns is recorded as an edit."),
        ("Reason", "Required for reject, optional otherwise; pick one from the list:"),
        *[(REASON_LABELS[r], REASON_WORDS[r].split(": ", 1)[1]) for r in REASONS],
        ("Comment", "Optional: anything the workflow's owner should know."),
        ("", ""),
        (
            "Do not change",
            "The grey columns, above all 'action id' and 'account id': the import checks "
            "them against the hidden 'check' column and refuses a workbook whose ids "
            "changed. Filtering is fine; to sort, unprotect the sheet first (Review, "
            "Unprotect Sheet: there is no password). Do not add or copy rows.",
        ),
        (
            "Import",
            "Save as .xlsx and upload it on the Review page (or run 'workbench review "
            "import FILE'). The workbook is checked first: if anything is wrong nothing is "
            "recorded, and every problem is listed with its row and column.",
        ),
    ]
    return lines


def _instructions_sheet(ws: Worksheet, wf_name: str) -> None:
    for label, text in instructions(wf_name):
        ws.append([excel_value(label) or None, excel_value(text) or None])
    ws["A1"].font = _TITLE
    for (label_cell,) in ws.iter_rows(min_row=2, min_col=1, max_col=1):
        label_cell.font = _BOLD
        label_cell.alignment = _TOP
    for (text_cell,) in ws.iter_rows(min_col=2, max_col=2):
        text_cell.alignment = _WRAP
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 100


def review_xlsx(
    con: duckdb.DuckDBPyConnection | None,
    wf_name: str,
    *,
    pending: pd.DataFrame | None = None,
    reviewer: str = "",
) -> bytes:
    """The pending review queue as a workbook to fill in and import back.

    Args:
        con: The workspace (unused when ``pending`` is given).
        wf_name: The workflow whose queue is exported.
        pending: The actions to export (``store.pending`` columns); default the whole
            pending queue of the workflow, read through ``con``.
        reviewer: Written into the reviewer cell (the reviewer may change it).

    Returns:
        The XLSX file's bytes: sheets Review and Instructions.
    """
    if pending is None:
        if con is None:
            raise ValueError("review_xlsx needs a connection or the pending frame")
        pending = store.pending(con, wf_name)
    queue = pending
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = REVIEW_SHEET
    _review_sheet(ws, queue.reset_index(drop=True), wf_name, reviewer)
    _instructions_sheet(wb.create_sheet(INSTRUCTIONS_SHEET), wf_name)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
