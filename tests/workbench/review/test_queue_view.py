"""The review queue's shaping: filters, sorts, the table, the next action, the edit preview."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.review.decide import draft_text
from workbench.review.queue_view import (
    NONE,
    TABLE_COLUMNS,
    QueueFilter,
    apply_filter,
    edit_preview,
    filter_options,
    newly_selected,
    next_after,
    queue_counts,
    queue_table,
    reason_lines,
    sort_queue,
    table_key,
)
from workbench.review.stats import edit_distance


def _queue() -> pd.DataFrame:
    rows = [
        # key, run, pos, name, id, route, segment, arr, assignee, held, subject, body, reasons
        ("k1", 1, 0, "Acme", "A1", "automated", "SMB", 10.0, "Dana", False, "Hi Acme", "b1", "x · y"),
        ("k2", 1, 1, "beta", "B2", "human", None, 50.0, None, True, "Renewal", "b2", "z"),
        ("k3", 2, 0, "Crest", "C3", "automated", "Enterprise", None, "Ravi", False, "S", "Discount", ""),
        ("k4", 2, 1, "delta", "D4", "manager", "SMB", 30.0, "Dana", True, "S", "b4", None),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "action_key", "run_id", "position", "account_name", "account_id", "route",
            "segment", "arr", "assignee", "held", "subject", "body", "reasons",
        ],
    )  # fmt: skip
    frame["as_of"] = pd.Timestamp("2026-10-11")
    frame["sampled"] = False
    frame["arm"] = ["ai", None, "csm", None]
    # The store returns the queue in run and priority order; shuffle to prove sort_queue orders.
    return frame.iloc[[2, 0, 3, 1]].reset_index(drop=True)


def _keys(frame: pd.DataFrame) -> list[str]:
    return list(frame["action_key"])


def test_filter_options_list_each_value_once_with_missing_as_none():
    options = filter_options(_queue())
    assert options["route"] == ["automated", "human", "manager"]
    assert options["segment"] == [NONE, "Enterprise", "SMB"]
    assert options["assignee"] == [NONE, "Dana", "Ravi"]
    assert options["run_id"] == [1, 2]


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (QueueFilter(), ["k3", "k1", "k4", "k2"]),
        (QueueFilter(routes=("automated",)), ["k3", "k1"]),
        (QueueFilter(routes=("automated", "manager")), ["k3", "k1", "k4"]),
        (QueueFilter(segments=(NONE,)), ["k2"]),
        (QueueFilter(segments=("SMB",), assignees=("Dana",)), ["k1", "k4"]),
        (QueueFilter(assignees=(NONE,)), ["k2"]),
        (QueueFilter(runs=(1,)), ["k1", "k2"]),
        (QueueFilter(text="ACME"), ["k1"]),  # case-insensitive, account name
        (QueueFilter(text="d4"), ["k4"]),  # account id
        (QueueFilter(text="discount"), ["k3"]),  # body
        (QueueFilter(text=" renewal "), ["k2"]),  # subject, surrounding spaces ignored
        (QueueFilter(text="x · y"), ["k1"]),  # reasons
        (QueueFilter(text="ravi"), ["k3"]),  # assignee
        (QueueFilter(text="(."), []),  # literal, not a regular expression
        (QueueFilter(routes=("automated",), text="crest"), ["k3"]),
    ],
)
def test_apply_filter(f, expected):
    assert _keys(apply_filter(_queue(), f)) == expected


def test_filter_active():
    assert not QueueFilter().active
    assert QueueFilter(text="x").active and QueueFilter(runs=(1,)).active


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("queue", ["k1", "k2", "k3", "k4"]),
        ("arr", ["k2", "k4", "k1", "k3"]),  # missing ARR last
        ("account", ["k1", "k2", "k3", "k4"]),  # case-insensitive
        ("held", ["k2", "k4", "k1", "k3"]),  # held first, then queue order
    ],
)
def test_sort_queue(sort, expected):
    assert _keys(sort_queue(_queue(), sort)) == expected


def test_queue_table_columns_and_labels():
    table = queue_table(sort_queue(_queue()))
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table.loc[1, "segment"] == NONE and table.loc[1, "assignee"] == NONE
    assert str(table.loc[0, "as_of"]) == "2026-10-11"


def test_table_key_changes_with_the_rows():
    assert table_key(["a", "b"]) == table_key(["a", "b"])
    assert table_key(["a", "b"]) != table_key(["b", "a"])
    assert table_key(["a", "b"]) != table_key(["a"])
    assert len(table_key([])) == 10


@pytest.mark.parametrize(
    ("current", "done", "expected"),
    [
        ("b", (), "c"),
        ("d", (), "c"),  # the last one: back to the nearest earlier
        ("b", ("c",), "d"),  # skip what was decided with it
        ("d", ("c", "b"), "a"),
        ("a", ("b", "c", "d"), None),  # all done
        ("zz", (), "a"),  # unknown current: the first open one
        ("zz", ("a",), "b"),
    ],
)
def test_next_after(current, done, expected):
    assert next_after(["a", "b", "c", "d"], current, done) == expected


def test_next_after_empty_queue():
    assert next_after([], "a") is None


def test_newly_selected():
    assert newly_selected(["a", "b"], ["a"]) == "b"
    assert newly_selected(["a", "c", "b"], []) == "b"
    assert newly_selected(["a"], ["a", "b"]) is None  # a row was unselected
    assert newly_selected([], []) is None


def test_edit_preview_measures_what_decide_stores():
    p = edit_preview("Hello", "Line one\nLine two", "Hello there", "Line one\nLine 2")
    before = draft_text("Hello", "Line one\nLine two")
    after = draft_text("Hello there", "Line one\nLine 2")
    assert p.changed
    assert p.distance == edit_distance(before, after) == 9
    assert p.ratio == pytest.approx(9 / len(after))
    assert "-Subject: Hello\n+Subject: Hello there" in p.diff
    assert "-Line two\n+Line 2" in p.diff
    assert p.sentence() == f"Edit distance 9 characters ({9 / len(after):.0%} of the draft)."


def test_edit_preview_unchanged():
    p = edit_preview("S", "B", "S", "B")
    assert not p.changed and p.distance == 0 and p.diff == ""
    assert p.sentence() == "The text is unchanged: approve it instead."


def test_edit_preview_one_character():
    assert edit_preview("S", "B", "S", "C").sentence().startswith("Edit distance 1 character (")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("health below 60: 35 · renewal in 69 days", ["health below 60: 35", "renewal in 69 days"]),
        ("one", ["one"]),
        ("", []),
        (None, []),
        (float("nan"), []),
    ],
)
def test_reason_lines(text, expected):
    assert reason_lines(text) == expected


def test_queue_counts():
    assert queue_counts(_queue()) == {
        "pending": 4,
        "held": 2,
        "automated": 2,
        "human": 1,
        "manager": 1,
    }
