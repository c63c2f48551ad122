"""Review by spreadsheet: download the pending queue, upload the filled workbook, apply it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.export.review_book import review_xlsx
from workbench.review import store
from workbench.review.decide import DecisionsRefused
from workbench.review.sheet_import import (
    SheetDecisions,
    import_review_workbook,
    read_review_workbook,
)
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import XLSX_MIME, download_button
from workbench.ui.errors import flash, user_errors
from workbench.workflow.model import Workflow

_UPLOAD_ROUND = "rs:upload_round"


def _download(ctx: Context, wf: Workflow, queue: pd.DataFrame, reviewer: str) -> None:
    if queue.empty:
        st.info("Nothing is pending review, so there is no queue to download.")
        return
    n = len(queue)
    # Built when clicked (on another thread) from the frame already loaded: no cursor there.
    download_button(
        f":material/download: Pending queue ({n} action{'s' * (n != 1)}, XLSX)",
        lambda: review_xlsx(None, wf.name, pending=queue, reviewer=reviewer),
        f"review-queue-{store.now():%Y-%m-%d}.xlsx",
        XLSX_MIME,
        ctx=ctx,
        what=f"review queue of {wf.name}",
        rows=n,
        key="rs:download",
        help="One row per action with its draft; choose approve, edit or reject in the "
        "yellow columns, then upload the workbook below.",
    )


def _show_problems(file_name: str, exc: DecisionsRefused) -> None:
    n = len(exc.problems)
    st.error(
        f"**{file_name}: nothing was recorded ({n} problem{'s' * (n != 1)}).**\n\n"
        + "\n".join(f"- {p}" for p in exc.problems)
        + (f"\n\n**What to do:** {exc.hint}" if exc.hint else ""),
        icon=":material/warning:",
    )


def _preview(sheet: SheetDecisions) -> None:
    counts = sheet.by_decision
    cols = st.columns(4)
    cols[0].metric("Approve", counts["approved"])
    cols[1].metric("Edit", counts["edited"])
    cols[2].metric("Reject", counts["rejected"])
    cols[3].metric("Left pending", sheet.left_pending)
    whence = "from the workbook" if sheet.reviewer_from == "workbook" else "the name above"
    st.caption(f"Recorded under **{sheet.reviewer}** ({whence}), source: spreadsheet.")
    # The panel sits in the page's expander, and expanders do not nest: a plain table.
    st.dataframe(
        pd.DataFrame(
            {
                "where": [i.where.split(", ")[-1] for i in sheet.items],
                "action id": [i.action_key for i in sheet.items],
                "decision": [i.decision for i in sheet.items],
                "reason": [i.reason or "" for i in sheet.items],
                "edited": [i.subject is not None or i.body is not None for i in sheet.items],
                "comment": [i.comment for i in sheet.items],
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(sheet.items), 320),
        key="rs:preview",
    )


def render_sheet_panel(
    ctx: Context, wf: Workflow, version: int | None, reviewer: str, pending: pd.DataFrame
) -> None:
    """Download the queue as xlsx and import the filled workbook back, all or nothing.

    Args:
        ctx: The page's context.
        wf: The workflow under review.
        version: Its version (for a pause the decisions may trigger).
        reviewer: The name given on the page: written into the download, and used on
            import when the workbook's reviewer cell is empty.
        pending: The pending actions, as the queue above read them this rerun.
    """
    with user_errors():
        _download(ctx, wf, pending, reviewer)
    round_ = st.session_state.setdefault(_UPLOAD_ROUND, 0)
    upload = st.file_uploader(
        "Filled review workbook",
        type=["xlsx"],
        key=f"rs:upload:{round_}",
        help="Checked before anything is recorded: any problem and nothing changes.",
    )
    if upload is None:
        return
    data = upload.getvalue()
    with user_errors():
        try:
            sheet = read_review_workbook(ctx.con, wf, data, upload.name, reviewer=reviewer)
        except DecisionsRefused as exc:
            _show_problems(upload.name, exc)
            return
        _preview(sheet)
        if st.button("Apply decisions", type="primary", key="rs:apply"):
            try:
                report = import_review_workbook(
                    ctx.con, wf, data, upload.name, reviewer=reviewer, version=version
                )
            except DecisionsRefused as exc:
                _show_problems(upload.name, exc)
                return
            flash(f"{upload.name}: {report.sentence()} Gate: {report.gate.sentence}.")
            st.session_state[_UPLOAD_ROUND] = round_ + 1  # a fresh, empty uploader
            st.rerun()
