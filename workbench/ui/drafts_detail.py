"""One account of a draft run: its packet beside its prompt, the draft beside its checks, the edit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from workbench.drafting.prompt_view import PromptView, prompt_view
from workbench.drafting.run import account_names
from workbench.drafting.settings import LLMSettings
from workbench.drafting.store import save_edit
from workbench.drafting.view_model import (
    OUTCOME_WORDS,
    DraftView,
    RunInfo,
    check_label,
    find_draft,
    trace_of,
)
from workbench.errors import WorkbenchError, WorkflowInvalid
from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash, user_errors
from workbench.ui.text import md_safe as _md
from workbench.ui.workflow_state import Evaluated, author_input, evaluated
from workbench.workflow.model import Workflow
from workbench.workflow.preview import Preview

CODE_HEIGHT = 460
"""Pixels of packet and prompt shown before they scroll, so the draft stays near."""


def pick_account(run: RunInfo, drafts: pd.DataFrame) -> DraftView | None:
    """A selectbox over the run's drafts (priority order); returns the chosen draft."""
    if drafts.empty:
        return None
    ids = [str(a) for a in drafts["account_id"]]
    labels = {
        str(r["account_id"]): f"{r['account_name']} ({r['account_id']})"
        + (" · held" if r["held"] else "")
        + (" · no draft" if r["outcome"] == "abstained" else "")
        + (" · edited" if not pd.isna(r["edited_at"]) else "")
        for r in drafts.to_dict("records")
    }
    key = f"dr:account:{run.run_id}"
    if st.session_state.get(key) not in ids:
        st.session_state.pop(key, None)
    chosen = st.selectbox(
        "Account", ids, format_func=lambda a: labels[a], key=key, help="In priority order."
    )
    return find_draft(drafts, chosen)


def flag(d: DraftView) -> None:
    """Held and abstained drafts say why, before anything else."""
    if d.abstained:
        st.warning(
            f"**No draft: a person takes this action.** {_md(d.note)}", icon=":material/pan_tool:"
        )
    elif d.held:
        st.error(
            "**Held for a person.** " + _md(" ".join(c.detail for c in d.failing)),
            icon=":material/front_hand:",
        )
    else:
        st.success(
            "Every output policy check passes" + (" on the edited text." if d.edited else "."),
            icon=":material/check_circle:",
        )


def _preview_for(ctx: Context, wf: Workflow, ev: Evaluated, as_of: date) -> Preview | None:
    if as_of == ev.preview.as_of:
        return ev.preview
    try:
        return evaluated(ctx, wf, as_of).preview
    except WorkflowInvalid:
        return None


def packet_and_prompt(
    ctx: Context,
    wf: Workflow,
    ev: Evaluated,
    run: RunInfo,
    d: DraftView,
    traces: pd.DataFrame,
    settings: LLMSettings,
) -> None:
    """The context packet the draft used, beside the prompt that was (or would be) sent."""
    pv = _preview_for(ctx, wf, ev, run.as_of)
    if pv is None:
        view = PromptView(
            "would be sent",
            None,
            f"The current workflow does not run on this data as of {run.as_of}, so the prompt "
            "cannot be rebuilt.",
        )
    else:
        view = prompt_view(ctx.con, wf, pv, settings, d, trace_of(traces, d.account_id))
    left, right = st.columns(2)
    with left:
        st.markdown("##### Context packet")
        st.caption(
            "The facts this draft was built from, as of the run's date: why the rule fired, "
            f"key facts, usage, tickets and survey comments (packet {d.packet_hash[:12]})."
        )
        st.container(height=CODE_HEIGHT, border=False).code(
            d.packet_text, language=None, wrap_lines=True
        )
    with right:
        st.markdown(f"##### Prompt: {view.label}")
        st.caption(_md(view.note))
        if view.text is not None:
            st.container(height=CODE_HEIGHT, border=False).code(
                view.text, language=None, wrap_lines=True
            )


def _text_block(subject: str, body: str) -> None:
    st.markdown(f"**Subject:** {_md(subject) or '_(none)_'}")
    st.code(body or "(empty)", language=None, wrap_lines=True)


def draft_and_checks(d: DraftView) -> None:
    """The draft as it stands (with how it was made) beside the list of checks."""
    left, right = st.columns(2)
    with left:
        title = "Draft (edited)" if d.edited else "Draft"
        st.markdown(f"##### {title}")
        if d.edited_at is not None:
            st.caption(f"Edited by {d.edited_by} on {d.edited_at:%Y-%m-%d %H:%M}.")
        _text_block(d.current_subject, d.current_body)
        confidence = "–" if d.confidence is None else f"{d.confidence:.2f}"
        st.markdown(
            "\n".join(
                [
                    f"- **Summary:** {_md(d.summary) or '–'}",
                    f"- **Rationale:** {_md(d.rationale) or '–'}",
                    f"- **Confidence:** {confidence}",
                    f"- **Outcome:** {d.outcome} ({OUTCOME_WORDS.get(d.outcome, d.outcome)})",
                    f"- **Drafter:** {_md(d.drafter)} · template version `{d.template_version}`",
                    f"- **Route:** {d.route}",
                    f"- **Note:** {_md(d.note)}",
                ]
            )
        )
    with right:
        st.markdown("##### Checks" + (" (on the edited text)" if d.edited else ""))
        if not d.checks:
            st.caption("No draft, so nothing to check.")
        lines = []
        for c in d.checks:
            mark = (
                ":green[:material/check_circle: pass]" if c.ok else ":red[:material/cancel: fail]"
            )
            lines.append(f"- {mark} **{check_label(c.name)}**: {_md(c.detail)}")
        st.markdown("\n".join(lines))


def edit(ctx: Context, wf: Workflow, run: RunInfo, d: DraftView) -> None:
    """The original (always kept) beside a form that saves an edit and re-runs the checks."""
    left, right = st.columns(2)
    with left:
        st.markdown("##### Original")
        st.caption(f"As {d.drafter} wrote it; kept as it is when you edit.")
        _text_block(d.subject, d.body)
    with right:
        st.markdown("##### Your edit")
        suffix = f"{run.run_id}:{d.account_id}"
        with st.form(f"dr:edit:{suffix}", border=False):
            subject = st.text_area(
                "Subject", value=d.current_subject, height=68, key=f"dr:subject:{suffix}"
            )
            body = st.text_area("Body", value=d.current_body, height=300, key=f"dr:body:{suffix}")
            author = author_input("Your name", key="dr:author")
            saved = st.form_submit_button(
                "Save edit", type="primary", icon=":material/save:", key="dr:save"
            )
        if saved:
            with user_errors():
                if not author:
                    raise WorkbenchError(
                        "Write your name before saving an edit.",
                        "The name is kept with the edit, so everyone sees who changed the draft.",
                    )
                checks = save_edit(
                    ctx.con,
                    run.run_id,
                    d.account_id,
                    subject.strip(),
                    body,
                    edited_by=author,
                    policy=wf.output_policy,
                    names=account_names(ctx.con),
                )
                failing = [c for c in checks if not c.ok]
                result = (
                    f"{len(failing)} check{'s' if len(failing) != 1 else ''} fail, so it is held."
                    if failing
                    else "every check passes."
                )
                flash(_md(f"Saved your edit of {d.account_name}: {result}"))
                st.rerun()
