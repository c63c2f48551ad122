"""What the Drafts page shows, computed without Streamlit: runs, totals, the table, one draft.

Everything here reads stored runs (``drafting.store``), so the export and tests
see the same figures and words as the page. The prompt beside a draft is
``drafting.prompt_view``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from workbench.drafting.checks import CheckResult
from workbench.drafting.engine import OUTCOMES
from workbench.drafting.store import checks_of, list_runs, trace_totals
from workbench.drafting.template import DRAFTER

OUTCOME_WORDS: dict[str, str] = {
    "ok": "drafted by the model",
    "repaired": "drafted by the model after one repair",
    "cached": "reused from the answer cache (no request)",
    "template": "written by the template drafter",
    "fallback": "the model failed; the template drafter wrote it",
    "abstained": "no draft: the action goes to a person",
}
"""Each draft outcome in plain words."""

CHECK_LABELS: dict[str, str] = {
    "placeholders": "No unfilled placeholders",
    "names_account": "Names the account",
    "no_other_account": "Names no other account",
    "no_discount_offer": "Offers no discount or credit",
    "subject_length": "Subject length",
    "body_length": "Body length",
    "banned_phrases": "No banned phrases",
}
"""Each output policy check's name as a heading (unknown names are shown as they are)."""


def check_label(name: str) -> str:
    return CHECK_LABELS.get(name, name.replace("_", " ").capitalize())


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _opt_text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _opt_int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _opt_float(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _datetime(value: Any) -> datetime | None:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value if isinstance(value, datetime) else None


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in df.to_dict("records")]


def _date(value: Any) -> date:
    if isinstance(value, pd.Timestamp | datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class RunInfo:
    """One stored draft run as ``store.list_runs`` describes it."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    workflow_name: str
    workflow_version: int | None
    as_of: date
    action_type: str
    drafter: str
    accounts: int
    data_version: str | None
    drafted: int
    held: int
    needs_human: int
    edited: int
    cancelled: bool
    note: str

    @property
    def stopped_early(self) -> bool:
        """The run ended before every account was drafted (stopped, or interrupted)."""
        return self.finished_at is None or self.cancelled or self.drafted < self.accounts

    @property
    def uses_template(self) -> bool:
        return self.drafter == DRAFTER

    @property
    def version_text(self) -> str:
        return "" if self.workflow_version is None else f" v{self.workflow_version}"

    def label(self) -> str:
        """One line for the run picker."""
        status = " · stopped early" if self.stopped_early else ""
        return (
            f"Run {self.run_id} · {self.started_at:%Y-%m-%d %H:%M} · "
            f"{self.workflow_name}{self.version_text} as of {self.as_of} · {self.drafter} · "
            f"{self.drafted} of {self.accounts} drafted{status}"
        )

    def status(self) -> str:
        """What happened in the run, in one or two sentences."""
        if self.finished_at is None or self.cancelled:
            return (
                f"Run {self.run_id} was stopped before it finished: {self.drafted} of "
                f"{self.accounts} accounts were drafted and are kept below; the rest were not "
                "drafted. Draft again to complete them (cached answers are reused)."
            )
        # The figures (held, people needed) live in the totals, which follow later edits.
        return f"Drafted {self.drafted:,} of {self.accounts:,} accounts with the {self.drafter}."


def run_info(row: Mapping[str, Any]) -> RunInfo:
    """A ``list_runs`` row as a ``RunInfo``."""
    started = _datetime(row["started_at"])
    assert started is not None
    return RunInfo(
        run_id=int(row["run_id"]),
        started_at=started,
        finished_at=_datetime(row["finished_at"]),
        workflow_name=str(row["workflow_name"]),
        workflow_version=_opt_int(row["workflow_version"]),
        as_of=_date(row["as_of"]),
        action_type=str(row["action_type"]),
        drafter=str(row["drafter"]),
        accounts=int(row["accounts"]),
        data_version=_opt_text(row.get("data_version")),
        drafted=int(row["drafted"]),
        held=int(row["held"]),
        needs_human=int(row["needs_human"]),
        edited=int(row["edited"]),
        cancelled=bool(row["cancelled"]),
        note=_opt_text(row["note"]) or "",
    )


def runs(con: duckdb.DuckDBPyConnection) -> list[RunInfo]:
    """Every stored run, newest first."""
    return [run_info(r) for r in records(list_runs(con))]


@dataclass(frozen=True)
class RunTotals:
    """The figures of a run: drafts by outcome, held, people needed, and the model calls."""

    accounts: int
    drafted: int
    by_outcome: dict[str, int]
    held: int
    needs_human: int
    edited: int
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    p50_ms: float | None
    p95_ms: float | None
    cached: int
    failed: int

    def figures(self) -> list[tuple[str, int | float | str]]:
        """(label, value) pairs for a summary sheet, missing values as words."""
        rows: list[tuple[str, int | float | str]] = [
            ("Accounts in the run", self.accounts),
            ("Drafted", self.drafted),
        ]
        rows += [(f"Outcome: {o}", n) for o, n in self.by_outcome.items()]
        rows += [
            ("Held by the checks", self.held),
            ("Need a person", self.needs_human),
            ("Edited", self.edited),
            ("Model requests", self.requests),
            ("Tokens in", self.tokens_in),
            ("Tokens out", self.tokens_out),
            ("Cost (USD)", "unknown" if self.cost_usd is None else round(self.cost_usd, 6)),
            ("Latency p50 (ms)", "no model calls" if self.p50_ms is None else round(self.p50_ms)),
            ("Latency p95 (ms)", "no model calls" if self.p95_ms is None else round(self.p95_ms)),
        ]
        return rows


def outcome_counts(drafts: pd.DataFrame) -> dict[str, int]:
    """Drafts per outcome in the engine's order, outcomes with no draft left out."""
    if drafts.empty:
        return {}
    counts = {str(k): int(v) for k, v in drafts["outcome"].value_counts().items()}
    order = [*OUTCOMES, *sorted(set(counts) - set(OUTCOMES))]
    return {o: int(counts[o]) for o in order if counts.get(o)}


def run_totals(run: RunInfo, drafts: pd.DataFrame, traces: pd.DataFrame) -> RunTotals:
    """Totals of a run from its stored drafts (as edited) and traces."""
    t = trace_totals(traces)
    edited = int(drafts["edited_at"].notna().sum()) if not drafts.empty else 0
    return RunTotals(
        accounts=run.accounts,
        drafted=len(drafts),
        by_outcome=outcome_counts(drafts),
        held=int(drafts["held"].sum()) if not drafts.empty else 0,
        needs_human=int(drafts["needs_human"].sum()) if not drafts.empty else 0,
        edited=edited,
        requests=int(t["requests"] or 0),
        tokens_in=int(t["tokens_in"] or 0),
        tokens_out=int(t["tokens_out"] or 0),
        cost_usd=_opt_float(t["cost_usd"]),
        p50_ms=_opt_float(t["p50_ms"]),
        p95_ms=_opt_float(t["p95_ms"]),
        cached=int(t["cached"] or 0),
        failed=int(t["failed"] or 0),
    )


def first_failing(checks: list[CheckResult], outcome: str) -> str:
    """The first failing check in words ('' when all pass); abstentions say so."""
    if outcome == "abstained":
        return "no draft (abstained)"
    failing = [c for c in checks if not c.ok]
    return failing[0].detail if failing else ""


def drafts_table(drafts: pd.DataFrame) -> pd.DataFrame:
    """One row per draft for the page's table, in the run's priority order."""
    columns = [
        "account_name",
        "account_id",
        "route",
        "outcome",
        "held",
        "needs_human",
        "edited",
        "first_failing",
    ]
    if drafts.empty:
        return pd.DataFrame(columns=columns)
    rows = records(drafts)
    return pd.DataFrame(
        {
            "account_name": [str(r["account_name"]) for r in rows],
            "account_id": [str(r["account_id"]) for r in rows],
            "route": [str(r["route"]) for r in rows],
            "outcome": [str(r["outcome"]) for r in rows],
            "held": [bool(r["held"]) for r in rows],
            "needs_human": [bool(r["needs_human"]) for r in rows],
            "edited": [not _missing(r["edited_at"]) for r in rows],
            "first_failing": [first_failing(checks_of(r), str(r["outcome"])) for r in rows],
        },
        columns=columns,
    )


@dataclass(frozen=True)
class DraftView:
    """One stored draft with its edit (if any) and its current checks."""

    run_id: int
    account_id: str
    account_name: str
    route: str
    outcome: str
    drafter: str
    template_version: str
    packet_hash: str
    packet_text: str
    subject: str
    body: str
    summary: str
    rationale: str
    confidence: float | None
    held: bool
    needs_human: bool
    note: str
    checks: tuple[CheckResult, ...]
    edited_subject: str | None
    edited_body: str | None
    edited_by: str | None
    edited_at: datetime | None

    @property
    def edited(self) -> bool:
        return self.edited_at is not None

    @property
    def abstained(self) -> bool:
        return self.outcome == "abstained"

    @property
    def failing(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    @property
    def current_subject(self) -> str:
        """The subject as it stands now: the edit when there is one."""
        return self.edited_subject if self.edited_subject is not None else self.subject

    @property
    def current_body(self) -> str:
        return self.edited_body if self.edited_body is not None else self.body

    def held_reason(self) -> str:
        """Why a person must look, in one sentence ('' when nothing holds it)."""
        if self.abstained:
            return self.note
        if self.failing:
            return "Held: " + " ".join(c.detail for c in self.failing)
        return ""


def draft_view(row: Mapping[str, Any]) -> DraftView:
    """A ``store.load_drafts`` row as a ``DraftView``."""
    return DraftView(
        run_id=int(row["run_id"]),
        account_id=str(row["account_id"]),
        account_name=str(row["account_name"]),
        route=str(row["route"]),
        outcome=str(row["outcome"]),
        drafter=str(row["drafter"]),
        template_version=str(row["template_version"]),
        packet_hash=str(row["packet_hash"]),
        packet_text=str(row["packet_text"]),
        subject=str(row["subject"]),
        body=str(row["body"]),
        summary=str(row["summary"]),
        rationale=str(row["rationale"]),
        confidence=_opt_float(row["confidence"]),
        held=bool(row["held"]),
        needs_human=bool(row["needs_human"]),
        note=str(row["note"]),
        checks=tuple(checks_of(dict(row))),
        edited_subject=_opt_text(row["edited_subject"]),
        edited_body=_opt_text(row["edited_body"]),
        edited_by=_opt_text(row["edited_by"]),
        edited_at=_datetime(row["edited_at"]),
    )


def find_draft(drafts: pd.DataFrame, account_id: str) -> DraftView | None:
    """The draft of one account in a run's drafts, or None."""
    hit = drafts[drafts["account_id"].astype(str) == str(account_id)]
    return None if hit.empty else draft_view(records(hit)[0])


def trace_of(traces: pd.DataFrame, account_id: str) -> dict[str, Any] | None:
    """The latest trace of one account in a run, or None (template drafts have none)."""
    if traces.empty:
        return None
    hit = traces[traces["account_id"].astype(str) == str(account_id)]
    return None if hit.empty else {str(k): v for k, v in hit.iloc[-1].items()}
