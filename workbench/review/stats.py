"""Approval statistics for the review queue: Wilson intervals, tables, reasons, edits.

Everything here takes counts (or a decisions frame it reduces to counts) and
returns plain values; nothing reads the database or imports Streamlit.
Degenerate input (no reviews, a negative count, more approvals than reviews)
gives a result whose ``error_code`` and ``error`` say what is wrong instead of
raising, the way gbstats returns its default output.

Counting rule: an action that a reviewer **edited** and then let go is
counted as approved. The playbook's bar is "would have been approved", and an
edited draft was approved, only not as written. The tables also carry
"approved as-is" (no edit) so the two readings can be compared.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

Decision = Literal["approved", "edited", "rejected"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)

Reason = Literal[
    "wrong_account", "wrong_timing", "should_be_human", "factual_error", "tone", "policy"
]
REASONS: tuple[Reason, ...] = get_args(Reason)
REASON_WORDS: dict[str, str] = {
    "wrong_account": "wrong account: this account should not get this action",
    "wrong_timing": "wrong timing: right idea, wrong moment",
    "should_be_human": "should be human: a person should handle this one",
    "factual_error": "factual error: the draft or its reasons get a fact wrong",
    "tone": "tone: the wording does not fit the customer or the moment",
    "policy": "policy: the action or draft breaks a rule or commitment",
    "unspecified": "no reason given",
    "other": "other: a reason outside the list",
}

IntervalError = Literal["no_reviews", "negative_count", "more_approved_than_reviewed"]
INTERVAL_ERROR_WORDS: dict[IntervalError, str] = {
    "no_reviews": "no reviews yet",
    "negative_count": "a count is negative",
    "more_approved_than_reviewed": "more approved than reviewed",
}


@dataclass(frozen=True)
class Interval:
    """A proportion with its Wilson score interval.

    ``point``, ``low`` and ``high`` are None when ``error_code`` is set; ``error``
    is the code in plain words ("no reviews yet").
    """

    low: float | None
    high: float | None
    point: float | None
    n: int
    successes: float
    confidence: float = 0.95
    error_code: IntervalError | None = None

    @property
    def error(self) -> str | None:
        return INTERVAL_ERROR_WORDS[self.error_code] if self.error_code else None

    @property
    def ok(self) -> bool:
        return self.error_code is None


def interval_error(successes: float, n: float) -> IntervalError | None:
    """Why (successes, n) has no interval, or None when it has one."""
    if successes < 0 or n < 0:
        return "negative_count"
    if successes > n:
        return "more_approved_than_reviewed"
    if n == 0:
        return "no_reviews"
    return None


def wilson(successes: float, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n`` (statsmodels' ``wilson``).

    Args:
        successes: Approved actions. A fractional value is allowed (the gate uses
            one to project the current rate onto more reviews).
        n: Reviewed actions.
        confidence: Two-sided confidence level, for example 0.95.

    Returns:
        An ``Interval``; for no reviews, negative counts or more approvals than
        reviews it carries an ``error_code`` and no bounds.
    """
    code = interval_error(successes, n)
    if code is not None:
        return Interval(None, None, None, n, successes, confidence, code)
    low, high = proportion_confint(successes, n, alpha=_alpha(confidence), method="wilson")
    return Interval(float(low), float(high), successes / n, n, successes, confidence)


def _alpha(confidence: float) -> float:
    # 1 - 0.95 is 0.050000000000000044 in floating point; round so the bounds are
    # exactly statsmodels' for alpha=0.05.
    return round(1 - confidence, 12)


def _decisions(frame: pd.DataFrame) -> pd.Series:
    if "decision" not in frame.columns:
        raise ValueError("the decisions frame needs a 'decision' column")
    decided = frame["decision"].dropna()
    unknown = sorted(set(decided.astype(str)) - set(DECISIONS))
    if unknown:
        raise ValueError(f"unknown decisions {unknown}; expected one of {list(DECISIONS)}")
    return frame["decision"]


def approval_table(
    decisions: pd.DataFrame, by: Sequence[str] = (), confidence: float = 0.95
) -> pd.DataFrame:
    """Approval rate with its Wilson interval, overall or per group.

    Args:
        decisions: One row per decided action, with a ``decision`` column of
            ``approved``, ``edited`` or ``rejected`` (rows with no decision yet
            are skipped) and the grouping columns named in ``by``.
        by: Grouping columns, for example ``["route"]`` or ``["reviewer", "week"]``;
            empty for one overall row.
        confidence: Two-sided confidence level of the intervals.

    Returns:
        One row per group, sorted by the group columns: ``reviewed``,
        ``approved_as_is``, ``approved_after_edit``, ``rejected``, ``approved``
        (as-is plus after edit), ``rate``, ``low``, ``high`` for that rate, and
        ``as_is_rate``, ``as_is_low``, ``as_is_high``. An empty overall table is
        one row with zero counts and NaN rates.

    Raises:
        ValueError: A decision outside the three allowed values (a programming
            error upstream: the review queue only stores those three).
    """
    column = _decisions(decisions)
    rows = decisions.loc[column.notna()]
    counts = pd.DataFrame(
        {
            "approved_as_is": (rows["decision"] == "approved").astype("int64"),
            "approved_after_edit": (rows["decision"] == "edited").astype("int64"),
            "rejected": (rows["decision"] == "rejected").astype("int64"),
        }
    )
    keys = list(by)
    if keys:
        counts[keys] = rows[keys]
        table = counts.groupby(keys, dropna=False, sort=True).sum().reset_index()
    else:
        table = counts.sum().to_frame().T.astype("int64")
    table["approved"] = table["approved_as_is"] + table["approved_after_edit"]
    table["reviewed"] = table["approved"] + table["rejected"]
    for prefix, numerator in (("", "approved"), ("as_is_", "approved_as_is")):
        rate, low, high = _rates(table[numerator], table["reviewed"], confidence)
        table[f"{prefix}rate"] = rate
        table[f"{prefix}low"] = low
        table[f"{prefix}high"] = high
    order = [
        *keys,
        "reviewed",
        "approved_as_is",
        "approved_after_edit",
        "rejected",
        "approved",
        "rate",
        "low",
        "high",
        "as_is_rate",
        "as_is_low",
        "as_is_high",
    ]
    return table[order]


def _rates(
    k: pd.Series, n: pd.Series, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k_arr = k.to_numpy(dtype=float)
    n_arr = n.to_numpy(dtype=float)
    rate = np.full(len(n_arr), np.nan)
    low = np.full(len(n_arr), np.nan)
    high = np.full(len(n_arr), np.nan)
    seen = n_arr > 0
    if seen.any():
        rate[seen] = k_arr[seen] / n_arr[seen]
        lo, hi = proportion_confint(k_arr[seen], n_arr[seen], alpha=1 - confidence, method="wilson")
        low[seen] = lo
        high[seen] = hi
    return rate, low, high


def rejection_reasons(decisions: pd.DataFrame, include_zero: bool = True) -> pd.DataFrame:
    """Rejection reasons ranked by how often they were given.

    Args:
        decisions: Rows with ``decision`` and ``reason`` columns; only rejected
            rows count. A missing reason counts as ``unspecified``, a reason
            outside ``REASONS`` as ``other``.
        include_zero: Also list the structured reasons nobody gave (count 0), so
            a chart keeps the same bars from week to week.

    Returns:
        Columns ``reason``, ``label``, ``count``, ``share`` (of all rejections;
        NaN when there are none), most frequent first; ties keep the order of
        ``REASONS``.
    """
    column = _decisions(decisions)
    rejected = decisions.loc[column == "rejected"]
    raw = rejected["reason"] if "reason" in rejected.columns else pd.Series([None] * len(rejected))
    codes = [
        "unspecified" if _blank(r) else (str(r) if str(r) in REASONS else "other") for r in raw
    ]
    known: list[str] = [*REASONS, "other", "unspecified"]
    counts = dict.fromkeys(known, 0)
    for code in codes:
        counts[code] += 1
    total = len(codes)
    ranked = sorted(known, key=lambda c: (-counts[c], known.index(c)))
    keep = [c for c in ranked if counts[c] or (include_zero and c in REASONS)]
    return pd.DataFrame(
        {
            "reason": keep,
            "label": [REASON_WORDS[c] for c in keep],
            "count": pd.Series([counts[c] for c in keep], dtype="int64"),
            "share": [counts[c] / total if total else math.nan for c in keep],
        }
    )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two texts, in characters (exact).

    Insertions, deletions and substitutions each cost one. Uses Hyyrö's
    bit-parallel form of Myers' algorithm with Python integers as bit vectors,
    after stripping the common prefix and suffix: one pass over the longer text
    with a few big-integer operations per character, so a pair of 2,000
    character drafts takes milliseconds instead of the seconds a cell-by-cell
    table needs in pure Python.
    """
    if a == b:
        return 0
    start = 0
    stop = min(len(a), len(b))
    while start < stop and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    # b is the pattern held in the bit vectors; a is scanned character by character.
    m = len(b)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    pv, mv, score = full, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def edit_ratio(a: str, b: str) -> float:
    """Edit distance as a share of the longer text: 0 unchanged, 1 rewritten."""
    longest = max(len(a), len(b))
    return edit_distance(a, b) / longest if longest else 0.0


EDIT_BUCKETS: tuple[tuple[str, int, float], ...] = (
    ("unchanged", 0, 0),
    ("1 to 10 characters", 1, 10),
    ("11 to 50", 11, 50),
    ("51 to 200", 51, 200),
    ("201 to 1,000", 201, 1000),
    ("more than 1,000", 1001, math.inf),
)


@dataclass(frozen=True)
class EditSummary:
    """How much reviewers changed drafts; the figures are None when ``count`` is 0."""

    count: int
    unchanged: int
    mean: float | None
    median: float | None
    p90: float | None
    max: int | None
    buckets: tuple[tuple[str, int], ...]
    error_code: Literal["no_edits"] | None = None

    @property
    def error(self) -> str | None:
        return "no edited drafts yet" if self.error_code else None


def edit_summary(distances: Iterable[int]) -> EditSummary:
    """Distribution of edit distances (one per edited action) for the metrics page.

    ``p90`` is the 90th percentile by linear interpolation (numpy's default);
    ``buckets`` counts distances in the ``EDIT_BUCKETS`` ranges, every range
    listed even when empty.
    """
    values = sorted(int(d) for d in distances)
    buckets = tuple(
        (label, sum(1 for d in values if lo <= d <= hi)) for label, lo, hi in EDIT_BUCKETS
    )
    if not values:
        return EditSummary(0, 0, None, None, None, None, buckets, "no_edits")
    return EditSummary(
        count=len(values),
        unchanged=sum(1 for d in values if d == 0),
        mean=statistics.fmean(values),
        median=float(statistics.median(values)),
        p90=float(np.percentile(values, 90)),
        max=values[-1],
        buckets=buckets,
    )
