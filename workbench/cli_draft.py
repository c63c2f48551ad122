"""``workbench draft``: draft the workflow's action for the accounts it fires on (never sent).

The same library call as the Drafts page (``drafting.run.draft_workflow``) with
the same model settings: ``.streamlit/secrets.toml`` ``[llm]``, then
``WORKBENCH_LLM_*`` environment variables, then ``--model`` / ``--api-base``.
With no model the template drafter writes the drafts offline. Exit codes as in
``workbench.cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from workbench.cli_workflow import _date_arg, _default_author, _workflow_for
from workbench.drafting.engine import DraftResult
from workbench.drafting.run import RunReport, draft_workflow
from workbench.drafting.settings import ENV_PREFIX, SECRETS_FILE, load_llm_settings
from workbench.drafting.store import load_drafts, load_traces
from workbench.drafting.view_model import runs
from workbench.errors import WorkbenchError
from workbench.export.drafts_book import drafts_csv, drafts_xlsx
from workbench.export.logged import write_export
from workbench.storage.history import data_version
from workbench.workflow.facts import default_as_of
from workbench.workflow.preview import preview

OUT_SUFFIXES = (".csv", ".xlsx")
_SUBJECT_WIDTH = 70


def add_draft_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``draft`` command."""
    d = sub.add_parser(
        "draft",
        help="draft the workflow's action for the accounts it fires on (nothing is sent)",
        description="Draft the current workflow's action for each account it fires on. "
        f"Model settings come from {SECRETS_FILE} [llm], then {ENV_PREFIX}* environment "
        "variables, then these flags; with no model the template drafter writes the drafts "
        "offline.",
    )
    d.add_argument(
        "--model",
        metavar="M",
        help="litellm model string, e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
        "ollama/llama3.1 (default: WORKBENCH_LLM_MODEL, else secrets.toml, else the template "
        "drafter)",
    )
    d.add_argument(
        "--api-base",
        metavar="URL",
        help="base URL of Ollama, an OpenAI-compatible server or Azure OpenAI",
    )
    d.add_argument(
        "--limit", type=int, metavar="N", help="draft only the first N fired accounts (priority)"
    )
    d.add_argument(
        "--as-of", type=_date_arg, metavar="DATE", help="as-of date (default: the data's)"
    )
    d.add_argument(
        "--out", type=Path, metavar="FILE", help="write the drafts to .csv or .xlsx (a workbook)"
    )
    d.add_argument(
        "--no-cache",
        action="store_true",
        help="ask the model again even for answers the workspace already has",
    )


def _check_args(args: argparse.Namespace) -> None:
    """Refuse bad flags before anything is drafted."""
    if args.limit is not None and args.limit < 1:
        raise WorkbenchError(
            f"--limit is {args.limit}; it must be 1 or more.",
            "Use --limit 10 for the first ten accounts, or leave it out to draft all.",
        )
    if args.out is not None and args.out.suffix.lower() not in OUT_SUFFIXES:
        raise WorkbenchError(
            f"Cannot write drafts to '{args.out.name}': unknown file type "
            f"'{args.out.suffix or '(none)'}'.",
            "Use a file name ending in .csv or .xlsx.",
        )


def _progress() -> Callable[[DraftResult, int, int], None]:
    """Print "drafted N/M" to stderr: in place on a terminal, about ten lines otherwise."""
    tty = sys.stderr.isatty()

    def show(result: DraftResult, done: int, total: int) -> None:
        if tty:
            end = "\n" if done == total else ""
            print(f"\rdrafted {done}/{total}", end=end, file=sys.stderr, flush=True)
        elif done == total or done % max(1, total // 10) == 0:
            print(f"drafted {done}/{total}", file=sys.stderr, flush=True)

    return show


def _held_text(result: DraftResult) -> str:
    failing = [c.name for c in result.checks if not c.ok]
    return f"yes ({', '.join(failing)})" if failing else ""


def results_frame(report: RunReport) -> pd.DataFrame:
    """One row per draft: account, outcome, whether the checks held it, subject."""
    rows = []
    for r in report.results:
        subject = r.draft.subject.replace("\n", " ")
        if len(subject) > _SUBJECT_WIDTH:
            subject = subject[: _SUBJECT_WIDTH - 1] + "…"
        rows.append(
            {
                "account_id": r.packet.account_id,
                "account": r.packet.account_name,
                "outcome": r.outcome,
                "held": _held_text(r),
                "subject": subject or "(no draft)",
            }
        )
    return pd.DataFrame(rows, columns=["account_id", "account", "outcome", "held", "subject"])


def _write_out(con: duckdb.DuckDBPyConnection, report: RunReport, out: Path) -> None:
    drafts = load_drafts(con, report.run_id)
    if out.suffix.lower() == ".xlsx":
        run = next(r for r in runs(con) if r.run_id == report.run_id)
        data = drafts_xlsx(
            run,
            drafts,
            load_traces(con, report.run_id),
            meta={"Data version": run.data_version or data_version(con)},
        )
    else:
        data = drafts_csv(drafts)
    what = f"drafts of run {report.run_id}"
    write_export(con, out, data, what=what, rows=len(drafts), actor=_default_author())
    print(f"Wrote {len(drafts):,} drafts to {out}.")


def cmd_draft(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    """Preview the current workflow, draft the fired accounts, print and optionally write them."""
    _check_args(args)
    flags = {"model": args.model, "api_base": args.api_base}
    # Only the flags given: an empty override would clear what the environment set.
    settings = load_llm_settings({k: v for k, v in flags.items() if v is not None})
    wf, label, _, number = _workflow_for(con, None)
    as_of = args.as_of or default_as_of(con)
    pv = preview(con, wf, as_of)
    fired = len(pv.fired)
    todo = min(fired, args.limit) if args.limit else fired
    print(
        f"{label} as of {as_of} fires on {fired:,} accounts; drafting {todo:,} "
        f"({wf.action.type}) with {settings.describe()}."
    )
    report = draft_workflow(
        con,
        wf,
        pv,
        settings,
        workflow_version=number or None,
        limit=args.limit,
        use_cache=not args.no_cache,
        on_result=_progress(),
        actor=_default_author(),
    )
    print(report.summary.sentence())
    print()
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(results_frame(report).to_string(index=False))
    print()
    print(f"Saved as draft run {report.run_id} in the workspace (see the Drafts page). Not sent.")
    if args.out is not None:
        _write_out(con, report, args.out)
    return 0
