"""The monthly review pack and the rollback: what the Governance page, the CLI and the pack show.

The playbook asks for a monthly review and a rollback plan. ``build_pack`` gathers, for one
workflow and one calendar month, everything that review reads: the version and its policy in
words, the mode and its changes, runs and action counts, approval metrics (the month and
everything up to its end), the gate now and its history, a sample of rejected actions, the
outbox, outcomes so far, the audit chain's status and which version to roll back to. Frames
carry readable column names so the workbook, the HTML page and the app show the same tables.
Every section says what is missing, and what to do next, on a new workspace.

``rollback`` restores an earlier version as the next version, sets the mode ``rolled_back``
and writes its audit entry, all in one transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.audit_chain import VerifyResult
from workbench.errors import NotFound, WorkbenchError
from workbench.review import store
from workbench.review.control import change_mode, current_mode, gate_rule, gate_verdict
from workbench.review.gate import GateRule, GateVerdict
from workbench.review.metrics import BREAKDOWNS, ApprovalMetrics, approval_metrics
from workbench.review.modes import MODE_WORDS, Mode
from workbench.review.plan import SKIP_WORDS
from workbench.storage.history import data_version
from workbench.storage.workspace import Workspace
from workbench.workflow import store as versions
from workbench.workflow.compiler import compile_workflow
from workbench.workflow.describe import ROUTE_WORDS, describe
from workbench.workflow.facts import CHURN_WORDS, default_as_of, table_columns
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion

PERCENT_COLUMNS = frozenset({"approval rate", "low (95%)", "high (95%)", "share", "target"})
"""Columns of the pack's frames that hold rates (0 to 1): shown as percentages."""

SAMPLE_SIZE = 20
DECISION_ORDER = ("approved", "edited", "rejected", "pending", "outbox")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Figure:
    """One labelled value of a summary; ``percent`` marks a rate between 0 and 1."""

    label: str
    value: str | int | float | date | datetime | None
    percent: bool = False


@dataclass(frozen=True)
class RollbackPlan:
    """Which version to return to and what rolling back does.

    Attributes:
        current: The current version number (None without a workflow).
        target: The suggested version (None when there is nothing to return to).
        why: Why that version, in a sentence.
        choices: Earlier versions whose content differs from the current one, newest first,
            as (number, label).
        steps: What rolling back does, in words.
    """

    current: int | None
    target: int | None
    why: str
    choices: tuple[tuple[int, str], ...]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class RollbackResult:
    """What ``rollback`` did."""

    workflow_name: str
    from_version: int
    restored: int
    new_version: int
    mode_before: Mode
    mode_after: Mode
    audit_seq: int

    def sentence(self) -> str:
        mode = (
            f"mode {self.mode_before.replace('_', ' ')} → rolled back"
            if self.mode_before != self.mode_after
            else f"mode stays {self.mode_after.replace('_', ' ')}"
        )
        return (
            f"Rolled {self.workflow_name} back to v{self.restored}: its content is now "
            f"v{self.new_version} (v{self.from_version} stays in the history); {mode}; "
            f"audit entry {self.audit_seq}."
        )


@dataclass(frozen=True)
class MonthlyPack:
    """Everything the monthly review reads, for one workflow and one month.

    Frames have readable column names (rates in ``PERCENT_COLUMNS``) and are empty, never
    missing, when there is nothing yet; ``notes`` then says, per section, what is missing and
    what to do next.
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

    @property
    def empty(self) -> bool:
        """No workflow saved yet."""
        return self.workflow_name is None

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


def _within(frame: pd.DataFrame, column: str, start: date | None, end: date) -> pd.DataFrame:
    """Rows whose ``column`` falls in [start, end) (from the beginning when ``start`` is None)."""
    if frame.empty:
        return frame
    moments = pd.to_datetime(frame[column])
    keep = moments < pd.Timestamp(end)
    if start is not None:
        keep &= moments >= pd.Timestamp(start)
    return frame[keep].reset_index(drop=True)


# --- sections --------------------------------------------------------------------------


def policy_words(con: duckdb.DuckDBPyConnection, wf: Workflow) -> tuple[tuple[str, str], ...]:
    """The workflow in plain words as (part, sentence) rows; empty when it cannot compile."""
    try:
        w = describe(compile_workflow(con, wf, default_as_of(con)))
    except WorkbenchError:
        return ()
    rows: list[tuple[str, str]] = [("When", w.trigger)]
    if w.description:
        rows.insert(0, ("Description", w.description))
    rows += [("In scope when", s) for s in w.scope] or [("In scope", "every active account")]
    rows += [("Fires when", "    " * ln.depth + ln.text) for ln in w.conditions]
    for r in w.escalation:
        when = "; ".join(ln.text for ln in r.when)
        words = ROUTE_WORDS.get(r.route, r.route)
        rows.append(("Escalation", f"{r.position}. {r.name} → {r.route} ({words}) when {when}"))
    rows.append(("Escalation", "everything else → automated (" + ROUTE_WORDS["automated"] + ")"))
    rows.append(("Action", w.action))
    rows += [("Action setting", f"{k.replace('_', ' ')}: {v}") for k, v in w.action_params]
    rows += [("Guardrail", g) for g in w.guardrails]
    rows += [("What drafts may say", g) for g in w.output_policy]
    rows += [
        ("Health input", f"{h.label} (weight {h.weight:g}): {h.normalisation}") for h in w.health
    ]
    if w.missing:
        rows.append(("Missing data", w.missing))
    return tuple(rows)


def _mode_frame(changes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "changed at": pd.to_datetime(changes["changed_at"]),
            "from": changes["from_mode"],
            "to": changes["to_mode"],
            "by": changes["actor"],
            "reason": changes["reason"],
            "gate overridden": changes["override"].astype(bool),
            "gate then": changes["gate_sentence"],
            "version": changes["workflow_version"].astype("Int64"),
        }
    )


def _runs_frame(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.sort_values("started_at").reset_index(drop=True)
    detail = [json.loads(str(d)) for d in runs["skipped_detail"]]
    out = pd.DataFrame(
        {
            "run": runs["run_id"].astype("int64"),
            "started at": pd.to_datetime(runs["started_at"]),
            "by": runs["actor"],
            "version": runs["workflow_version"].astype("Int64"),
            "as of": pd.to_datetime(runs["as_of"]),
            "mode": runs["mode"],
        }
    )
    for column in ("fired", "proposed", "to_review", "to_outbox", "skipped"):
        out[column.replace("_", " ")] = runs[column].astype("int64")
    for reason in SKIP_WORDS:
        out[f"skipped: {reason.replace('_', ' ')}"] = pd.Series(
            [int(d.get(reason, 0)) for d in detail], dtype="int64"
        )
    return out


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


def _approval_rows(period: str, breakdown: str, t: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series([period] * len(t), dtype="str"),
            "breakdown": pd.Series([breakdown] * len(t), dtype="str"),
            "group": t["group"].astype(str),
            "reviewed": t["reviewed"].astype("int64"),
            "approved as-is": t["approved_as_is"].astype("int64"),
            "approved after edit": t["approved_after_edit"].astype("int64"),
            "rejected": t["rejected"].astype("int64"),
            "approval rate": t["rate"].astype(float),
            "low (95%)": t["low"].astype(float),
            "high (95%)": t["high"].astype(float),
        }
    )


def _approval_frame(periods: list[tuple[str, ApprovalMetrics]]) -> pd.DataFrame:
    """One row per period, breakdown and group; periods without decisions are left out."""
    parts = []
    for period, m in periods:
        if m.empty:
            continue
        parts.append(_approval_rows(period, "overall", m.overall.assign(group="all")))
        for key, label in BREAKDOWNS.items():
            t = m.by[key]
            parts.append(
                _approval_rows(
                    period, label.lower(), t[t["reviewed"] > 0].rename(columns={key: "group"})
                )
            )
    empty = _approval_rows("", "", periods[0][1].overall.assign(group="").iloc[0:0])
    return pd.concat([empty, *parts], ignore_index=True) if parts else empty


def _reasons_frame(month: ApprovalMetrics, total: ApprovalMetrics) -> pd.DataFrame:
    merged = month.reasons.merge(
        total.reasons, on=["reason", "label"], how="outer", suffixes=("", "_t")
    )
    return pd.DataFrame(
        {
            "reason": merged["reason"].str.replace("_", " "),
            "what it means": merged["label"],
            "in the month": merged["count"].fillna(0).astype("int64"),
            "share": merged["share"].astype(float),
            "to the end of the month": merged["count_t"].fillna(0).astype("int64"),
        }
    ).sort_values(["in the month", "to the end of the month"], ascending=False, kind="stable")


def _gate_frame(checks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "checked at": pd.to_datetime(checks["checked_at"]),
            "event": checks["event"],
            "reviewed": checks["reviewed"].astype("int64"),
            "approved": checks["approved"].astype("int64"),
            "approval rate": checks["rate"].astype(float),
            "low (95%)": checks["low"].astype(float),
            "high (95%)": checks["high"].astype(float),
            "target": checks["target"].astype(float),
            "passes": checks["passes"].astype(bool),
            "verdict": checks["sentence"],
        }
    )


def _rejected_frame(done: pd.DataFrame) -> pd.DataFrame:
    rejected = done[done["decision"] == "rejected"].sort_values("decided_at", ascending=False)
    rejected = rejected.head(SAMPLE_SIZE)
    return pd.DataFrame(
        {
            "decided at": pd.to_datetime(rejected["decided_at"]),
            "account": rejected["account_name"],
            "account id": rejected["account_id"],
            "route": rejected["route"],
            "reason": rejected["reason"].fillna("unspecified").str.replace("_", " "),
            "comment": rejected["comment"],
            "reviewer": rejected["reviewer"],
            "draft subject": rejected["subject"],
        }
    ).reset_index(drop=True)


def _outbox_frame(box: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    box = _within(box, "queued_at", None, end)
    columns = ["queued as", "action type", "in the month", "to the end of the month"]
    if box.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if "month" in c else "str") for c in columns}
        )
    queued = pd.to_datetime(box["queued_at"])
    box = box.assign(in_month=(queued >= pd.Timestamp(start)).astype("int64"), one=1)
    grouped = (
        box.groupby(["via", "action_type"], sort=True)[["in_month", "one"]].sum().reset_index()
    )
    grouped.columns = pd.Index(columns)
    grouped["queued as"] = grouped["queued as"].str.replace("_", " ")
    return grouped


def outcome_class(value: object) -> str:
    """``renewed``, ``churned`` or ``other`` for an outcome as imported (any case)."""
    text = str(value).strip().lower()
    if text in CHURN_WORDS:
        return "churned"
    return "renewed" if text.startswith("renew") else "other"


def outcomes_so_far(con: duckdb.DuckDBPyConnection, workflow_name: str) -> pd.DataFrame | None:
    """Renewal outcomes after the workflow's actions, counted by decision.

    Each action counts once, with the account's first renewal outcome on or after the
    action's as-of date. None when the workspace has no renewal outcomes table.
    """
    needed = {"account_id", "renewal_date", "outcome"}
    if not needed <= table_columns(con).get("outcomes", {}).keys():
        return None
    rows = con.execute(
        "WITH acts AS (SELECT a.action_key, a.account_id, a.as_of, CASE WHEN r.decision IS NOT "
        "NULL THEN r.decision WHEN a.destination = 'outbox' THEN 'outbox' ELSE 'pending' END "
        "AS status FROM wb.actions a LEFT JOIN wb.reviews r USING (action_key) "
        "WHERE a.workflow_name = ?) "
        "SELECT acts.status, arg_min(o.outcome::VARCHAR, o.renewal_date::DATE) FROM acts "
        "JOIN outcomes o ON o.account_id::VARCHAR = acts.account_id "
        "AND o.renewal_date::DATE >= acts.as_of GROUP BY acts.action_key, acts.status",
        [workflow_name],
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for status, outcome in rows:
        bucket = counts.setdefault(str(status), {"renewed": 0, "churned": 0, "other": 0})
        bucket[outcome_class(outcome)] += 1
    order = [d for d in DECISION_ORDER if d in counts]
    return pd.DataFrame(
        {
            "decision": pd.Series(order, dtype="str"),
            "renewed": pd.Series([counts[d]["renewed"] for d in order], dtype="int64"),
            "churned": pd.Series([counts[d]["churned"] for d in order], dtype="int64"),
            "other outcome": pd.Series([counts[d]["other"] for d in order], dtype="int64"),
            "actions with an outcome": pd.Series(
                [sum(counts[d].values()) for d in order], dtype="int64"
            ),
        }
    )


def _problems_frame(result: VerifyResult) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entry": pd.Series([p.seq for p in result.problems], dtype="Int64"),
            "problem": pd.Series([p.what for p in result.problems], dtype="str"),
        }
    )


# --- rollback plan ---------------------------------------------------------------------


def _passing_versions(con: duckdb.DuckDBPyConnection, name: str) -> set[int]:
    """Versions that ran in shadow or autonomous mode with the gate passing at that run."""
    rows = con.execute(
        "SELECT DISTINCT r.workflow_version FROM wb.review_runs r JOIN wb.gate_checks g "
        "ON g.workflow_name = r.workflow_name AND g.event = 'run' AND g.checked_at = r.started_at "
        "WHERE r.workflow_name = ? AND r.mode IN ('shadow', 'autonomous') AND g.passes "
        "AND r.workflow_version IS NOT NULL",
        [name],
    ).fetchall()
    return {int(r[0]) for r in rows}


def rollback_steps(current: int | None, mode: Mode) -> tuple[str, ...]:
    """What rolling back does, in words."""
    nxt = "the next version" if current is None else f"v{current + 1}"
    if mode in ("draft", "rolled_back"):
        moded = f"The mode stays {mode.replace('_', ' ')}: nothing runs until shadow mode starts."
    else:
        moded = "Sets the mode to rolled back: runs propose nothing until shadow mode starts again."
    return (
        f"Saves the chosen version's content as {nxt}, with your name and reason; "
        "nothing is deleted and every version stays in the history.",
        moded,
        "Pending actions stay in the review queue and can still be decided; runs, decisions "
        "and the outbox are kept.",
        "Shadow mode must start again before the restored version proposes anything.",
        "The rollback is written to the audit log (kind rollback) with the mode change, in one "
        "transaction: all of it happens or none of it.",
    )


def plan_rollback(
    con: duckdb.DuckDBPyConnection, current: WorkflowVersion | None, mode: Mode
) -> RollbackPlan:
    """The version to return to: the latest earlier version that ran with the gate passing,
    else the previous version (with other content), else none."""
    if current is None:
        return RollbackPlan(
            None, None, "There is no workflow, so there is nothing to roll back.", (), ()
        )
    earlier = [
        v
        for v in versions.list_versions(con, current.name)
        if v.version < current.version and v.sha256 != current.sha256
    ]
    earlier.sort(key=lambda v: v.version, reverse=True)
    choices = tuple((v.version, v.label) for v in earlier)
    steps = rollback_steps(current.version, mode)
    passing = _passing_versions(con, current.name)
    good = [v for v in earlier if v.version in passing]
    if good:
        why = (
            f"v{good[0].version} is the latest earlier version that ran in shadow or "
            "autonomous mode with the gate passing."
        )
        return RollbackPlan(current.version, good[0].version, why, choices, steps)
    if earlier:
        why = (
            "No earlier version ran with the gate passing, so the plan returns to the "
            f"version before the current one with other content (v{earlier[0].version})."
        )
        return RollbackPlan(current.version, earlier[0].version, why, choices, steps)
    why = (
        f"v{current.version} is the only version (or every earlier one has the same content), "
        "so there is nothing to return to yet. Each save on the Workflow page keeps the "
        "version before it, to return to here."
    )
    return RollbackPlan(current.version, None, why, (), steps)


# --- the pack --------------------------------------------------------------------------


def _current(con: duckdb.DuckDBPyConnection, wf_name: str | None) -> WorkflowVersion | None:
    if wf_name is None:
        return versions.latest(con)
    found = versions.latest(con, wf_name)
    if found is None:
        names = ", ".join(f"'{n}'" for n in versions.workflow_names(con)) or "none saved yet"
        raise NotFound(f"No workflow named '{wf_name}'.", f"Workflows: {names}.")
    return found


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
    version = _current(con, wf_name)
    name = version.name if version is not None else None
    wf = version.workflow if version is not None else None
    rule = gate_rule(wf) if wf is not None else GateRule()
    mode: Mode = current_mode(con, name) if name is not None else "draft"

    actions = store.reviewed(con, name or "")
    done_month = _within(actions, "decided_at", start, end)
    done_total = _within(actions, "decided_at", None, end)
    m_month, m_total = approval_metrics(done_month, rule), approval_metrics(done_total, rule)
    runs = _runs_frame(_within(store.runs(con, name or ""), "started_at", start, end))
    changes = _mode_frame(_within(store.mode_changes(con, name or ""), "changed_at", start, end))
    checks = _gate_frame(_within(store.gate_checks(con, name or ""), "checked_at", start, end))
    box = _outbox_frame(store.outbox(con, name or ""), start, end)
    outcomes = outcomes_so_far(con, name) if name is not None else None
    verified = audit.verify(con)

    notes = _notes(label, name, mode, runs, m_month, checks, done_month, box, outcomes, verified)
    words = policy_words(con, wf) if wf is not None else ()
    if wf is not None and not words:
        notes["policy"] = (
            "The workflow cannot be read against this workspace's data (no accounts, or a fact "
            "it names is missing); its YAML is shown as saved. Import accounts on the Data page."
        )
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
        approval=_approval_frame([(label, m_month), (f"to the end of {label}", m_total)]),
        reasons=_reasons_frame(m_month, m_total),
        metrics_month=m_month,
        metrics_total=m_total,
        gate=gate_verdict(con, wf) if wf is not None else None,
        gate_history=checks,
        rejected=_rejected_frame(done_month),
        rejected_total=int((done_month["decision"] == "rejected").sum()),
        outbox=box,
        outcomes=outcomes if outcomes is not None else _empty_outcomes(),
        audit=verified,
        audit_problems=_problems_frame(verified),
        rollback=plan,
        notes=notes,
        next_steps=_next_steps(con, name, mode, wf),
    )


def _empty_outcomes() -> pd.DataFrame:
    columns = ["renewed", "churned", "other outcome", "actions with an outcome"]
    return pd.DataFrame(
        {"decision": pd.Series(dtype="str"), **{c: pd.Series(dtype="int64") for c in columns}}
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


# --- rollback --------------------------------------------------------------------------


def rollback(
    con: duckdb.DuckDBPyConnection,
    wf_name: str,
    to_version: int,
    *,
    actor: str,
    reason: str,
    workspace: Workspace | None = None,
) -> RollbackResult:
    """Return ``wf_name`` to an earlier version, all or nothing.

    Saves ``to_version``'s content as the next version, sets the mode ``rolled_back`` (a
    workflow in draft, or already rolled back, keeps its mode) and writes an audit entry of
    kind ``rollback``, in one transaction. Nothing is deleted.

    Raises:
        WorkbenchError: no actor or reason, the current version, or the same content.
        NotFound: an unknown workflow or version.
        ModeRefused: the mode cannot change to rolled back.
    """
    who, why = actor.strip(), reason.strip()
    if not who:
        raise WorkbenchError("Say who is rolling back.", "Fill in your name.")
    if not why:
        raise WorkbenchError(
            "Say why the workflow is rolled back.",
            "A rollback is logged with its reason; write one sentence.",
        )
    current = _current(con, wf_name)
    assert current is not None  # _current raises for an unknown name
    if to_version == current.version:
        raise WorkbenchError(
            f"v{to_version} is the current version of '{wf_name}'.",
            "Pick an earlier version to return to.",
        )
    target = versions.get_version(con, wf_name, to_version)
    if target.sha256 == current.sha256:
        raise WorkbenchError(
            f"v{to_version} has the same content as the current v{current.version}.",
            "There is nothing to roll back to there; pick a version with other content.",
        )
    mode = current_mode(con, wf_name)
    con.execute("BEGIN TRANSACTION")
    try:
        saved = versions.save_version(
            con,
            target.yaml,
            who,
            f"Rollback to v{to_version}: {why}",
            source=f"{wf_name} v{to_version}",
            own_transaction=False,
        )
        after: Mode = mode
        if mode not in ("draft", "rolled_back"):
            change_mode(
                con,
                saved.workflow,
                "rolled_back",
                actor=who,
                reason=f"Rolled back to v{to_version}: {why}",
                version=saved.version,
                own_transaction=False,
            )
            after = "rolled_back"
        entry = audit.record(
            con,
            "rollback",
            f"workflow {wf_name}",
            {
                "from_version": current.version,
                "restored_version": to_version,
                "new_version": saved.version,
                "mode_before": mode,
                "mode_after": after,
                "reason": why,
            },
            who,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if workspace is not None:
        versions.write_mirror(workspace, saved)
    return RollbackResult(
        wf_name, current.version, to_version, saved.version, mode, after, entry.seq
    )
