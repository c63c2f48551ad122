"""The monthly review pack: what the Governance page, the CLI and the pack's downloads show.

The playbook asks for a monthly review and a rollback plan. ``build_pack`` gathers, for one
workflow and one calendar month, everything that review reads: the version and its policy in
words, the mode and its changes, runs and action counts, approval metrics (the month and
everything up to its end), the gate now and its history, a sample of rejected actions, the
outbox, outcomes so far, the audit chain's status and which version to roll back to. Every
section says what is missing, and what to do next, on a new workspace.

The frames themselves are built in ``workbench.review.pack_tables``; the rollback plan, and
the rollback, in ``workbench.review.rollback``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.audit_chain import VerifyResult
from workbench.errors import WorkbenchError
from workbench.experiment.evaluate import ExperimentReport, evaluate
from workbench.review import store
from workbench.review.control import current_mode, gate_rule, gate_verdict
from workbench.review.gate import GateRule, GateVerdict
from workbench.review.metrics import ApprovalMetrics, approval_metrics
from workbench.review.modes import MODE_WORDS, Mode
from workbench.review.pack_experiment import experiment_note, flag_step, guardrail_words
from workbench.review.pack_tables import (
    approval_frame,
    empty_outcomes,
    gate_frame,
    mode_frame,
    outbox_frame,
    outcomes_so_far,
    policy_words,
    problems_frame,
    reasons_frame,
    rejected_frame,
    runs_frame,
    within,
)
from workbench.review.plan import SKIP_WORDS
from workbench.review.rollback import RollbackPlan, current_version, plan_rollback
from workbench.storage.history import data_version
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Figure:
    """One labelled value of a summary; ``percent`` marks a rate between 0 and 1."""

    label: str
    value: str | int | float | date | datetime | None
    percent: bool = False


@dataclass(frozen=True)
class MonthlyPack:
    """Everything the monthly review reads, for one workflow and one month.

    Frames have readable column names (rates in ``pack_tables.PERCENT_COLUMNS``) and are
    empty, never missing, when there is nothing yet; ``notes`` then says, per section, what is
    missing and what to do next.
    """

    month: str
    start: date
    end: date  # the first day of the next month
    generated_at: datetime
    data_version: str
    workflow_name: str | None
    version: WorkflowVersion | None
    policy_words: tuple[tuple[str, str], ...]
    mode: Mode
    mode_changes: pd.DataFrame
    runs: pd.DataFrame
    counts: tuple[Figure, ...]
    approval: pd.DataFrame
    reasons: pd.DataFrame
    metrics_month: ApprovalMetrics
    metrics_total: ApprovalMetrics
    gate: GateVerdict | None
    gate_history: pd.DataFrame
    rejected: pd.DataFrame
    rejected_total: int
    outbox: pd.DataFrame
    outcomes: pd.DataFrame
    audit: VerifyResult
    audit_problems: pd.DataFrame
    rollback: RollbackPlan
    notes: Mapping[str, str]
    next_steps: tuple[str, ...]
    experiment: ExperimentReport | None = None
    """The workflow's running experiment (``experiment.evaluate``); None without a workflow."""

    @property
    def empty(self) -> bool:
        """No workflow saved yet."""
        return self.workflow_name is None

    @property
    def flagged(self) -> bool:
        """A guardrail metric of the running experiment is breached: flagged for pause."""
        return self.experiment is not None and bool(self.experiment.breaches)

    @property
    def guardrail_sentence(self) -> str:
        """The guardrails in one line: "Flagged for pause: ..." or why there is no flag."""
        return guardrail_words(self.experiment)

    @property
    def gate_sentence(self) -> str:
        if self.gate is None:
            return "no gate yet: there is no workflow"
        return self.gate.sentence

    def summary(self) -> tuple[Figure, ...]:
        """The pack's headline figures, in reading order."""
        v, m, t = self.version, self.metrics_month, self.metrics_total
        head = "(missing)" if self.audit.head is None else str(self.audit.head)
        return (
            Figure("Month", self.month),
            Figure("Workflow", self.workflow_name or "(none saved yet)"),
            Figure("Workflow version", None if v is None else v.version),
            Figure("Version saved by", None if v is None else v.author),
            Figure("Version reason", None if v is None else v.reason),
            Figure("Version saved at", None if v is None else v.saved_at),
            Figure("Mode now", MODE_WORDS[self.mode]),
            Figure("Gate now", self.gate_sentence),
            Figure("Gate target", None if self.gate is None else self.gate.rule.target, True),
            *self.counts,
            Figure("Decisions in the month", m.reviewed),
            Figure("Approval rate in the month", _rate(m), True),
            Figure("Decisions to the end of the month", t.reviewed),
            Figure("Approval rate to the end of the month", _rate(t), True),
            Figure("Rejected in the month", self.rejected_total),
            Figure(
                "Experiment",
                "(none: no workflow)" if self.experiment is None else self.experiment.sentence(),
            ),
            Figure("Guardrails", self.guardrail_sentence),
            Figure("Audit chain", self.audit.sentence()),
            Figure("Audit head (SEQ:HASH)", head),
            Figure(
                "Roll back to", "none" if self.rollback.target is None else self.rollback.target
            ),
            Figure("Data version", self.data_version),
            Figure("Generated at", self.generated_at),
            Figure("Next step", self.next_steps[0] if self.next_steps else "none"),
        )


def _rate(m: ApprovalMetrics) -> float | None:
    value = m.overall["rate"].iloc[0] if len(m.overall) else None
    return None if value is None or pd.isna(value) else float(value)


# --- the month -------------------------------------------------------------------------


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of ``month`` (``YYYY-MM``) and of the month after it.

    Raises:
        WorkbenchError: ``month`` is not a calendar month written as ``YYYY-MM``.
    """
    found = _MONTH.match(month.strip()) if isinstance(month, str) else None
    year, number = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not found or year < 1 or not 1 <= number <= 12:
        raise WorkbenchError(
            f"'{month}' is not a month.", "Write the month as YYYY-MM, for example 2026-11."
        )
    start = date(year, number, 1)
    return start, date(year + number // 12, number % 12 + 1, 1)


def month_of(day: date) -> str:
    """``YYYY-MM`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def month_options(con: duckdb.DuckDBPyConnection, today: date | None = None) -> list[str]:
    """Months to pick from, newest first: this month back to the first saved version or run."""
    rows = con.execute(
        "SELECT min(d) FROM (SELECT min(saved_at)::DATE AS d FROM wb.workflow_versions "
        "UNION ALL SELECT min(started_at)::DATE FROM wb.review_runs)"
    ).fetchall()
    last = today or date.today()
    first = rows[0][0] or last
    out: list[str] = []
    year, number = last.year, last.month
    while (year, number) >= (first.year, first.month) and len(out) < 120:
        out.append(f"{year:04d}-{number:02d}")
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return out or [month_of(last)]


# --- the summary -----------------------------------------------------------------------


def _counts(runs: pd.DataFrame) -> tuple[Figure, ...]:
    def total(column: str) -> int:
        return int(runs[column].sum()) if len(runs) else 0

    return (
        Figure("Runs in the month", len(runs)),
        Figure("Actions proposed", total("proposed")),
        Figure("Sent to review", total("to review")),
        Figure("Sent to the outbox", total("to outbox")),
        *(
            Figure(f"Skipped: {words}", total(f"skipped: {reason.replace('_', ' ')}"))
            for reason, words in SKIP_WORDS.items()
        ),
    )


# --- the pack --------------------------------------------------------------------------


def build_pack(con: duckdb.DuckDBPyConnection, wf_name: str | None, month: str) -> MonthlyPack:
    """The monthly review pack of ``wf_name`` (default: the most recently saved workflow).

    Args:
        con: The workspace connection or a cursor of it.
        wf_name: The workflow, or None for the most recently saved one (none: an empty pack).
        month: The calendar month, ``YYYY-MM``.

    Raises:
        WorkbenchError: ``month`` is not ``YYYY-MM``; ``NotFound`` for an unknown workflow.
    """
    start, end = month_bounds(month)
    label = month_of(start)
    version = current_version(con, wf_name)
    name = version.name if version is not None else None
    wf = version.workflow if version is not None else None
    rule = gate_rule(wf) if wf is not None else GateRule()
    mode: Mode = current_mode(con, name) if name is not None else "draft"

    actions = store.reviewed(con, name or "")
    done_month = within(actions, "decided_at", start, end)
    done_total = within(actions, "decided_at", None, end)
    m_month, m_total = approval_metrics(done_month, rule), approval_metrics(done_total, rule)
    runs = runs_frame(within(store.runs(con, name or ""), "started_at", start, end))
    changes = mode_frame(within(store.mode_changes(con, name or ""), "changed_at", start, end))
    checks = gate_frame(within(store.gate_checks(con, name or ""), "checked_at", start, end))
    box = outbox_frame(store.outbox(con, name or ""), start, end)
    outcomes = outcomes_so_far(con, name) if name is not None else None
    experiment = evaluate(con, wf) if wf is not None else None
    verified = audit.verify(con)

    notes = _notes(label, name, mode, runs, m_month, checks, done_month, box, outcomes, verified)
    words = policy_words(con, wf) if wf is not None else ()
    if wf is not None and not words:
        notes["policy"] = (
            "The workflow cannot be read against this workspace's data (no accounts, or a fact "
            "it names is missing); its YAML is shown as saved. Import accounts on the Data page."
        )
    notes.update(experiment_note(experiment, name))
    plan = plan_rollback(con, version, mode)
    if plan.target is None:
        notes["rollback"] = plan.why
    return MonthlyPack(
        month=label,
        start=start,
        end=end,
        generated_at=store.now(),
        data_version=data_version(con),
        workflow_name=name,
        version=version,
        policy_words=words,
        mode=mode,
        mode_changes=changes,
        runs=runs,
        counts=_counts(runs),
        approval=approval_frame([(label, m_month), (f"to the end of {label}", m_total)]),
        reasons=reasons_frame(m_month, m_total),
        metrics_month=m_month,
        metrics_total=m_total,
        gate=gate_verdict(con, wf) if wf is not None else None,
        gate_history=checks,
        rejected=rejected_frame(done_month),
        rejected_total=int((done_month["decision"] == "rejected").sum()),
        outbox=box,
        outcomes=outcomes if outcomes is not None else empty_outcomes(),
        audit=verified,
        audit_problems=problems_frame(verified),
        rollback=plan,
        notes=notes,
        next_steps=flag_step(experiment, mode) + _next_steps(con, name, mode, wf),
        experiment=experiment,
    )


def _notes(
    label: str,
    name: str | None,
    mode: Mode,
    runs: pd.DataFrame,
    m_month: ApprovalMetrics,
    checks: pd.DataFrame,
    done_month: pd.DataFrame,
    box: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    verified: VerifyResult,
) -> dict[str, str]:
    notes: dict[str, str] = {}
    if name is None:
        missing = "No workflow saved yet: start from the playbook example on the Workflow page."
        for section in ("workflow", "policy", "mode", "runs", "approval", "gate", "rejected"):
            notes[section] = missing
        notes["outbox"] = missing
        notes["outcomes"] = "No outcomes yet: there is no workflow, so no actions."
    else:
        start = " Start shadow mode there first." if mode == "draft" else ""
        if runs.empty:
            notes["runs"] = f"No runs in {label}: run the workflow on the Review page.{start}"
        if m_month.empty:
            notes["approval"] = (
                f"No decisions in {label}: review proposed actions on the Review page."
            )
        if checks.empty:
            notes["gate"] = (
                f"The gate was not evaluated in {label}: it is checked at every run, review and mode change."
            )
        if not (done_month["decision"] == "rejected").any():
            notes["rejected"] = f"No actions were rejected in {label}."
        if box.empty:
            notes["outbox"] = (
                "Nothing went to the outbox: actions go there only in autonomous mode."
            )
        if outcomes is None:
            notes["outcomes"] = (
                "No outcomes yet: the workspace has no renewal outcomes. Import them on the Data "
                "page to see how accounts with actions renewed or churned."
            )
        elif outcomes.empty:
            notes["outcomes"] = (
                "No outcomes yet: no account with an action has a renewal outcome on or after "
                "the action's date."
            )
    if not verified.ok:
        notes["audit"] = (
            verified.sentence() + " Open the Audit log page to see each problem and where it is."
        )
    elif verified.entries == 0:
        notes["audit"] = (
            "The audit log is empty: imports, versions, runs and reviews are logged as they happen."
        )
    return notes


def _next_steps(
    con: duckdb.DuckDBPyConnection, name: str | None, mode: Mode, wf: Workflow | None
) -> tuple[str, ...]:
    if name is None or wf is None:
        return (
            "Save a workflow: start from the playbook example on the Workflow page.",
            "Start shadow mode on the Review page, then press Run now.",
        )
    if mode == "draft":
        return (
            "Start shadow mode on the Review page, then press Run now: every proposed action "
            "goes to a reviewer.",
        )
    if mode == "rolled_back":
        return ("The workflow was rolled back: start shadow mode again on the Review page.",)
    if mode == "paused":
        return (
            "The workflow is paused: resume it in shadow mode on the Review page, or choose "
            "another mode on the Approval & gate page.",
        )
    if store.runs(con, name).empty:
        return ("Run the workflow on the Review page: it proposes actions for review.",)
    pending = len(store.pending(con, name))
    steps = []
    if pending:
        steps.append(f"Review the {pending:,} pending action(s) on the Review page.")
    verdict = gate_verdict(con, wf)
    if mode == "shadow" and verdict.passes:
        steps.append(
            "The gate passes: autonomous mode can be considered on the Approval & gate page."
        )
    elif mode == "shadow":
        steps.append(f"Keep reviewing in shadow mode: {verdict.sentence}.")
    return tuple(steps) or ("Nothing is waiting: keep reviewing the sampled actions.",)
