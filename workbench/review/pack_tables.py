"""The monthly pack's tables: one builder per section, with readable column names.

Each builder takes what ``workbench.review.store`` (or the metrics, or the audit check) returns
and gives the table the workbook, the HTML page and the app all show: column names in words,
rates between 0 and 1 in the columns named in ``PERCENT_COLUMNS``, and an empty frame with
the same columns, never a missing one, when there is nothing yet. ``policy_words`` gives the
workflow in words as (part, sentence) rows; ``outcomes_so_far`` counts renewal outcomes after
the workflow's actions.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd

from workbench.audit_chain import VerifyResult
from workbench.errors import WorkbenchError
from workbench.review.metrics import BREAKDOWNS, ApprovalMetrics
from workbench.review.plan import SKIP_WORDS
from workbench.workflow.compiler import compile_workflow
from workbench.workflow.describe import ROUTE_WORDS, describe
from workbench.workflow.facts import CHURN_WORDS, default_as_of, table_columns
from workbench.workflow.model import Workflow

PERCENT_COLUMNS = frozenset({"approval rate", "low (95%)", "high (95%)", "share", "target"})
"""Columns of the pack's frames that hold rates (0 to 1): shown as percentages."""

SAMPLE_SIZE = 20
DECISION_ORDER = ("approved", "edited", "rejected", "pending", "outbox")


def within(frame: pd.DataFrame, column: str, start: date | None, end: date) -> pd.DataFrame:
    """Rows whose ``column`` falls in [start, end) (from the beginning when ``start`` is None)."""
    if frame.empty:
        return frame
    moments = pd.to_datetime(frame[column])
    keep = moments < pd.Timestamp(end)
    if start is not None:
        keep &= moments >= pd.Timestamp(start)
    return frame[keep].reset_index(drop=True)


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


def mode_frame(changes: pd.DataFrame) -> pd.DataFrame:
    """Mode changes (``store.mode_changes``) with readable column names."""
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


def runs_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs (``store.runs``), oldest first, with one column per reason to skip an account."""
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


def approval_frame(periods: list[tuple[str, ApprovalMetrics]]) -> pd.DataFrame:
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


def reasons_frame(month: ApprovalMetrics, total: ApprovalMetrics) -> pd.DataFrame:
    """Rejection reasons in the month and to its end, the most frequent first."""
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


def gate_frame(checks: pd.DataFrame) -> pd.DataFrame:
    """Gate checks (``store.gate_checks``) with readable column names."""
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


def rejected_frame(done: pd.DataFrame) -> pd.DataFrame:
    """The latest ``SAMPLE_SIZE`` rejected actions among ``done``, newest first."""
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


def outbox_frame(box: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Outbox entries by how they were queued and action type: in [start, end) and before end."""
    box = within(box, "queued_at", None, end)
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


def problems_frame(result: VerifyResult) -> pd.DataFrame:
    """The audit chain's problems, one row per entry named."""
    return pd.DataFrame(
        {
            "entry": pd.Series([p.seq for p in result.problems], dtype="Int64"),
            "problem": pd.Series([p.what for p in result.problems], dtype="str"),
        }
    )


def empty_outcomes() -> pd.DataFrame:
    """The outcomes table with its columns and no rows (no outcomes to count)."""
    columns = ["renewed", "churned", "other outcome", "actions with an outcome"]
    return pd.DataFrame(
        {"decision": pd.Series(dtype="str"), **{c: pd.Series(dtype="int64") for c in columns}}
    )
