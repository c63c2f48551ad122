"""The Governance page's guardrails: an experiment flagged for pause, the confirmed pause,
past flags, and the experiment report to download.

A guardrail breach (``experiment.evaluate``'s ``breaches``) is written to the guardrail flags
and the audit log when the page shows it (``experiment.guardrail.record_flags``, once per data
version); pausing stays a person's decision.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from workbench.experiment.evaluate import ExperimentReport
from workbench.experiment.guardrail import flags, record_flags
from workbench.experiment.outcomes import metric_label
from workbench.experiment.wording import ARM_AS_BASELINE
from workbench.export.experiment_report import (
    breach_words,
    experiment_report_html,
    experiment_report_xlsx,
    srm_warnings,
)
from workbench.review.control import change_mode
from workbench.review.governance import MonthlyPack
from workbench.review.modes import MODE_WORDS
from workbench.review.pack_experiment import guardrail_words
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import xlsx_and_html
from workbench.ui.errors import flash, user_errors
from workbench.ui.text import md_safe
from workbench.ui.workflow_state import actor_name, author_input, workflow_of

PAUSED = "gov:paused"
"""Session key: the sentence of the last pause, shown after the rerun."""
OUTCOMES_PAGE = "app_pages/outcomes.py"
_ROOT = Path(__file__).resolve().parents[2]


def guardrail_section(ctx: Context, pack: MonthlyPack) -> None:
    """The experiment's guardrails: flagged for pause (in red, with a confirmed pause; in
    amber once paused or rolled back), not trustworthy under a sample ratio mismatch, or clear
    in one green line; past flags below."""
    st.subheader("Guardrails")
    if PAUSED in st.session_state:
        st.success(str(st.session_state.pop(PAUSED)), icon=":material/pause_circle:")
    report = pack.experiment
    if report is None:
        return
    for warning in srm_warnings(report):
        st.warning(warning, icon=":material/balance:")
    if report.breaches:
        if record_flags(ctx.con, report, actor=actor_name()):
            st.toast("Guardrail flag written to the audit log", icon=":material/flag:")
        lines = "\n".join(f"- {md_safe(breach_words(report, b))}" for b in report.breaches)
        if report.halt is not None:
            st.warning(
                f"**Flagged for pause, and {md_safe(report.halt.words())}.** The AI-handled "
                f"arm is significantly worse on a guardrail metric:\n\n{lines}\n\nFind out "
                "why before resuming shadow mode on the Review page.",
                icon=":material/pause_circle:",
            )
        else:
            st.error(
                "**Flagged for pause.** The AI-handled arm is significantly worse on a "
                f"guardrail metric:\n\n{lines}",
                icon=":material/front_hand:",
            )
            pause_form(ctx, pack)
    elif report.next_step:
        # Without an experiment the next step already says so; the sentence would repeat it.
        words = report.next_step
        if report.experiment is not None:
            words = f"{report.sentence()} {words}"
        st.info(words, icon=":material/science:")
    elif report.srm_failures():
        st.warning(f"Guardrails: {guardrail_words(report)}.", icon=":material/balance:")
    else:
        st.success(
            f"{report.sentence()} Guardrails: {guardrail_words(report)}.",
            icon=":material/health_and_safety:",
        )
    outcomes_link()
    past_flags(ctx, pack)


def pause_form(ctx: Context, pack: MonthlyPack) -> None:
    """Pause the workflow: a name, a reason and a ticked box first (shadow or autonomous)."""
    v, name = pack.version, pack.workflow_name
    if v is None or name is None:
        return
    if pack.mode not in ("shadow", "autonomous"):
        st.markdown(f"Nothing to pause: the workflow is {MODE_WORDS[pack.mode]}.")
        return
    c1, c2 = st.columns([1, 2])
    with c1:
        actor = author_input("Your name", key="gov:pause-actor")
    reason = c2.text_input(
        "Reason for pausing",
        key="gov:pause-reason",
        placeholder="e.g. the AI arm renews far less often than control",
    )
    sure = st.checkbox(
        f"Pause **{name}** now: runs propose nothing until it is resumed", key="gov:pause-sure"
    )
    if not st.button("Pause the workflow", type="primary", key="gov:pause"):
        return
    missing = [w for w, ok in (("your name", actor), ("the reason", reason.strip())) if not ok]
    if missing or not sure:
        todo = [f"fill in {' and '.join(missing)}"] if missing else []
        todo += [] if sure else ["tick the box to confirm"]
        st.error(f"Not paused yet: {', then '.join(todo)}.", icon=":material/warning:")
        return
    with user_errors():
        change_mode(
            ctx.con, workflow_of(v), "paused", actor=actor, reason=reason.strip(), version=v.version
        )
        st.session_state[PAUSED] = (
            f"{name} is paused (by {actor}: {reason.strip()}). Resume it in shadow mode on the "
            "Review page once the cause is understood."
        )
        for key in ("gov:pause-reason", "gov:pause-sure"):
            st.session_state.pop(key, None)
        flash("Workflow paused")
        st.rerun()


def outcomes_link() -> None:
    """A way to the Outcomes page, where the experiment is shown in full."""
    try:
        if not (_ROOT / OUTCOMES_PAGE).exists():
            raise StreamlitAPIException("no Outcomes page")
        st.page_link(OUTCOMES_PAGE, label="Open the Outcomes page", icon=":material/science:")
    except StreamlitAPIException:  # not in this app's navigation
        st.caption("The experiment's figures are in the experiment report below.")


def past_flags(ctx: Context, pack: MonthlyPack) -> None:
    """Every guardrail flag of the workflow's experiments (the current ones too), newest
    first."""
    found = flags(ctx.con, pack.workflow_name or "")
    with st.expander(f"Every guardrail flag so far ({len(found):,})"):
        if found.empty:
            st.caption("No guardrail has been breached in this workflow's experiments.")
            return
        shown = found.assign(
            metric=found["metric"].map(metric_label),
            baseline=found["baseline"].map(lambda b: ARM_AS_BASELINE.get(b, b)),
        ).rename(
            columns={
                "flagged_at": "flagged at", "experiment_id": "experiment", "baseline": "against",
                "data_version": "data version",
            }
        )  # fmt: skip
        st.dataframe(
            shown[["flagged at", "experiment", "metric", "against", "sentence", "data version"]],
            hide_index=True,
        )


def report_downloads(ctx: Context, report: ExperimentReport) -> None:
    """The experiment report as a workbook and as a printable page."""
    info = report.experiment
    assert info is not None
    stem = f"experiment-{info.experiment_id}-report"
    extra = {
        "workflow": report.workflow_name,
        "experiment": info.experiment_id,
        "data_version": report.data_version,
    }
    what = f"experiment {info.experiment_id} report"
    xlsx_and_html(
        ctx,
        stem,
        lambda: experiment_report_xlsx(report),
        lambda: experiment_report_html(report).encode("utf-8"),
        what=what,
        keys=("gov:exp-xlsx", "gov:exp-html"),
        labels=("Download the experiment report (xlsx)", "Download the experiment report (HTML)"),
        extra=extra,
    )
