"""Approval metrics from the reviewed actions: every table the Approval page and the pack show.

``approval_metrics`` reduces ``store.reviewed(...)`` to the overall rate and the rates by
route, segment, action type, reviewer and week (each with its Wilson interval), the ranked
rejection reasons, the edit-distance distribution and the gate's verdict. Pure: it takes the
frame and the gate rule, so the page, the CLI, the monthly pack and tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from workbench.review.gate import GateRule, GateVerdict, evaluate
from workbench.review.stats import (
    EditSummary,
    approval_table,
    edit_summary,
    rejection_reasons,
)

BREAKDOWNS: dict[str, str] = {
    "route": "Route",
    "segment": "Segment",
    "action_type": "Action type",
    "reviewer": "Reviewer",
    "week": "Week",
}
GATE_ROUTE = "automated"


@dataclass(frozen=True)
class ApprovalMetrics:
    """Everything about the reviews so far.

    Attributes:
        overall: One row (``stats.approval_table`` columns) over every reviewed action.
        by: Breakdown name (``BREAKDOWNS``) -> its approval table.
        reasons: Rejection reasons ranked (``stats.rejection_reasons``).
        edits: The edit-distance distribution of edited actions.
        gate: The gate on the automated route's reviews.
        reviewed: How many actions were reviewed.
    """

    overall: pd.DataFrame
    by: dict[str, pd.DataFrame]
    reasons: pd.DataFrame
    edits: EditSummary
    gate: GateVerdict
    reviewed: int

    @property
    def empty(self) -> bool:
        return self.reviewed == 0


def gate_on(reviewed: pd.DataFrame, rule: GateRule) -> GateVerdict:
    """The gate on the automated-route reviews in ``reviewed``."""
    auto = reviewed[reviewed["route"] == GATE_ROUTE] if len(reviewed) else reviewed
    approved = int(auto["decision"].isin(["approved", "edited"]).sum()) if len(auto) else 0
    return evaluate(approved, len(auto), rule)


def approval_metrics(reviewed: pd.DataFrame, rule: GateRule) -> ApprovalMetrics:
    """All the metrics from the decided actions (``store.reviewed``) and the gate rule."""
    frame = reviewed.copy()
    for column in BREAKDOWNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "(none)")
    distances = frame.loc[frame["decision"] == "edited", "edit_distance"].dropna()
    return ApprovalMetrics(
        overall=approval_table(frame, confidence=rule.confidence),
        by={k: approval_table(frame, [k], rule.confidence) for k in BREAKDOWNS},
        reasons=rejection_reasons(frame),
        edits=edit_summary(int(d) for d in distances),
        gate=gate_on(frame, rule),
        reviewed=len(frame),
    )
