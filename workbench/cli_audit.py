"""``workbench audit``: verify the audit log's hash chain, and show or export its entries.

The same library calls as the (coming) audit page: ``audit.verify``, ``audit.entries`` and
``audit.export_meta``. Exit codes as in ``workbench.cli``; ``audit verify`` exits 1 when
the log is not intact and lists every problem it found.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import pandas as pd

from workbench import audit
from workbench.cli_workflow import _date_arg, _default_author
from workbench.errors import WorkbenchError
from workbench.export.logged import write_export

OUT_SUFFIXES = (".csv", ".xlsx")
MAX_PROBLEMS_SHOWN = 50
_DETAIL_WIDTH = 60


def _anchor_arg(text: str) -> audit.Head:
    try:
        return audit.Head.parse(text)
    except WorkbenchError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message} {exc.hint}") from None


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``audit`` command with its actions ``verify`` and ``show``."""
    a = sub.add_parser("audit", help="verify, show and export the tamper-evident audit log")
    asub = a.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = asub.add_parser(
        "verify",
        help="check the hash chain: exit 0 when intact, 1 naming each edited, missing or "
        "reordered entry",
    )
    verify.add_argument(
        "--anchor",
        type=_anchor_arg,
        metavar="SEQ:HASH",
        help="a head printed by an earlier verify: the log must still carry it (this also "
        "catches a log rewritten with recomputed hashes up to that entry)",
    )
    show = asub.add_parser("show", help="list the entries, oldest first, or write them to a file")
    show.add_argument(
        "--kind", action="append", choices=audit.KINDS, help="only this kind (repeatable)"
    )
    show.add_argument("--actor", help="only entries by this person (any case)")
    show.add_argument("--since", type=_date_arg, metavar="DATE", help="from this date (UTC)")
    show.add_argument("--until", type=_date_arg, metavar="DATE", help="to the end of this date")
    show.add_argument("--text", help="only entries whose subject, detail or actor holds this")
    show.add_argument("--limit", type=int, metavar="N", help="only the latest N entries")
    show.add_argument(
        "--out", type=Path, metavar="FILE", help="write the entries to .csv or .xlsx (all of them)"
    )


def cmd_audit(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    """Run ``audit verify`` or ``audit show``."""
    if args.audit_command == "verify":
        return _verify(con, args.anchor)
    return _show(con, args)


def _verify(con: duckdb.DuckDBPyConnection, anchor: audit.Head | None) -> int:
    result = audit.verify(con, anchor)
    print(result.sentence())
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  - {problem.what}")
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... and {len(result.problems) - MAX_PROBLEMS_SHOWN:,} more")
    if result.head is not None:
        print(
            f"Head: {result.head}\n"
            "  (Keep it elsewhere and check later with --anchor: a log rewritten with "
            "recomputed hashes then no longer matches it.)"
        )
    return 0 if result.ok else 1


def _show(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise WorkbenchError(
            f"--limit is {args.limit}; it must be 1 or more.",
            "Use --limit 20 for the latest twenty entries, or leave it out for all.",
        )
    if args.out is not None and args.out.suffix.lower() not in OUT_SUFFIXES:
        raise WorkbenchError(
            f"Cannot write the audit log to '{args.out.name}': unknown file type "
            f"'{args.out.suffix or '(none)'}'.",
            "Use a file name ending in .csv or .xlsx.",
        )
    filters = {
        "kind": args.kind,
        "actor": args.actor,
        "since": args.since,
        "until": args.until,
        "text": args.text,
        "limit": args.limit,
    }
    df = audit.entries(con, **filters)
    if args.out is not None:
        # The same bytes as a page's download: a workbook's sheet is named audit_log and its
        # about sheet carries the chain's status.
        data = audit.export_bytes(con, args.out.suffix.lower().lstrip("."), **filters)
        shown = {k: v for k, v in filters.items() if v not in (None, "", [])}
        write_export(
            con,
            args.out,
            data,
            what="audit log",
            rows=len(df),
            actor=_default_author(),
            extra={"filters": shown},
        )
        print(f"Wrote {len(df):,} audit entries to {args.out}.")
        return 0
    if df.empty:
        print("No audit entries match." if any(filters.values()) else "No audit entries yet.")
    else:
        with pd.option_context("display.width", 200, "display.max_colwidth", 80):
            print(_display(df).to_string(index=False))
        print(f"({len(df):,} entries)")
    print(audit.verify(con).sentence())
    return 0


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """The entries for a terminal: minutes, the detail shortened, no hashes."""
    out = df[["seq", "recorded_at", "actor", "kind", "subject", "detail"]].copy()
    out["recorded_at"] = out["recorded_at"].dt.strftime("%Y-%m-%d %H:%M")
    out["detail"] = out["detail"].map(
        lambda d: d if len(d) <= _DETAIL_WIDTH else d[: _DETAIL_WIDTH - 1] + "…"
    )
    return out
