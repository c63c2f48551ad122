"""Record reviewers' decisions on proposed actions: all of a batch, or none of it.

The review queue, the spreadsheet import and the CLI all come here. A batch is checked
first: an unknown action, an action of another workflow or one sent to the outbox, an
action already decided or decided twice in the batch, a decision outside approve / edit /
reject, a rejection without a reason from the list, an edit that changes nothing. Any
problem refuses the whole batch with every problem named; nothing is written.

An accepted batch is stored with one audit entry per decision, in one transaction. In
autonomous mode an approved sample joins the outbox (with the reviewer's edits), and the
sampled reviews are checked against the bar: a fall below it pauses the workflow and says
why, in the same transaction.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from workbench import audit
from workbench.errors import WorkbenchError
from workbench.review.control import PauseCheck, check_pause, gate_verdict, record_gate_check
from workbench.review.gate import GateVerdict
from workbench.review.stats import DECISIONS, REASON_WORDS, REASONS, edit_distance, edit_ratio
from workbench.review.store import now
from workbench.workflow.model import Workflow

SOURCES = ("app", "spreadsheet", "cli", "simulated")
MAX_LISTED = 20


@dataclass(frozen=True)
class DecisionInput:
    """One reviewer decision.

    Attributes:
        action_key: The action's id.
        decision: ``approved``, ``edited`` or ``rejected``. An approval whose subject or
            body differs from the draft is stored as ``edited``.
        reason: Required for a rejection: one of ``stats.REASONS``. Optional otherwise.
        comment: Free text.
        subject / body: The reviewer's text when editing (``None``: keep the draft's).
        where: Where the decision came from, for error messages (``row 7``).
    """

    action_key: str
    decision: str
    reason: str | None = None
    comment: str = ""
    subject: str | None = None
    body: str | None = None
    where: str = ""


class DecisionsRefused(WorkbenchError):
    """A batch of decisions with problems; nothing was recorded."""

    def __init__(self, problems: Sequence[str], hint: str) -> None:
        shown = list(problems[:MAX_LISTED])
        more = len(problems) - len(shown)
        text = f"No decision was recorded: {len(problems)} problem{'s' * (len(problems) != 1)}."
        text += "\n" + "\n".join(f"- {p}" for p in shown)
        if more:
            text += f"\n- … and {more} more"
        super().__init__(text, hint)
        self.problems = list(problems)


@dataclass(frozen=True)
class DecisionReport:
    """What a batch recorded and what followed from it."""

    recorded: int
    by_decision: dict[str, int]
    to_outbox: int
    gate: GateVerdict
    pause: PauseCheck | None = None
    keys: tuple[str, ...] = field(default=())

    def sentence(self) -> str:
        words = {"approved": "approved as-is", "edited": "approved after edit"}
        parts = [f"{n} {words.get(d, d)}" for d, n in self.by_decision.items() if n]
        text = f"Recorded {self.recorded} decision{'s' * (self.recorded != 1)}"
        text += f" ({', '.join(parts)})." if parts else "."
        if self.to_outbox:
            text += (
                f" {self.to_outbox} approved sample{'s' * (self.to_outbox != 1)} joined the outbox."
            )
        if self.pause is not None and self.pause.paused is not None:
            text += " The workflow is now PAUSED: " + self.pause.verdict.sentence + "."
        return text


def draft_text(subject: str, body: str) -> str:
    """The text edit distance and diffs are measured on."""
    return f"Subject: {subject}\n\n{body}"


def text_diff(before: str, after: str) -> str:
    """A unified diff of two texts, line by line."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "draft", "edited", lineterm="", n=1
        )
    )


def _label(item: DecisionInput) -> str:
    return f"{item.where}: " if item.where else f"action {item.action_key}: "


def _check(
    con: duckdb.DuckDBPyConnection, wf: Workflow, items: Sequence[DecisionInput]
) -> tuple[list[str], dict[str, tuple[object, ...]]]:
    keys = sorted({i.action_key for i in items})
    known: dict[str, tuple[object, ...]] = {}
    if keys:
        rows = con.execute(
            "SELECT a.action_key, a.workflow_name, a.destination, a.subject, a.body, a.sampled, "
            "a.mode, r.reviewer, r.decided_at, r.decision, a.route FROM wb.actions a "
            "LEFT JOIN wb.reviews r USING (action_key) WHERE list_contains(?, a.action_key)",
            [keys],
        ).fetchall()
        known = {str(r[0]): r for r in rows}
    problems: list[str] = []
    seen: dict[str, str] = {}
    for item in items:
        at = _label(item)
        row = known.get(item.action_key)
        if item.action_key in seen:
            problems.append(
                f"{at}action {item.action_key} is decided twice (also {seen[item.action_key]})."
            )
            continue
        seen[item.action_key] = item.where or "earlier in the batch"
        if row is None:
            problems.append(f"{at}there is no action {item.action_key!r} in this workspace.")
        elif row[1] != wf.name:
            problems.append(f"{at}action {item.action_key} belongs to workflow '{row[1]}'.")
        elif row[2] != "review":
            problems.append(
                f"{at}action {item.action_key} went to the outbox; it is not for review."
            )
        elif row[7] is not None:
            problems.append(
                f"{at}action {item.action_key} was already {row[9]} by {row[7]} on "
                f"{row[8]:%Y-%m-%d %H:%M}."
            )
        if item.decision not in DECISIONS:
            problems.append(
                f"{at}decision {item.decision!r} is not one of approved, edited, rejected."
            )
        if item.reason is not None and item.reason not in REASONS:
            problems.append(f"{at}reason {item.reason!r} is not one of: {', '.join(REASONS)}.")
        if item.decision == "rejected" and item.reason is None:
            problems.append(f"{at}a rejection needs a reason ({', '.join(REASONS)}).")
        if item.decision == "edited" and row is not None:
            subject = row[3] if item.subject is None else item.subject
            body = row[4] if item.body is None else item.body
            if (subject, body) == (row[3], row[4]):
                problems.append(f"{at}marked edited but the text is unchanged; approve it instead.")
    return problems, known


def record_decisions(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    items: Sequence[DecisionInput],
    *,
    reviewer: str,
    source: str = "app",
    version: int | None = None,
    at: datetime | None = None,
) -> DecisionReport:
    """Check and store a batch of decisions, all or nothing.

    ``at`` dates the decisions (default now): the scripted shadow period replays weeks.

    Raises:
        DecisionsRefused: Any problem in the batch; nothing was written.
    """
    who = reviewer.strip()
    if not who:
        raise WorkbenchError(
            "Say who is reviewing.",
            "Fill in your name (it is attribution, not a login): every decision carries it.",
        )
    if source not in SOURCES:
        raise WorkbenchError(f"Unknown decision source {source!r}.", f"Use one of {SOURCES}.")
    if not items:
        raise WorkbenchError("There are no decisions to record.", "Pick at least one action.")
    problems, known = _check(con, wf, items)
    if problems:
        raise DecisionsRefused(
            problems,
            "Fix these and try again; the batch is recorded whole or not at all. "
            "Rejection reasons: " + "; ".join(REASON_WORDS[r] for r in REASONS) + ".",
        )
    when = (at or now()).replace(microsecond=0)
    counts: dict[str, int] = {d: 0 for d in DECISIONS}
    to_outbox = 0
    con.execute("BEGIN TRANSACTION")
    try:
        for item in items:
            row = known[item.action_key]
            subject0, body0 = str(row[3]), str(row[4])
            subject = subject0 if item.subject is None else item.subject
            body = body0 if item.body is None else item.body
            changed = (subject, body) != (subject0, body0)
            decision = "edited" if item.decision == "approved" and changed else item.decision
            if decision == "rejected":
                changed = False
            diff = distance = ratio = None
            if changed:
                before, after = draft_text(subject0, body0), draft_text(subject, body)
                diff = text_diff(before, after)
                distance = edit_distance(before, after)
                ratio = edit_ratio(before, after)
            con.execute(
                "INSERT INTO wb.reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item.action_key, decision, item.reason, item.comment.strip(), who, when, source]
                + [subject if changed else None, body if changed else None, diff, distance, ratio],
            )
            counts[decision] += 1
            sample = bool(row[5]) and row[6] == "autonomous"
            # An autonomous run's automated action that went to review (a sample, or a
            # draft the checks held) joins the outbox once approved, with the edits.
            acts = row[6] == "autonomous" and row[10] == "automated"
            if acts and decision != "rejected":
                con.execute(
                    "INSERT INTO wb.outbox SELECT action_key, ?, run_id, workflow_name, "
                    "account_id, account_name, action_type, assignee, ?, ?, ? "
                    "FROM wb.actions WHERE action_key = ?",
                    [when, subject, body, "approved_sample" if sample else "approved_held"]
                    + [item.action_key],
                )
                to_outbox += 1
            audit.record(
                con,
                "review",
                f"action {item.action_key}",
                {
                    "decision": decision,
                    "reason": item.reason,
                    "comment": item.comment.strip(),
                    "source": source,
                    "edit_distance": distance,
                    "sampled": sample,
                },
                who,
                at=when,
            )
        pause = check_pause(con, wf, version, when)
        verdict = gate_verdict(con, wf)
        record_gate_check(con, wf.name, "review", verdict, when)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return DecisionReport(
        len(items), counts, to_outbox, verdict, pause, tuple(i.action_key for i in items)
    )
