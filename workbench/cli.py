"""The command line: the same library functions the pages call.

Exit codes: 0 success, 1 a problem the message explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from workbench.config import load_settings
from workbench.errors import ImportBlocked, InputFileError, NotFound, WorkbenchError
from workbench.export.tabular import write_table
from workbench.ingest.kinds import KINDS
from workbench.ingest.mapping import Mapping
from workbench.ingest.pipeline import (
    ImportOptions,
    ImportResult,
    import_file,
    staged_file,
    suggest_for,
)
from workbench.ingest.sample import reset_to_sample
from workbench.ingest.xlsx_reader import list_sheets
from workbench.notebook.runner import run_sql
from workbench.storage import history, profiles, tables
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store as workflows
from workbench.workflow.loader import parse_workflow, workflow_json_schema
from workbench.workflow.model import iter_conditions


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workbench",
        description="Bounded workbench: import CS exports into a local DuckDB workspace and query them.",
    )
    p.add_argument(
        "--workspace",
        metavar="DIR",
        help="workspace folder (default: $WORKBENCH_WORKSPACE or ./workspace)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = sub.add_parser("import", help="import a CSV or XLSX file as a dataset kind")
    imp.add_argument("path", type=Path)
    imp.add_argument("--kind", required=True, choices=sorted(KINDS), help="dataset kind (= table)")
    imp.add_argument("--sheet", help="spreadsheet sheet (default: the first with data)")
    imp.add_argument("--mapping", metavar="PROFILE", help="use a saved mapping profile")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=HEADER",
        help="map a canonical column to a file header (repeatable; overrides the suggestion)",
    )
    imp.add_argument("--mode", choices=("replace", "append"), default="replace")
    imp.add_argument("--date-order", choices=("auto", "dmy", "mdy"), default="auto")
    imp.add_argument(
        "--skip-bad-rows", action="store_true", help="import the good rows, leave out bad ones"
    )
    imp.add_argument("--unify-categories", action="store_true", help="unify category spellings")
    imp.add_argument("--save-profile", metavar="NAME", help="save the mapping used as a profile")
    imp.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
    imp.add_argument(
        "--rejected-out", type=Path, metavar="FILE", help="write rows that cannot be imported"
    )

    sub.add_parser("tables", help="list the tables with row counts")

    sql = sub.add_parser("sql", help="run a read-only SQL query")
    sql.add_argument("query")
    sql.add_argument("--out", type=Path, metavar="FILE", help="write the result to .csv or .xlsx")

    sheets = sub.add_parser("sheets", help="list the sheets of a spreadsheet")
    sheets.add_argument("path", type=Path)

    sub.add_parser("history", help="show the import history")
    sub.add_parser("profiles", help="list saved mapping profiles")

    drop = sub.add_parser("delete", help="delete a table")
    drop.add_argument("table")
    drop.add_argument("--yes", action="store_true", help="confirm the deletion")

    reset = sub.add_parser("reset-sample", help="replace the workspace tables with the sample book")
    reset.add_argument("--yes", action="store_true", help="confirm (needed when tables exist)")
    _workflow_parser(sub)
    return p


def _version_arg(text: str) -> int:
    """A version number, written 3 or v3."""
    digits = text.strip().lower().removeprefix("v")
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a version number (like 3 or v3)")
    return int(digits)


def _workflow_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def _print_frame(df: pd.DataFrame, max_rows: int = 50) -> None:
    with pd.option_context("display.max_columns", 20, "display.width", 160):
        print(df.head(max_rows).to_string(index=False))
    if len(df) > max_rows:
        print(f"... {len(df) - max_rows:,} more rows (use --out FILE for all)")


def _mapping_from_args(
    con: duckdb.DuckDBPyConnection, args: argparse.Namespace
) -> tuple[Mapping | None, str | None]:
    base: Mapping | None = None
    if args.mapping:
        profile = profiles.get_profile(con, args.mapping)
        if profile.kind != args.kind:
            raise WorkbenchError(
                f"Mapping profile '{profile.name}' is for {profile.kind}, not {args.kind}.",
                "Choose a profile of the same kind, or leave out --mapping.",
            )
        base = profile.mapping
    if not args.map:
        return base, args.mapping
    with staged_file(con, args.path, sheet=args.sheet) as staged:
        suggested = base or suggest_for(con, staged, args.kind).mapping
    assignments = dict(suggested.assignments)
    for item in args.map:
        col, sep, header = item.partition("=")
        if not sep:
            raise WorkbenchError(
                f"--map '{item}' is not COLUMN=HEADER.", "Example: --map account_id='Customer ID'"
            )
        assignments = {k: v for k, v in assignments.items() if v != header}
        assignments[col.strip()] = header
    return Mapping(args.kind, assignments, suggested.ignored), args.mapping


def _report(result: ImportResult) -> None:
    report = result.report
    print(report.summary())
    for note in report.notes:
        print(f"  note: {note}")
    for p in report.problems:
        print(f"  {p.severity.upper()}: {p.message}")
        if p.hint:
            print(f"    What to do: {p.hint}")


def cmd_import(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    mapping, profile_name = _mapping_from_args(con, args)
    options = ImportOptions(
        kind=args.kind,
        mode=args.mode,
        date_order=args.date_order,
        skip_bad_rows=args.skip_bad_rows,
        unify_categories=args.unify_categories,
        sheet=args.sheet,
        profile=profile_name,
    )
    try:
        result = import_file(con, args.path, options, mapping=mapping, commit=not args.dry_run)
    except ImportBlocked as exc:
        blocked = exc.report
        if isinstance(blocked, ImportResult):
            _report(blocked)
            _write_rejected(blocked, args.rejected_out)
            print(f"Nothing was imported; table '{args.kind}' is unchanged.", file=sys.stderr)
            return 1
        raise
    _report(result)
    _write_rejected(result, args.rejected_out)
    if args.save_profile:
        profiles.save_profile(
            con, args.save_profile, result.mapping, result.report.headers, {"sheet": args.sheet}
        )
        print(f"Saved mapping profile '{args.save_profile}'.")
    if result.committed:
        print(
            f"Imported {result.rows_imported:,} rows into '{result.table}' ({args.mode}); "
            f"it now has {result.rows_in_table:,} rows."
        )
    else:
        print(
            "Dry run: no table was changed."
            + (" (The mapping profile was saved.)" if args.save_profile else "")
        )
    return 0


def _write_rejected(result: ImportResult, out: Path | None) -> None:
    if out is None or result.rejected is None or result.rejected.empty:
        return
    write_table(result.rejected, out)
    print(f"Wrote {len(result.rejected):,} rows that cannot be imported to {out}.")


def cmd_sql(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    result = run_sql(con, args.query, max_rows=5_000_000 if args.out else 1_000)
    if not result.ok or result.df is None:
        raise WorkbenchError(
            f"The query failed: {result.error}",
            "Check the SQL; `workbench tables` lists the tables.",
        )
    if args.out:
        write_table(result.df, args.out, meta={"query": args.query})
        print(f"Wrote {result.row_count:,} rows to {args.out}.")
    else:
        _print_frame(result.df)
        print(f"({result.row_count:,} rows)")
    return 0


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


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    settings = load_settings(args.workspace)
    ws = Workspace(settings.workspace)
    if args.command == "sheets":
        for name in list_sheets(args.path):
            print(name)
        return 0
    if args.command == "workflow" and args.workflow_command in ("validate", "schema"):
        return cmd_workflow_offline(args)
    con = connect(ws, wait_seconds=settings.lock_wait_seconds)
    try:
        if args.command == "import":
            return cmd_import(con, args)
        if args.command == "sql":
            return cmd_sql(con, args)
        if args.command == "workflow":
            return cmd_workflow(con, ws, args)
        if args.command == "tables":
            infos = tables.list_tables(con)
            if not infos:
                print(
                    f"No tables yet in {ws.root}. Import a file: workbench import FILE --kind accounts"
                )
            for t in infos:
                print(f"{t.name:<24} {t.rows:>12,} rows  {t.columns:>3} columns  {t.kind or ''}")
            return 0
        if args.command == "history":
            _print_frame(history.history_display(con))
            return 0
        if args.command == "profiles":
            for prof in profiles.list_profiles(con):
                print(
                    f"{prof.name:<30} {prof.kind:<10} {len(prof.mapping.assignments)} columns mapped"
                )
            return 0
        if args.command == "delete":
            if not args.yes:
                raise WorkbenchError(
                    f"Deleting table '{args.table}' cannot be undone.", "Add --yes to confirm."
                )
            n = tables.drop_table(con, args.table)
            print(f"Deleted table '{args.table}' ({n:,} rows).")
            return 0
        if args.command == "reset-sample":
            existing = tables.list_tables(con)
            if existing and not args.yes:
                raise WorkbenchError(
                    f"Reset replaces the {len(existing)} table(s) in {ws.root} with the sample book.",
                    "Add --yes to confirm.",
                )
            counts = reset_to_sample(con, progress=lambda f, msg: print(f"[{f:4.0%}] {msg}"))
            for name, n in counts.items():
                print(f"  {name:<12} {n:>8,} rows")
            return 0
    finally:
        con.close()
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: prints WorkbenchErrors plainly, never a traceback."""
    try:
        code = run(argv)
    except WorkbenchError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"What to do: {exc.hint}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except (OSError, duckdb.Error) as exc:
        # Not expected: say what failed in one line, never a traceback.
        print(f"Error: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        print(
            "What to do: check the paths given; nothing was changed by the failed step.",
            file=sys.stderr,
        )
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
