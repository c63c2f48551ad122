"""The scripted shadow period on the sample book drives the gate, as a workshop would see it."""

from __future__ import annotations

from statsmodels.stats.proportion import proportion_confint

from workbench import audit
from workbench.review import store
from workbench.review.control import current_mode, gate_counts
from workbench.review.simulate import GOOD, WORSE, SimulatedReviewer, shadow_period, week_dates
from workbench.workflow.facts import default_as_of
from workbench.workflow.store import latest


def _period(con, reviewer, weeks=6):
    v = latest(con)
    return v, shadow_period(
        con, v.workflow, v.version, week_dates(default_as_of(con), weeks), reviewer
    )


def test_a_good_shadow_period_moves_the_gate_from_not_enough_to_passes(book_copy):
    _, con = book_copy
    v, weeks = _period(con, GOOD)
    statuses = [w.gate.status for w in weeks]
    assert statuses[0] == "not_enough_reviews"
    assert statuses[-1] == "passes"
    # It passes only once enough reviews are in: the first pass comes after a
    # "needs more" or "not enough" week, never straight away.
    first_pass = statuses.index("passes")
    assert first_pass >= 2
    assert current_mode(con, v.name) == "shadow"
    # The verdict's numbers are statsmodels' Wilson interval on the stored counts.
    approved, reviewed = gate_counts(con, v.name)
    low, high = proportion_confint(approved, reviewed, alpha=0.05, method="wilson")
    last = weeks[-1].gate
    assert (last.approved, last.reviewed) == (approved, reviewed)
    assert round(last.low, 9) == round(low, 9) and round(last.high, 9) == round(high, 9)
    assert f"{approved} of {reviewed} approved" in last.sentence
    # Every week reviewed everything its run proposed; the log holds it all, intact.
    assert store.pending(con, v.name).empty
    assert len(store.runs(con, v.name)) == 6
    assert set(store.reviewed(con, v.name)["source"]) == {"simulated"}
    assert audit.verify(con).ok


def test_a_worse_reviewer_makes_the_gate_fail(book_copy):
    _, con = book_copy
    _, weeks = _period(con, WORSE, weeks=3)
    assert weeks[0].gate.status == "not_enough_reviews"
    assert weeks[-1].gate.status == "fails"
    assert "fails: the approval rate is below the 90% target" in weeks[-1].gate.sentence


def test_the_simulated_reviewer_is_seeded():
    a = SimulatedReviewer(seed=3)
    b = SimulatedReviewer(seed=3)
    decisions = [a.decide(f"k{i}", "s", "b") for i in range(200)]
    assert decisions == [b.decide(f"k{i}", "s", "b") for i in range(200)]
    rejected = [d for d in decisions if d.decision == "rejected"]
    assert all(d.reason for d in rejected)
    assert 0 < len(rejected) < 20  # about 3% of 200
