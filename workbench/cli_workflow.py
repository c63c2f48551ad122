"""The workflow commands of the command line: versions, preview, sweep and backtest.

They call the same library functions as the Workflow, Preview, Thresholds and
Backtest pages. Exit codes as in ``workbench.cli``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from workbench.errors import InputFileError, NotFound
from workbench.export.backtest_book import backtest_workbook
from workbench.export.logged import write_export, write_table_export
from workbench.export.preview_book import firing_frame, preview_xlsx
from workbench.storage.history import data_version
from workbench.storage.workspace import Workspace
from workbench.workflow import store as workflows
from workbench.workflow.backtest import backtest_dates, run_backtest
from workbench.workflow.compiler import evaluation
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow, workflow_json_schema
from workbench.workflow.model import Workflow, iter_conditions
from workbench.workflow.preview import diff_since_refresh, preview, record_snapshot
from workbench.workflow.sweep import default_range, grid, suggest, sweep

OFFLINE = {("workflow", "validate"), ("workflow", "schema")}


def _version_arg(text: str) -> int:
    """A version number, written 3 or v3."""
    digits = text.strip().lower().removeprefix("v")
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a version number (like 3 or v3)")
    return int(digits)


def add_workflow_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``workflow``, ``preview``, ``sweep`` and ``backtest`` commands."""
    wf = sub.add_parser("workflow", help="validate, save, show and compare workflow versions")
    wsub = wf.add_subparsers(dest="workflow_command", required=True, metavar="ACTION")
    name_help = "workflow name (default: the most recently saved workflow)"

    validate = wsub.add_parser(
        "validate", help="check a workflow file (the workspace is not opened)"
    )
    validate.add_argument("path", type=Path)

    show = wsub.add_parser("show", help="print the YAML of the latest (or a given) version")
    show.add_argument("--version", type=_version_arg, metavar="N")
    show.add_argument("--name", help=name_help)

    hist = wsub.add_parser("history", help="list the versions: who saved them, when and why")
    hist.add_argument("--name", help=name_help)

    save = wsub.add_parser("save", help="save a workflow file as the next version")
    save.add_argument("path", type=Path)
    save.add_argument("--reason", required=True, help="why it changed, in a few words")
    save.add_argument("--author", help="who changed it (default: your user name)")

    diff = wsub.add_parser("diff", help="what changed between two versions")
    diff.add_argument("a", type=_version_arg, metavar="A")
    diff.add_argument("b", type=_version_arg, metavar="B")
    diff.add_argument("--name", help=name_help)

    restore = wsub.add_parser("restore", help="save an old version's content as the next version")
    restore.add_argument("version", type=_version_arg, metavar="N")
    restore.add_argument("--reason", required=True, help="why you roll back")
    restore.add_argument("--author", help="who rolls back (default: your user name)")
    restore.add_argument("--name", help=name_help)

    wsub.add_parser("schema", help="print the JSON schema of a workflow file")

    src = "workflow file to use instead of the latest saved version"
    pv = sub.add_parser("preview", help="which accounts the workflow fires on, why, on which route")
    pv.add_argument("--workflow", type=Path, metavar="FILE", help=src)
    pv.add_argument(
        "--as-of", type=_date_arg, metavar="DATE", help="as-of date (default: the data's)"
    )
    pv.add_argument(
        "--out", type=Path, metavar="FILE", help="write the firing set to .csv or .xlsx"
    )
    pv.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")

    sw = sub.add_parser("sweep", help="move one numeric condition's threshold and count")
    sw.add_argument("--condition", required=True, metavar="NAME", help="condition id")
    sw.add_argument("--from", dest="start", type=float, metavar="A")
    sw.add_argument("--to", dest="stop", type=float, metavar="B")
    sw.add_argument("--step", type=float, metavar="S")
    sw.add_argument("--workflow", type=Path, metavar="FILE", help=src)
    sw.add_argument("--as-of", type=_date_arg, metavar="DATE")
    sw.add_argument(
        "--churn",
        action="store_true",
        help="add precision/recall of catching churners (backtest dates)",
    )
    sw.add_argument("--out", type=Path, metavar="FILE", help="write the sweep to .csv or .xlsx")

    bt = sub.add_parser("backtest", help="replay the workflow as of past dates against churn")
    bt.add_argument("--from", dest="start", type=_date_arg, metavar="DATE")
    bt.add_argument("--to", dest="stop", type=_date_arg, metavar="DATE")
    bt.add_argument("--every", choices=("month", "week"), default="month")
    bt.add_argument("--label-days", type=int, default=90, metavar="N", help="churn window (days)")
    bt.add_argument("--workflow", type=Path, metavar="FILE", help=src)
    bt.add_argument("--out", type=Path, metavar="FILE", help="write the backtest workbook (.xlsx)")


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _read_workflow_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"File not found: {path}.", "Check the path and try again.") from None
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path} is not UTF-8 text.", "Save the workflow file as UTF-8 (plain text)."
        ) from None
    except OSError as exc:
        raise InputFileError(
            f"Cannot read {path}: {exc.strerror or exc}.", "Check the path and its permissions."
        ) from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _default_author() -> str:
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError, ImportError):
        return "unknown"


def cmd_workflow_offline(args: argparse.Namespace) -> int:
    """The workflow actions that need no workspace (they run while the app holds it)."""
    if args.workflow_command == "schema":
        print(json.dumps(workflow_json_schema(), indent=2))
        return 0
    wf = parse_workflow(_read_workflow_file(args.path), source=str(args.path))
    print(
        f"{args.path} is a valid workflow: {wf.name} "
        f"({_plural(len(iter_conditions(wf.conditions)), 'condition')}, "
        f"{_plural(len(wf.escalation), 'escalation rule')}, action {wf.action.type})"
    )
    return 0


def _workflow_name(con: duckdb.DuckDBPyConnection, ws: Workspace, name: str | None) -> str:
    if name is not None:
        return name
    newest = workflows.latest(con)
    if newest is None:
        raise NotFound(
            f"No workflow is saved in {ws.root} yet.",
            "Save one with `workbench workflow save FILE --reason TEXT` "
            "(`workbench reset-sample` installs the example workflow).",
        )
    return newest.name


def _require_latest(con: duckdb.DuckDBPyConnection, name: str) -> workflows.WorkflowVersion:
    found = workflows.latest(con, name)
    if found is None:
        names = ", ".join(f"'{n}'" for n in workflows.workflow_names(con)) or "none saved yet"
        raise NotFound(f"No workflow named '{name}'.", f"Workflows: {names}.")
    return found


def run_workflow_command(
    con: duckdb.DuckDBPyConnection | None, ws: Workspace, args: argparse.Namespace
) -> int | None:
    """Run a workflow-related command; None when ``args`` is another command."""
    if (args.command, getattr(args, "workflow_command", None)) in OFFLINE:
        return cmd_workflow_offline(args)
    if con is None:
        return None
    if args.command == "workflow":
        return cmd_workflow(con, ws, args)
    if args.command == "preview":
        return cmd_preview(con, args)
    if args.command == "sweep":
        return cmd_sweep(con, args)
    if args.command == "backtest":
        return cmd_backtest(con, args)
    return None


def _workflow_for(
    con: duckdb.DuckDBPyConnection, path: Path | None
) -> tuple[Workflow, str, str, int]:
    """The workflow to run (a file, else the latest saved): model, label, YAML, version (0: file)."""
    if path is not None:
        text = _read_workflow_file(path)
        wf = parse_workflow(text, source=str(path))
        return wf, f"{path} (unsaved)", text, 0
    newest = workflows.latest(con)
    if newest is None:
        raise NotFound(
            "No workflow is saved in this workspace yet.",
            "Pass --workflow FILE, or save one with `workbench workflow save FILE --reason TEXT`.",
        )
    return newest.workflow, f"{newest.name} v{newest.version}", newest.yaml, newest.version


def _write(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, out: Path, what: str) -> None:
    write_table_export(con, df, out, what=what, actor=_default_author())
    print(f"Wrote {len(df):,} rows to {out}.")


def cmd_preview(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    wf, label, text, number = _workflow_for(con, args.workflow)
    as_of = args.as_of or default_as_of(con)
    pv = preview(con, wf, as_of)
    print(f"{label}: {pv.headline()}")
    for c in pv.caps:
        print(f"  [{'ok' if c.ok else '!!'}] {c.name}: {c.sentence}")
    version = data_version(con)
    if args.workflow is None and args.as_of is None:  # snapshots are taken at the data's date
        record_snapshot(con, wf, version, pv)
        diff = diff_since_refresh(con, wf, version, pv)
        if diff is not None:
            print(f"  {diff.sentence()}")
    if len(pv.fired):
        print()
        for row in pv.fired.head(args.limit).to_dict("records"):
            name = row.get("account_name") or row["account_id"]
            print(f"{row['account_id']}  {name}  [{row['route']}] -> {row['assignee']}")
            print(f"    {row['reasons']}")
        if len(pv.fired) > args.limit:
            print(f"... and {len(pv.fired) - args.limit:,} more (--limit N, or --out FILE).")
    if args.out is not None:
        what = f"firing set of {label} as of {as_of}"
        if args.out.suffix.lower() == ".xlsx":
            data = preview_xlsx(
                pv,
                workflow_name=wf.name,
                version=number,
                data_version=version,
                workspace=str(args.out.parent),
                workflow_yaml=text,
            )
            write_export(
                con, args.out, data, what=what, rows=len(pv.fired), actor=_default_author()
            )
            print(f"Wrote {len(pv.fired):,} accounts to {args.out}.")
        else:
            _write(con, firing_frame(pv), args.out, what)
    return 0


def cmd_sweep(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    wf, label, _, _ = _workflow_for(con, args.workflow)
    as_of = args.as_of or default_as_of(con)
    dates = backtest_dates(con) if args.churn else [as_of]
    with evaluation(con, wf, dates, label_days=90 if args.churn else None) as ev:
        lo, hi, step = default_range(ev, args.condition)
        start = lo if args.start is None else args.start
        stop = hi if args.stop is None else args.stop
        frame = sweep(ev, args.condition, grid(start, stop, args.step or step))
        hint = suggest(ev, args.condition, frame) if not args.churn else None
        cond = ev.compiled.condition(args.condition)
    where = (
        f"over {len(dates)} backtest dates (accounts and ARR are summed over the dates)"
        if args.churn
        else f"as of {as_of}"
    )
    print(f"{label}: sweeping “{cond.sentence}” {where}")
    _print_table(frame)
    if hint is not None:
        print(hint.sentence)
    if args.out is not None:
        _write(con, frame, args.out, f"threshold sweep of {label}: {args.condition}")
    return 0


def cmd_backtest(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    wf, label, text, _ = _workflow_for(con, args.workflow)
    dates = backtest_dates(con, args.start, args.stop, args.every, args.label_days)
    result = run_backtest(
        con, wf, dates, args.label_days, progress=lambda f, msg: print(f"[{f:4.0%}] {msg}")
    )
    print(f"{label}: {result.sentence()}")
    for warning in result.warnings:
        print(f"Warning: {warning}")
    for name, value in result.figures():
        print(f"  {name}: {_figure(value)}")
    _print_table(result.per_date)
    if args.out is not None:
        data = backtest_workbook(result, wf.name, label, text, data_version(con))
        what = f"backtest of {label}"
        write_export(
            con, args.out, data, what=what, rows=len(result.per_date), actor=_default_author()
        )
        print(f"Wrote the backtest workbook to {args.out}.")
    return 0


def _figure(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"
    return str(value)


def _print_table(df: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))


def cmd_workflow(con: duckdb.DuckDBPyConnection, ws: Workspace, args: argparse.Namespace) -> int:
    action = args.workflow_command
    if action == "save":
        text = _read_workflow_file(args.path)
        name = parse_workflow(text, source=str(args.path)).name
        before = workflows.latest(con, name)
        saved = workflows.save_version(
            con, text, args.author or _default_author(), args.reason, ws, source=str(args.path)
        )
        if before is not None and saved.version == before.version:
            print(f"No change: {saved.name} is already v{saved.version}.")
        else:
            print(f"Saved {saved.name} v{saved.version}.")
        return 0
    name = _workflow_name(con, ws, args.name)
    if action == "show":
        if args.version is not None:
            version = workflows.get_version(con, name, args.version)
        else:
            version = _require_latest(con, name)
        sys.stdout.write(version.yaml if version.yaml.endswith("\n") else version.yaml + "\n")
        return 0
    if action == "history":
        _require_latest(con, name)
        versions = workflows.list_versions(con, name)
        print(f"{name}:")
        for v in versions:
            print(f"  v{v.version:<4} {v.saved_at:%Y-%m-%d %H:%M}  {v.author:<12} {v.reason}")
        return 0
    if action == "diff":
        a = workflows.get_version(con, name, args.a)
        b = workflows.get_version(con, name, args.b)
        changes = workflows.change_summary(a.workflow, b.workflow)
        if not changes:
            print(f"v{a.version} and v{b.version} of {name} have the same content.")
            return 0
        print(f"Changes from v{a.version} to v{b.version} of {name}:")
        for line in changes:
            print(f"  {line}")
        print()
        sys.stdout.write(workflows.diff_versions(a, b))
        return 0
    if action == "restore":
        before = workflows.latest(con, name)
        saved = workflows.restore_version(
            con, name, args.version, args.author or _default_author(), args.reason, ws
        )
        if before is not None and saved.version == before.version:
            print(f"No change: {name} v{saved.version} already has the content of v{args.version}.")
        else:
            print(f"Saved {name} v{saved.version} with the content of v{args.version}.")
        return 0
    return 2
