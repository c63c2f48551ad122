"""``workbench experiment status`` and ``workbench analyze``: the Outcomes page in a terminal.

Both print what ``experiment.evaluate`` finds; ``analyze`` records guardrail breaches (they
flag the workflow for pause in the audit log) and ``--out`` writes the experiment report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import pandas as pd

from workbench.cli_workflow import _default_author
from workbench.errors import WorkbenchError
from workbench.experiment.analysis import MetricResult
from workbench.experiment.evaluate import ExperimentReport, evaluate
from workbench.experiment.guardrail import record_flags
from workbench.experiment.sentences import adjusted_sentence
from workbench.experiment.tables import analysis_tables
from workbench.experiment.types import ARM_LABELS
from workbench.experiment.wording import p_value
from workbench.export.logged import write_export, write_table_export
from workbench.workflow.store import WorkflowVersion, latest


def _current(con: duckdb.DuckDBPyConnection) -> WorkflowVersion:
    v = latest(con)
    if v is None:
        raise WorkbenchError(
            "No workflow is saved in this workspace yet, so there is no experiment.",
            "Save one with `workbench workflow save FILE --reason TEXT` "
            "(the sample workspace has one: `workbench reset-sample --yes`).",
        )
    return v


def _table(df: pd.DataFrame, indent: str = "  ") -> None:
    if df.empty:
        return
    for line in df.to_string(index=False).splitlines():
        print(indent + line)


def _report(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> ExperimentReport:
    v = _current(con)
    mde = dict(getattr(args, "mde", None) or []) or None
    report = evaluate(
        con,
        v.workflow,
        experiment_id=args.experiment,
        segment=getattr(args, "segment", None),
        metrics=getattr(args, "metric", None),
        mde=mde,
    )
    if args.experiment is not None and report.experiment is None:
        known = ", ".join(str(e.experiment_id) for e in report.experiments) or "none yet"
        raise WorkbenchError(
            f"'{v.name}' has no experiment {args.experiment}.",
            f"Its experiments: {known}. Leave out --experiment for the running one.",
        )
    return report


def _head(report: ExperimentReport) -> None:
    print(report.sentence())
    e = report.experiment
    if e is not None:
        print(f"  Started by {e.started_by or '?'} with v{e.started_version}: {e.reason}.")
        if e.ended_at is not None:
            print(f"  Ended {e.ended_at:%Y-%m-%d %H:%M} (the design changed).")
    for problem in report.problems:
        print(f"  note: {problem}")
    srm = report.assignment_srm()
    if srm is not None and not report.frame.empty:
        print(srm.sentence)


def cmd_experiment_status(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    report = _report(con, args)
    _head(report)
    if report.next_step:
        print(report.next_step)
    if not report.frame.empty:
        print("Accounts per stratum (segment x ARR band) and arm:")
        _table(report.by_stratum())
        print(f"Outcomes so far (within {report.window_days} days of assignment):")
        _table(report.outcome_counts())
    earlier = [x for x in report.experiments if x.ended_at is not None]
    if earlier:
        print("Earlier experiments:")
        for x in earlier:
            print(f"  {x.experiment_id}: {x.allocation_words()}, ended {x.ended_at:%Y-%m-%d}")
    return 0


def _metric(m: MetricResult) -> None:
    print(f"\n{m.spec.label} ({m.spec.kind}; {m.spec.source or m.spec.name})")
    print(f"  Verdict: {m.verdict}")
    if m.srm.failed:
        print(f"  {m.srm.sentence}")
    for pair in m.pairs:
        name = f"{ARM_LABELS[pair.treatment]} vs {ARM_LABELS[pair.baseline]}"
        if pair.skipped:
            print(f"  - {name}: {pair.skipped}")
            continue
        same = pair.sentence == m.verdict
        print(f"  - {name}: " + ("the verdict above." if same else pair.sentence))
        if pair.adjusted is not None:
            print(f"    {adjusted_sentence(m.spec, pair.adjusted)}")
        log = pair.log_comparison
        if log is not None and log.code == "ok":
            print(
                f"    On log(1 + value): difference {log.diff:+.3g} "
                f"(95% CI {log.ci_low:+.3g} to {log.ci_high:+.3g}), {p_value(log.p)}."
            )
        if pair.power is not None:
            print(f"    Power: {pair.power.sentence}")
    if m.skew_note:
        print(f"  Note: {m.skew_note}")


def _write(con: duckdb.DuckDBPyConnection, report: ExperimentReport, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".html", ".htm", ".csv"):
        raise WorkbenchError(
            f"Cannot write the report as '{out.name}'.",
            "Use a name ending in .xlsx (workbook), .html (printable page) or .csv (comparisons).",
        )
    from workbench.export.experiment_report import experiment_report_html, experiment_report_xlsx

    what = f"experiment report ({report.workflow_name})"
    if suffix == ".xlsx":
        write_export(con, out, experiment_report_xlsx(report), what=what, actor=_default_author())
    elif suffix in (".html", ".htm"):
        data = experiment_report_html(report).encode("utf-8")
        write_export(con, out, data, what=what, actor=_default_author())
    elif suffix == ".csv":
        table = analysis_tables(report.analysis)["comparisons"] if report.analysis else None
        if table is None:
            raise WorkbenchError("There is no analysis to write yet.", report.next_step)
        write_table_export(con, table, out, what=what, actor=_default_author())
    print(f"Wrote {out}.")


def cmd_analyze(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    report = _report(con, args)
    _head(report)
    if args.segment:
        print(f"Segment {args.segment} only (guardrails are judged on the whole experiment).")
    if report.next_step:
        print(report.next_step)
    if report.analysis is not None and not report.next_step:
        for m in report.analysis.metrics:
            _metric(m)
    if report.breaches:
        new = record_flags(con, report, actor=_default_author())
        print()
        for b in report.breaches:
            print(f"FLAGGED FOR PAUSE: {b.sentence}")
        print(
            f"({new} new flag{'s' if new != 1 else ''} in the audit log; pause with "
            "`workbench mode paused --reason ...` or on the Governance page.)"
        )
    if args.out is not None:
        _write(con, report, args.out)
    return 0
