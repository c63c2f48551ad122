"""The Governance page: the workflow's month at a glance, its guardrails (with a confirmed
pause when one is breached), the audit chain, the rollback plan with a one-click (and
confirmed) rollback, and the monthly review pack and experiment report to download.

Everything shown comes from ``governance.build_pack``, the same pack the downloads hold.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.export.monthly_pack import monthly_pack_html, monthly_pack_xlsx
from workbench.review.governance import MonthlyPack, build_pack, month_options
from workbench.review.modes import MODE_WORDS
from workbench.review.rollback import rollback
from workbench.ui import guardrail_view
from workbench.ui.approval_view import rate_chart
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import xlsx_and_html
from workbench.ui.errors import flash, user_errors
from workbench.ui.workflow_state import author_input, current_workflow, select_workflow

MONTH = "gov:month"
CONFIRM = "gov:confirm"
"""Session key: the rollback waiting for confirmation, (workflow, version, reason)."""
RESULT = "gov:result"
"""Session key: the sentence of the last rollback, shown after the rerun."""


def load_pack(ctx: Context) -> MonthlyPack:
    """The month picker, then the pack of the current workflow for the month picked."""
    options = month_options(ctx.con)
    month = st.columns([1, 3])[0].selectbox(
        "Month",
        options,
        key=MONTH,
        help="Runs, decisions, mode changes and gate checks of this calendar month; "
        "approval 'to the end of the month' counts every decision up to then.",
    )
    found = current_workflow(ctx)
    return build_pack(ctx.con, found.name if found else None, str(month or options[0]))


def empty_state(pack: MonthlyPack) -> None:
    """What a new workspace is missing, and where to start."""
    st.info(
        "**No workflow yet, so there is nothing to govern.** The monthly review covers a "
        "workflow's runs, the reviews of what it proposed, the autonomy gate and the audit "
        "log. To get there:\n\n" + "\n".join(f"1. {s}" for s in pack.next_steps),
        icon=":material/policy:",
    )
    st.page_link("app_pages/workflow.py", label="Go to Workflow", icon=":material/rule_settings:")


def header(pack: MonthlyPack) -> None:
    """Workflow and mode now, the gate sentence and the next steps."""
    v = pack.version
    assert v is not None
    c = st.columns(4)
    c[0].metric("Workflow version", f"v{v.version}", help=v.label)
    c[1].metric("Mode now", pack.mode.replace("_", " "))
    c[2].metric(f"Runs in {pack.month}", f"{len(pack.runs):,}")
    c[3].metric(f"Decisions in {pack.month}", f"{pack.metrics_month.reviewed:,}")
    st.caption(f"**{pack.workflow_name}**, {v.label}. Mode: {MODE_WORDS[pack.mode]}.")
    if pack.gate is not None and pack.gate.passes:
        st.success(f"**Autonomy gate:** {pack.gate_sentence}", icon=":material/verified:")
    else:
        st.warning(f"**Autonomy gate:** {pack.gate_sentence}", icon=":material/pending:")
    if pack.next_steps:
        # The pack's steps name this page for the downloads; here the pause form is below.
        steps = [
            s.replace("on the Governance page", "under Guardrails below") for s in pack.next_steps
        ]
        st.markdown("**Next:**\n" + "\n".join(f"- {s}" for s in steps))


def runs_section(pack: MonthlyPack) -> None:
    """Runs and action counts this month, as a chart and the figures."""
    st.subheader(f"Runs in {pack.month}")
    if pack.runs.empty:
        st.info(pack.notes.get("runs", "No runs this month."), icon=":material/info:")
        return
    chart = pack.runs.assign(
        run=[
            f"run {r} ({d:%Y-%m-%d})"
            for r, d in zip(pack.runs["run"], pack.runs["as of"], strict=True)
        ]
    )
    st.bar_chart(
        chart,
        x="run",
        y=["to review", "to outbox", "skipped"],
        stack=True,
        x_label="run (as of)",
        y_label="actions",
    )
    figures = pd.DataFrame(
        {"what": [f.label for f in pack.counts], "count": [f.value for f in pack.counts]}
    )
    st.dataframe(figures, hide_index=True, width="content")


def approval_section(pack: MonthlyPack) -> None:
    """Approval rate by week with its interval, against the gate's target."""
    st.subheader("Approval over time")
    weeks = pack.metrics_total.by["week"]
    weeks = weeks[weeks["reviewed"] > 0] if len(weeks) else weeks
    if weeks.empty:
        st.info(pack.notes.get("approval", "No decisions yet."), icon=":material/info:")
        return
    target = pack.gate.rule.target if pack.gate is not None else 0.9
    st.altair_chart(rate_chart(weeks, "week", "Week of the decision", target), width="stretch")
    m, t = pack.metrics_month, pack.metrics_total
    st.caption(
        f"{m.reviewed:,} decision(s) in {pack.month}; {t.reviewed:,} to the end of the month. "
        "Weekly approval rates with their Wilson 95% intervals; the dashed line is the target."
    )


def audit_section(pack: MonthlyPack) -> None:
    """The audit chain: intact in green, or every problem in red with a way to the log."""
    st.subheader("Audit chain")
    a = pack.audit
    head = str(a.head) if a.head is not None else "(missing)"
    if a.ok:
        st.success(f"{a.sentence()} Head `{head}`.", icon=":material/verified_user:")
        return
    st.error(a.sentence(), icon=":material/gpp_bad:")
    st.markdown(
        "\n".join(
            f"- :red[{'entry ' + str(p.seq) if p.seq else 'log'}: {p.what}]" for p in a.problems
        )
    )
    st.page_link(
        "app_pages/audit_log.py", label="Open the Audit log", icon=":material/receipt_long:"
    )


def rollback_section(ctx: Context, pack: MonthlyPack) -> None:
    """The rollback plan and a confirmed, one-click rollback."""
    st.subheader("Rollback plan")
    plan = pack.rollback
    if RESULT in st.session_state:
        st.success(str(st.session_state.pop(RESULT)), icon=":material/undo:")
    st.markdown(plan.why)
    st.markdown("\n".join(f"1. {s}" for s in plan.steps))
    name = pack.workflow_name
    if not plan.choices or name is None:
        return
    numbers = [n for n, _ in plan.choices]
    labels = dict(plan.choices)
    default = numbers.index(plan.target) if plan.target in numbers else 0
    c1, c2 = st.columns([2, 1])
    target = c1.selectbox(
        "Return to", numbers, index=default, format_func=lambda n: labels[n], key="gov:version"
    )
    with c2:
        actor = author_input("Your name", key="gov:actor")
    reason = st.text_input(
        "Reason for rolling back", key="gov:reason", placeholder="e.g. v3 sends too many accounts"
    )
    if st.button(f"Roll back to v{target}…", key="gov:rollback"):
        if not actor or not reason.strip():
            st.error("Fill in your name and the reason first.", icon=":material/warning:")
        else:
            st.session_state[CONFIRM] = (name, int(target), reason.strip())
    pending = st.session_state.get(CONFIRM)
    if not pending or pending[0] != name:
        return
    _, number, why = pending
    st.warning(
        f"Roll **{name}** back to **v{number}**? Its content is saved as v{(plan.current or 0) + 1}"
        f" and the mode becomes rolled back (reason: {why}). Nothing is deleted.",
        icon=":material/undo:",
    )
    yes, no = st.columns(2)
    if yes.button("Yes, roll back", type="primary", key="gov:confirm-yes"):
        st.session_state.pop(CONFIRM, None)
        with user_errors():
            result = rollback(
                ctx.con, name, number, actor=actor, reason=why, workspace=ctx.workspace
            )
            select_workflow(name)
            st.session_state[RESULT] = result.sentence()
            # The reason was for this rollback; undoing it needs a reason of its own.
            st.session_state.pop("gov:reason", None)
            flash(f"Rolled back to v{number}")
            st.rerun()
    if no.button("Cancel", key="gov:confirm-no"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()


def pack_downloads(ctx: Context, pack: MonthlyPack) -> None:
    """The monthly review pack as a workbook and as a printable page."""
    st.subheader("Monthly review pack")
    st.caption(
        "Everything on this page and more (policy, gate history, rejected samples, outbox, "
        "outcomes, audit head): keep it with the month's review."
    )
    stem = f"monthly-review-{pack.month}"
    extra = {"month": pack.month, "workflow": pack.workflow_name or ""}
    xlsx_and_html(
        ctx,
        stem,
        lambda: monthly_pack_xlsx(pack),
        lambda: monthly_pack_html(pack).encode("utf-8"),
        what=f"monthly review pack {pack.month}",
        keys=("gov:xlsx", "gov:html"),
        labels=("Download the pack (xlsx)", "Download the printable page (HTML)"),
        extra=extra,
    )
    if pack.experiment is not None and pack.experiment.experiment is not None:
        guardrail_view.report_downloads(ctx, pack.experiment)


def render(ctx: Context) -> None:
    """The whole page below its title."""
    pack = load_pack(ctx)
    if pack.empty:
        empty_state(pack)
        audit_section(pack)
        pack_downloads(ctx, pack)
        return
    header(pack)
    with user_errors():
        guardrail_view.guardrail_section(ctx, pack)
    left, right = st.columns(2, gap="large")
    with left, user_errors():
        runs_section(pack)
    with right, user_errors():
        approval_section(pack)
    with user_errors():
        audit_section(pack)
    with user_errors():
        rollback_section(ctx, pack)
    pack_downloads(ctx, pack)
