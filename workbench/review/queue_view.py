"""The review queue shaped for a page: filters, sort orders, the table, the next action, edits.

Pure pandas over ``store.pending(...)``: the Review page, the CLI and tests share it. Filters
are exact matches on route, segment, assignee and run plus a case-insensitive text search;
the table keeps the queue's order (oldest run first, then the workflow's priority) unless a
sort is chosen. ``next_after`` says which action opens after a decision, so a reviewer can
go through the queue without touching the mouse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from workbench.review.decide import draft_text, text_diff
from workbench.review.stats import edit_distance, edit_ratio

NONE = "(none)"
"""How a missing segment or assignee shows in filters and the table."""

FILTER_COLUMNS: dict[str, str] = {
    "route": "Route",
    "segment": "Segment",
    "assignee": "Assignee",
    "run_id": "Run",
}
SEARCHED = ("account_name", "account_id", "subject", "body", "reasons", "assignee")

Sort = Literal["queue", "arr", "account", "held"]
SORT_WORDS: dict[Sort, str] = {
    "queue": "Queue order (oldest run, then priority)",
    "arr": "ARR, largest first",
    "account": "Account name",
    "held": "Held drafts first",
}

TABLE_COLUMNS = (
    "action_key", "account_name", "account_id", "route", "arm", "segment", "arr", "assignee",
    "run_id", "as_of", "held", "sampled", "subject", "reasons",
)  # fmt: skip


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; an empty tuple means "any"."""

    routes: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    runs: tuple[int, ...] = ()
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.routes or self.segments or self.assignees or self.runs or self.text)


def _labels(column: pd.Series) -> pd.Series:
    """Values as filter labels: text, with missing ones as ``(none)``."""
    return column.astype(object).where(column.notna(), NONE).astype(str)


def filter_options(pending: pd.DataFrame) -> dict[str, list[str] | list[int]]:
    """The values each filter can take in this queue, sorted (runs as numbers)."""
    options: dict[str, list[str] | list[int]] = {}
    for column in FILTER_COLUMNS:
        if column == "run_id":
            options[column] = sorted(int(r) for r in pending[column].dropna().unique())
        else:
            options[column] = sorted(set(_labels(pending[column])))
    return options


def apply_filter(pending: pd.DataFrame, f: QueueFilter) -> pd.DataFrame:
    """The rows of ``pending`` that pass ``f``, in their original order."""
    keep = pd.Series(True, index=pending.index)
    for column, chosen in (
        ("route", f.routes),
        ("segment", f.segments),
        ("assignee", f.assignees),
    ):
        if chosen:
            keep &= _labels(pending[column]).isin(chosen)
    if f.runs:
        keep &= pending["run_id"].isin(list(f.runs))
    text = f.text.strip()
    if text:
        hit = pd.Series(False, index=pending.index)
        for column in SEARCHED:
            hit |= (
                pending[column]
                .astype(object)
                .fillna("")
                .astype(str)
                .str.contains(text, case=False, regex=False)
            )
        keep &= hit
    return pending[keep].reset_index(drop=True)


def sort_queue(frame: pd.DataFrame, sort: Sort = "queue") -> pd.DataFrame:
    """The queue in the chosen order; ties keep the queue order (stable sorts)."""
    base = frame.sort_values(["run_id", "position"], kind="stable")
    if sort == "arr":
        base = base.sort_values("arr", ascending=False, kind="stable", na_position="last")
    elif sort == "account":
        base = base.sort_values(
            "account_name", key=lambda s: s.astype(str).str.lower(), kind="stable"
        )
    elif sort == "held":
        base = base.sort_values("held", ascending=False, kind="stable")
    return base.reset_index(drop=True)


def queue_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the queue table shows (``action_key`` kept to map a selection back)."""
    table = frame[list(TABLE_COLUMNS)].copy()
    for column in ("segment", "assignee"):
        table[column] = _labels(table[column])
    table["as_of"] = pd.to_datetime(table["as_of"]).dt.date
    return table.reset_index(drop=True)


def table_key(keys: Sequence[str]) -> str:
    """A short digest of the rows shown, so a table's selection resets when its rows change."""
    return hashlib.sha1("\n".join(keys).encode()).hexdigest()[:10]


def next_after(keys: Sequence[str], current: str, done: Sequence[str] = ()) -> str | None:
    """The action to open after deciding ``current`` (and ``done``): the next one in ``keys``,
    else the nearest earlier one still open, else None when the list is finished."""
    closed = {current, *done}
    if current not in keys:
        return next((k for k in keys if k not in closed), None)
    at = list(keys).index(current)
    after = [k for k in keys[at + 1 :] if k not in closed]
    if after:
        return after[0]
    before = [k for k in keys[:at] if k not in closed]
    return before[-1] if before else None


def newly_selected(selected: Sequence[str], before: Sequence[str]) -> str | None:
    """The row a click just added to a table selection (the last one), or None."""
    added = [k for k in selected if k not in set(before)]
    return added[-1] if added else None


@dataclass(frozen=True)
class EditPreview:
    """What an edit changes, measured as the decision will store it."""

    changed: bool
    diff: str
    distance: int
    ratio: float

    def sentence(self) -> str:
        if not self.changed:
            return "The text is unchanged: approve it instead."
        return (
            f"Edit distance {self.distance:,} character{'s' * (self.distance != 1)} "
            f"({self.ratio:.0%} of the draft)."
        )


def edit_preview(subject0: str, body0: str, subject: str, body: str) -> EditPreview:
    """The diff and edit distance of an edit (the same measure ``decide`` stores)."""
    before, after = draft_text(subject0, body0), draft_text(subject, body)
    if before == after:
        return EditPreview(False, "", 0, 0.0)
    return EditPreview(
        True, text_diff(before, after), edit_distance(before, after), edit_ratio(before, after)
    )


def reason_lines(reasons: object) -> list[str]:
    """The ``reasons`` text of an action as separate lines."""
    if reasons is None or (isinstance(reasons, float) and pd.isna(reasons)):
        return []
    return [r.strip() for r in str(reasons).split(" · ") if r.strip()]


def queue_counts(pending: pd.DataFrame) -> dict[str, int]:
    """Pending actions in total, held, and per route (for the headline)."""
    counts = {"pending": len(pending), "held": int(pending["held"].fillna(False).sum())}
    for route, n in pending["route"].value_counts().items():
        counts[str(route)] = int(n)
    return counts
