"""Run the workflow: propose actions, draft them, and send each to review or the outbox.

A run evaluates the workflow as of a date, plans which firing accounts become new actions
(``plan.plan_actions``: idempotency key, cooldown, caps across runs), drafts those with
the configured model or the offline template drafter (never sent), and stores the run, its
actions and its audit entry in one transaction. Drafting happens first, outside it: a run
that fails or is stopped while drafting stores no actions.

Where each action goes depends on the mode:

* **shadow**: every action goes to review.
* **autonomous**: automated-route actions in the AI arm go to the outbox, except a
  deterministic sample (``autonomy.sample_pct``) and any draft the checks held, which go to
  review. CSM-arm actions, and human and manager routes, always go to review: the escalation
  boundary.

Accounts on the automated route are in the experiment (``workbench.experiment``): each gets an
arm the first time a run fires on it and keeps it. Control accounts get no action at all;
the run records the assignments with its actions, in the same transaction.
* **draft, paused, rolled back**: a run is refused with what to do instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.drafting.engine import DraftResult
from workbench.drafting.gateway import Gateway
from workbench.drafting.run import draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.errors import WorkbenchError
from workbench.experiment import store as experiment_store
from workbench.experiment.types import ARMS
from workbench.review.control import (
    current_mode,
    gate_verdict,
    record_gate_check,
)
from workbench.review.gate import GateVerdict
from workbench.review.modes import Mode
from workbench.review.plan import Plan, plan_actions
from workbench.review.store import history, now
from workbench.storage.history import data_version
from workbench.workflow.model import Workflow
from workbench.workflow.preview import Preview, preview

RUNNABLE: tuple[Mode, ...] = ("shadow", "autonomous")
_NOT_RUNNABLE = {
    "draft": "Start shadow mode first: every proposed action then goes to a CSM for review.",
    "paused": "Resume it (shadow or autonomous) on the Review page, or with "
    "`workbench run --mode shadow --reason ...`.",
    "rolled_back": "Start shadow mode again to resume.",
}


class RunRefused(WorkbenchError):
    """The workflow's mode does not allow a run now."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run did."""

    run_id: int
    mode: Mode
    as_of: date
    fired: int
    plan: Plan
    to_review: int
    to_outbox: int
    draft_run_id: int | None
    gate: GateVerdict
    assigned: dict[str, int] = field(default_factory=dict)
    experiment_id: int | None = None

    def sentence(self) -> str:
        text = f"Run {self.run_id} ({self.mode}, as of {self.as_of}): fired on {self.fired:,}; "
        if self.assigned:
            parts = ", ".join(f"{self.assigned[a]} {a}" for a in ARMS if a in self.assigned)
            text += f"newly assigned to experiment {self.experiment_id}: {parts}; "
        text += self.plan.sentence()
        if len(self.plan.proposed):
            text = text[:-1] + f". {self.to_review:,} to review"
            text += f", {self.to_outbox:,} to the outbox." if self.mode == "autonomous" else "."
        return text


def sampled(action_key: str, pct: float) -> bool:
    """Whether an autonomous action is sampled for review: stable for a given key."""
    if pct <= 0:
        return False
    bucket = int(hashlib.sha256(action_key.encode()).hexdigest()[:8], 16) % 10_000
    return bucket < round(pct * 100)


def _reasons(value: object) -> str:
    if isinstance(value, list | tuple):
        return " · ".join(str(v) for v in value)
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)  # type: ignore[call-overload]


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type, call-overload]


def _eligible(fired: pd.DataFrame) -> pd.DataFrame:
    """The fired accounts in the experiment: the automated route, with their covariates."""
    auto = fired[fired["route"] == "automated"] if len(fired) else fired
    cols = {c: auto[c] if c in auto.columns else None for c in ("segment", "arr", "health_score")}
    return pd.DataFrame({"account_id": auto.get("account_id", pd.Series(dtype=str)), **cols})


def _plan_and_assign(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    fired: pd.DataFrame,
    version: int | None,
    as_of: date,
) -> tuple[Plan, experiment_store.AssignmentPlan]:
    """Plan the actions, giving an arm only to accounts the run would act on.

    An account over a cap, or cooling down, is not assigned, so every AI- or CSM-arm account
    had its action: the arms compare handling, not being picked. Accounts that draw the
    control arm get no action and free their place, so the plan is made again until no new
    account joins (each round assigns at least one account, so it ends).
    """
    earlier = history(con, wf.name)
    assignment = experiment_store.prepare(con, wf, _eligible(fired.iloc[0:0]))
    while True:
        plan = plan_actions(fired, earlier, wf, version, as_of, arms=assignment.arms)
        acted = _eligible(plan.proposed)
        fresh = acted[~acted["account_id"].astype(str).isin(list(assignment.arms))]
        if fresh.empty:
            return plan, assignment
        assignment = experiment_store.extend(assignment, fresh)


def _action_rows(
    plan: Plan,
    drafts: dict[str, DraftResult],
    wf: Workflow,
    version: int | None,
    run_id: int,
    mode: Mode,
    as_of: date,
    created: datetime,
    arms: dict[str, str],
) -> list[list[object]]:
    rows: list[list[object]] = []
    for position, row in enumerate(plan.proposed.to_dict("records")):
        account = str(row["account_id"])
        result = drafts.get(account)
        route = str(row.get("route") or "automated")
        key = str(row["action_key"])
        arm = arms.get(account) if route == "automated" else None
        held = bool(result is not None and result.needs_human)
        # The CSM arm is handled by a person as usual: it never goes to the outbox.
        acts = mode == "autonomous" and route == "automated" and arm != "csm" and not held
        is_sample = acts and sampled(key, wf.autonomy.sample_pct)
        to_outbox = acts and not is_sample
        rows.append(
            [key, run_id, position, wf.name, version, as_of, plan.window, account]
            + [_text(row.get("account_name")) or account, _text(row.get("segment"))]
            + [_number(row.get("arr")), route, wf.action.type, _text(row.get("assignee"))]
            + [_reasons(row.get("reasons"))]
            + [result.draft.subject if result else "", result.draft.body if result else ""]
            + [result.outcome if result else "none", held]
            + ["outbox" if to_outbox else "review", is_sample, mode, created, arm]
        )
    return rows


def _drafts(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    pv: Preview,
    plan: Plan,
    version: int | None,
    settings: LLMSettings,
    gateway: Gateway | None,
    on_result: Callable[[DraftResult, int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    actor: str,
) -> tuple[int | None, dict[str, DraftResult]]:
    if plan.proposed.empty:
        return None, {}
    ids = [str(a) for a in plan.proposed["account_id"]]
    report = draft_workflow(
        con,
        wf,
        pv,
        settings,
        workflow_version=version,
        account_ids=ids,
        on_result=on_result,
        should_stop=should_stop,
        gateway=gateway,
        actor=actor,
    )
    if report.summary.cancelled:
        raise WorkbenchError(
            f"The run was stopped while drafting ({len(report.results)} of {len(ids)} drafted); "
            "no actions were stored.",
            "Run it again: the drafts made so far come from the cache.",
        )
    return report.run_id, {r.packet.account_id: r for r in report.results}


def _same_version_as_the_gate(
    con: duckdb.DuckDBPyConnection, workflow_name: str, version: int | None
) -> None:
    """Refuse an autonomous run of a version saved after the workflow went autonomous."""
    rows = con.execute(
        "SELECT workflow_version FROM wb.mode_changes WHERE workflow_name = ? "
        "AND to_mode = 'autonomous' ORDER BY seq DESC LIMIT 1",
        [workflow_name],
    ).fetchall()
    went = rows[0][0] if rows else None
    if went is not None and version is not None and version != went:
        raise RunRefused(
            f"The workflow went autonomous on v{went}, and v{version} has been saved since: a "
            "changed policy has not been through review, so it does not act on its own.",
            f"Move it to shadow mode and review v{version}'s actions, then go autonomous again "
            "(Approval & gate page, or `workbench mode shadow --reason ...`).",
        )


def run_workflow(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    version: int | None,
    as_of: date,
    *,
    actor: str,
    settings: LLMSettings | None = None,
    gateway: Gateway | None = None,
    on_result: Callable[[DraftResult, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    at: datetime | None = None,
) -> RunOutcome:
    """Run the workflow in its current mode as of ``as_of`` and store what it proposes.

    Args:
        con: The workspace connection.
        wf: The workflow; ``version`` is its saved version number (``None`` if unsaved).
        as_of: The date the run evaluates the data as of.
        actor: Who started it (``system`` for scheduled runs).
        settings: The model settings (default: the offline template drafter).
        at: When the run happens (default now); the scripted shadow period replays weeks.

    Raises:
        RunRefused: The mode is draft, paused or rolled back.
    """
    if not actor.strip():
        raise WorkbenchError("Say who is running the workflow.", "Fill in your name.")
    mode = current_mode(con, wf.name)
    if mode not in RUNNABLE:
        raise RunRefused(
            f"The workflow '{wf.name}' is in {mode.replace('_', ' ')} mode, so a run "
            "proposes nothing.",
            _NOT_RUNNABLE[mode],
        )
    if mode == "autonomous":
        _same_version_as_the_gate(con, wf.name, version)
    pv = preview(con, wf, as_of)
    plan, assignment = _plan_and_assign(con, wf, pv.fired, version, as_of)
    draft_run_id, drafts = _drafts(
        con,
        wf,
        pv,
        plan,
        version,
        settings or LLMSettings(),
        gateway,
        on_result,
        should_stop,
        actor.strip(),
    )
    fingerprint = data_version(con)
    when = (at or now()).replace(microsecond=0)
    skipped = {str(k): int(v) for k, v in plan.skipped["reason"].value_counts().items()}
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = int(con.execute("SELECT nextval('wb.review_run_ids')").fetchall()[0][0])
        rows = _action_rows(plan, drafts, wf, version, run_id, mode, as_of, when, assignment.arms)
        experiment_store.record(
            con, assignment, run_id=run_id, version=version, as_of=as_of, actor=actor.strip(),
            at=when,
        )  # fmt: skip
        outbox = []
        if rows:
            marks = ", ".join(["?"] * len(rows[0]))
            con.executemany(f"INSERT INTO wb.actions VALUES ({marks})", rows)
            outbox = [r for r in rows if r[19] == "outbox"]
        if outbox:
            con.executemany(
                "INSERT INTO wb.outbox SELECT action_key, created_at, run_id, workflow_name, "
                "account_id, account_name, action_type, assignee, subject, body, 'autonomous' "
                "FROM wb.actions WHERE action_key = ?",
                [[r[0]] for r in outbox],
            )
        to_outbox = sum(1 for r in rows if r[19] == "outbox")
        verdict = gate_verdict(con, wf)
        outcome = RunOutcome(
            run_id, mode, as_of, len(pv.fired), plan, len(rows) - to_outbox, to_outbox,
            draft_run_id, verdict, assignment.counts(), assignment.experiment.experiment_id,
        )  # fmt: skip
        con.execute(
            "INSERT INTO wb.review_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, when, actor.strip(), wf.name, version, as_of, plan.window, fingerprint]
            + [mode, draft_run_id, len(pv.fired), len(rows), len(plan.skipped)]
            + [outcome.to_review, to_outbox, json.dumps(skipped), outcome.sentence()],
        )
        record_gate_check(con, wf.name, "run", verdict, when)
        audit.record(
            con,
            "run",
            f"workflow {wf.name} v{version} run {run_id}",
            {
                "mode": mode,
                "as_of": as_of,
                "data_version": fingerprint,
                "fired": len(pv.fired),
                "proposed": len(rows),
                "skipped": skipped,
                "to_review": outcome.to_review,
                "to_outbox": to_outbox,
                "draft_run": draft_run_id,
                "experiment": assignment.experiment.experiment_id,
                "assigned": assignment.counts(),
                "action_keys": [r[0] for r in rows],
            },
            actor.strip(),
            at=when,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return outcome
