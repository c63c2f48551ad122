"""Draft runs, drafts, edits, traces and the answer cache in the workspace.

Every write happens on the caller's thread with the caller's cursor. A run's
row is written first and each draft as it arrives, so a run stopped halfway
keeps what it drafted (``finished_at`` stays empty and the page says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.drafting.batch import RunSummary
from workbench.drafting.checks import CheckResult, NameIndex, check_draft
from workbench.drafting.engine import DraftResult, Trace
from workbench.drafting.packet import render_packet
from workbench.errors import NotFound, WorkbenchError
from workbench.workflow.model import OutputPolicy


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


class DuckCache:
    """The answer cache: key -> validated answer JSON, kept across runs and sessions."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        keys = list(keys)
        if not keys:
            return {}
        rows = self.con.execute(
            "SELECT cache_key, outcome, answer FROM wb.draft_cache "
            "WHERE list_contains(?::VARCHAR[], cache_key)",
            [keys],
        ).fetchall()
        return {k: (o, a) for k, o, a in rows}

    def put(self, key: str, trace: Trace, outcome: str, answer: str) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO wb.draft_cache VALUES (?, ?, ?, ?, ?, ?, ?)",
            [key, trace.model, trace.template_version, trace.packet_hash, outcome, answer, _now()],
        )

    def clear(self) -> int:
        n = self.con.execute("SELECT count(*) FROM wb.draft_cache").fetchall()[0][0]
        self.con.execute("DELETE FROM wb.draft_cache")
        return int(n)


def start_run(
    con: duckdb.DuckDBPyConnection,
    *,
    workflow_name: str,
    workflow_version: int | None,
    as_of: date,
    action_type: str,
    drafter: str,
    accounts: int,
    data_version: str | None = None,
) -> int:
    """Record a new run and return its id (``data_version``: the data it was drafted from).

    The id comes from a sequence, so sessions starting runs at the same moment never collide.
    """
    row = con.execute(
        "INSERT INTO wb.draft_runs (run_id, started_at, workflow_name, workflow_version, as_of, "
        "data_version, action_type, drafter, accounts) "
        "VALUES (nextval('wb.draft_run_ids'), ?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
        [_now(), workflow_name, workflow_version, as_of, data_version, action_type]
        + [drafter, accounts],
    ).fetchall()
    return int(row[0][0])


def _checks_json(checks: Iterable[CheckResult]) -> str:
    return json.dumps([asdict(c) for c in checks])


def save_result(con: duckdb.DuckDBPyConnection, run_id: int, r: DraftResult, position: int) -> None:
    """Store one draft (and its trace) in one transaction; ``position`` is its priority rank."""
    d = r.draft
    con.execute("BEGIN")
    try:
        con.execute(
            "INSERT OR REPLACE INTO wb.drafts (run_id, account_id, position, account_name, action_type, "
            "route, packet_route, outcome, drafter, template_version, packet_hash, packet_text, subject, body, "
            "summary, rationale, confidence, held, needs_human, note, checks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                r.packet.account_id,
                position,
                r.packet.account_name,
                d.action_type,
                r.route,
                r.packet.route,
                r.outcome,
                d.drafter,
                d.template_version,
                r.trace.packet_hash if r.trace else _hash(r),
                render_packet(r.packet),
                d.subject,
                d.body,
                d.summary,
                d.rationale,
                d.confidence,
                r.held,
                r.needs_human,
                r.note,
                _checks_json(r.checks),
            ],
        )
        if r.trace is not None:
            t = r.trace
            con.execute(
                "INSERT INTO wb.draft_traces VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    t.account_id,
                    t.model,
                    t.template_version,
                    t.packet_hash,
                    t.outcome,
                    t.tokens_in,
                    t.tokens_out,
                    t.cost_usd,
                    t.latency_ms,
                    t.attempts,
                    t.requests,
                    t.error,
                    t.redacted,
                    t.sent,
                    t.received,
                    _now(),
                ],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _hash(r: DraftResult) -> str:
    from workbench.drafting.packet import packet_hash

    return packet_hash(r.packet)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    summary: RunSummary,
    *,
    actor: str = "local user",
) -> None:
    """Mark a run finished (or stopped) and note it in the audit log: one entry per run."""
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute(
            "UPDATE wb.draft_runs SET finished_at = ?, cancelled = ?, note = ? WHERE run_id = ? "
            "RETURNING workflow_name, workflow_version, as_of, action_type, drafter, "
            "data_version, accounts",
            [_now(), summary.cancelled, summary.sentence(), run_id],
        ).fetchall()
        if row:
            name, version, as_of, action_type, drafter, data, accounts = row[0]
            subject = f"draft run {run_id}: workflow {name}" + (f" v{version}" if version else "")
            detail = {
                "run_id": run_id,
                "workflow": name,
                "version": version,
                "as_of": as_of,
                "action_type": action_type,
                "drafter": drafter,
                "data_version": data,
                "accounts": accounts,
                "drafted": summary.drafted,
                "by_outcome": dict(summary.by_outcome),
                "held": summary.held,
                "needs_human": summary.needs_human,
                "cancelled": summary.cancelled,
            }
            audit.record(con, "draft", subject, detail, actor)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def list_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Runs, newest first, with counts of drafts, held drafts and edits."""
    return con.execute(
        "SELECT r.run_id, r.started_at, r.finished_at, r.workflow_name, r.workflow_version, "
        "r.as_of, r.data_version, r.action_type, r.drafter, r.accounts, count(d.account_id) AS drafted, "
        "count(*) FILTER (WHERE d.held) AS held, count(*) FILTER (WHERE d.needs_human) "
        "AS needs_human, count(d.edited_at) AS edited, r.cancelled, r.note "
        "FROM wb.draft_runs r LEFT JOIN wb.drafts d USING (run_id) "
        "GROUP BY ALL ORDER BY r.run_id DESC"
    ).df()


def latest_run(con: duckdb.DuckDBPyConnection) -> int | None:
    row = con.execute("SELECT max(run_id) FROM wb.draft_runs").fetchall()
    return None if row[0][0] is None else int(row[0][0])


def load_drafts(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """A run's drafts in the order they were fired (priority), with edits beside originals."""
    df = con.execute("SELECT * FROM wb.drafts WHERE run_id = ? ORDER BY position", [run_id]).df()
    return df


def load_traces(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    return con.execute(
        "SELECT t.* EXCLUDE (run_id) FROM wb.draft_traces t LEFT JOIN wb.drafts d "
        "USING (run_id, account_id) WHERE t.run_id = ? ORDER BY d.position, t.traced_at",
        [run_id],
    ).df()


def checks_of(row: dict[str, object]) -> list[CheckResult]:
    """The stored checks of a draft row."""
    return [CheckResult(**c) for c in json.loads(str(row["checks"]))]


def save_edit(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    account_id: str,
    subject: str,
    body: str,
    *,
    edited_by: str,
    policy: OutputPolicy,
    names: NameIndex,
) -> list[CheckResult]:
    """Keep an edit beside the original and re-run the checks on the edited text.

    Returns the checks of the edited draft; ``held`` follows them.
    """
    rows = con.execute(
        "SELECT account_name, outcome, action_type FROM wb.drafts "
        "WHERE run_id = ? AND account_id = ?",
        [run_id, account_id],
    ).fetchall()
    if not rows:
        raise NotFound(
            f"Run {run_id} has no draft for account {account_id}.",
            "Pick a draft from the list on the Drafts page.",
        )
    if not body.strip():
        raise WorkbenchError("The edited body is empty.", "Write the draft, or reject it instead.")
    account_name = str(rows[0][0])
    checks = check_draft(subject, body, account_name, names, policy, action_type=str(rows[0][2]))
    held = any(not c.ok for c in checks)
    con.execute(
        "UPDATE wb.drafts SET edited_subject = ?, edited_body = ?, edited_by = ?, "
        "edited_at = ?, checks = ?, held = ?, needs_human = (? OR outcome = 'abstained'), "
        "route = CASE WHEN (? OR outcome = 'abstained') AND packet_route = 'automated' "
        "THEN 'human' ELSE packet_route END WHERE run_id = ? AND account_id = ?",
        [
            subject,
            body,
            edited_by,
            _now(),
            _checks_json(checks),
            held,
            held,
            held,
            run_id,
            account_id,
        ],
    )
    return checks


def trace_totals(traces: pd.DataFrame) -> dict[str, float | int | None]:
    """Totals of a run's traces: requests, tokens, cost, p50/p95 latency of real calls."""
    if traces.empty:
        return {
            "calls": 0,
            "requests": 0,
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": None,
            "p50_ms": None,
            "p95_ms": None,
            "cached": 0,
            "failed": 0,
        }
    called = traces[traces["requests"] > 0]["latency_ms"]
    # Cost of the requests made: a cached answer costs nothing but proves no price.
    cost = traces[traces["attempts"] > 0]["cost_usd"].dropna()
    return {
        "calls": len(traces),
        "requests": int(traces["attempts"].sum()),
        "tokens_in": int(traces["tokens_in"].sum()),
        "tokens_out": int(traces["tokens_out"].sum()),
        "cost_usd": float(cost.sum()) if len(cost) else None,
        "p50_ms": float(called.quantile(0.5)) if len(called) else None,
        "p95_ms": float(called.quantile(0.95)) if len(called) else None,
        "cached": int((traces["outcome"] == "cached").sum()),
        "failed": int((traces["outcome"] == "failed").sum()),
    }
