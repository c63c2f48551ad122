"""The command line: the same library functions the pages call.

Exit codes: 0 success, 1 a problem the message explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from workbench.cli_audit import add_audit_parser, cmd_audit
from workbench.cli_draft import add_draft_parser, cmd_draft
from workbench.cli_experiment import add_experiment_parsers, run_experiment_command
from workbench.cli_review import add_review_parsers, run_review_command
from workbench.cli_workflow import (
    OFFLINE,
    _default_author,
    add_workflow_parsers,
    cmd_workflow_offline,
    run_workflow_command,
)
from workbench.config import load_settings
from workbench.errors import ImportBlocked, WorkbenchError
from workbench.export.logged import write_table_export
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
    add_workflow_parsers(sub)
    add_draft_parser(sub)
    add_audit_parser(sub)
    add_review_parsers(sub)
    add_experiment_parsers(sub)
    return p


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
    print("\n".join(result.report.text_lines()))


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
        actor=_default_author(),
    )
    try:
        result = import_file(con, args.path, options, mapping=mapping, commit=not args.dry_run)
    except ImportBlocked as exc:
        blocked = exc.report
        if isinstance(blocked, ImportResult):
            _report(blocked)
            _write_rejected(con, blocked, args.rejected_out)
            print(f"Nothing was imported; table '{args.kind}' is unchanged.", file=sys.stderr)
            return 1
        raise
    _report(result)
    _write_rejected(con, result, args.rejected_out)
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


def _write_rejected(con: duckdb.DuckDBPyConnection, result: ImportResult, out: Path | None) -> None:
    if out is None or result.rejected is None or result.rejected.empty:
        return
    what = f"rows of {result.report.file} that cannot be imported"
    write_table_export(con, result.rejected, out, what=what, actor=_default_author())
    print(f"Wrote {len(result.rejected):,} rows that cannot be imported to {out}.")


def cmd_sql(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    result = run_sql(con, args.query, max_rows=5_000_000 if args.out else 1_000)
    if not result.ok or result.df is None:
        raise WorkbenchError(
            f"The query failed: {result.error}",
            "Check the SQL; `workbench tables` lists the tables.",
        )
    if args.out:
        write_table_export(
            con,
            result.df,
            args.out,
            what="query result",
            actor=_default_author(),
            meta={"query": args.query},
        )
        print(f"Wrote {result.row_count:,} rows to {args.out}.")
    else:
        _print_frame(result.df)
        print(f"({result.row_count:,} rows)")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    settings = load_settings(args.workspace)
    ws = Workspace(settings.workspace)
    if args.command == "sheets":
        for name in list_sheets(args.path):
            print(name)
        return 0
    if (args.command, getattr(args, "workflow_command", None)) in OFFLINE:
        return cmd_workflow_offline(args)
    con = connect(ws, wait_seconds=settings.lock_wait_seconds)
    try:
        if args.command == "import":
            return cmd_import(con, args)
        if args.command == "sql":
            return cmd_sql(con, args)
        if args.command == "draft":
            return cmd_draft(con, args)
        if args.command == "audit":
            return cmd_audit(con, args)
        code = run_review_command(con, args)
        if code is not None:
            return code
        code = run_experiment_command(con, args)
        if code is not None:
            return code
        code = run_workflow_command(con, ws, args)
        if code is not None:
            return code
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
            n = tables.drop_table(con, args.table, actor=_default_author())
            print(f"Deleted table '{args.table}' ({n:,} rows).")
            return 0
        if args.command == "reset-sample":
            existing = tables.list_tables(con)
            if existing and not args.yes:
                raise WorkbenchError(
                    f"Reset replaces the {len(existing)} table(s) in {ws.root} with the sample book.",
                    "Add --yes to confirm.",
                )
            counts = reset_to_sample(
                con,
                progress=lambda f, msg: print(f"[{f:4.0%}] {msg}"),
                actor=_default_author(),
            )
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
    except BrokenPipeError:
        # The reader stopped early (`workbench backtest | head`): not a failure of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
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
