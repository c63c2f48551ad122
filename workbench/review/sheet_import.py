"""Import a filled review workbook (``export.review_book``): check all of it, then record it.

The workbook is read whole and checked before anything is written: the Review sheet and
its columns, the reviewer's name, and each row with a decision (an id that is unknown or
was changed, a decision outside approve / edit / reject, a rejection without a reason, a
reason outside the list, an edit without edited text, an action decided twice in the
workbook or already decided in the workspace). Every problem is reported with the file,
sheet, row and column and what to do; any problem leaves the workspace as it was. A clean
workbook goes to ``decide.record_decisions`` as one all-or-nothing batch.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import duckdb
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError

from workbench.errors import InputFileError, WorkbenchError
from workbench.export.review_book import (
    DECISION_WORDS,
    HEADERS,
    REASON_LABELS,
    REQUIRED_HEADERS,
    REVIEW_SHEET,
    REVIEWER_LABEL,
    restore_text,
    row_check,
)
from workbench.review.decide import (
    DecisionInput,
    DecisionReport,
    DecisionsRefused,
    record_decisions,
)
from workbench.review.stats import DECISIONS, REASONS
from workbench.workflow.model import Workflow

HEADER_SCAN = 30
_DECISION_OF: dict[str, str] = {**DECISION_WORDS, **{d: d for d in DECISIONS}}
_HINT = (
    "Fix these in the workbook and upload it again: it is recorded whole or not at all. "
    "Keep the ids as they were exported, or download a fresh queue."
)


@dataclass(frozen=True)
class SheetDecisions:
    """A checked workbook, ready to record.

    Attributes:
        file_name: The workbook's name, as messages cite it.
        reviewer: Who the decisions are recorded under.
        reviewer_from: ``workbook`` (its reviewer cell) or ``argument`` (the caller's).
        items: One decision per decided row, in sheet order.
        left_pending: Rows with no decision (they stay in the queue).
    """

    file_name: str
    reviewer: str
    reviewer_from: str
    items: tuple[DecisionInput, ...]
    left_pending: int

    @property
    def by_decision(self) -> dict[str, int]:
        """What will be recorded: an approve with changed text counts as ``edited``."""
        counts: dict[str, int] = {d: 0 for d in DECISIONS}
        for item in self.items:
            changed = item.subject is not None or item.body is not None
            counts["edited" if item.decision == "approved" and changed else item.decision] += 1
        return counts


def _text(value: Any) -> str:
    """A cell as text: empty for a blank, ``3`` for a whole float, neutralising undone."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return restore_text(str(value).replace("\r\n", "\n"))


def _norm(value: Any) -> str:
    return " ".join(_text(value).lower().replace("_", " ").replace("-", " ").split())


def _read(data: bytes, file_name: str) -> list[list[Any]]:
    """The Review sheet's cells from A1 (row i is Excel row i + 1)."""
    where = f"{file_name}:"
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise InputFileError(
            f"{where} this is an old-style .xls workbook, not the .xlsx the review export wrote.",
            "Open it in Excel and save it as Excel Workbook (.xlsx), then upload that.",
        )
    if data[:4] != b"PK\x03\x04":
        raise InputFileError(
            f"{where} this is not an .xlsx workbook.",
            "Upload the review workbook downloaded from the Review page, saved as .xlsx.",
        )
    try:
        book = pd.ExcelFile(BytesIO(data), engine="calamine")
        names = [str(n) for n in book.sheet_names]
        if REVIEW_SHEET not in names:
            raise InputFileError(
                f"{where} there is no sheet named {REVIEW_SHEET!r} "
                f"(sheets: {', '.join(repr(n) for n in names) or 'none'}).",
                f"Upload the review workbook as exported, with its {REVIEW_SHEET!r} sheet "
                "(rename the sheet back if it was renamed).",
            )
        frame = pd.read_excel(book, sheet_name=REVIEW_SHEET, header=None, dtype=object)
    except (CalamineError, zipfile.BadZipFile, ValueError, OSError, KeyError) as exc:
        raise InputFileError(
            f"{where} the workbook could not be read; it looks damaged or incomplete ({exc}).",
            "Open it in Excel, save it again as .xlsx and upload it, or download a fresh queue.",
        ) from None
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def _header(rows: list[list[Any]], file_name: str) -> tuple[int, dict[str, int]]:
    """The 0-based header row and each known header's 0-based column."""
    for i, row in enumerate(rows[:HEADER_SCAN]):
        names = [_norm(v) for v in row]
        if "action id" in names and "decision" in names:
            return i, {h: names.index(h.lower()) for h in HEADERS if h.lower() in names}
    raise InputFileError(
        f"{file_name}, sheet {REVIEW_SHEET}: no header row with 'action id' and 'decision' "
        f"in the first {HEADER_SCAN} rows.",
        "Upload the review workbook as exported; its header row names the columns "
        f"({', '.join(REQUIRED_HEADERS)}).",
    )


def _reviewer(rows: list[list[Any]], header: int) -> str:
    for row in rows[:header]:
        if len(row) > 1 and _norm(row[0]) == REVIEWER_LABEL.lower():
            return _text(row[1]).strip()
    return ""


@dataclass(frozen=True)
class _Row:
    number: int  # Excel row
    cells: dict[str, str]


def _rows(rows: list[list[Any]], header: int, cols: dict[str, int]) -> list[_Row]:
    out = []
    for i in range(header + 1, len(rows)):
        row = rows[i]
        cells = {h: _text(row[c]) if c < len(row) else "" for h, c in cols.items()}
        if any(v.strip() for v in cells.values()):
            out.append(_Row(i + 1, cells))
    return out


def _known(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    frame = con.execute(
        "SELECT a.action_key, a.workflow_name, a.account_id, a.destination, a.subject, "
        "a.body, r.decision, r.reviewer, r.decided_at FROM wb.actions a "
        "LEFT JOIN wb.reviews r USING (action_key) WHERE list_contains(?, a.action_key)",
        [sorted(set(keys))],
    ).df()
    return {
        str(r["action_key"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    }


class _Checker:
    """Collects the problems of one workbook, each naming its row and column."""

    def __init__(self, file_name: str, cols: dict[str, int]) -> None:
        self.file_name = file_name
        self.cols = cols
        self.problems: list[str] = []

    def where(self, row: int, header: str | None = None) -> str:
        text = f"{self.file_name}, sheet {REVIEW_SHEET}, row {row}"
        if header is not None:
            text += f", column {get_column_letter(self.cols[header] + 1)} ({header})"
        return text

    def add(self, row: int, header: str | None, what: str) -> None:
        self.problems.append(f"{self.where(row, header)}: {what}")


def _check_ids(
    check: _Checker, row: _Row, wf: Workflow, known: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The stored action for a row, or None after noting why it cannot be decided."""
    key, account = row.cells["action id"].strip(), row.cells["account id"].strip()
    intact = row_check(key, account) == row.cells["check"].strip()
    action = known.get(key)
    if not key:
        check.add(row.number, "action id", "the action id is empty; undo the change to this row.")
        return None
    if action is None:
        if intact:
            check.add(
                row.number,
                "action id",
                f"there is no action {key!r} in this workspace. Import the workbook into the "
                "workspace it was exported from, or download a fresh queue.",
            )
        else:
            check.add(
                row.number,
                "action id",
                f"the action id was changed ({key!r} is not an exported id). Put back the id "
                "as exported (undo the change), or download a fresh queue.",
            )
        return None
    if str(action["account_id"]) != account or not intact:
        check.add(
            row.number,
            "account id",
            f"the account id was changed: action {key} is for account "
            f"{action['account_id']}, the row says {account!r}. Put back the ids as "
            "exported; do not edit the grey columns.",
        )
        return None
    if action["workflow_name"] != wf.name:
        check.add(
            row.number,
            "action id",
            f"action {key} belongs to workflow '{action['workflow_name']}', not '{wf.name}'. "
            "Import it with that workflow selected.",
        )
        return None
    if action["destination"] != "review":
        check.add(
            row.number, "action id", f"action {key} went to the outbox; it is not for review."
        )
        return None
    if action["reviewer"] is not None and not pd.isna(action["reviewer"]):
        check.add(
            row.number,
            "decision",
            f"action {key} was already {action['decision']} by {action['reviewer']} on "
            f"{pd.Timestamp(action['decided_at']):%Y-%m-%d %H:%M}. Clear this row's decision; "
            "a decision is recorded once.",
        )
        return None
    return action


def _item(check: _Checker, row: _Row, action: dict[str, Any] | None) -> DecisionInput | None:
    """The row's decision, or None after noting every problem with it."""
    n, cells = row.number, row.cells
    raw = cells["decision"].strip()
    decision = _DECISION_OF.get(raw.lower())
    if decision is None:
        check.add(
            n,
            "decision",
            f"{raw!r} is not a decision; choose approve, edit or reject from the list, or "
            "leave it empty to keep the action pending.",
        )
    reason: str | None = None
    if cells["reason"].strip():
        # The list's words ("wrong account") and the stored keys ("wrong_account") both do.
        candidate = _norm(cells["reason"]).replace(" ", "_")
        reason = candidate if candidate in REASONS else None
        if reason is None:
            check.add(
                n,
                "reason",
                f"{cells['reason'].strip()!r} is not a reason; choose one of "
                f"{', '.join(REASON_LABELS.values())}.",
            )
    elif decision == "rejected":
        check.add(
            n,
            "reason",
            f"a reject needs a reason; choose one of {', '.join(REASON_LABELS.values())}.",
        )
    subject, body = cells["edited subject"].strip(), cells["edited body"].strip()
    if decision == "edited" and not (subject or body):
        check.add(
            n,
            "edited body",
            "edit is chosen but 'edited subject' and 'edited body' are empty. Write the new "
            "text there, or choose approve to keep the draft as it is.",
        )
    elif action is not None and decision == "edited":
        same_subject = not subject or subject == str(action["subject"]).strip()
        same_body = not body or body == str(action["body"]).strip()
        if same_subject and same_body:
            check.add(
                n,
                "edited body",
                "edit is chosen but the edited text is the same as the draft. Change the "
                "text, or choose approve.",
            )
    if decision is None or action is None:
        return None
    return DecisionInput(
        action_key=str(action["action_key"]),
        decision=decision,
        reason=reason,
        comment=cells["comment"].strip(),
        subject=subject if subject and subject != str(action["subject"]).strip() else None,
        body=body if body and body != str(action["body"]).strip() else None,
        where=f"{check.file_name}, sheet {REVIEW_SHEET}, row {n}",
    )


def read_review_workbook(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    data: bytes,
    file_name: str,
    *,
    reviewer: str | None = None,
) -> SheetDecisions:
    """Read and check a filled review workbook without recording anything.

    Args:
        con: The workspace.
        wf: The workflow whose queue the workbook holds.
        data: The workbook's bytes.
        file_name: Its name, as messages cite it.
        reviewer: Used when the workbook's reviewer cell is empty.

    Returns:
        The decisions, ready for ``record_decisions``.

    Raises:
        InputFileError: Not an xlsx workbook, damaged, or without the Review sheet or header.
        DecisionsRefused: Every problem found in the rows and columns (``.problems``).
        WorkbenchError: No row has a decision.
    """
    rows = _read(data, file_name)
    header, cols = _header(rows, file_name)
    missing = [h for h in REQUIRED_HEADERS if h not in cols]
    if missing:
        raise DecisionsRefused(
            [
                f"{file_name}, sheet {REVIEW_SHEET}, row {header + 1}: column '{h}' is missing."
                for h in missing
            ],
            "Upload the review workbook as exported, with all its columns (the 'check' "
            "column is hidden: unhide it if it was deleted, or download a fresh queue).",
        )
    check = _Checker(file_name, cols)
    in_book = _reviewer(rows, header)
    who = in_book or (reviewer or "").strip()
    if not who:
        check.problems.append(
            f"{file_name}, sheet {REVIEW_SHEET}, cell B1 ({REVIEWER_LABEL}): no reviewer name. "
            "Write your name there (it is attribution, not a login)."
        )
    body = _rows(rows, header, cols)
    decided = [r for r in body if r.cells["decision"].strip()]
    known = _known(con, [r.cells["action id"].strip() for r in decided])
    first_row: dict[str, int] = {}
    items: list[DecisionInput] = []
    for row in decided:
        key = row.cells["action id"].strip()
        if key and key in first_row:
            check.add(
                row.number,
                "action id",
                f"action {key} is decided twice (also on row {first_row[key]}). Keep one "
                "decision and clear the other row's.",
            )
            _item(check, row, None)
            continue
        first_row.setdefault(key, row.number)
        item = _item(check, row, _check_ids(check, row, wf, known))
        if item is not None:
            items.append(item)
    if check.problems:
        raise DecisionsRefused(check.problems, _HINT)
    if not items:
        raise WorkbenchError(
            f"{file_name}: no row has a decision, so there is nothing to record.",
            "Choose approve, edit or reject in the 'decision' column of the rows you "
            "reviewed, save, and upload the workbook again.",
        )
    return SheetDecisions(
        file_name,
        who,
        "workbook" if in_book else "argument",
        tuple(items),
        len(body) - len(decided),
    )


def import_review_workbook(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    data: bytes,
    file_name: str,
    *,
    reviewer: str | None = None,
    version: int | None = None,
) -> DecisionReport:
    """Check a filled review workbook and record its decisions, all or none.

    Args:
        con: The workspace.
        wf: The workflow whose queue the workbook holds.
        data: The workbook's bytes.
        file_name: Its name, as messages cite it.
        reviewer: Used when the workbook's reviewer cell is empty.
        version: The workflow version, for a pause the decisions may trigger.

    Returns:
        What was recorded.

    Raises:
        InputFileError: Not an xlsx workbook, damaged, or without the Review sheet or header.
        DecisionsRefused: Every problem found; nothing was recorded.
        WorkbenchError: No reviewer, or no row has a decision.
    """
    sheet = read_review_workbook(con, wf, data, file_name, reviewer=reviewer)
    return record_decisions(
        con, wf, sheet.items, reviewer=sheet.reviewer, source="spreadsheet", version=version
    )
