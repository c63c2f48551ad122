"""A scripted shadow period: weekly runs with a simulated reviewer, for tests and workshops.

``shadow_period`` starts shadow mode if needed, runs the workflow once a week as of
successive dates, and lets a ``SimulatedReviewer`` decide every action each run proposes
the next day, through the same ``record_decisions`` a person uses (source ``simulated``,
so the metrics can tell them apart). After each week the gate is evaluated: a workshop
watches it move from "not enough reviews" to "passes", or with a careless reviewer's
drafts ("worse reviewer") to "fails".

Decisions are seeded per action key: the same period replays the same way.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import duckdb

from workbench.errors import WorkbenchError
from workbench.review import store
from workbench.review.control import change_mode, current_mode, gate_verdict
from workbench.review.decide import DecisionInput, DecisionReport, record_decisions
from workbench.review.gate import GateVerdict
from workbench.review.runs import RunOutcome, run_workflow
from workbench.review.stats import REASONS
from workbench.workflow.model import Workflow

# Why the simulated reviewer rejects, most common first (weights).
REJECT_WEIGHTS = (
    ("wrong_timing", 4), ("tone", 3), ("should_be_human", 2),
    ("factual_error", 2), ("wrong_account", 1), ("policy", 1),
)  # fmt: skip


@dataclass(frozen=True)
class SimulatedReviewer:
    """A reviewer who approves with probability ``approve_rate`` and edits some approvals.

    Attributes:
        name: The name decisions are recorded under.
        approve_rate: Chance of approving an action (as-is or after an edit).
        edit_share: Among approvals, the chance of editing the draft first.
        seed: Decisions are drawn from ``seed`` and the action key.
    """

    name: str = "Simulated reviewer"
    approve_rate: float = 0.97
    edit_share: float = 0.15
    seed: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.approve_rate <= 1 or not 0 <= self.edit_share <= 1:
            raise WorkbenchError(
                f"A simulated approval rate of {self.approve_rate} or edit share of "
                f"{self.edit_share} is not a share between 0 and 1.",
                "Use for example --approval 0.97 (good drafts) or 0.70 (poor drafts).",
            )

    def decide(self, action_key: str, subject: str, body: str) -> DecisionInput:
        digest = hashlib.sha256(f"{self.seed}\x1f{action_key}".encode()).hexdigest()
        rng = random.Random(int(digest[:16], 16))
        if rng.random() >= self.approve_rate:
            reasons = [r for r, _ in REJECT_WEIGHTS]
            reason = rng.choices(reasons, [w for _, w in REJECT_WEIGHTS])[0]
            assert reason in REASONS
            return DecisionInput(action_key, "rejected", reason=reason, comment="simulated")
        if rng.random() < self.edit_share:
            return DecisionInput(
                action_key,
                "edited",
                body=body.rstrip() + "\n\nHappy to find a time that suits you this week.",
                comment="simulated edit",
            )
        return DecisionInput(action_key, "approved")


GOOD = SimulatedReviewer("Simulated reviewer", approve_rate=0.99)
WORSE = SimulatedReviewer("Simulated reviewer (poor drafts)", approve_rate=0.70)


@dataclass(frozen=True)
class Week:
    """One week of the period: the run, the decisions and the gate afterwards."""

    as_of: date
    run: RunOutcome
    decisions: DecisionReport | None
    gate: GateVerdict

    def sentence(self) -> str:
        decided = self.decisions.sentence() if self.decisions else "Nothing to review."
        return f"Week of {self.as_of}: {self.run.plan.sentence()} {decided} Gate: {self.gate.sentence}."


def week_dates(last: date, weeks: int) -> list[date]:
    """``weeks`` run dates a week apart, the last on ``last``."""
    if weeks < 1:
        raise WorkbenchError(f"A shadow period of {weeks} weeks is empty.", "Use 1 week or more.")
    return [last - timedelta(days=7 * (weeks - 1 - i)) for i in range(weeks)]


def shadow_period(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    version: int | None,
    dates: list[date],
    reviewer: SimulatedReviewer = GOOD,
    *,
    actor: str = "workshop",
    on_week: Callable[[Week], None] | None = None,
) -> list[Week]:
    """Run the workflow on each date and review what it proposes; returns the weeks.

    The workflow must be in draft or shadow mode; draft moves to shadow (logged).
    """
    mode = current_mode(con, wf.name)
    if mode == "draft":
        change_mode(
            con, wf, "shadow", actor=actor, reason="scripted shadow period", version=version,
            at=datetime.combine(dates[0], time(8, 0)),
        )  # fmt: skip
    elif mode != "shadow":
        raise WorkbenchError(
            f"The workflow is in {mode.replace('_', ' ')} mode; the scripted shadow period "
            "runs in shadow mode.",
            "Use a fresh sample workspace (workbench reset-sample) or move the workflow back "
            "to shadow mode first.",
        )
    weeks: list[Week] = []
    for day in dates:
        run = run_workflow(con, wf, version, day, actor=actor, at=datetime.combine(day, time(8, 0)))
        queue = store.pending(con, wf.name)
        queue = queue[queue["run_id"] == run.run_id]
        report = None
        if len(queue):
            items = [
                reviewer.decide(str(r.action_key), str(r.subject), str(r.body))
                for r in queue.itertuples()
            ]
            report = record_decisions(
                con, wf, items, reviewer=reviewer.name, source="simulated", version=version,
                at=datetime.combine(day + timedelta(days=1), time(16, 0)),
            )  # fmt: skip
        week = Week(day, run, report, gate_verdict(con, wf))
        weeks.append(week)
        if on_week is not None:
            on_week(week)
    return weeks
