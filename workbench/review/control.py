"""The workflow's mode as stored, the gate on the reviews so far, and changing the mode.

The gate counts reviewed actions on the **automated** route: those are the ones autonomy
would act on. Human and manager routes always go to a person (the escalation boundary), so
their reviews show in the metrics but do not open the gate. Every change of mode and every
automatic pause is written with its audit entry in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import duckdb

from workbench import audit
from workbench.review.gate import GateRule, GateVerdict, PauseVerdict, evaluate, should_pause
from workbench.review.modes import Mode, ModeChange, check_transition
from workbench.review.store import now
from workbench.workflow.model import Workflow

GATE_ROUTE = "automated"
SYSTEM = "system"


def gate_rule(wf: Workflow) -> GateRule:
    """The gate's settings from the workflow's ``autonomy`` section."""
    a = wf.autonomy
    return GateRule(
        target=a.target,
        min_reviews=a.min_reviews,
        rule=a.rule,
        min_sampled_reviews=a.min_sampled_reviews,
    )


def current_mode(con: duckdb.DuckDBPyConnection, workflow_name: str) -> Mode:
    """The workflow's mode now (``draft`` until it was first changed)."""
    rows = con.execute(
        "SELECT to_mode FROM wb.mode_changes WHERE workflow_name = ? ORDER BY seq DESC LIMIT 1",
        [workflow_name],
    ).fetchall()
    return cast(Mode, rows[0][0]) if rows else "draft"


def _counts(
    con: duckdb.DuckDBPyConnection, sql_filter: str, params: list[object]
) -> tuple[int, int]:
    rows = con.execute(
        "SELECT count(*) FILTER (WHERE r.decision IN ('approved', 'edited')), count(*) "
        "FROM wb.reviews r JOIN wb.actions a USING (action_key) "
        f"WHERE a.workflow_name = ? AND a.route = ?{sql_filter}",
        params,
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def gate_counts(con: duckdb.DuckDBPyConnection, workflow_name: str) -> tuple[int, int]:
    """(approved, reviewed) on the automated route, shadow reviews and autonomous samples."""
    return _counts(con, "", [workflow_name, GATE_ROUTE])


def gate_verdict(con: duckdb.DuckDBPyConnection, wf: Workflow) -> GateVerdict:
    """The gate on the reviews so far."""
    approved, reviewed = gate_counts(con, wf.name)
    return evaluate(approved, reviewed, gate_rule(wf))


def record_gate_check(
    con: duckdb.DuckDBPyConnection,
    workflow_name: str,
    event: str,
    verdict: GateVerdict,
    at: datetime | None = None,
) -> None:
    """Keep the verdict for the gate history (inside the caller's transaction)."""
    r = verdict.rule
    con.execute(
        "INSERT INTO wb.gate_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [workflow_name, at or now(), event, verdict.reviewed, verdict.approved, verdict.rate]
        + [verdict.low, verdict.high, verdict.passes, verdict.status, verdict.sentence]
        + [r.target, r.rule, r.min_reviews],
    )


def _insert_change(
    con: duckdb.DuckDBPyConnection, name: str, change: ModeChange, version: int | None
) -> None:
    seq = con.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM wb.mode_changes WHERE workflow_name = ?", [name]
    ).fetchall()[0][0]
    con.execute(
        "INSERT INTO wb.mode_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [name, seq, change.from_mode, change.to_mode, change.actor, change.reason, change.at]
        + [change.override, change.gate_sentence, version],
    )
    detail = {
        "from": change.from_mode,
        "to": change.to_mode,
        "reason": change.reason,
        "gate": change.gate_sentence,
        "version": version,
    }
    audit.record(con, "mode_change", f"workflow {name}", detail, change.actor, at=change.at)
    if change.override:
        audit.record(
            con, "override", f"workflow {name}: autonomy gate", detail, change.actor, at=change.at
        )


def change_mode(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    target: Mode,
    *,
    actor: str,
    reason: str,
    version: int | None = None,
    override: bool = False,
    own_transaction: bool = True,
    at: datetime | None = None,
) -> ModeChange:
    """Move the workflow to ``target`` or raise ``ModeRefused`` saying why not.

    Going autonomous evaluates the gate on the reviews so far; ``override`` (with the reason
    saying why) goes ahead anyway and is logged as an override.
    """
    current = current_mode(con, wf.name)
    verdict = gate_verdict(con, wf)
    change = check_transition(
        current,
        target,
        actor=actor,
        reason=reason,
        gate_passes=verdict.passes,
        gate_sentence=verdict.sentence,
        override=override,
        at=at,
    )
    if own_transaction:
        con.execute("BEGIN TRANSACTION")
    try:
        _insert_change(con, wf.name, change, version)
        record_gate_check(con, wf.name, "mode_change", verdict, change.at)
        if own_transaction:
            con.execute("COMMIT")
    except BaseException:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
    return change


def autonomous_since(con: duckdb.DuckDBPyConnection, workflow_name: str) -> int | None:
    """The ``seq`` of the mode change that made the workflow autonomous, if it is now."""
    rows = con.execute(
        "SELECT seq, to_mode FROM wb.mode_changes WHERE workflow_name = ? ORDER BY seq DESC LIMIT 1",
        [workflow_name],
    ).fetchall()
    if not rows or rows[0][1] != "autonomous":
        return None
    return int(rows[0][0])


def sampled_counts(con: duckdb.DuckDBPyConnection, workflow_name: str) -> tuple[int, int]:
    """(approved, reviewed) among the sampled reviews since the workflow last went autonomous."""
    rows = con.execute(
        "SELECT max(changed_at) FROM wb.mode_changes WHERE workflow_name = ? "
        "AND to_mode = 'autonomous'",
        [workflow_name],
    ).fetchall()
    since = rows[0][0]
    if since is None:
        return 0, 0
    return _counts(con, " AND a.sampled AND r.decided_at >= ?", [workflow_name, GATE_ROUTE, since])


@dataclass(frozen=True)
class PauseCheck:
    """What the sampled reviews say, and the pause it caused if any."""

    verdict: PauseVerdict
    paused: ModeChange | None


def check_pause(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    version: int | None = None,
    at: datetime | None = None,
) -> PauseCheck | None:
    """Pause an autonomous workflow whose sampled reviews fell below the bar (inside the
    caller's transaction). ``None`` when the workflow is not autonomous."""
    if autonomous_since(con, wf.name) is None:
        return None
    approved, reviewed = sampled_counts(con, wf.name)
    verdict = should_pause(approved, reviewed, gate_rule(wf))
    if not verdict.pause:
        return PauseCheck(verdict, None)
    change = check_transition(
        "autonomous",
        "paused",
        actor=SYSTEM,
        reason="Sampled reviews fell below the bar: " + verdict.sentence,
        gate_sentence=verdict.sentence,
        at=at,
    )
    _insert_change(con, wf.name, change, version)
    return PauseCheck(verdict, change)
