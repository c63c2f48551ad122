"""The workflow's mode and its runs: the reviewer's name, the mode banner, starting or resuming
shadow mode, "Run now" with progress, the runs so far, and the mode control of the Approval page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from workbench.drafting.engine import DraftResult
from workbench.drafting.settings import LLMSettings
from workbench.review import store
from workbench.review.control import change_mode, current_mode, gate_verdict
from workbench.review.modes import MODE_WORDS, Mode, allowed_targets, check_transition
from workbench.review.runs import RUNNABLE, run_workflow
from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash, user_errors
from workbench.ui.llm_settings import current_llm_settings
from workbench.ui.text import md_safe
from workbench.ui.workflow_state import AUTHOR, latest_as_of
from workbench.ui.workflow_view import as_of_input
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

APPROVAL_PAGE = "app_pages/approval.py"
SETTINGS_PAGE = "app_pages/settings.py"
MODE_REQUEST = "ap:mode-request"
"""Session key: a change to autonomous mode waiting for its confirmation."""

TARGET_ORDER: tuple[Mode, ...] = ("shadow", "autonomous", "paused", "rolled_back", "draft")
"""The order the mode control offers targets in: the playbook's next step first."""
_ALERT = {
    "draft": st.info,
    "shadow": st.info,
    "autonomous": st.success,
    "paused": st.warning,
    "rolled_back": st.warning,
}
_ICON = {
    "draft": ":material/edit_note:",
    "shadow": ":material/visibility:",
    "autonomous": ":material/smart_toy:",
    "paused": ":material/pause_circle:",
    "rolled_back": ":material/undo:",
}
RUN_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run", format="%d"),
    "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm"),
    "actor": st.column_config.TextColumn("By"),
    "workflow_version": st.column_config.NumberColumn("Version", format="v%d"),
    "as_of": st.column_config.DateColumn("As of"),
    "mode": st.column_config.TextColumn("Mode"),
    "fired": st.column_config.NumberColumn("Fired"),
    "proposed": st.column_config.NumberColumn("Proposed"),
    "skipped": st.column_config.NumberColumn("Skipped"),
    "to_review": st.column_config.NumberColumn("To review"),
    "to_outbox": st.column_config.NumberColumn("To outbox"),
}


def mode_label(mode: str) -> str:
    return mode.replace("_", " ")


def mode_words(mode: Mode) -> str:
    """``MODE_WORDS`` without repeating the mode's name at its start."""
    words = MODE_WORDS[mode]
    return words.removeprefix(f"{mode_label(mode)}: ")


def name_input(key: str, label: str = "Your name", narrow: bool = True) -> str:
    """The person's name, remembered for the session across pages (the Workflow page's too)."""
    where = st.columns([1, 2])[0] if narrow else st.container()
    value = where.text_input(
        label,
        value=st.session_state.get(AUTHOR, ""),
        key=key,
        placeholder="e.g. Dana Reyes",
        help="Attribution, not a login: every run, decision and mode change carries this name.",
    )
    st.session_state[AUTHOR] = value
    return value.strip()


def mode_banner(ctx: Context, wf: Workflow) -> Mode:
    """The workflow's mode in words; returns the mode."""
    mode = current_mode(ctx.con, wf.name)
    _ALERT[mode](
        f"**{md_safe(wf.name)} · mode: {mode_label(mode)}** — {mode_words(mode)}.",
        icon=_ICON[mode],
    )
    return mode


def _last_change(ctx: Context, wf: Workflow) -> None:
    changes = store.mode_changes(ctx.con, wf.name)
    if changes.empty:
        return
    last = changes.iloc[-1]
    st.caption(
        md_safe(
            f"Last change: {last['actor']} moved it from {mode_label(str(last['from_mode']))} to "
            f"{mode_label(str(last['to_mode']))} on {last['changed_at']:%Y-%m-%d %H:%M}: "
            f"{last['reason']}"
        )
    )


def start_shadow(
    ctx: Context, wf: Workflow, version: WorkflowVersion, mode: Mode, name: str
) -> None:
    """Start (from draft) or resume (from paused or rolled back) shadow mode, with a reason."""
    if mode in RUNNABLE:
        return
    if mode == "draft":
        title, verb = "Start shadow mode", "Start shadow mode"
        text = (
            "Runs are refused while the workflow is being designed. In **shadow mode** every "
            "action a run proposes comes to this queue, where a person approves, edits or "
            "rejects it; nothing acts on its own. Those reviews are what the autonomy gate "
            "measures."
        )
    else:
        title, verb = "Resume in shadow mode", "Resume in shadow mode"
        text = (
            f"The workflow is {mode_label(mode)}, so runs propose nothing. Resume it in shadow "
            "mode to propose actions for review again. Going straight back to autonomous is "
            "on **Approval & gate**, where the gate is checked."
        )
    with st.container(border=True):
        st.markdown(f"##### {title}")
        st.markdown(text)
        _last_change(ctx, wf)
        with st.form("rv:start", border=False, enter_to_submit=True):
            reason = st.text_input(
                "Why (required, logged)",
                key="rv:start-reason",
                placeholder="e.g. Two-week shadow period agreed with the CS lead",
            )
            go = st.form_submit_button(verb, type="primary", icon=":material/play_circle:")
        if mode != "draft":
            st.page_link(APPROVAL_PAGE, label="Go to Approval & gate", icon=":material/verified:")
    if go:
        with user_errors():
            change = change_mode(
                ctx.con, wf, "shadow", actor=name, reason=reason, version=version.version
            )
            flash(md_safe(change.sentence()))
            st.rerun()


def run_controls(
    ctx: Context, wf: Workflow, version: WorkflowVersion, mode: Mode, name: str
) -> None:
    """As-of date and "Run now"; drafting shows progress, the outcome its sentence."""
    as_of = as_of_input(
        latest_as_of(ctx),
        "rv:as-of",
        "The run evaluates the workflow on the data as of this date. The default is the day "
        "after the newest data. Running the same window twice adds nothing new.",
    )
    settings: LLMSettings | None = None
    with user_errors():  # broken model settings stop runs, not the review queue
        settings = current_llm_settings()
    if settings is None:
        st.page_link(SETTINGS_PAGE, label="Fix it on Model & prompts", icon=":material/smart_toy:")
    if mode not in RUNNABLE:
        why = "Runs are refused in this mode: start or resume shadow mode first."
    elif settings is None:
        why = "The model settings cannot be read: fix them on Model & prompts."
    else:
        why = "Propose this window's actions, draft them and send them to review" + (
            " (or the outbox)." if mode == "autonomous" else "."
        )
    row = st.container(horizontal=True, vertical_alignment="center")
    go = row.button(
        "Run now",
        type="primary",
        icon=":material/play_arrow:",
        key="rv:run",
        disabled=mode not in RUNNABLE or settings is None,
        help=why,
    )
    if settings is not None:
        row.caption(md_safe(f"Drafts by the {settings.describe()}; nothing is sent from here."))
    if go and settings is not None:
        _run(ctx, wf, version, as_of, name, settings)


def _run(
    ctx: Context,
    wf: Workflow,
    version: WorkflowVersion,
    as_of: date,
    name: str,
    settings: LLMSettings,
) -> None:
    with user_errors():
        with st.status(f"Running {wf.name} as of {as_of}…", expanded=True) as status:
            bar = st.progress(0.0, text="Evaluating the workflow and planning actions…")

            def progress(result: DraftResult, done: int, total: int) -> None:
                bar.progress(
                    done / total,
                    text=f"Drafted {done:,} of {total:,}: {result.packet.account_name}",
                )

            try:
                outcome = run_workflow(
                    ctx.con,
                    wf,
                    version.version,
                    as_of,
                    actor=name,
                    settings=settings,
                    on_result=progress,
                )
            except Exception:
                status.update(label="The run did not complete; nothing was stored.", state="error")
                raise
            status.update(
                label=f"Run {outcome.run_id} stored: {len(outcome.plan.proposed):,} action(s) "
                "drafted, nothing sent",
                state="complete",
                expanded=False,
            )
        st.success(md_safe(outcome.sentence()), icon=":material/check_circle:")


def runs_so_far(ctx: Context, wf: Workflow, mode: Mode) -> pd.DataFrame:
    """The last run in one line and every run in a table; says what to do before the first."""
    found = store.runs(ctx.con, wf.name)
    if found.empty:
        first = (
            "Press **Run now** to propose this window's actions for review."
            if mode in RUNNABLE
            else "Start shadow mode above, then press **Run now**."
        )
        st.info(f"**No runs yet.** {first}", icon=":material/play_circle:")
        return found
    last = found.iloc[0]
    st.caption(
        md_safe(f"Last run, by {last['actor']} on {last['started_at']:%Y-%m-%d %H:%M}: ")
        + md_safe(str(last["sentence"]))
    )
    with st.expander(f"Runs ({len(found):,})", icon=":material/history:"):
        st.dataframe(
            found,
            column_order=list(RUN_COLUMNS),
            column_config=RUN_COLUMNS,
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(found), 320),
        )
    return found


# --- the mode control (Approval & gate) ------------------------------------------------


@dataclass(frozen=True)
class ModeRequest:
    """A change to autonomous mode waiting for the person to confirm it."""

    actor: str
    reason: str
    override: bool
    gate_sentence: str


def mode_control(ctx: Context, wf: Workflow, version: WorkflowVersion) -> None:
    """Current mode, where it can go, why (required) and who; autonomous asks to confirm, and
    when the gate does not pass it is refused unless the override (logged) is ticked."""
    mode = mode_banner(ctx, wf)
    _last_change(ctx, wf)
    request = st.session_state.get(MODE_REQUEST)
    if isinstance(request, ModeRequest):
        _confirm_autonomous(ctx, wf, version, request)
        return
    targets = sorted(allowed_targets(mode), key=TARGET_ORDER.index)
    left, right = st.columns(2)
    with left:
        target = st.selectbox(
            "Move to",
            targets,
            format_func=lambda t: f"{mode_label(t)}: {mode_words(t)}",
            key="ap:target",
        )
        name = name_input("ap:name", narrow=False)
    with right:
        reason = st.text_input(
            "Why (required, logged)",
            key="ap:reason",
            placeholder="e.g. Gate passed after three weeks of shadow reviews",
        )
    gate = gate_verdict(ctx.con, wf)
    override = False
    if target == "autonomous":
        if gate.passes:
            st.success(f"The gate passes: {gate.sentence}.", icon=":material/verified:")
        else:
            st.warning(
                f"The gate does not pass ({gate.sentence}), so going autonomous is refused. Keep "
                "reviewing in shadow mode, or override the gate with a reason: the override is "
                "recorded in the mode history and the audit log.",
                icon=":material/gpp_maybe:",
            )
            override = st.checkbox(
                "Override the gate — logged",
                key="ap:override",
                help="Go autonomous although the gate does not pass; your reason is kept with it.",
            )
    elif target == "rolled_back":
        st.caption(
            "Rolling back stops runs until shadow mode starts again. To return to an earlier "
            "workflow version, use **Governance**."
        )
    if st.button(
        f"Change mode to {mode_label(target)}" if target else "Change mode",
        type="primary",
        key="ap:change",
        disabled=target is None,
    ):
        with user_errors():
            if target == "autonomous" and (gate.passes or override):
                # Check name, reason and transition now, so the confirmation never refuses.
                check_transition(
                    mode,
                    "autonomous",
                    actor=name,
                    reason=reason,
                    gate_passes=gate.passes,
                    gate_sentence=gate.sentence,
                    override=override,
                )
                st.session_state[MODE_REQUEST] = ModeRequest(
                    name, reason, override and not gate.passes, gate.sentence
                )
                st.rerun()
            change = change_mode(
                ctx.con, wf, target, actor=name, reason=reason, version=version.version
            )
            flash(md_safe(change.sentence()))
            st.rerun()


def _confirm_autonomous(
    ctx: Context, wf: Workflow, version: WorkflowVersion, request: ModeRequest
) -> None:
    sample = f"{wf.autonomy.sample_pct:g}%"
    text = (
        "**Go autonomous?** Automated-route actions will then go to the **outbox** (a table "
        f"and an export; nothing is sent from the workbench), except a {sample} sample that "
        "keeps coming to review. Human and manager routes always come to review."
    )
    if request.override:
        text += (
            f"\n\n**You are overriding the gate**: {request.gate_sentence}. The override is "
            f"logged as yours with the reason “{request.reason}”."
        )
    st.warning(md_safe(text), icon=":material/smart_toy:")
    row = st.container(horizontal=True)
    yes = row.button(
        "Yes, override and go autonomous" if request.override else "Yes, go autonomous",
        type="primary",
        key="ap:confirm",
    )
    no = row.button("Cancel", key="ap:cancel")
    if no:
        st.session_state.pop(MODE_REQUEST, None)
        # The form was not drawn while confirming, so its values are gone: put them back.
        st.session_state["ap:target"] = "autonomous"
        st.session_state["ap:reason"] = request.reason
        st.session_state["ap:override"] = request.override
        st.rerun()
    if yes:
        st.session_state.pop(MODE_REQUEST, None)
        with user_errors():
            change = change_mode(
                ctx.con,
                wf,
                "autonomous",
                actor=request.actor,
                reason=request.reason,
                version=version.version,
                override=request.override,
            )
            flash(md_safe(change.sentence()))
            st.rerun()
