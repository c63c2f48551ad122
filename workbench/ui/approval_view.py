"""The Approval & gate page's parts: the gate's verdict and rule, the approval metrics with
their charts, the mode and gate histories, and the metrics downloads.

The mode control lives with the other mode widgets in ``review_run``.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.review import store
from workbench.review.control import GATE_ROUTE
from workbench.review.gate import GateRule, GateVerdict
from workbench.review.metrics import BREAKDOWNS, ApprovalMetrics
from workbench.review.stats import EditSummary
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx
from workbench.ui.text import md_safe
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

REVIEW_PAGE = "app_pages/review.py"
PCT = alt.Axis(format="%")

RATE_COLUMNS = {
    "reviewed": st.column_config.NumberColumn("Reviewed"),
    "approved_as_is": st.column_config.NumberColumn("Approved as-is"),
    "approved_after_edit": st.column_config.NumberColumn("After edit"),
    "rejected": st.column_config.NumberColumn("Rejected"),
    "rate": st.column_config.NumberColumn("Approval rate", format="percent"),
    "low": st.column_config.NumberColumn("95% low", format="percent"),
    "high": st.column_config.NumberColumn("95% high", format="percent"),
    "as_is_rate": st.column_config.NumberColumn("As-is rate", format="percent"),
}
_ALERT: dict[str, Callable[..., object]] = {
    "passes": st.success,
    "not_enough_reviews": st.warning,
    "needs_more": st.warning,
    "fails": st.error,
    "invalid_input": st.error,
}
_ICON = {
    "passes": ":material/verified:",
    "not_enough_reviews": ":material/hourglass_top:",
    "needs_more": ":material/hourglass_top:",
    "fails": ":material/block:",
    "invalid_input": ":material/error:",
}


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}%"


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    return f"{low * 100:.1f}–{high * 100:.1f}%"


def rule_words(wf: Workflow) -> str:
    """The gate's rule from the workflow's ``autonomy`` section, in words."""
    a = wf.autonomy
    target = f"{a.target * 100:g}%"
    if a.rule == "wilson_lower":
        test = (
            f"the **lower bound of the 95% Wilson interval** of their approval rate reaches "
            f"**{target}**, so a lucky run of a few approvals does not open it"
        )
    else:
        test = f"their **observed approval rate** reaches **{target}** (the lenient rule)"
    return (
        f"**The rule** (the workflow's `autonomy` section): the gate opens when at least "
        f"**{a.min_reviews:,}** actions on the {GATE_ROUTE} route have been reviewed and {test}. "
        "A draft approved after an edit counts as approved. Human and manager routes always go "
        "to a person, so their reviews show in the metrics but do not open the gate. Once "
        f"autonomous, **{a.sample_pct:g}%** of automated actions still come to review; when "
        f"those sampled reviews (at least {a.min_sampled_reviews:,}, or fewer once the outcome "
        "is settled) show the rate below the target, the workflow pauses itself."
    )


def verdict(wf: Workflow, gate: GateVerdict) -> None:
    """The verdict in big text with its numbers, and the rule in words."""
    sentence = gate.sentence[:1].upper() + gate.sentence[1:]
    _ALERT[gate.status](f"### {md_safe(sentence)}", icon=_ICON[gate.status])
    cols = st.columns([1, 1, 1, 1.5, 0.8, 1.2])
    cols[0].metric("Reviewed (automated)", f"{gate.reviewed:,}")
    cols[1].metric("Approved", f"{gate.approved:,}")
    cols[2].metric("Approval rate", _pct(gate.rate))
    cols[3].metric("95% interval", _interval(gate.low, gate.high))
    cols[4].metric("Target", f"{gate.rule.target * 100:g}%")
    cols[5].metric(
        "More reviews needed",
        "–" if gate.more_needed is None else f"about {gate.more_needed:,}",
        help="Up to the minimum, or, at the current rate, until the rule passes.",
    )
    st.markdown(rule_words(wf))
    st.page_link(
        "app_pages/workflow.py", label="Change the rule on Workflow", icon=":material/edit:"
    )


def no_reviews() -> None:
    st.info(
        "**No reviews yet.** The metrics appear once proposed actions have been approved, "
        "edited or rejected. Start shadow mode and run the workflow on **Review**, then work "
        "through the queue.",
        icon=":material/fact_check:",
    )
    st.page_link(REVIEW_PAGE, label="Go to Review", icon=":material/fact_check:")


# --- metrics ---------------------------------------------------------------------------


def rate_chart(
    table: pd.DataFrame, column: str, title: str, target: float
) -> alt.LayerChart | alt.FacetChart:
    """Approval rate per group with its 95% interval as error bars and the target as a rule."""
    data = table[[column, "reviewed", "approved", "rate", "low", "high"]].copy()
    data[column] = data[column].astype(str)
    data = data.dropna(subset=["rate"])
    x = alt.X(f"{column}:O", title=title, sort=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("rate:Q", title="Approval rate", axis=PCT, scale=alt.Scale(domain=[0, 1]))
    tips = [
        alt.Tooltip(f"{column}:O", title=title),
        alt.Tooltip("approved:Q", title="Approved"),
        alt.Tooltip("reviewed:Q", title="Reviewed"),
        alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        alt.Tooltip("low:Q", title="95% low", format=".1%"),
        alt.Tooltip("high:Q", title="95% high", format=".1%"),
    ]
    base = alt.Chart(data)
    layers: list[alt.Chart] = [
        base.mark_rule(strokeWidth=2).encode(
            x=x, y=alt.Y("low:Q", title="Approval rate"), y2="high:Q"
        ),
        base.mark_tick(size=14, thickness=2).encode(x=x, y="low:Q"),
        base.mark_tick(size=14, thickness=2).encode(x=x, y="high:Q"),
        base.mark_point(filled=True, size=70).encode(x=x, y=y, tooltip=tips),
    ]
    if column == "week":
        layers.insert(0, base.mark_line(opacity=0.4).encode(x=x, y=y))
    target_rule = (
        alt.Chart(pd.DataFrame({"target": [target]}))
        .mark_rule(strokeDash=[6, 4], color="firebrick")
        .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", title="Target", format=".0%")])
    )
    return alt.layer(*layers, target_rule, height=260)


def mix_chart(table: pd.DataFrame, column: str, title: str) -> alt.Chart:
    """Approved as-is, approved after an edit and rejected, stacked per group."""
    data = table[[column, "approved_as_is", "approved_after_edit", "rejected"]].copy()
    data[column] = data[column].astype(str)
    long = data.melt(id_vars=[column], var_name="decision", value_name="actions")
    long["decision"] = long["decision"].map(
        {
            "approved_as_is": "approved as-is",
            "approved_after_edit": "approved after edit",
            "rejected": "rejected",
        }
    )
    order = ["approved as-is", "approved after edit", "rejected"]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{column}:N", title=None),
            x=alt.X("actions:Q", title="Actions"),
            color=alt.Color(
                "decision:N",
                scale=alt.Scale(domain=order, range=["#2e7d32", "#81c784", "#e57373"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=[alt.Tooltip(f"{column}:N", title=title), "decision:N", "actions:Q"],
        )
        .properties(height=110 + 36 * data[column].nunique())
    )


def overall(m: ApprovalMetrics) -> None:
    row = m.overall.iloc[0]
    cols = st.columns(5)
    cols[0].metric("Reviewed (all routes)", f"{int(row['reviewed']):,}")
    cols[1].metric(
        "Approval rate",
        _pct(row["rate"]),
        help=f"95% interval {_interval(row['low'], row['high'])}",
    )
    cols[2].metric(
        "Approved as-is",
        f"{int(row['approved_as_is']):,}",
        help=f"{_pct(row['as_is_rate'])} of reviews approved without a change",
    )
    cols[3].metric("Approved after edit", f"{int(row['approved_after_edit']):,}")
    cols[4].metric("Rejected", f"{int(row['rejected']):,}")
    st.caption(
        f"All routes: {int(row['approved']):,} of {int(row['reviewed']):,} approved, "
        f"{_pct(row['rate'])}, 95% interval {_pct(row['low'])} to {_pct(row['high'])}. "
        f"Approved as-is only: {_pct(row['as_is_rate'])} ({_pct(row['as_is_low'])} to "
        f"{_pct(row['as_is_high'])})."
    )


def breakdowns(m: ApprovalMetrics, rule: GateRule) -> None:
    """One tab per breakdown: the rate chart with intervals, the mix, the table."""
    tabs = st.tabs(list(BREAKDOWNS.values()))
    for tab, (column, title) in zip(tabs, BREAKDOWNS.items(), strict=True):
        table = m.by[column]
        with tab:
            left, right = st.columns([3, 2])
            with left:
                st.caption(f"Approval rate by {title.lower()}, 95% interval, target dashed")
                st.altair_chart(rate_chart(table, column, title, rule.target), width="stretch")
            with right:
                st.caption("As-is, after edit, rejected")
                st.altair_chart(mix_chart(table, column, title), width="stretch")
            shown = table.copy()
            shown[column] = shown[column].astype(str)
            st.dataframe(
                shown,
                column_order=[column, *RATE_COLUMNS],
                column_config={column: st.column_config.TextColumn(title), **RATE_COLUMNS},
                hide_index=True,
                width="stretch",
                key=f"ap:by:{column}",
            )


def reasons(m: ApprovalMetrics) -> None:
    st.markdown("##### Rejection reasons")
    given = m.reasons[m.reasons["count"] > 0]
    if given.empty:
        st.caption("No rejections yet.")
        return
    data = m.reasons.assign(short=m.reasons["label"].str.split(":").str[0])
    chart = (
        alt.Chart(data)
        .mark_bar(color="#e57373")
        .encode(
            y=alt.Y("short:N", sort=None, title=None),
            x=alt.X("count:Q", title="Rejections", axis=alt.Axis(tickMinStep=1)),
            tooltip=[
                alt.Tooltip("label:N", title="Reason"),
                alt.Tooltip("count:Q", title="Rejections"),
                alt.Tooltip("share:Q", title="Share", format=".0%"),
            ],
        )
        .properties(height=30 * len(data) + 30)
    )
    st.altair_chart(chart, width="stretch")


def edits(summary: EditSummary) -> None:
    st.markdown("##### Edit distance")
    if summary.count == 0:
        st.caption("No edited drafts yet.")
        return
    cols = st.columns(4)
    cols[0].metric("Edited drafts", f"{summary.count:,}")
    cols[1].metric("Mean", f"{summary.mean:,.0f}", help="Characters changed")
    cols[2].metric("Median", f"{summary.median:,.0f}", help="Characters changed")
    cols[3].metric("90th percentile", f"{summary.p90:,.0f}", help="Characters changed")
    data = pd.DataFrame(summary.buckets, columns=["characters changed", "edits"])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("characters changed:N", sort=None, title="Characters changed"),
            x=alt.X("edits:Q", title="Edited drafts", axis=alt.Axis(tickMinStep=1)),
            tooltip=["characters changed:N", "edits:Q"],
        )
        .properties(height=30 * len(data) + 30)
    )
    st.altair_chart(chart, width="stretch")


def metrics(m: ApprovalMetrics, rule: GateRule) -> None:
    """Every approval metric: overall, the breakdowns, reasons and edits."""
    overall(m)
    breakdowns(m, rule)
    left, right = st.columns(2, gap="large")
    with left:
        reasons(m)
    with right:
        edits(m.edits)


# --- histories -------------------------------------------------------------------------


MODE_COLUMNS = {
    "seq": st.column_config.NumberColumn("#", format="%d"),
    "changed_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    "from_mode": st.column_config.TextColumn("From"),
    "to_mode": st.column_config.TextColumn("To"),
    "actor": st.column_config.TextColumn("Who"),
    "reason": st.column_config.TextColumn("Why", width="large"),
    "override": st.column_config.CheckboxColumn("Gate overridden"),
    "gate_sentence": st.column_config.TextColumn("Gate at the time", width="large"),
    "workflow_version": st.column_config.NumberColumn("Version", format="v%d"),
}


def mode_history(ctx: Context, wf: Workflow) -> None:
    changes = store.mode_changes(ctx.con, wf.name)
    st.markdown("##### Mode history")
    if changes.empty:
        st.caption("No mode change yet: the workflow is still being designed (draft).")
        return
    st.dataframe(
        changes,
        column_order=list(MODE_COLUMNS),
        column_config=MODE_COLUMNS,
        hide_index=True,
        width="stretch",
        key="ap:modes",
    )


def gate_chart(checks: pd.DataFrame, target: float) -> alt.LayerChart | alt.FacetChart:
    """The approval rate and its lower bound at each gate check, against the target."""
    data = checks.dropna(subset=["rate"])[["checked_at", "event", "reviewed", "rate", "low"]]
    long = data.melt(
        id_vars=["checked_at", "event", "reviewed"], var_name="measure", value_name="value"
    )
    long["measure"] = long["measure"].map({"rate": "approval rate", "low": "95% lower bound"})
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("checked_at:T", title="Checked"),
            y=alt.Y("value:Q", title=None, axis=PCT, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("measure:N", title=None),
            tooltip=[
                alt.Tooltip("checked_at:T", format="%Y-%m-%d %H:%M"),
                "event:N",
                "reviewed:Q",
                "measure:N",
                alt.Tooltip("value:Q", format=".1%"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"target": [target]}))
        .mark_rule(strokeDash=[6, 4], color="firebrick")
        .encode(y="target:Q")
    )
    return alt.layer(lines, rule, height=260)


def gate_history(ctx: Context, wf: Workflow) -> None:
    checks = store.gate_checks(ctx.con, wf.name)
    st.markdown("##### Gate history")
    if checks["rate"].notna().sum() == 0:
        st.caption("The gate has not been checked on any review yet.")
        return
    st.caption(
        "The gate is checked at every run, batch of decisions and mode change. Dashed: the "
        f"{wf.autonomy.target * 100:g}% target."
    )
    st.altair_chart(gate_chart(checks, wf.autonomy.target), width="stretch")
    with st.expander(f"Every check ({len(checks):,})"):
        st.dataframe(checks, hide_index=True, width="stretch", key="ap:checks")


# --- downloads -------------------------------------------------------------------------


def metrics_frame(m: ApprovalMetrics) -> pd.DataFrame:
    """Every approval table as one long table: ``breakdown``, ``group``, then the counts."""
    parts = [m.overall.assign(breakdown="overall", group="all")]
    for column, table in m.by.items():
        part = table.rename(columns={column: "group"}).assign(breakdown=column)
        part["group"] = part["group"].astype(str)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    return frame[["breakdown", "group", *[c for c in m.overall.columns]]]


def downloads(ctx: Context, wf: Workflow, version: WorkflowVersion, m: ApprovalMetrics) -> None:
    """The metrics tables as CSV and XLSX."""
    rule = wf.autonomy
    meta = {
        "workflow": f"{wf.name} v{version.version}",
        "gate rule": f"{rule.rule}, target {rule.target:g}, at least {rule.min_reviews} reviews",
        "gate verdict": m.gate.sentence,
        "generated at": f"{store.now():%Y-%m-%d %H:%M:%S}",
        "workspace": str(ctx.workspace.root),
    }
    buckets = pd.DataFrame(m.edits.buckets, columns=["characters_changed", "edits"])
    tables: dict[str, tuple[str, Callable[[], pd.DataFrame]]] = {
        "approval": ("Approval rates (overall and every breakdown)", lambda: metrics_frame(m)),
        "reasons": ("Rejection reasons", lambda: m.reasons),
        "edits": ("Edit distances", lambda: buckets),
        "gates": ("Gate history", lambda: store.gate_checks(ctx.con, wf.name)),
    }
    choice = st.selectbox(
        "Table", list(tables), format_func=lambda k: tables[k][0], key="ap:download-table"
    )
    frame = tables[choice][1]()
    stem = f"approval-{choice}-v{version.version}"
    what = f"{tables[choice][0].lower()} of {wf.name} v{version.version}"
    csv_and_xlsx(
        ctx,
        stem,
        lambda: to_csv_bytes(frame),
        lambda: to_xlsx_bytes(frame, sheet_name=choice, meta=meta),
        what=what,
        rows=len(frame),
        keys=("ap:csv", "ap:xlsx"),
    )
