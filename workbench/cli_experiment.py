"""The experiment from the shell: ``outcomes import``, ``experiment status``, ``analyze``.

Renewal outcomes or an outcome-metrics file go through the same import pipeline as
``workbench import`` (one transaction: a failed import changes nothing); then the command
says how many accounts of the current workflow's experiment have each metric so far.
``experiment status`` and ``analyze`` print what ``experiment.evaluate`` finds, the same
as the Outcomes page; ``analyze --out`` writes the experiment report (.xlsx, .html, .csv).
Exit codes as in ``workbench.cli``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

import duckdb

from workbench.cli_analyze import cmd_analyze, cmd_experiment_status
from workbench.cli_workflow import _default_author
from workbench.errors import ImportBlocked
from workbench.experiment.evaluate import evaluate
from workbench.experiment.guardrail import record_flags
from workbench.experiment.outcomes import metrics_table, outcome_counts, resolve_metrics
from workbench.experiment.store import current_experiment
from workbench.ingest.kinds import OUTCOMES
from workbench.ingest.pipeline import (
    ImportOptions,
    ImportResult,
    import_file,
    staged_file,
    suggest_for,
)
from workbench.workflow.store import latest

COMMANDS = ("outcomes", "experiment", "analyze")
DEFAULT_MODE: dict[str, Literal["append", "replace"]] = {
    "outcomes": "append",
    "metrics": "replace",
}
OutcomeKind = Literal["outcomes", "metrics"]


def add_experiment_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The experiment commands."""
    oc = sub.add_parser("outcomes", help="import experiment outcomes (renewals or metrics)")
    osub = oc.add_subparsers(dest="outcomes_command", required=True, metavar="ACTION")
    im = osub.add_parser(
        "import",
        help="import renewal outcomes or an outcome-metrics file, then count outcomes",
        description="Import renewal outcomes (kind outcomes) or a wide file with one column "
        "per outcome metric (kind metrics) through the usual import checks, then show how "
        "many accounts of the current experiment have each metric.",
    )
    im.add_argument("file", type=Path)
    im.add_argument(
        "--kind",
        choices=("auto", "outcomes", "metrics"),
        default="auto",
        help="auto (default): outcomes when the headers name a renewal date and an outcome, "
        "else metrics",
    )
    im.add_argument(
        "--mode",
        choices=("append", "replace"),
        help="default: append for outcomes (so the renewal history stays), replace for metrics",
    )
    im.add_argument("--sheet", help="spreadsheet sheet (default: the first with data)")
    im.add_argument("--date-order", choices=("auto", "dmy", "mdy"), default="auto")
    im.add_argument("--dry-run", action="store_true", help="validate only; change nothing")

    ex = sub.add_parser("experiment", help="the control-group experiment of the workflow")
    esub = ex.add_subparsers(dest="experiment_command", required=True, metavar="ACTION")
    st = esub.add_parser(
        "status", help="the experiment: allocation, accounts per arm and stratum, split check"
    )
    st.add_argument("--experiment", type=int, metavar="N", help="an earlier experiment")

    an = sub.add_parser(
        "analyze",
        help="compare the arms on the outcome metrics (AI vs CSM vs control)",
        description="Rates or means per arm, the difference with a 95%% CI and p-value for "
        "each pair of arms, the covariate-adjusted effect, the sample ratio check and power, "
        "in words. Guardrail breaches flag the workflow for pause (audit log).",
    )
    an.add_argument("--metric", action="append", metavar="M",
                    help="a metric to analyse (repeatable; default: the workflow's metrics)")  # fmt: skip
    an.add_argument("--segment", help="only accounts of this segment")
    an.add_argument("--experiment", type=int, metavar="N", help="an earlier experiment")
    an.add_argument("--mde", action="append", metavar="M=V", type=_mde_arg,
                    help="the effect the power calculator targets, e.g. renewed=0.05 (5 points)")  # fmt: skip
    an.add_argument("--out", type=Path, metavar="FILE",
                    help="write the experiment report: .xlsx, .html (printable) or .csv")  # fmt: skip


def _mde_arg(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not METRIC=VALUE, e.g. renewed=0.05 (5 points) or expansion_arr=500"
        ) from None


def detect_kind(
    con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None
) -> tuple[OutcomeKind, str]:
    """``outcomes`` when the file's headers name the columns only renewal outcomes have.

    Only headers count (a known name or a close match), never values: a metrics file with
    a date column is not taken for renewals. The account id is left out of the test so a
    renewal file without one is still read as renewals, and its import says what is missing.

    Returns:
        The kind and why, in words.
    """
    with staged_file(con, Path(path), sheet=sheet) as staged:
        choices = suggest_for(con, staged, OUTCOMES).choices
    named = {c.column: c.source for c in choices if c.source and c.confidence != "guess"}
    need = [c for c in OUTCOMES.required if c != "account_id"]
    lacking = [c for c in need if c not in named]
    if not lacking:
        mapped = ", ".join(f"{c} <- '{named[c]}'" for c in OUTCOMES.required if c in named)
        return "outcomes", f"its headers map the columns of renewal outcomes ({mapped})"
    return "metrics", (
        f"no header names {' or '.join(lacking)}, which renewal outcomes need, so it is read as "
        "outcome metrics: one column per metric"
    )


def _print_report(result: ImportResult) -> None:
    print("\n".join(result.report.text_lines()))


def _experiment_counts(con: duckdb.DuckDBPyConnection) -> None:
    v = latest(con)
    if v is None:
        print("No workflow is saved yet, so there is no experiment to count outcomes for.")
        return
    running = current_experiment(con, v.name)
    if running is None:
        print(f"Workflow '{v.name}' has no running experiment yet; its first run starts one.")
        return
    experiment_id = running.experiment_id
    exp = v.workflow.experiment
    specs, problems = resolve_metrics(con, exp)
    print(
        f"Experiment {experiment_id} of workflow '{v.name}' "
        f"(outcomes within {exp.window_days} days of assignment):"
    )
    for count in outcome_counts(con, experiment_id, specs, exp.window_days):
        print(f"  {count.sentence}")
    for problem in problems:
        print(f"  note: {problem}")


def cmd_outcomes_import(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    kind: OutcomeKind
    if args.kind == "auto":
        kind, why = detect_kind(con, args.file, sheet=args.sheet)
        print(f"Importing {args.file.name} as {kind}: {why}.")
    else:
        kind = args.kind
    mode: Literal["append", "replace"] = args.mode or DEFAULT_MODE[kind]
    options = ImportOptions(
        kind=kind,
        mode=mode,
        date_order=args.date_order,
        sheet=args.sheet,
        actor=_default_author(),
    )
    try:
        result = import_file(con, args.file, options, commit=not args.dry_run)
    except ImportBlocked as exc:
        if isinstance(exc.report, ImportResult):
            _print_report(exc.report)
            print(f"Nothing was imported; table '{kind}' is unchanged.", file=sys.stderr)
            return 1
        raise
    _print_report(result)
    if not result.committed:
        print("Dry run: no table was changed.")
        return 0
    print(
        f"Imported {result.rows_imported:,} rows into '{result.table}' ({mode}); "
        f"it now has {result.rows_in_table:,} rows."
    )
    if kind == "metrics":
        custom, notes = metrics_table(con)
        shown = ", ".join(
            f"{s.name} ({'yes/no' if s.kind == 'binary' else 'number'})" for s in custom
        )
        print(f"Metrics in the table: {shown or 'none'}.")
        for note in notes:
            print(f"  note: {note}")
    _experiment_counts(con)
    _flag(con)
    return 0


def _flag(con: duckdb.DuckDBPyConnection) -> None:
    """After new outcomes: record guardrail breaches of the current experiment, and say so."""
    v = latest(con)
    if v is None:
        return
    report = evaluate(con, v.workflow)
    if report.breaches:
        record_flags(con, report, actor=_default_author())
        for b in report.breaches:
            print(f"FLAGGED FOR PAUSE: {b.sentence}")


def run_experiment_command(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int | None:
    """Run one of ``COMMANDS``; ``None`` when the command is not one of them."""
    if args.command == "outcomes" and args.outcomes_command == "import":
        return cmd_outcomes_import(con, args)
    if args.command == "experiment" and args.experiment_command == "status":
        return cmd_experiment_status(con, args)
    if args.command == "analyze":
        return cmd_analyze(con, args)
    return None
