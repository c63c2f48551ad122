"""Draft the accounts a workflow fires on: the one entry point for the Drafts page and the CLI.

``draft_workflow`` builds context packets from the preview, picks the
drafter (the configured model or the template drafter), drafts with the
answer cache and saves each draft and trace as it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import duckdb

from workbench.drafting.batch import RunSummary, run_drafts, summarise
from workbench.drafting.checks import NameIndex
from workbench.drafting.engine import Drafter, DraftResult
from workbench.drafting.gateway import Gateway
from workbench.drafting.packet import ContextPacket, build_packets
from workbench.drafting.prompts import prompt_set
from workbench.drafting.settings import LLMSettings
from workbench.drafting.store import DuckCache, finish_run, save_result, start_run
from workbench.errors import WorkbenchError
from workbench.storage.history import data_version
from workbench.workflow.facts import table_columns
from workbench.workflow.model import Workflow
from workbench.workflow.preview import Preview

DEFAULT_BUDGET = 4000


@dataclass(frozen=True)
class RunReport:
    run_id: int
    results: list[DraftResult]
    summary: RunSummary


def account_names(con: duckdb.DuckDBPyConnection) -> NameIndex:
    """Every account name in the workspace, for the "names no other account" check."""
    cols = table_columns(con).get("accounts", {})
    if "account_name" not in cols:
        return NameIndex([])
    rows = con.execute(
        "SELECT DISTINCT account_name FROM accounts WHERE account_name IS NOT NULL"
    ).fetchall()
    return NameIndex(str(r[0]) for r in rows)


def make_drafter(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    settings: LLMSettings,
    gateway: Gateway | None = None,
    names: NameIndex | None = None,
) -> Drafter:
    return Drafter(
        settings,
        wf.action,
        prompt_set(con, wf.action.type),
        wf.output_policy,
        names if names is not None else account_names(con),
        gateway=gateway,
    )


def select_packets(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    pv: Preview,
    *,
    account_ids: Sequence[str] | None = None,
    limit: int | None = None,
    budget_chars: int = DEFAULT_BUDGET,
) -> list[ContextPacket]:
    """Packets for the chosen fired accounts (all by default), in priority order."""
    fired = pv.fired
    if account_ids is not None:
        wanted = {str(a) for a in account_ids}
        unknown = wanted - set(fired["account_id"].astype(str))
        if unknown:
            raise WorkbenchError(
                f"The workflow does not fire on {', '.join(sorted(unknown)[:5])} as of {pv.as_of}.",
                "Pick accounts from the Preview's fired list.",
            )
        fired = fired[fired["account_id"].astype(str).isin(wanted)]
    if limit is not None:
        if limit < 1:
            raise WorkbenchError(f"--limit is {limit}; it must be 1 or more.", "Use --limit 10.")
        fired = fired.head(limit)
    return build_packets(con, replace(pv, fired=fired), wf, budget_chars)


def draft_workflow(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    pv: Preview,
    settings: LLMSettings,
    *,
    workflow_version: int | None = None,
    account_ids: Sequence[str] | None = None,
    limit: int | None = None,
    budget_chars: int = DEFAULT_BUDGET,
    use_cache: bool = True,
    on_result: Callable[[DraftResult, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    gateway: Gateway | None = None,
    actor: str = "local user",
) -> RunReport:
    """Draft the fired accounts and save the run; returns the run id, results and totals.

    The run is noted in the audit log once it ends (finished or stopped), by ``actor``.
    """
    packets = select_packets(
        con, wf, pv, account_ids=account_ids, limit=limit, budget_chars=budget_chars
    )
    if not packets:
        raise WorkbenchError(
            f"The workflow fires on no account as of {pv.as_of}, so there is nothing to draft.",
            "Loosen a condition on the Thresholds page or pick another as-of date on Preview.",
        )
    drafter = make_drafter(con, wf, settings, gateway)
    run_id = start_run(
        con,
        workflow_name=wf.name,
        workflow_version=workflow_version,
        as_of=pv.as_of,
        action_type=wf.action.type,
        drafter=settings.describe(),
        accounts=len(packets),
        data_version=data_version(con),
    )
    position = {p.account_id: i for i, p in enumerate(packets)}
    so_far: list[DraftResult] = []
    started = time.perf_counter()

    def saved(result: DraftResult, done: int, total: int) -> None:
        save_result(con, run_id, result, position[result.packet.account_id])
        so_far.append(result)
        if on_result is not None:
            on_result(result, done, total)

    try:
        run = run_drafts(
            packets,
            drafter,
            cache=DuckCache(con),
            reuse_cached=use_cache,
            on_result=saved,
            should_stop=should_stop,
        )
    except BaseException:
        # Interrupted (a Stop click, Ctrl-C, an error): keep what was drafted and say so.
        elapsed = time.perf_counter() - started
        stopped = summarise(so_far, len(packets), elapsed, True, drafter.breaker)
        finish_run(con, run_id, stopped, actor=actor)
        raise
    assert run.summary is not None
    finish_run(con, run_id, run.summary, actor=actor)
    return RunReport(run_id, run.results, run.summary)
