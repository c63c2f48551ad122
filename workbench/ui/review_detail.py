"""The review queue's detail pane: one action, its draft, and approve / edit / reject.

The action open is the one clicked in the queue's table, else the one after the last decision,
else the first shown; Previous and Next step through the table's order. Each decision is a form
(Enter in a comment submits it) that goes through ``decide.record_decisions`` (all or nothing,
audited) and then opens the next action, so a reviewer can work down the queue with the
keyboard. ``record`` is also how the queue's bulk decisions are recorded.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.experiment.types import ARM_LABELS
from workbench.review import queue_view as qv
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.stats import REASON_WORDS, REASONS
from workbench.ui.bootstrap import Context
from workbench.ui.errors import user_errors
from workbench.ui.text import md_safe
from workbench.workflow.describe import ROUTE_WORDS
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

CURRENT = "rv:current"
"""Session key: the action open in the detail pane (the "Action" picker)."""
NEXT = "rv:next"  # the action to open on the next rerun, set after a decision
SEEN = "rv:selected"  # the table selection of the previous rerun, to spot a new click
LAST = "rv:last"  # the last DecisionReport, shown until the next decision


def reason_words(reason: str) -> str:
    """A rejection reason in words (the reason itself when it has none)."""
    return REASON_WORDS.get(reason, reason)


def _current(view: pd.DataFrame, selected: list[str]) -> str:
    """Set the action to open before the picker is drawn: a new click, else the next one."""
    keys = list(view["action_key"])
    following = st.session_state.pop(NEXT, None)
    clicked = qv.newly_selected(selected, st.session_state.get(SEEN, []))
    st.session_state[SEEN] = selected
    if clicked is not None:
        st.session_state[CURRENT] = clicked
    elif following in keys:
        st.session_state[CURRENT] = following
    if st.session_state.get(CURRENT) not in keys:
        st.session_state[CURRENT] = keys[0]
    return str(st.session_state[CURRENT])


def render(
    ctx: Context,
    wf: Workflow,
    version: WorkflowVersion,
    reviewer: str,
    view: pd.DataFrame,
    selected: list[str],
) -> None:
    """The detail pane: the action open, its draft, and the forms to decide it.

    Args:
        ctx: The page's context.
        wf: The workflow under review.
        version: Its current version, recorded with each decision.
        reviewer: The reviewer's name ("" until filled in: deciding then says so).
        view: The queue as shown (filtered and sorted), one row per action.
        selected: The action keys of the rows selected in the table.
    """
    st.markdown("#### One action")
    _current(view, selected)
    keys = list(view["action_key"])
    labels = {
        str(r.action_key): f"{r.account_name} ({r.account_id}) · {r.route} · run {r.run_id}"
        for r in view.itertuples()
    }
    top = st.container(horizontal=True, vertical_alignment="bottom")
    with top:
        key = str(
            st.selectbox(
                "Action",
                keys,
                format_func=labels.__getitem__,
                key=CURRENT,
                help="Type to search. The table's order; a click on a row opens it here.",
            )
        )
        at = keys.index(key)
        if st.button("Previous", icon=":material/arrow_back:", key="rv:prev", disabled=at == 0):
            st.session_state[NEXT] = keys[at - 1]
            st.rerun()
        if st.button(
            "Next", icon=":material/arrow_forward:", key="rv:skip", disabled=at == len(keys) - 1
        ):
            st.session_state[NEXT] = keys[at + 1]
            st.rerun()
    st.caption(f"{at + 1:,} of {len(keys):,} shown.")
    row = view.iloc[at]
    following = qv.next_after(keys, key)
    _flags(row)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _draft(row)
    with right:
        if not reviewer:
            st.warning(
                "Fill in your name at the top of the page to decide: every decision carries it.",
                icon=":material/badge:",
            )
        _decide(ctx, wf, version, reviewer, row, following)


def _flags(row: pd.Series) -> None:
    facts = [str(row["account_id"])]
    if isinstance(row["segment"], str):
        facts.append(row["segment"])
    if pd.notna(row["arr"]):
        facts.append(f"ARR ${float(row['arr']):,.0f}")
    if isinstance(row["assignee"], str):
        facts.append(f"assignee {row['assignee']}")
    facts.append(f"{row['action_type']}")
    arm = row.get("arm")
    if isinstance(arm, str) and arm:
        facts.append(f"experiment arm {ARM_LABELS.get(arm, arm)}")
    facts.append(f"run {row['run_id']} as of {pd.Timestamp(row['as_of']):%Y-%m-%d}")
    st.markdown(md_safe(f"##### {row['account_name']}"))
    st.caption(md_safe(" · ".join(facts)))
    if bool(row["held"]):
        st.error(
            "**Held: needs a person.** The drafting checks held this draft (a policy check "
            "failed, or there was no usable draft). Read it closely; edit it, or reject it if "
            "it should not go out.",
            icon=":material/front_hand:",
        )
    route = str(row["route"])
    if route != "automated":
        st.info(
            f"Route **{route}**: {ROUTE_WORDS.get(route, route)}. This review counts in the "
            "metrics, not toward the autonomy gate (which counts automated-route reviews).",
            icon=":material/person:",
        )
    if str(row.get("arm") or "") == "csm":
        st.info(
            "**CSM arm of the experiment.** A CSM handles this account as usual: in autonomous "
            "mode it never goes to the outbox. Review the draft all the same; it counts toward "
            "the gate, and the Outcomes page compares this arm with the AI arm and control.",
            icon=":material/science:",
        )
    if str(row.get("arm") or "") == "ai":
        st.caption(
            "AI-handled arm of the experiment: in shadow mode a CSM reviews this draft like any "
            "other; once the workflow is autonomous, actions of this arm go to the outbox "
            "without review (apart from the sampled ones)."
        )
    if bool(row["sampled"]):
        st.caption(
            "Sampled in autonomous mode: this review checks the workflow still clears the bar; "
            "approved, it joins the outbox."
        )


def _draft(row: pd.Series) -> None:
    lines = qv.reason_lines(row["reasons"])
    if lines:
        st.markdown("**Why it fired**\n" + "\n".join(f"- {md_safe(x)}" for x in lines))
    st.markdown(f"**Subject:** {md_safe(str(row['subject'])) or '_(none)_'}")
    st.code(str(row["body"]) or "(empty)", language=None, wrap_lines=True)


def _decide(
    ctx: Context,
    wf: Workflow,
    version: WorkflowVersion,
    reviewer: str,
    row: pd.Series,
    following: str | None,
) -> None:
    key = str(row["action_key"])
    approve, edit, reject = st.tabs(["Approve", "Edit", "Reject"])
    with approve:
        with st.form("rv:approve-form", border=False, enter_to_submit=True):
            comment = st.text_input("Comment (optional)", key=f"rv:approve-comment:{key}")
            go = st.form_submit_button(
                "Approve and next", type="primary", icon=":material/check:", key="rv:approve"
            )
        if go:
            with user_errors():
                item = DecisionInput(key, "approved", comment=comment)
                record(ctx, wf, version, reviewer, [item], following)
    with edit:
        with st.form("rv:edit-form", border=False):
            subject = st.text_area(
                "Subject", value=str(row["subject"]), height=68, key=f"rv:subject:{key}"
            )
            body = st.text_area("Body", value=str(row["body"]), height=260, key=f"rv:body:{key}")
            comment = st.text_input("Comment (optional)", key=f"rv:edit-comment:{key}")
            buttons = st.container(horizontal=True)
            with buttons:
                look = st.form_submit_button("Preview changes", key="rv:edit-preview")
                save = st.form_submit_button(
                    "Save edit and next", type="primary", icon=":material/save:", key="rv:edit-save"
                )
        if look:
            _edit_preview(qv.edit_preview(str(row["subject"]), str(row["body"]), subject, body))
        if save:
            with user_errors():
                item = DecisionInput(key, "edited", comment=comment, subject=subject, body=body)
                record(ctx, wf, version, reviewer, [item], following)
    with reject:
        with st.form("rv:reject-form", border=False, enter_to_submit=True):
            reason = st.selectbox(
                "Reason",
                REASONS,
                index=None,
                format_func=reason_words,
                key=f"rv:reason:{key}",
                placeholder="Choose the reason",
            )
            comment = st.text_input("Comment (optional)", key=f"rv:reject-comment:{key}")
            go = st.form_submit_button("Reject and next", icon=":material/close:", key="rv:reject")
        if go and reason is None:
            st.error("Choose a reason for the rejection: it is what the metrics rank.")
        elif go:
            with user_errors():
                item = DecisionInput(key, "rejected", reason=reason, comment=comment)
                record(ctx, wf, version, reviewer, [item], following)


def _edit_preview(p: qv.EditPreview) -> None:
    st.markdown(p.sentence())
    if p.changed:
        st.code(p.diff, language="diff")


def record(
    ctx: Context,
    wf: Workflow,
    version: WorkflowVersion,
    reviewer: str,
    items: list[DecisionInput],
    following: str | None,
) -> None:
    """Record ``items`` (all or nothing), keep the report to show, open ``following``, rerun."""
    report = record_decisions(
        ctx.con, wf, items, reviewer=reviewer, source="app", version=version.version
    )
    st.session_state[LAST] = report
    if following is not None:
        st.session_state[NEXT] = following
    st.rerun()
