"""The review queue: filters, one fast table, and bulk decisions with a confirmation.

The chosen action's detail, with approve / edit / reject, is drawn by ``review_detail`` below
the table. Every decision goes through ``decide.record_decisions`` (all or nothing, audited);
``last_decision`` shows what the last one recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.experiment.types import ARM_LABELS
from workbench.review import queue_view as qv
from workbench.review import store
from workbench.review.decide import DecisionInput, DecisionReport
from workbench.review.stats import REASONS
from workbench.ui import review_detail as detail
from workbench.ui.bootstrap import Context
from workbench.ui.errors import user_errors
from workbench.ui.review_run import APPROVAL_PAGE
from workbench.ui.text import md_safe
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

BULK = "rv:bulk"  # a bulk decision waiting for its confirmation

TABLE = {
    "account_name": st.column_config.TextColumn("Account", pinned=True),
    "route": st.column_config.TextColumn("Route"),
    "arm": st.column_config.TextColumn(
        "Arm",
        help="Experiment arm. Only the automated route is in the experiment: escalated "
        "accounts (human or manager route) always go to a person.",
        width=140,
    ),
    "held": st.column_config.CheckboxColumn("Held", help="The drafting checks held this draft"),
    "segment": st.column_config.TextColumn("Segment"),
    "arr": st.column_config.NumberColumn("ARR", format="$%,.0f"),
    "assignee": st.column_config.TextColumn("Assignee"),
    "run_id": st.column_config.NumberColumn("Run", format="%d"),
    "as_of": st.column_config.DateColumn("As of"),
    "sampled": st.column_config.CheckboxColumn("Sample", help="Sampled in autonomous mode"),
    "subject": st.column_config.TextColumn("Draft subject", width="large"),
    "reasons": st.column_config.TextColumn("Why it fired", width="large"),
}
VERB = {"approved": "Approve", "rejected": "Reject"}


def render(
    ctx: Context, wf: Workflow, version: WorkflowVersion, reviewer: str, runs: int
) -> pd.DataFrame:
    """The whole queue section: the last decision, filters, table, bulk, one action.

    Returns the pending actions it read (the spreadsheet panel offers the same queue).
    """
    last_decision(ctx, wf)
    pending = store.pending(ctx.con, wf.name)
    if pending.empty:
        _caught_up(runs)
        return pending
    _headline(pending)
    view = _filtered(pending)
    if view.empty:
        st.info("No pending action matches these filters.", icon=":material/filter_alt_off:")
        return pending
    selected = _table(view)
    _bulk(ctx, wf, version, reviewer, view, selected)
    detail.render(ctx, wf, version, reviewer, view, selected)
    return pending


def _caught_up(runs: int) -> None:
    if not runs:
        st.caption("The queue fills when a run proposes actions.")
        return
    st.success(
        "**All caught up.** No proposed action is waiting for review. See what the reviews "
        "add up to, and whether the autonomy gate passes, on **Approval & gate**; press "
        "**Run now** for the next window.",
        icon=":material/task_alt:",
    )
    st.page_link(APPROVAL_PAGE, label="Go to Approval & gate", icon=":material/verified:")


def _headline(pending: pd.DataFrame) -> None:
    counts = qv.queue_counts(pending)
    routes = [f"{counts[r]:,} {r}" for r in ("automated", "human", "manager") if counts.get(r)]
    text = f"**{counts['pending']:,} action{'s' * (counts['pending'] != 1)} waiting for review**"
    text += f" ({', '.join(routes)})" if routes else ""
    if counts["held"]:
        text += f" · {counts['held']:,} held by the drafting checks"
    st.markdown(text + ".")


def _multiselect(label: str, options: Sequence[object], key: str) -> list[object]:
    kept = [v for v in st.session_state.get(key, []) if v in options]
    if kept != st.session_state.get(key, kept):
        st.session_state[key] = kept  # a value left the queue: drop it from the filter
    return list(st.multiselect(label, list(options), key=key, placeholder="Any"))


def _filtered(pending: pd.DataFrame) -> pd.DataFrame:
    options = qv.filter_options(pending)
    cols = st.columns([1, 1, 1, 1, 2, 2])
    with cols[0]:
        routes = _multiselect("Route", options["route"], "rv:f-route")
    with cols[1]:
        segments = _multiselect("Segment", options["segment"], "rv:f-segment")
    with cols[2]:
        assignees = _multiselect("Assignee", options["assignee"], "rv:f-assignee")
    with cols[3]:
        runs = _multiselect("Run", options["run_id"], "rv:f-run")
    with cols[4]:
        text = st.text_input(
            "Search",
            key="rv:f-text",
            placeholder="Account, id, draft text, reason…",
            help="Case-insensitive, anywhere in the account, the draft or why it fired.",
        )
    with cols[5]:
        sort = st.selectbox(
            "Order", list(qv.SORT_WORDS), format_func=qv.SORT_WORDS.__getitem__, key="rv:sort"
        )
    f = qv.QueueFilter(
        tuple(str(r) for r in routes),
        tuple(str(s) for s in segments),
        tuple(str(a) for a in assignees),
        tuple(int(cast(int, r)) for r in runs),
        text,
    )
    view = qv.sort_queue(qv.apply_filter(pending, f), cast(qv.Sort, sort))
    if f.active:
        st.caption(f"Showing {len(view):,} of {len(pending):,} pending actions.")
    return view


def _table(view: pd.DataFrame) -> list[str]:
    """The queue as one table; returns the action keys of the selected rows."""
    table = qv.queue_table(view)
    if "arm" in table.columns:
        # Arms in the Outcomes page's words; human and manager routes are outside the experiment.
        table["arm"] = [
            ARM_LABELS.get(a, a) if isinstance(a, str) else "not in experiment"
            for a in table["arm"]
        ]
    keys = list(table["action_key"])
    event = st.dataframe(
        table,
        column_order=list(TABLE),
        column_config=TABLE,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(table), 420),
        selection_mode="multi-row",
        on_select="rerun",
        # Keyed by the rows shown, so a selection never points at rows that changed.
        key=f"rv:table:{qv.table_key(keys)}",
    )
    rows = event.selection.rows if event is not None else []
    st.caption(
        "Tick a row's box to open it below; tick several to approve or reject them together. "
        "After each decision the next action opens."
    )
    return [keys[i] for i in rows if 0 <= i < len(keys)]


# --- bulk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkRequest:
    """A bulk decision waiting for its confirmation (the keys as they were when asked)."""

    decision: str
    reason: str | None
    comment: str
    keys: tuple[str, ...]
    held: int


def _bulk(
    ctx: Context,
    wf: Workflow,
    version: WorkflowVersion,
    reviewer: str,
    view: pd.DataFrame,
    selected: list[str],
) -> None:
    request = st.session_state.get(BULK)
    waiting = isinstance(request, BulkRequest)
    with st.expander("Bulk approve or reject", icon=":material/done_all:", expanded=waiting):
        if isinstance(request, BulkRequest):
            _confirm_bulk(ctx, wf, version, reviewer, request)
            return
        scope = st.radio(
            "Apply to",
            ["shown", "selected"],
            # Fixed labels: a label holding a count changes with the queue, and Streamlit
            # then loses the choice (the button fell to "0 actions").
            format_func=lambda s: "All shown by the filters" if s == "shown" else "The ticked rows",
            horizontal=True,
            key="rv:bulk-scope",
            help="The button below says how many actions that is.",
        )
        decision = st.radio(
            "Decision",
            list(VERB),
            format_func=VERB.__getitem__,
            horizontal=True,
            key="rv:bulk-decision",
        )
        reason = st.selectbox(
            "Reason (required to reject)",
            REASONS,
            index=None,
            format_func=detail.reason_words,
            key="rv:bulk-reason",
            placeholder="Choose the reason",
        )
        comment = st.text_input(
            "Comment (optional, kept with each decision)", key="rv:bulk-comment"
        )
        keys = list(view["action_key"]) if scope == "shown" else selected
        verb = VERB[str(decision)]
        go = st.button(
            f"{verb} {len(keys):,} action{'s' * (len(keys) != 1)}…",
            key="rv:bulk-go",
            disabled=not keys,
            help="Shows the count and asks you to confirm before anything is recorded.",
        )
        if go:
            with user_errors():
                if not reviewer:
                    raise WorkbenchError(
                        "Say who is reviewing.", "Fill in your name at the top of the page."
                    )
                if decision == "rejected" and reason is None:
                    raise WorkbenchError(
                        "Choose a reason for the rejections.",
                        "Every rejection carries one of the structured reasons.",
                    )
                held = int(view.loc[view["action_key"].isin(keys), "held"].sum())
                st.session_state[BULK] = BulkRequest(
                    str(decision),
                    str(reason) if decision == "rejected" and reason else None,
                    comment,
                    tuple(keys),
                    held,
                )
                st.rerun()


def _confirm_bulk(
    ctx: Context, wf: Workflow, version: WorkflowVersion, reviewer: str, request: BulkRequest
) -> None:
    n = len(request.keys)
    verb = VERB[request.decision]
    text = f"**{verb} {n:,} action{'s' * (n != 1)} as {reviewer or '(no name)'}?**"
    if request.reason:
        text += f" Reason: {detail.reason_words(request.reason)}."
    if request.held and request.decision == "approved":
        text += (
            f" {request.held:,} of them {'were' if request.held != 1 else 'was'} held by the "
            "drafting checks."
        )
    text += " Each decision is recorded with your name and goes into the audit log."
    st.warning(md_safe(text), icon=":material/help:")
    row = st.container(horizontal=True)
    yes = row.button(f"Yes, {verb.lower()} {n:,}", type="primary", key="rv:bulk-confirm")
    no = row.button("Cancel", key="rv:bulk-cancel")
    if no:
        st.session_state.pop(BULK, None)
        # The bulk form was not drawn while confirming, so its values are gone: put them back.
        st.session_state["rv:bulk-decision"] = request.decision
        st.session_state["rv:bulk-reason"] = request.reason
        st.session_state["rv:bulk-comment"] = request.comment
        st.rerun()
    if yes:
        st.session_state.pop(BULK, None)
        items = [
            DecisionInput(k, request.decision, reason=request.reason, comment=request.comment)
            for k in request.keys
        ]
        with user_errors():
            detail.record(ctx, wf, version, reviewer, items, None)


def last_decision(ctx: Context, wf: Workflow) -> None:
    """What the last decision recorded; a pause it caused, loudly; an edit's stored diff."""
    report = st.session_state.get(detail.LAST)
    if not isinstance(report, DecisionReport):
        return
    if report.pause is not None and report.pause.paused is not None:
        st.error(md_safe(report.sentence()), icon=":material/pause_circle:")
        st.page_link(APPROVAL_PAGE, label="See why on Approval & gate", icon=":material/verified:")
    else:
        st.success(md_safe(report.sentence()), icon=":material/check_circle:")
    st.caption(md_safe(f"Autonomy gate: {report.gate.sentence}."))
    if report.recorded == 1 and report.by_decision.get("edited"):
        done = store.reviewed(ctx.con, wf.name)
        hit = done[done["action_key"] == report.keys[0]]
        if not hit.empty and isinstance(hit.iloc[0]["diff"], str):
            stored = hit.iloc[0]
            st.markdown(
                f"Stored edit: edit distance **{int(stored['edit_distance']):,}** characters "
                f"({float(stored['edit_ratio']):.0%} of the draft)."
            )
            st.code(str(stored["diff"]), language="diff")
