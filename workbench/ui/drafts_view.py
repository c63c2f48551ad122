"""The Drafts page's parts: the drafter in use, drafting with progress and stop, runs, totals.

One account's packet, prompt, draft, checks and edit live in ``drafts_detail``.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from workbench.drafting.run import draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.drafting.store import load_drafts, load_traces
from workbench.drafting.view_model import (
    OUTCOME_WORDS,
    RunInfo,
    drafts_table,
    run_totals,
    runs,
)
from workbench.export.drafts_book import drafts_csv, drafts_xlsx
from workbench.storage.history import data_version
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx
from workbench.ui.errors import flash, user_errors
from workbench.ui.llm_settings import current_llm_settings
from workbench.ui.text import md_safe
from workbench.ui.workflow_state import Evaluated, account_names, actor_name
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

RUN = "dr:run"
"""Session key prefix of the run picker; the newest run's id completes it (see ``run_picker``)."""
SETTINGS_PAGE = "app_pages/settings.py"

TABLE_COLUMNS = {
    "account_name": st.column_config.TextColumn("Account", pinned=True),
    "account_id": st.column_config.TextColumn("ID"),
    "route": st.column_config.TextColumn(
        "Route", help="Moved to human when a draft needs a person"
    ),
    "outcome": st.column_config.TextColumn("Outcome"),
    "held": st.column_config.CheckboxColumn("Held", help="A check failed: a person must look"),
    "needs_human": st.column_config.CheckboxColumn("Needs a person"),
    "edited": st.column_config.CheckboxColumn("Edited"),
    "first_failing": st.column_config.TextColumn("First failing check", width="large"),
}


def drafter_status() -> LLMSettings:
    """Say which drafter writes the drafts; stop the page when the settings cannot be read."""
    settings: LLMSettings | None = None
    with user_errors():
        settings = current_llm_settings()
    if settings is None:
        st.page_link(SETTINGS_PAGE, label="Fix it on Model & prompts", icon=":material/smart_toy:")
        st.stop()
    if settings.configured:
        st.info(
            f"**Drafter:** {settings.describe()}. Only the prompt of each account goes to the "
            "model; the drafts come back here and are never sent to anyone.",
            icon=":material/smart_toy:",
        )
        label = "Change the model on Model & prompts"
    else:
        st.info(
            f"**Drafter:** {settings.describe()}. Deterministic drafts written from each "
            "account's facts and the rule's reasons, offline: nothing leaves this machine. "
            "Configure a model to draft with an LLM.",
            icon=":material/edit_note:",
        )
        label = "Configure a model on Model & prompts"
    st.page_link(SETTINGS_PAGE, label=label, icon=":material/smart_toy:")
    return settings


def no_firing(as_of: date) -> None:
    st.info(
        f"The workflow fires on no account as of {as_of}, so there is nothing to draft. Loosen "
        "a condition on **Thresholds**, or check the date and the conditions on **Preview**.",
        icon=":material/filter_alt_off:",
    )
    row = st.container(horizontal=True)
    row.page_link("app_pages/thresholds.py", label="Go to Thresholds", icon=":material/tune:")
    row.page_link("app_pages/preview.py", label="Go to Preview", icon=":material/visibility:")


def _chosen_ids(ev: Evaluated) -> list[str] | None:
    """None for every fired account, else the accounts picked in the multiselect."""
    fired = [str(a) for a in ev.preview.fired["account_id"]]
    which = st.radio(
        "Accounts to draft",
        ["all", "chosen"],
        format_func=lambda w: f"All {len(fired):,} fired accounts" if w == "all" else "Choose",
        horizontal=True,
        key="dr:which",
    )
    if which == "all":
        return None
    names = dict(zip(fired, account_names(ev, fired), strict=True))
    key = "dr:chosen"
    kept = [a for a in st.session_state.get(key, []) if a in names]
    if kept != st.session_state.get(key, kept):
        st.session_state[key] = kept  # the firing set changed: keep only accounts still in it
    return st.multiselect(
        "Accounts",
        fired,
        format_func=lambda a: names[a],
        key=key,
        placeholder="Pick fired accounts (lowest health first)",
    )


def draft_controls(
    ctx: Context, wf: Workflow, ev: Evaluated, version: WorkflowVersion, settings: LLMSettings
) -> None:
    """Choose accounts and draft them, with a progress bar and a stop button."""
    pv = ev.preview
    if pv.fired.empty:
        no_firing(pv.as_of)
        return
    ids = _chosen_ids(ev)
    count = len(pv.fired) if ids is None else len(ids)
    row = st.container(horizontal=True, vertical_alignment="center")
    go = row.button(
        f"Draft {count:,} account{'s' if count != 1 else ''}",
        type="primary",
        icon=":material/edit_note:",
        key="dr:go",
        disabled=count == 0,
    )
    use_cache = True
    if settings.configured:
        use_cache = row.checkbox(
            "Reuse cached answers",
            value=True,
            key="dr:cache",
            help="An account whose packet, model and template are unchanged is not paid for "
            "twice. Untick to ask the model again.",
        )
    if go:
        _draft(ctx, wf, ev, version, settings, ids, count, use_cache)


def _draft(
    ctx: Context,
    wf: Workflow,
    ev: Evaluated,
    version: WorkflowVersion,
    settings: LLMSettings,
    ids: list[str] | None,
    count: int,
    use_cache: bool,
) -> None:
    # A click on Stop makes Streamlit interrupt this script at its next element update;
    # each draft is saved before the progress bar moves, so a stopped run keeps its drafts.
    st.button(
        "Stop",
        icon=":material/stop_circle:",
        key="dr:stop",
        help="Stop drafting: the drafts made so far are kept, the rest are not drafted.",
    )
    bar = st.progress(0.0, text=f"Drafting 0 of {count:,} accounts…")

    def progress(result, done: int, total: int) -> None:
        bar.progress(
            done / total,
            text=f"Drafted {done:,} of {total:,}: {result.packet.account_name} ({result.outcome})",
        )

    with user_errors():
        report = draft_workflow(
            ctx.con,
            wf,
            ev.preview,
            settings,
            workflow_version=version.version,
            account_ids=ids,
            on_result=progress,
            use_cache=use_cache,
            actor=actor_name(),
        )
        flash(md_safe(f"Run {report.run_id}: {report.summary.sentence()}"))
        st.rerun()


def run_picker(ctx: Context) -> RunInfo | None:
    """Pick a stored run (the newest by default); None when there is none yet."""
    found = runs(ctx.con)
    if not found:
        return None
    by_id = {r.run_id: r for r in found}
    # Keyed by the newest run, so a new run (finished or stopped) is shown at once: after
    # Stop, the browser sends back the picker's old value, which would win over a value set
    # here while drafting.
    chosen = st.selectbox(
        "Run",
        list(by_id),
        format_func=lambda i: by_id[i].label(),
        key=f"{RUN}:{found[0].run_id}",
        help="Every run is kept with its drafts, edits and traces; the newest comes first.",
    )
    return by_id[chosen]


def no_run_yet(ev: Evaluated) -> None:
    n = len(ev.preview.fired)
    if n == 0:
        return
    st.info(
        f"**No drafts yet.** Press **Draft {n:,} account{'s' if n != 1 else ''}** above to "
        "draft what the workflow's action would say for each account it fires on. Each draft "
        "is checked against the output policy and saved here; none is sent.",
        icon=":material/edit_note:",
    )


def load(ctx: Context, run: RunInfo) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's drafts and traces."""
    return load_drafts(ctx.con, run.run_id), load_traces(ctx.con, run.run_id)


def run_status(run: RunInfo, drafts: pd.DataFrame) -> None:
    """The run in one line, and a warning when drafts did not come from the chosen drafter."""
    if run.stopped_early:
        st.warning(md_safe(run.status()), icon=":material/stop_circle:")
    else:
        st.markdown(f"#### {md_safe(run.status())}")
    outcomes = drafts["outcome"].value_counts().to_dict() if not drafts.empty else {}
    fallback, abstained = int(outcomes.get("fallback", 0)), int(outcomes.get("abstained", 0))
    if fallback:
        breaker = ""
        if run.note and "circuit breaker opened" in run.note:
            breaker = " " + run.note[run.note.index("The circuit breaker opened") :]
        st.warning(
            f"**{fallback:,} of {len(drafts):,} drafts were written by the template drafter "
            "instead of the model**: the model failed (after its retries, or with the circuit "
            "breaker open) or the prompt template could not be rendered for the account. Each "
            "one's note says which; *Model & prompts* has *Test connection* and the templates."
            + md_safe(breaker),
            icon=":material/cloud_off:",
        )
    if abstained:
        st.info(
            f"**{abstained:,} account{'s have' if abstained != 1 else ' has'} no draft**: the "
            "model abstained or answered invalid JSON twice. They go to a person, with the reason.",
            icon=":material/front_hand:",
        )
    st.caption(
        f"Run {run.run_id} · {run.workflow_name}{run.version_text} · as of {run.as_of} · "
        f"action {run.action_type} · {run.drafter} · started {run.started_at:%Y-%m-%d %H:%M}."
    )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def totals(run: RunInfo, drafts: pd.DataFrame, traces: pd.DataFrame) -> None:
    """Drafts by outcome, held, people needed; requests, tokens, cost and latency."""
    t = run_totals(run, drafts, traces)
    cols = list(st.columns(4 + max(1, len(t.by_outcome))))
    cols[0].metric("Drafted", f"{t.drafted:,}", help=f"Of {t.accounts:,} accounts in the run")
    cols[1].metric("Held", f"{t.held:,}", help="A policy check failed: a person must look")
    cols[2].metric(
        "Needs a person", f"{t.needs_human:,}", help="Held, or the model abstained (no draft)"
    )
    cols[3].metric("Edited", f"{t.edited:,}")
    for col, (outcome, n) in zip(cols[4:], t.by_outcome.items(), strict=False):
        col.metric(outcome.capitalize(), f"{n:,}", help=OUTCOME_WORDS.get(outcome, outcome))
    cols = list(st.columns(6))
    cols[0].metric("Requests", f"{t.requests:,}", help="Requests made to the model (repairs too)")
    cols[1].metric("Tokens in", f"{t.tokens_in:,}")
    cols[2].metric("Tokens out", f"{t.tokens_out:,}")
    cols[3].metric(
        "Cost",
        "–" if t.cost_usd is None else f"${t.cost_usd:,.4f}",
        help="As litellm prices the model; unknown for local and unpriced models",
    )
    cols[4].metric("Latency p50", _ms(t.p50_ms), help="Of the calls that reached the model")
    cols[5].metric("Latency p95", _ms(t.p95_ms))
    if not t.requests:
        if not t.drafted:
            st.caption("No account was drafted before the run stopped.")
        elif run.uses_template:
            st.caption("No model was called in this run, so there are no tokens, cost or latency.")
        else:
            st.caption(
                "No request reached the model in this run: the drafts came from the answer "
                "cache or, when the model was unavailable, from the template drafter."
            )


def table(drafts: pd.DataFrame) -> None:
    """One row per draft: account, route, outcome, held and the first failing check."""
    frame = drafts_table(drafts)
    attention = int(frame["needs_human"].sum()) if not frame.empty else 0
    if attention and st.toggle(
        f"Only the {attention:,} draft{'s' if attention != 1 else ''} that need a person",
        key="dr:attention",
        help="Held by a policy check, or no draft because the model abstained.",
    ):
        frame = frame[frame["needs_human"]]
    st.dataframe(
        frame,
        column_order=list(TABLE_COLUMNS),
        column_config=TABLE_COLUMNS,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 420),
        key="dr:table",
    )


def downloads(ctx: Context, run: RunInfo, drafts: pd.DataFrame, traces: pd.DataFrame) -> None:
    """The run as CSV and as a workbook (summary, drafts beside edits, checks, traces)."""
    meta = {
        "workspace": str(ctx.workspace.root),
        "data version of the drafts": run.data_version or "not recorded",
        "data version now": data_version(ctx.con),
    }
    stem = f"drafts-run{run.run_id}-{run.as_of}"
    # The files are built when clicked (on another thread), from frames already loaded.
    csv_and_xlsx(
        ctx,
        stem,
        lambda: drafts_csv(drafts),
        lambda: drafts_xlsx(run, drafts, traces, meta),
        what=f"drafts of run {run.run_id}",
        rows=len(drafts),
        keys=("dr:csv", "dr:xlsx"),
        xlsx_help="Summary, drafts (originals beside edits), every check, and the model calls.",
    )
