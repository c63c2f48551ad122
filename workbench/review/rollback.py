"""The rollback: which earlier version to return to, and returning to it.

``plan_rollback`` suggests the version (the latest earlier one that ran with the gate passing,
else the previous one with other content) and says what rolling back does; the monthly pack
carries that plan. ``rollback`` restores an earlier version as the next version, sets the mode
``rolled_back`` and writes its audit entry, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from workbench import audit
from workbench.errors import NotFound, WorkbenchError
from workbench.review.control import change_mode, current_mode
from workbench.review.modes import Mode
from workbench.storage.workspace import Workspace
from workbench.workflow import store as versions
from workbench.workflow.store import WorkflowVersion


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


def current_version(con: duckdb.DuckDBPyConnection, wf_name: str | None) -> WorkflowVersion | None:
    """The latest version of ``wf_name`` (None: of the most recently saved workflow, if any).

    Raises:
        NotFound: no workflow is named ``wf_name``.
    """
    if wf_name is None:
        return versions.latest(con)
    found = versions.latest(con, wf_name)
    if found is None:
        names = ", ".join(f"'{n}'" for n in versions.workflow_names(con)) or "none saved yet"
        raise NotFound(f"No workflow named '{wf_name}'.", f"Workflows: {names}.")
    return found


# --- the plan --------------------------------------------------------------------------


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


# --- rolling back ----------------------------------------------------------------------


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
    current = current_version(con, wf_name)
    assert current is not None  # current_version raises for an unknown name
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
