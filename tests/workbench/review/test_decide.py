"""Decisions: stored whole or not at all, every problem named, edits kept as a diff."""

from __future__ import annotations

import pytest

from workbench import audit
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, DecisionsRefused, record_decisions
from workbench.review.runs import run_workflow
from workbench.review.stats import edit_distance
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow
from workbench.workflow.store import latest


@pytest.fixture
def queue(book_copy):
    _, con = book_copy
    v = latest(con)
    wf = parse_workflow(v.yaml)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    run_workflow(con, wf, v.version, default_as_of(con), actor="Ana")
    return con, wf, store.pending(con, wf.name)


def _state(con):
    return (
        con.execute("SELECT count(*) FROM wb.reviews").fetchall()[0][0],
        audit.head(con),
        con.execute("SELECT count(*) FROM wb.gate_checks").fetchall()[0][0],
    )


def test_approve_edit_reject_are_stored_with_reviewer_reason_and_diff(queue):
    con, wf, q = queue
    k = list(q["action_key"][:3])
    body = q["body"].iloc[1]
    report = record_decisions(
        con,
        wf,
        [
            DecisionInput(k[0], "approved"),
            DecisionInput(k[1], "approved", body=body + "\nSee you Thursday.", comment="warmer"),
            DecisionInput(k[2], "rejected", reason="should_be_human", comment="CEO contact"),
        ],
        reviewer=" Dana ",
    )
    assert report.by_decision == {"approved": 1, "edited": 1, "rejected": 1}
    rows = store.reviewed(con, wf.name).set_index("action_key")
    assert rows.loc[k[0], "decision"] == "approved" and rows.loc[k[0], "reviewer"] == "Dana"
    edited = rows.loc[k[1]]
    assert edited["decision"] == "edited" and edited["comment"] == "warmer"
    assert "+See you Thursday." in edited["diff"]
    subject = q["subject"].iloc[1]
    assert edited["edit_distance"] == edit_distance(
        f"Subject: {subject}\n\n{body}", f"Subject: {subject}\n\n{body}\nSee you Thursday."
    )
    assert rows.loc[k[2], "reason"] == "should_be_human"
    assert len(store.pending(con, wf.name)) == len(q) - 3
    reviews = audit.entries(con, kind="review")
    assert len(reviews) == 3 and set(reviews["actor"]) == {"Dana"}
    assert audit.verify(con).ok


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda k: [DecisionInput("no-such-id", "approved")], "no action 'no-such-id'"),
        (lambda k: [DecisionInput(k[0], "maybe")], "is not one of approved, edited, rejected"),
        (lambda k: [DecisionInput(k[0], "rejected")], "a rejection needs a reason"),
        (lambda k: [DecisionInput(k[0], "rejected", reason="rude")], "reason 'rude' is not"),
        (lambda k: [DecisionInput(k[0], "edited")], "text is unchanged"),
        (
            lambda k: [DecisionInput(k[0], "approved"), DecisionInput(k[0], "rejected", "tone")],
            "decided twice",
        ),
    ],
    ids=["unknown", "invalid-decision", "no-reason", "bad-reason", "edit-unchanged", "twice"],
)
def test_a_bad_decision_refuses_the_whole_batch(queue, make, expect):
    con, wf, q = queue
    keys = list(q["action_key"][:3])
    good = [DecisionInput(keys[2], "approved")]
    before = _state(con)
    with pytest.raises(DecisionsRefused, match=expect) as err:
        record_decisions(con, wf, good + make(keys), reviewer="Dana")
    assert "No decision was recorded" in str(err.value)
    assert _state(con) == before


def test_already_decided_names_who_and_when(queue):
    con, wf, q = queue
    key = q["action_key"].iloc[0]
    record_decisions(con, wf, [DecisionInput(key, "approved")], reviewer="Dana")
    with pytest.raises(DecisionsRefused, match="already approved by Dana"):
        record_decisions(con, wf, [DecisionInput(key, "rejected", reason="tone")], reviewer="Eli")


def test_every_problem_is_listed_with_where_it_came_from(queue):
    con, wf, q = queue
    items = [
        DecisionInput("x1", "approved", where="row 2"),
        DecisionInput(q["action_key"].iloc[0], "nope", where="row 3"),
    ]
    with pytest.raises(DecisionsRefused) as err:
        record_decisions(con, wf, items, reviewer="Dana")
    assert [p.split(":")[0] for p in err.value.problems] == ["row 2", "row 3"]


def test_a_reviewer_name_is_required(queue):
    con, wf, q = queue
    with pytest.raises(Exception, match="who is reviewing"):
        record_decisions(con, wf, [DecisionInput(q["action_key"].iloc[0], "approved")],
                         reviewer="  ")  # fmt: skip
