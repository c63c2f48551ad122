"""The Outcomes page's weekly chart: its frame and what it says while it has one week."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from workbench.ui.outcomes_charts import one_week_words, weekly_frame


def frame(rows: list[tuple[str, date, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": [a for a, _, _ in rows],
            "assigned_on": [d for _, d, _ in rows],
            "segment": ["SMB"] * len(rows),
            "renewed": [float("nan") if v is None else v for _, _, v in rows],
        }
    )


def test_the_weekly_frame_counts_accounts_with_an_outcome_per_monday_and_arm():
    df = frame(
        [
            ("ai", date(2026, 10, 13), 1.0),  # a Tuesday: week of Monday 12 Oct
            ("ai", date(2026, 10, 18), 0.0),  # the Sunday of the same week
            ("control", date(2026, 10, 12), 1.0),
            ("ai", date(2026, 10, 19), None),  # no outcome: not counted
        ]
    )
    got = weekly_frame(df, "renewed")
    assert list(got["week"]) == [pd.Timestamp("2026-10-12")] * 2
    assert dict(zip(got["arm"], got["accounts"], strict=True)) == {"AI-handled": 2, "Control": 1}
    assert dict(zip(got["arm"], got["mean"], strict=True)) == {"AI-handled": 0.5, "Control": 1.0}


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([("ai", date(2026, 10, 13), 1.0)] * 2, "Every account so far was assigned on 2026-10-13"),
        (
            [("ai", date(2026, 10, 13), 1.0), ("csm", date(2026, 10, 16), 0.0)],
            "Every account so far was assigned in the week of 2026-10-12",
        ),
        (
            # The second week's accounts have no outcome yet: they were still assigned.
            [("ai", date(2026, 10, 13), 1.0), ("csm", date(2026, 10, 25), None)],
            "Only accounts assigned in the week of 2026-10-12 have an outcome so far "
            "(accounts were assigned in 2 weeks)",
        ),
    ],
)
def test_one_week_says_why_there_are_no_lines_yet(rows, words):
    df = frame(rows)
    data = weekly_frame(df, "renewed")
    assert data["week"].nunique() == 1
    assert one_week_words(df, data).startswith(words)
