"""Reading the review tables: actions with their decisions, runs, modes, the outbox, gate checks.

Writes live with the operation that makes them (``runs``, ``decide``, ``control``), each in
one transaction with its audit entry. Every read here returns a frame with fixed columns,
empty when there is nothing yet, so pages and exports never special-case a new workspace.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from workbench.review.plan import HISTORY_COLUMNS

ACTION_COLUMNS = (
    "action_key", "run_id", "position", "workflow_name", "workflow_version", "as_of",
    "window_start", "account_id", "account_name", "segment", "arr", "route", "action_type",
    "assignee", "reasons", "subject", "body", "draft_outcome", "held", "destination",
    "sampled", "mode", "created_at", "arm",
)  # fmt: skip
REVIEW_COLUMNS = (
    "decision", "reason", "comment", "reviewer", "decided_at", "source", "edited_subject",
    "edited_body", "diff", "edit_distance", "edit_ratio",
)  # fmt: skip
RUN_COLUMNS = (
    "run_id", "started_at", "actor", "workflow_name", "workflow_version", "as_of",
    "window_start", "data_version", "mode", "draft_run_id", "fired", "proposed", "skipped",
    "to_review", "to_outbox", "skipped_detail", "sentence",
)  # fmt: skip
MODE_COLUMNS = (
    "workflow_name", "seq", "from_mode", "to_mode", "actor", "reason", "changed_at",
    "override", "gate_sentence", "workflow_version",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "action_key", "queued_at", "run_id", "workflow_name", "account_id", "account_name",
    "action_type", "assignee", "subject", "body", "via",
)  # fmt: skip
GATE_COLUMNS = (
    "workflow_name", "checked_at", "event", "reviewed", "approved", "rate", "low", "high",
    "passes", "status", "sentence", "target", "rule", "min_reviews",
)  # fmt: skip


def now() -> datetime:
    """The local time, to the second, as every review table stores it."""
    return datetime.now().replace(microsecond=0)


def _where(filters: dict[str, object]) -> tuple[str, list[object]]:
    parts, params = [], []
    for column, value in filters.items():
        if value is not None:
            parts.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pd.DataFrame:
    return con.execute(sql, params).df()


def actions(
    con: duckdb.DuckDBPyConnection,
    workflow_name: str | None = None,
    run_id: int | None = None,
) -> pd.DataFrame:
    """Every proposed action with its decision (``decision`` is missing while pending).

    Adds ``status``: ``pending``, ``approved``, ``edited``, ``rejected`` or ``outbox``.
    Ordered by run, then priority.
    """
    where, params = _where({"a.workflow_name": workflow_name, "a.run_id": run_id})
    cols = ", ".join([f"a.{c}" for c in ACTION_COLUMNS] + [f"r.{c}" for c in REVIEW_COLUMNS])
    status = (
        "CASE WHEN r.decision IS NOT NULL THEN r.decision "
        "WHEN a.destination = 'outbox' THEN 'outbox' ELSE 'pending' END AS status"
    )
    return _frame(
        con,
        f"SELECT {cols}, {status} FROM wb.actions a "
        f"LEFT JOIN wb.reviews r USING (action_key){where} ORDER BY a.run_id, a.position",
        params,
    )


def pending(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """The review queue: actions sent to review with no decision yet, oldest run first."""
    frame = actions(con, workflow_name)
    return frame[frame["status"] == "pending"].reset_index(drop=True)


def reviewed(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """Decided actions, with ``week`` (the Monday of the decision's week) for trends."""
    frame = actions(con, workflow_name)
    done = frame[frame["decision"].notna()].reset_index(drop=True)
    days = pd.to_datetime(done["decided_at"]).dt.normalize()
    done["week"] = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date
    return done


def history(con: duckdb.DuckDBPyConnection, workflow_name: str) -> pd.DataFrame:
    """Earlier actions of a workflow in the shape ``plan.plan_actions`` reads."""
    frame = actions(con, workflow_name)
    frame["status"] = frame["status"].where(frame["status"] != "outbox", "approved")
    return frame[list(HISTORY_COLUMNS)]


def _rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    order: str,
    workflow_name: str | None,
) -> pd.DataFrame:
    where, params = _where({"workflow_name": workflow_name})
    return _frame(
        con, f"SELECT {', '.join(columns)} FROM wb.{table}{where} ORDER BY {order}", params
    )


def runs(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """Runs, newest first."""
    return _rows(con, "review_runs", RUN_COLUMNS, "run_id DESC", workflow_name)


def mode_changes(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """Mode changes, oldest first."""
    return _rows(con, "mode_changes", MODE_COLUMNS, "workflow_name, seq", workflow_name)


def outbox(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """Actions waiting in the outbox (never sent from the workbench), oldest first."""
    return _rows(con, "outbox", OUTBOX_COLUMNS, "queued_at, action_key", workflow_name)


def gate_checks(con: duckdb.DuckDBPyConnection, workflow_name: str | None = None) -> pd.DataFrame:
    """The gate's verdict each time it was evaluated (runs, reviews, mode changes), oldest first."""
    return _rows(con, "gate_checks", GATE_COLUMNS, "checked_at", workflow_name)
