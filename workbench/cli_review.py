"""``workbench run | mode | review | gate | outbox | report | demo``: shadow mode from the shell.

The same library calls as the Review, Approval & gate and Governance pages. Exit codes as
in ``workbench.cli``; ``workbench gate`` exits 0 whatever the verdict (it reports).
"""

from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import duckdb
import pandas as pd

from workbench.cli_workflow import _date_arg, _default_author
from workbench.drafting.settings import load_llm_settings
from workbench.errors import WorkbenchError
from workbench.experiment.scenario import import_demo_outcomes
from workbench.export.logged import write_export, write_table_export
from workbench.review import store
from workbench.review.control import change_mode, current_mode, gate_rule
from workbench.review.metrics import approval_metrics
from workbench.review.modes import MODE_WORDS, MODES, Mode
from workbench.review.runs import run_workflow
from workbench.review.simulate import (
    GOOD,
    WORSE,
    SimulatedReviewer,
    Week,
    shadow_period,
    week_dates,
)
from workbench.workflow.facts import default_as_of
from workbench.workflow.store import WorkflowVersion, latest

COMMANDS = ("run", "mode", "review", "gate", "outbox", "report", "demo")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month_arg(text: str) -> str:
    if not _MONTH.match(text.strip()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a month like 2026-11")
    return text.strip()


def add_review_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The shadow-mode commands."""
    run = sub.add_parser("run", help="run the workflow: propose actions, draft them, route them")
    run.add_argument("--mode", choices=["shadow", "autonomous"], help="switch to this mode first")
    run.add_argument("--as-of", type=_date_arg, metavar="DATE", help="default: the newest data")
    run.add_argument("--actor", help="who runs it (default: your user name)")
    run.add_argument("--reason", help="why the mode changes (needed with --mode autonomous)")
    run.add_argument("--override", action="store_true", help="go autonomous although the "
                     "gate does not pass (logged as an override; needs --reason)")  # fmt: skip
    run.add_argument("--model", help="litellm model for the drafts (default: settings)")
    run.add_argument("--api-base", help="base URL of an OpenAI-compatible server")

    mode = sub.add_parser("mode", help="show the workflow's mode, or change it")
    mode.add_argument("target", nargs="?", choices=MODES, help="the mode to change to")
    mode.add_argument("--actor", help="who changes it (default: your user name)")
    mode.add_argument("--reason", help="why (required to change)")
    mode.add_argument("--override", action="store_true", help="go autonomous although the "
                      "gate does not pass (logged)")  # fmt: skip

    rv = sub.add_parser("review", help="list the review queue, or review it in a spreadsheet")
    rsub = rv.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    rsub.add_parser("list", help="the pending actions")
    ex = rsub.add_parser("export", help="write the pending queue to an .xlsx to fill in")
    ex.add_argument("file", type=Path)
    ex.add_argument("--reviewer", default="", help="prefill the reviewer's name")
    im = rsub.add_parser("import", help="apply the decisions of a filled review workbook")
    im.add_argument("file", type=Path)
    im.add_argument("--reviewer", help="who reviewed (when the workbook does not say)")

    sub.add_parser("gate", help="the autonomy gate's verdict and the approval metrics")

    ob = sub.add_parser("outbox", help="the autonomous actions waiting (never sent from here)")
    ob.add_argument("--out", type=Path, metavar="FILE", help="write them to .csv or .xlsx")

    rep = sub.add_parser("report", help="the monthly review pack")
    repsub = rep.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    monthly = repsub.add_parser("monthly", help="one month's review pack as .xlsx or .html")
    monthly.add_argument("--month", type=_month_arg, required=True, metavar="YYYY-MM")
    monthly.add_argument("--out", type=Path, required=True, metavar="FILE")

    demo = sub.add_parser("demo", help="workshop demos on the sample workspace")
    dsub = demo.add_subparsers(dest="demo_command", required=True, metavar="DEMO")
    shadow = dsub.add_parser(
        "shadow",
        help="a scripted shadow period: weekly runs reviewed by a simulated reviewer, "
        "watching the autonomy gate",
    )
    shadow.add_argument("--weeks", type=int, default=6, help="weekly runs (default 6)")
    shadow.add_argument("--approval", type=float, help="the simulated approval rate "
                        f"(default {GOOD.approve_rate}; --worse: {WORSE.approve_rate})")  # fmt: skip
    shadow.add_argument("--worse", action="store_true", help="a reviewer of poor drafts")
    shadow.add_argument("--seed", type=int, default=GOOD.seed)
    shadow.add_argument("--last", type=_date_arg, metavar="DATE",
                        help="the last run's date (default: a week before the newest data)")  # fmt: skip
    outcomes = dsub.add_parser(
        "outcomes",
        help="generated renewal outcomes with a known effect for the experiment's accounts "
        "(renewal: control 70%%, CSM 78%%, AI 86%%), imported like any file",
    )
    outcomes.add_argument("--seed", type=int, default=7)
    outcomes.add_argument("--plant-srm", type=float, default=0.0, metavar="SHARE",
                          help="leave this share of control accounts out (a planted sample "
                          "ratio mismatch), e.g. 0.6")  # fmt: skip
    outcomes.add_argument("--dir", type=Path, default=Path("."), metavar="DIR",
                          help="where the generated CSV is written (default: here)")  # fmt: skip


def _current(con: duckdb.DuckDBPyConnection) -> WorkflowVersion:
    v = latest(con)
    if v is None:
        raise WorkbenchError(
            "No workflow is saved in this workspace yet.",
            "Save one with `workbench workflow save FILE --reason TEXT` "
            "(the sample workspace has one: `workbench reset-sample --yes`).",
        )
    return v


def _print(df: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(df.to_string(index=False) if len(df) else "(none)")


def cmd_run(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    wf = v.workflow
    actor = args.actor or _default_author()
    if args.mode and args.mode != current_mode(con, wf.name):
        target = cast(Mode, args.mode)
        if target == "autonomous" and not args.reason:
            raise WorkbenchError(
                "Going autonomous needs a reason.", "Add --reason TEXT (it is logged)."
            )
        reason = args.reason or f"workbench run --mode {target}"
        change = change_mode(
            con, wf, target, actor=actor, reason=reason, version=v.version, override=args.override
        )
        print(change.sentence())
    flags = {"model": args.model, "api_base": args.api_base}
    settings = load_llm_settings({k: val for k, val in flags.items() if val is not None})
    as_of = args.as_of or default_as_of(con)
    print(f"Running {wf.name} v{v.version} as of {as_of} (drafts by {settings.describe()}).")
    outcome = run_workflow(con, wf, v.version, as_of, actor=actor, settings=settings)
    print(outcome.sentence())
    print(f"Gate: {outcome.gate.sentence}.")
    return 0


def cmd_mode(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    if args.target is None:
        mode = current_mode(con, v.name)
        print(f"{v.name}: {MODE_WORDS[mode]}")
        changes = store.mode_changes(con, v.name)
        if len(changes):
            _print(changes[["seq", "changed_at", "from_mode", "to_mode", "actor", "reason",
                            "override"]])  # fmt: skip
        return 0
    if not args.reason:
        raise WorkbenchError("Say why the mode changes.", "Add --reason TEXT (it is logged).")
    change = change_mode(
        con, v.workflow, args.target, actor=args.actor or _default_author(),
        reason=args.reason, version=v.version, override=args.override,
    )  # fmt: skip
    print(change.sentence())
    return 0


def cmd_review(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    if args.review_command == "list":
        queue = store.pending(con, v.name)
        _print(queue[["action_key", "run_id", "account_id", "account_name", "route",
                      "assignee", "subject"]])  # fmt: skip
        print(f"{len(queue):,} pending.")
        return 0
    if args.review_command == "export":
        from workbench.export.review_book import review_xlsx

        queue = store.pending(con, v.name)
        if queue.empty:
            raise WorkbenchError(
                "Nothing is waiting for review, so there is nothing to export.",
                "Run the workflow first: `workbench run --mode shadow`.",
            )
        data = review_xlsx(con, v.name, pending=queue, reviewer=args.reviewer)
        write_export(con, args.file, data, what="review queue", rows=len(queue),
                     actor=_default_author())  # fmt: skip
        print(f"Wrote {len(queue):,} pending actions to {args.file}. Fill in the decision "
              f"column, then: workbench review import {args.file}")  # fmt: skip
        return 0
    from workbench.review.sheet_import import import_review_workbook

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise WorkbenchError(
            f"Cannot read {args.file}: {exc.strerror or exc}.", "Check the path."
        ) from None
    report = import_review_workbook(
        con, v.workflow, data, args.file.name, reviewer=args.reviewer, version=v.version
    )
    print(report.sentence())
    print(f"Gate: {report.gate.sentence}.")
    return 0


def cmd_gate(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    rule = gate_rule(v.workflow)
    m = approval_metrics(store.reviewed(con, v.name), rule)
    mode = current_mode(con, v.name)
    print(f"{v.name} v{v.version}, {mode.replace('_', ' ')} mode.")
    how = "the 95% interval's lower bound" if rule.rule == "wilson_lower" else "the approval rate"
    print(f"Gate: {how} must reach {rule.target:.0%} on at least {rule.min_reviews} reviewed "
          "automated actions.")  # fmt: skip
    print(f"Verdict: {m.gate.sentence}.")
    if m.empty:
        print("No reviews yet: run the workflow in shadow mode and review its actions.")
        return 0
    for name in ("route", "reviewer", "week"):
        t = m.by[name]
        print()
        print(f"By {name}:")
        _print(_rates(t, name))
    reasons = m.reasons[m.reasons["count"] > 0]
    if len(reasons):
        print()
        print("Rejection reasons:")
        _print(reasons[["reason", "count"]])
    return 0


def _rates(t: pd.DataFrame, key: str) -> pd.DataFrame:
    out = t[[key, "reviewed", "approved", "approved_after_edit", "rejected"]].copy()
    out["rate"] = t["rate"].map(lambda x: f"{x:.1%}")
    out["95% interval"] = [
        f"{lo:.1%} to {hi:.1%}" for lo, hi in zip(t["low"], t["high"], strict=True)
    ]
    return out


def cmd_outbox(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    box = store.outbox(con, v.name)
    if args.out is not None:
        write_table_export(
            con, box, args.out, what="outbox", actor=_default_author(),
            meta={"workflow": v.name, "note": "never sent from here"},
        )  # fmt: skip
        print(f"Wrote {len(box):,} outbox actions to {args.out}.")
        return 0
    _print(box[["queued_at", "account_id", "account_name", "action_type", "assignee", "via"]])
    print(f"{len(box):,} in the outbox (nothing is sent from the workbench).")
    return 0


def cmd_report(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from workbench.export.monthly_pack import monthly_pack_html, monthly_pack_xlsx
    from workbench.review.governance import build_pack

    suffix = args.out.suffix.lower()
    if suffix not in (".xlsx", ".html"):
        raise WorkbenchError(
            f"Cannot write a monthly pack as '{suffix or args.out.name}'.",
            "Use an .xlsx or .html file name.",
        )
    v = latest(con)
    pack = build_pack(con, v.name if v else None, args.month)
    data = monthly_pack_xlsx(pack) if suffix == ".xlsx" else monthly_pack_html(pack).encode()
    write_export(con, args.out, data, what=f"monthly pack {args.month}", actor=_default_author())
    print(f"Wrote the {args.month} review pack to {args.out}.")
    return 0


def cmd_demo_outcomes(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    v = _current(con)
    if not 0 <= args.plant_srm < 1:
        raise WorkbenchError(
            f"--plant-srm {args.plant_srm} is not a share between 0 and 1.", "Use e.g. 0.6."
        )
    path, result = import_demo_outcomes(
        con, v.workflow, args.dir, seed=args.seed, drop_control_share=args.plant_srm
    )
    print(
        f"Generated {result.rows_imported:,} renewal outcomes for the experiment's accounts "
        f"(known effect: renewal control 70%, CSM 78%, AI 86%) in {path} and appended them "
        "to the outcomes table."
    )
    if args.plant_srm:
        print(f"Planted: {args.plant_srm:.0%} of control accounts left out of the file.")
    print("See the Outcomes page, or `workbench analyze`.")
    return 0


def cmd_demo(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    if args.demo_command == "outcomes":
        return cmd_demo_outcomes(con, args)
    v = _current(con)
    if len(store.runs(con, v.name)):
        raise WorkbenchError(
            f"'{v.name}' already has runs in this workspace; the scripted shadow period starts "
            "from none.",
            "Use a fresh sample workspace: workbench --workspace demo-ws reset-sample --yes, "
            "then workbench --workspace demo-ws demo shadow.",
        )
    base = WORSE if args.worse else GOOD
    rate = args.approval if args.approval is not None else base.approve_rate
    reviewer = SimulatedReviewer(base.name, rate, base.edit_share, args.seed)
    # The last run a week before the newest data: the app's "Run now" then has a new week to
    # propose, so a workshop can carry on reviewing by hand.
    last: date = args.last or default_as_of(con) - timedelta(days=7)
    dates = week_dates(last, args.weeks)
    print(
        f"Scripted shadow period: {len(dates)} weekly runs of {v.name} v{v.version} from "
        f"{dates[0]} to {dates[-1]}, reviewed by a simulated reviewer approving about "
        f"{rate:.0%}."
    )

    def show(week: Week) -> None:
        print(f"- {week.sentence()}")

    shadow_period(con, v.workflow, v.version, dates, reviewer, actor="workshop", on_week=show)
    print("See the Approval & gate page, or `workbench gate`, for the metrics.")
    return 0


def run_review_command(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int | None:
    """Run one of ``COMMANDS``; ``None`` when the command is not one of them."""
    handlers = {
        "run": cmd_run,
        "mode": cmd_mode,
        "review": cmd_review,
        "gate": cmd_gate,
        "outbox": cmd_outbox,
        "report": cmd_report,
        "demo": cmd_demo,
    }
    handler = handlers.get(args.command)
    return None if handler is None else handler(con, args)
