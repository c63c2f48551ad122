"""Review by spreadsheet: a filled workbook is recorded whole, or not at all with every problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from workbench import audit
from workbench.errors import InputFileError, WorkbenchError
from workbench.export.review_book import COLUMNS, HEADER_ROW, REVIEW_SHEET, review_xlsx, row_check
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, DecisionsRefused, record_decisions
from workbench.review.runs import run_workflow
from workbench.review.sheet_import import import_review_workbook, read_review_workbook
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow
from workbench.workflow.model import Workflow
from workbench.workflow.store import latest

FILE = "queue.xlsx"
COL = {c.header: i + 1 for i, c in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Queued:
    root: Path
    data: bytes  # the exported queue, reviewer cell empty
    keys: tuple[str, ...]


@pytest.fixture(scope="module")
def queued(sample_root, tmp_path_factory) -> Queued:
    """A closed workspace in shadow mode with one run's actions pending, and its export."""
    ws = Workspace(shutil.copytree(sample_root, tmp_path_factory.mktemp("sheet-import") / "ws"))
    con = connect(ws)
    version = latest(con)
    assert version is not None
    wf = parse_workflow(version.yaml)
    change_mode(con, wf, "shadow", actor="Ana", reason="start the shadow period")
    run_workflow(con, wf, version.version, default_as_of(con) - timedelta(days=21), actor="Ana")
    queue = store.pending(con, wf.name)
    data = review_xlsx(con, wf.name)
    con.close()
    assert len(queue) >= 8
    return Queued(ws.root, data, tuple(queue["action_key"]))


@pytest.fixture
def workspace(queued: Queued, tmp_path: Path):
    """A writable copy of the queued workspace: (connection, workflow, version)."""
    root = tmp_path / "ws"
    shutil.copytree(queued.root, root)
    con = connect(Workspace(root))
    version = latest(con)
    assert version is not None
    yield con, parse_workflow(version.yaml), version.version
    con.close()


def fill(data: bytes, edit: Callable[[Worksheet], None], reviewer: str | None = "Dana") -> bytes:
    """Open the workbook as a person would, change it, save it."""
    book = load_workbook(BytesIO(data))
    ws = book[REVIEW_SHEET]
    if reviewer is not None:
        ws["B1"] = reviewer
    edit(ws)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def put(ws: Worksheet, row: int, header: str, value: object) -> None:
    """Set a cell of data row ``row`` (0-based) by column header."""
    ws.cell(HEADER_ROW + 1 + row, COL[header], value)


def get(ws: Worksheet, row: int, header: str) -> object:
    return ws.cell(HEADER_ROW + 1 + row, COL[header]).value


def excel_row(row: int) -> int:
    return HEADER_ROW + 1 + row


def snapshot(con) -> tuple[list, list]:
    reviews = con.execute("SELECT * FROM wb.reviews ORDER BY action_key").fetchall()
    log = con.execute("SELECT * FROM wb.audit_log ORDER BY 1").fetchall()
    return reviews, log


def test_round_trip_records_each_decision(queued, workspace):
    con, wf, version = workspace
    before = len(audit.entries(con))

    def review(ws):
        put(ws, 0, "decision", "approve")
        put(ws, 1, "decision", "Edit")
        put(ws, 1, "edited body", "Hi,\n\nA shorter note.\n\nThanks")
        put(ws, 1, "comment", "too long")
        put(ws, 2, "decision", " REJECTED ")
        put(ws, 2, "reason", "should be human")
        put(ws, 2, "comment", "=call them")
        ws.cell(HEADER_ROW + 3, COL["comment"]).data_type = "s"  # typed as '=call them
        put(ws, 3, "decision", "approve")
        put(ws, 3, "edited subject", "Renewal: please call first")
        put(ws, 4, "decision", "reject")
        put(ws, 4, "reason", "wrong_account")
        put(ws, 5, "decision", "approve")
        put(ws, 5, "edited body", get(ws, 5, "draft body"))  # copied, not changed

    data = fill(queued.data, review)
    preview = read_review_workbook(con, wf, data, FILE)
    assert preview.by_decision == {"approved": 2, "edited": 2, "rejected": 2}
    assert preview.left_pending == len(queued.keys) - 6
    assert preview.reviewer == "Dana" and preview.reviewer_from == "workbook"
    assert snapshot(con)[0] == []  # reading records nothing

    report = import_review_workbook(con, wf, data, FILE, version=version)
    assert report.recorded == 6
    assert report.by_decision == {"approved": 2, "edited": 2, "rejected": 2}
    got = store.reviewed(con, wf.name).set_index("action_key")
    keys = queued.keys
    assert list(got.loc[list(keys[:6]), "decision"]) == [
        "approved", "edited", "rejected", "edited", "rejected", "approved",
    ]  # fmt: skip
    assert set(got["reviewer"]) == {"Dana"} and set(got["source"]) == {"spreadsheet"}
    assert got.loc[keys[1], "edited_body"] == "Hi,\n\nA shorter note.\n\nThanks"
    assert got.loc[keys[1], "comment"] == "too long"
    assert got.loc[keys[2], "reason"] == "should_be_human"
    assert got.loc[keys[2], "comment"] == "=call them"
    assert got.loc[keys[3], "edited_subject"] == "Renewal: please call first"
    assert got.loc[keys[4], "reason"] == "wrong_account"
    assert got.loc[keys[3], "edit_distance"] > 0
    assert len(store.pending(con, wf.name)) == len(keys) - 6
    assert len(audit.entries(con)) - before >= 6
    assert audit.verify(con).ok


def test_the_reviewer_argument_is_used_when_the_cell_is_empty(queued, workspace):
    con, wf, _ = workspace
    data = fill(queued.data, lambda ws: put(ws, 0, "decision", "approve"), reviewer=None)
    import_review_workbook(con, wf, data, FILE, reviewer="Lee")
    assert list(store.reviewed(con, wf.name)["reviewer"]) == ["Lee"]


def test_the_workbook_reviewer_wins_over_the_argument(queued, workspace):
    con, wf, _ = workspace
    data = fill(queued.data, lambda ws: put(ws, 0, "decision", "approve"), reviewer="Dana")
    import_review_workbook(con, wf, data, FILE, reviewer="Lee")
    assert list(store.reviewed(con, wf.name)["reviewer"]) == ["Dana"]


def test_importing_the_same_workbook_twice_records_it_once(queued, workspace):
    con, wf, _ = workspace
    data = fill(queued.data, lambda ws: put(ws, 0, "decision", "approve"))
    import_review_workbook(con, wf, data, FILE)
    before = snapshot(con)
    with pytest.raises(DecisionsRefused) as err:
        import_review_workbook(con, wf, data, FILE)
    assert f"row {excel_row(0)}, column M (decision)" in err.value.problems[0]
    assert "already approved by Dana" in err.value.problems[0]
    assert snapshot(con) == before


# --- invalid workbooks: every case leaves wb.reviews and wb.audit_log as they were ----------


def _with_valid_row(edit: Callable[[Worksheet], None]) -> Callable[[Worksheet], None]:
    """The broken change plus a valid approval on the last row, which must not be recorded."""

    def both(ws: Worksheet) -> None:
        last = ws.max_row - HEADER_ROW - 1
        put(ws, last, "decision", "approve")
        edit(ws)

    return both


def _swap_id(ws):
    put(ws, 0, "decision", "approve")
    put(ws, 0, "action id", "0123456789abcdef01234567")


def _foreign_id(ws):
    key, account = "0123456789abcdef01234567", str(get(ws, 0, "account id"))
    put(ws, 0, "decision", "approve")
    put(ws, 0, "action id", key)
    put(ws, 0, "check", row_check(key, account))


def _change_account(ws):
    put(ws, 0, "decision", "approve")
    put(ws, 0, "account id", "ACC-99999")


def _duplicate(ws):
    put(ws, 0, "decision", "approve")
    ws.append([c.value for c in ws[HEADER_ROW + 1]])
    ws.cell(ws.max_row, COL["decision"], "reject")
    ws.cell(ws.max_row, COL["reason"], "tone")


def _drop_column(header):
    def edit(ws):
        put(ws, 0, "decision", "approve")
        ws.delete_cols(COL[header])

    return edit


def _cells(**values):
    def edit(ws):
        for header, value in values.items():
            put(ws, 0, header.replace("_", " "), value)

    return edit


def _copy_draft_subject(ws):
    put(ws, 0, "decision", "edit")
    put(ws, 0, "edited subject", get(ws, 0, "draft subject"))


BAD_ROWS = {
    "unknown action id": (_foreign_id, "column A (action id)", "no action '0123456789abcdef"),
    "changed action id": (_swap_id, "column A (action id)", "the action id was changed"),
    "changed account id": (_change_account, "column B (account id)", "account id was changed"),
    "invalid decision": (_cells(decision="maybe"), "column M (decision)", "'maybe' is not a"),
    "reject without reason": (_cells(decision="reject"), "column N (reason)", "needs a reason"),
    "invalid reason": (
        _cells(decision="reject", reason="rude"),
        "column N (reason)",
        "'rude' is not a reason",
    ),
    "edit without edited text": (
        _cells(decision="edit"),
        "column Q (edited body)",
        "'edited body' are empty",
    ),
    "edit with the draft's text": (
        _copy_draft_subject,
        "column Q (edited body)",
        "same as the draft",
    ),
    "decided twice in the workbook": (_duplicate, "column A (action id)", "decided twice"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_refuses_the_whole_workbook(queued, workspace, case):
    con, wf, _ = workspace
    edit, column, words = BAD_ROWS[case]
    data = fill(queued.data, _with_valid_row(edit))
    before = snapshot(con)
    with pytest.raises(DecisionsRefused) as err:
        import_review_workbook(con, wf, data, FILE)
    row = len(queued.keys) + HEADER_ROW + 1 if case == "decided twice in the workbook" else 5
    expected = f"{FILE}, sheet Review, row {row}, {column}"
    assert any(p.startswith(expected) and words in p for p in err.value.problems), (
        err.value.problems
    )
    assert len(err.value.problems) == 1, err.value.problems
    assert snapshot(con) == before
    assert len(store.pending(con, wf.name)) == len(queued.keys)


def test_an_action_already_decided_in_the_workspace_is_named_by_row(queued, workspace):
    con, wf, _ = workspace
    record_decisions(con, wf, [DecisionInput(queued.keys[2], "approved")], reviewer="Sam")
    data = fill(queued.data, _with_valid_row(_cells(decision="approve")))
    data = fill(data, lambda ws: put(ws, 2, "decision", "reject"))
    before = snapshot(con)
    with pytest.raises(DecisionsRefused) as err:
        import_review_workbook(con, wf, data, FILE)
    assert len(err.value.problems) == 2, err.value.problems
    assert f"row {excel_row(2)}, column M (decision)" in err.value.problems[0]
    assert "already approved by Sam" in err.value.problems[0]
    assert "needs a reason" in err.value.problems[1]  # every problem, not the first only
    assert snapshot(con) == before


def test_every_problem_is_reported_at_once(queued, workspace):
    con, wf, _ = workspace

    def many(ws):
        put(ws, 0, "decision", "maybe")
        put(ws, 1, "decision", "reject")
        put(ws, 2, "decision", "edit")
        put(ws, 3, "decision", "approve")
        put(ws, 3, "reason", "bad luck")
        put(ws, 4, "decision", "approve")  # fine, yet not recorded

    data = fill(queued.data, many, reviewer="")
    before = snapshot(con)
    with pytest.raises(DecisionsRefused) as err:
        import_review_workbook(con, wf, data, FILE)
    problems = err.value.problems
    assert len(problems) == 5, problems
    assert "cell B1 (Reviewer)" in problems[0]
    for i, row in enumerate(range(4), start=1):
        assert f"row {excel_row(row)}, column" in problems[i]
    assert snapshot(con) == before


def test_no_reviewer_anywhere_is_refused(queued, workspace):
    con, wf, _ = workspace
    data = fill(queued.data, lambda ws: put(ws, 0, "decision", "approve"), reviewer=None)
    before = snapshot(con)
    with pytest.raises(DecisionsRefused, match="cell B1"):
        import_review_workbook(con, wf, data, FILE, reviewer="  ")
    assert snapshot(con) == before


def _rename_sheet(ws):
    put(ws, 0, "decision", "approve")
    ws.title = "Queue"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_FILES: dict[str, tuple[Callable[[bytes], bytes], type[Exception], str]] = {
    "missing Review sheet": (
        lambda d: fill(d, _rename_sheet),
        InputFileError,
        "no sheet named 'Review' (sheets: 'Queue'",
    ),
    "missing decision column": (
        lambda d: fill(d, _drop_column("decision")),
        InputFileError,
        "no header row with 'action id' and 'decision'",
    ),
    "missing check column": (
        lambda d: fill(d, _drop_column("check")),
        DecisionsRefused,
        "column 'check' is missing",
    ),
    "missing edited body column": (
        lambda d: fill(d, _drop_column("edited body")),
        DecisionsRefused,
        "column 'edited body' is missing",
    ),
    "not xlsx (CSV)": (
        lambda d: b"action id,decision\nabc,approve\n",
        InputFileError,
        "not an .xlsx workbook",
    ),
    "old xls": (lambda d: b"\xd0\xcf\x11\xe0" + b"\0" * 512, InputFileError, "old-style .xls"),
    "corrupt": (
        lambda d: _truncated(fill(d, lambda ws: put(ws, 0, "decision", "approve"))),
        InputFileError,
        "damaged or incomplete",
    ),
    "no decisions": (lambda d: fill(d, lambda ws: None), WorkbenchError, "no row has a decision"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_workbook_changes_nothing(queued, workspace, case):
    con, wf, _ = workspace
    make, error, words = BAD_FILES[case]
    before = snapshot(con)
    with pytest.raises(error) as err:
        import_review_workbook(con, wf, make(queued.data), FILE)
    assert words in str(err.value)
    assert FILE in str(err.value)
    assert snapshot(con) == before


def test_sorted_and_filtered_rows_still_import(queued, workspace):
    """Rows carry their ids, so a reviewer may sort the sheet."""
    con, wf, _ = workspace

    def reverse(ws):
        first, last = HEADER_ROW + 1, ws.max_row
        rows = [[c.value for c in ws[r]] for r in range(first, last + 1)]
        for r, values in zip(range(first, last + 1), reversed(rows), strict=True):
            for c, value in enumerate(values, start=1):
                ws.cell(r, c, value)
        put(ws, 0, "decision", "reject")  # now the last exported action
        put(ws, 0, "reason", "tone")

    import_review_workbook(con, wf, fill(queued.data, reverse), FILE)
    got = store.reviewed(con, wf.name)
    assert list(got["action_key"]) == [queued.keys[-1]]
    assert list(got["reason"]) == ["tone"]


def test_a_workflow_with_another_name_cannot_take_the_decisions(queued, workspace):
    con, wf, _ = workspace
    other: Workflow = wf.model_copy(update={"name": "Another workflow"})
    data = fill(queued.data, lambda ws: put(ws, 0, "decision", "approve"))
    with pytest.raises(DecisionsRefused, match="belongs to workflow"):
        import_review_workbook(con, other, data, FILE)
    assert snapshot(con)[0] == []
