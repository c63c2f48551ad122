"""The Outcomes page's parts: the guardrail banner, the experiment and its split, the
filters, one card per metric, the power calculator and the downloads.

Everything shown comes from one ``ExperimentReport`` (``experiment.evaluate``); the
filters' values are read from the session before the report is made, so the widgets can
sit where they belong on the page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.experiment import wording
from workbench.experiment.analysis import analysis_tables
from workbench.experiment.evaluate import ExperimentReport
from workbench.experiment.guardrail import record_flags
from workbench.experiment.outcomes import available_metrics
from workbench.experiment.power import plan_power
from workbench.experiment.types import ARM_LABELS, ARMS
from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.review.store import now
from workbench.ui import outcomes_charts as charts
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx
from workbench.ui.text import md_safe
from workbench.ui.workflow_state import actor_name
from workbench.workflow.model import Workflow

REVIEW_PAGE = "app_pages/review.py"
DATA_PAGE = "app_pages/data.py"
GOVERNANCE_PAGE = "app_pages/governance.py"
SEGMENT_KEY = "oc:segment"
METRICS_KEY = "oc:metrics"
ALL_SEGMENTS = "All segments"
UNIT_WORDS = {"currency": "$", "hours": "hours", "score": "score points", "number": "units"}


# --- filters (read before the report, drawn after) --------------------------------------


def metric_choice(ctx: Context, wf: Workflow) -> tuple[dict[str, str], list[str], list[str]]:
    """(name -> label of every available metric, the default names, the names to analyse).

    Configured metrics the workspace cannot measure are always passed on, so the report
    names them as problems.
    """
    labels = {s.name: s.label for s in available_metrics(ctx.con)}
    default = [n for n in wf.experiment.metrics if n in labels]
    stored = st.session_state.get(METRICS_KEY)
    chosen = [n for n in stored if n in labels] if isinstance(stored, list) else default
    missing = [n for n in wf.experiment.metrics if n not in labels]
    return labels, default, [*chosen, *missing]


def segment_choice() -> str | None:
    """The segment chosen on the previous run (None: all segments)."""
    value = st.session_state.get(SEGMENT_KEY, ALL_SEGMENTS)
    return None if value == ALL_SEGMENTS else str(value)


def filters(report: ExperimentReport, labels: dict[str, str], default: list[str]) -> None:
    """The segment and metric widgets (their values were read by ``*_choice``)."""
    options = [ALL_SEGMENTS, *report.segments]
    if st.session_state.get(SEGMENT_KEY, ALL_SEGMENTS) not in options:
        st.session_state.pop(SEGMENT_KEY, None)  # a segment the data no longer has
    left, right = st.columns([1, 2])
    segment = left.selectbox("Segment", options, key=SEGMENT_KEY)
    picked = right.multiselect(
        "Metrics",
        list(labels),
        default=default,
        format_func=lambda n: labels.get(n, n),
        key=METRICS_KEY,
        help="Defaults to the metrics in the workflow's experiment section. Guardrail "
        "metrics are always analysed.",
    )
    analysed = report.analysis.metrics if report.analysis is not None else ()
    kept = [m.spec.label for m in analysed if m.spec.guardrail and m.spec.name not in picked]
    if kept:
        st.caption(
            f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} shown all the same: "
            "guardrail metrics are always analysed."
        )
    if segment != ALL_SEGMENTS:
        st.caption(
            f"Showing accounts of the **{segment}** segment (as recorded at assignment). "
            "Guardrails are judged on the whole experiment, never on one segment."
        )


# --- banner, experiment, split ----------------------------------------------------------


def guardrail_banner(ctx: Context, whole: ExperimentReport) -> None:
    """Breaches on the whole experiment: stored as flags (once per data version), shown red."""
    if not whole.breaches:
        return
    record_flags(ctx.con, whole, actor=actor_name())
    lines = []
    for b in whole.breaches:
        c = b.figures
        base = "control" if b.baseline == "control" else ARM_LABELS.get(b.baseline, b.baseline)
        finding = b.sentence.removeprefix("Guardrail breached: ").removesuffix(".")
        lines.append(
            f"- {md_safe(finding)} ({c.n_t:,} AI-handled and {c.n_b:,} {base} accounts with "
            "an outcome)."
        )
    if whole.halt is not None:
        st.warning(
            "### Guardrail breached: flagged for pause\n\n"
            + "\n".join(lines)
            + f"\n\nThe workflow was **{md_safe(whole.halt.words())}**: find out why before "
            "resuming shadow mode.",
            icon=":material/pause_circle:",
        )
    else:
        st.error(
            "### Guardrail breached: flagged for pause\n\n"
            + "\n".join(lines)
            + "\n\nThe workflow is **flagged for pause — see Governance**. Pausing is a "
            "person's decision (Governance, or `workbench mode paused`).",
            icon=":material/gpp_bad:",
        )
    st.page_link(GOVERNANCE_PAGE, label="Go to Governance", icon=":material/policy:")


def experiment(report: ExperimentReport) -> None:
    """The experiment in one line, its planned and actual split, and earlier experiments."""
    e = report.experiment
    if e is None:
        return
    st.markdown(md_safe(report.sentence()))
    counts = report.arm_counts()
    cols = st.columns(4)
    for col, arm in zip(cols, ARMS, strict=False):
        col.metric(
            ARM_LABELS[arm],
            f"{counts[arm]:,}",
            help=f"Accounts assigned; the plan gives this arm {e.allocation.get(arm, 0):g}%.",
        )
    cols[3].metric("Assigned", f"{sum(counts.values()):,}")
    started = "" if e.started_at is None else f" {e.started_at:%Y-%m-%d}"
    by = f" by {e.started_by}" if e.started_by else ""
    version = f" with v{e.started_version}" if e.started_version is not None else ""
    st.caption(
        f"Planned allocation {e.allocation_words()}. Started{started}{by}{version}: {e.reason}. "
        f"Outcomes count within {report.window_days} days of an account's assignment."
    )
    earlier = [x for x in report.experiments if x.experiment_id != e.experiment_id]
    if earlier:
        with st.expander(f"Earlier experiments ({len(earlier)})"):
            st.dataframe(
                pd.DataFrame(
                    {
                        "Experiment": [x.experiment_id for x in earlier],
                        "Allocation": [x.allocation_words() for x in earlier],
                        "Started": [x.started_at for x in earlier],
                        "Ended": [x.ended_at for x in earlier],
                        "Why it started": [x.reason for x in earlier],
                    }
                ),
                hide_index=True,
                width="stretch",
                key="oc:earlier",
            )


def next_step(report: ExperimentReport) -> bool:
    """What to do when there is nothing to analyse yet; True when the page should stop."""
    text = report.next_step
    if not text and report.experiment is not None and not report.specs and report.problems:
        text = (
            "None of the workflow's metrics can be measured with the data in this workspace "
            "yet (see above). Import renewal outcomes or an outcome-metrics file on the Data "
            "page, or with `workbench outcomes import FILE`."
        )
    if not text:
        return False
    st.info(md_safe(text), icon=":material/lightbulb:")
    if report.empty:
        st.page_link(REVIEW_PAGE, label="Go to Review", icon=":material/fact_check:")
    else:
        st.code("workbench outcomes import FILE", language="bash")
        st.page_link(DATA_PAGE, label="Import outcomes on Data", icon=":material/upload_file:")
    return True


def problems(report: ExperimentReport) -> None:
    for text in report.problems:
        st.warning(md_safe(text), icon=":material/help:")


def split(report: ExperimentReport) -> None:
    """The sample ratio checks: loud when any fails; assignments and outcome counts below."""
    checks = []
    whole = report.assignment_srm()
    if whole is not None:
        checks.append(("All assigned accounts", whole))
    a = report.analysis
    if a is not None and a.segment is not None:
        checks.append((f"Segment {a.segment}", a.srm))
    for m in a.metrics if a is not None else ():
        checks.append((m.spec.label, m.srm))
    failed = [(scope, r) for scope, r in checks if r.failed]
    if failed:
        st.error(
            "### Sample ratio mismatch: these results can't be trusted yet\n\n"
            + "\n".join(f"- **{scope}**: {md_safe(r.sentence)}" for scope, r in failed)
            + "\n\nA split this far from the plan means assignment or outcome collection is "
            "broken somewhere (for example outcomes missing for one arm). Find the cause "
            "before reading the comparisons below.",
            icon=":material/warning:",
        )
    elif whole is not None:
        st.caption(f":material/check_circle: {md_safe(whole.sentence)}")
    with st.expander("Assigned accounts per stratum and arm, outcomes per metric"):
        columns: dict[str, Any] = {
            "stratum": st.column_config.TextColumn("Stratum (segment · ARR band)"),
            **{arm: st.column_config.NumberColumn(ARM_LABELS[arm], format="%,d") for arm in ARMS},
            "total": st.column_config.NumberColumn("Total", format="%,d"),
        }
        st.dataframe(
            report.by_stratum(),
            column_config=columns,
            hide_index=True,
            width="stretch",
            key="oc:strata",
        )
        counts = report.outcome_counts()
        if len(counts):
            numbers: dict[str, Any] = {
                "metric": st.column_config.TextColumn("Metric"),
                "with an outcome": st.column_config.NumberColumn("With an outcome", format="%,d"),
                "assigned": st.column_config.NumberColumn("Assigned", format="%,d"),
                **{a: st.column_config.NumberColumn(ARM_LABELS[a], format="%,d") for a in ARMS},
            }
            st.dataframe(
                counts,
                column_config=numbers,
                hide_index=True,
                width="stretch",
                key="oc:outcome-counts",
            )


# --- power calculator -------------------------------------------------------------------


def power_calculator(report: ExperimentReport) -> None:
    """Accounts per arm needed for a chosen effect, and the effect detectable now."""
    a = report.analysis
    if a is None or not a.metrics:
        st.caption("Choose a metric the workspace can measure to plan the experiment's size.")
        return
    by_name = {m.spec.name: m for m in a.metrics}
    pairs = [(p.treatment, p.baseline) for p in a.metrics[0].pairs if p.skipped is None]
    if not pairs:
        st.caption("The allocation leaves no pair of arms to compare.")
        return
    cols = st.columns(4)
    name = cols[0].selectbox(
        "Metric", list(by_name), format_func=lambda n: by_name[n].spec.label, key="oc:pw-metric"
    )
    t, b = cols[1].selectbox(
        "Comparison", pairs, format_func=lambda p: charts.pair_label(*p), key="oc:pw-pair"
    )
    m = by_name[name]
    arm_t, arm_b = m.arm(t), m.arm(b)
    n_t, n_b = (arm_t.n if arm_t else 0), (arm_b.n if arm_b else 0)
    if m.spec.kind == "binary":
        observed = arm_b.mean if arm_b is not None else None
        rate = cols[2].number_input(
            f"Baseline rate ({'control' if b == 'control' else ARM_LABELS[b]}), %",
            min_value=0.0,
            max_value=100.0,
            value=(0.7 if observed is None else observed) * 100,
            step=1.0,
            format="%.1f",
            key=f"oc:pw-base:{name}:{b}",
            help="Defaults to the observed rate of the baseline arm (70% before any outcome).",
        )
        points = cols[3].number_input(
            "Change worth detecting, points",
            min_value=0.1,
            max_value=99.0,
            value=5.0,
            step=0.5,
            format="%.1f",
            key=f"oc:pw-mde:{name}",
        )
        result = plan_power(
            "binary", n_t, n_b, baseline=rate / 100, mde=points / 100, alpha=a.alpha,
            power=a.power,
        )  # fmt: skip
    else:
        pair = m.pair(t, b)
        seen = pair.power.detectable.sd if pair is not None and pair.power is not None else None
        sd = cols[2].number_input(
            "Standard deviation",
            min_value=0.0,
            value=float(seen or 1.0),
            key=f"oc:pw-sd:{name}:{t}:{b}",
            help="Defaults to the pooled standard deviation of the two arms observed so far.",
        )
        effect = cols[3].number_input(
            f"Change worth detecting, {UNIT_WORDS.get(m.spec.unit, 'units')}",
            min_value=0.0,
            value=float(round(0.2 * (seen or 1.0), 2)),
            key=f"oc:pw-mde:{name}:{t}:{b}",
            help="Defaults to a fifth of the standard deviation.",
        )
        if sd <= 0:
            st.info(
                "Enter the standard deviation you expect (above zero): with none, every account "
                "would have the same value and no sample size can be worked out.",
                icon=":material/calculate:",
            )
            return
        if effect <= 0:
            st.info(
                "Enter the change worth detecting (above zero): no number of accounts can "
                "detect a change of nothing.",
                icon=":material/calculate:",
            )
            return
        result = plan_power(
            "continuous", n_t, n_b, sd=sd, mde=effect, alpha=a.alpha, power=a.power,
            unit=m.spec.unit,
        )  # fmt: skip
    req = result.required
    det = result.detectable
    figures = st.columns(4)
    figures[0].metric("Needed per arm", "–" if req is None or req.n is None else f"{req.n:,}")
    figures[1].metric(
        "Accounts per arm now",
        wording.count(result.n_per_arm),
        help="Accounts with an outcome; two unequal arms count as their harmonic mean.",
    )
    figures[2].metric(
        "Detectable now",
        "–" if det.effect is None else wording.diff(det.effect, result.unit, signed=False),
    )
    figures[3].metric(
        "Significance / power", f"{wording.percent(a.alpha)} / {wording.percent(a.power)}"
    )
    alert = st.warning if result.underpowered else st.success
    alert(md_safe(result.sentence), icon=":material/calculate:")
    where = f" in segment {a.segment}" if a.segment else ""
    st.caption(
        f"Counts are the accounts with an observed {m.spec.label} outcome{where}. Significance "
        "and power come from the workflow's experiment section (`alpha`, `power`)."
    )


# --- downloads ---------------------------------------------------------------------------


def report_downloads(ctx: Context, report: ExperimentReport) -> None:
    """The analysis as files: for now one table at a time as CSV or XLSX (each download logged).

    The report exporter (a whole-experiment workbook and HTML page) will add its button here.
    """
    if report.analysis is None or report.experiment is None:
        return
    tables = analysis_tables(report.analysis)
    titles = {
        "summary": "Arm summaries",
        "comparisons": "Pair comparisons",
        "adjusted": "Adjusted effects",
        "srm": "Sample ratio checks",
        "power": "Power",
    }
    choice = st.selectbox(
        "Table", list(tables), format_func=lambda k: titles.get(k, k), key="oc:download-table"
    )
    frame = tables[choice]
    e = report.experiment
    segment = report.analysis.segment
    stem = f"outcomes-{choice}-experiment-{e.experiment_id}" + (
        f"-{segment.lower().replace(' ', '-')}" if segment else ""
    )
    meta = {
        "workflow": report.workflow_name,
        "experiment": str(e.experiment_id),
        "allocation": e.allocation_words(),
        "segment": segment or "all",
        "data version": report.data_version,
        "generated at": f"{now():%Y-%m-%d %H:%M:%S}",
        "workspace": str(ctx.workspace.root),
    }
    csv_and_xlsx(
        ctx,
        stem,
        lambda: to_csv_bytes(frame),
        lambda: to_xlsx_bytes(frame, sheet_name=choice, meta=meta),
        what=f"{titles.get(choice, choice).lower()} of experiment {e.experiment_id} "
        f"of {report.workflow_name}",
        rows=len(frame),
        keys=("oc:csv", "oc:xlsx"),
        extra={"segment": segment or "all"},
    )
