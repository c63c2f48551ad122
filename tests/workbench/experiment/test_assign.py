"""Assignment: deterministic permuted blocks within segment x ARR band, stable across runs."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import audit
from workbench.experiment import store as exp_store
from workbench.experiment.assign import assign_new, band_label, block, block_counts, stratum_of
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.runs import run_workflow
from workbench.storage.workspace import connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import parse_workflow
from workbench.workflow.model import Allocation, Experiment
from workbench.workflow.store import latest

ALLOC = {"ai": 45.0, "csm": 45.0, "control": 10.0}


@pytest.mark.parametrize(
    ("percents", "expected"),
    [
        (ALLOC, {"ai": 9, "csm": 9, "control": 2}),
        ({"ai": 50, "csm": 50, "control": 0}, {"ai": 1, "csm": 1, "control": 0}),
        ({"ai": 100, "csm": 0, "control": 0}, {"ai": 1, "csm": 0, "control": 0}),
        ({"ai": 60, "csm": 20, "control": 20}, {"ai": 3, "csm": 1, "control": 1}),
        ({"ai": 33.3, "csm": 33.3, "control": 33.4}, {"ai": 1, "csm": 1, "control": 1}),
    ],
)
def test_block_counts_are_the_allocation_in_whole_slots(percents, expected):
    assert block_counts(percents) == expected


@pytest.mark.parametrize(
    ("arr", "label"),
    [
        (None, "ARR unknown"),
        (float("nan"), "ARR unknown"),
        (0.0, "under 25,000"),
        (24_999.99, "under 25,000"),
        (25_000.0, "25,000 to 100,000"),
        (99_999.0, "25,000 to 100,000"),
        (100_000.0, "100,000 and over"),
    ],
)
def test_band_edges_belong_to_the_band_above(arr, label):
    assert band_label(arr, [25_000, 100_000]) == label


def test_stratum_names_segment_and_band():
    assert stratum_of("SMB", 10_000.0, [25_000]) == "SMB · under 25,000"
    assert stratum_of(None, 10_000.0, [25_000]) == "no segment · under 25,000"


def test_a_block_is_a_permutation_of_the_allocation_and_stable():
    counts = block_counts(ALLOC)
    b = block("salt", "SMB · under 25,000", 3, counts)
    assert sorted(b) == sorted(["ai"] * 9 + ["csm"] * 9 + ["control"] * 2)
    assert b == block("salt", "SMB · under 25,000", 3, counts)
    others = [block("salt", "SMB · under 25,000", n, counts) for n in range(10)]
    assert len({tuple(o) for o in others}) > 1  # blocks are shuffled differently


def _book(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.choice(["SMB", "Mid-Market", "Enterprise"], n, p=[0.6, 0.3, 0.1])
    arr = rng.lognormal(10.5, 1.0, n)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "stratum": [stratum_of(s, a, [25_000, 100_000]) for s, a in zip(seg, arr, strict=True)],
        }
    )


def test_every_stratum_is_balanced_to_within_one_block():
    book = _book(10_000)
    out = assign_new(book, {}, ALLOC, "exp-1")
    assert len(out) == len(book) and set(out["account_id"]) == set(book["account_id"])
    counts = block_counts(ALLOC)
    size = sum(counts.values())
    for stratum, group in out.groupby("stratum"):
        n = len(group)
        full, rest = divmod(n, size)
        for arm, slots in counts.items():
            got = int((group["arm"] == arm).sum())
            # Full blocks hold exactly the allocation; the open block at most its slots.
            assert full * slots <= got <= full * slots + min(slots, rest), (stratum, arm)
        assert sorted(group["position"]) == list(range(n))


def test_overall_proportions_match_the_allocation_within_sampling_error():
    out = assign_new(_book(10_000, seed=11), {}, ALLOC, "exp-2")
    observed = [int((out["arm"] == a).sum()) for a in ("ai", "csm", "control")]
    expected = [10_000 * ALLOC[a] / 100 for a in ("ai", "csm", "control")]
    assert stats.chisquare(observed, expected).pvalue > 0.05
    assert abs(observed[2] / 10_000 - 0.10) < 3 * (0.1 * 0.9 / 10_000) ** 0.5


def test_assignment_is_deterministic_and_depends_on_the_salt():
    book = _book(500)
    a = assign_new(book, {}, ALLOC, "exp-1")
    b = assign_new(book.sample(frac=1, random_state=5), {}, ALLOC, "exp-1")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    c = assign_new(book, {}, ALLOC, "exp-2").set_index("account_id")["arm"]
    assert (a.set_index("account_id")["arm"] != c.loc[a["account_id"]].values).any()


def test_later_entries_continue_the_strata_blocks():
    book = _book(400)
    first = assign_new(book.iloc[:150], {}, ALLOC, "s")
    taken = first["stratum"].value_counts().to_dict()
    second = assign_new(book.iloc[150:], taken, ALLOC, "s")
    both = pd.concat([first, second])
    for _, group in both.groupby("stratum"):
        assert sorted(group["position"]) == list(range(len(group)))


# --- In runs, on the sample book ------------------------------------------------------------


def _wf(con, **experiment):
    v = latest(con)
    wf = parse_workflow(v.yaml)
    if experiment:
        e = Experiment(**{**wf.experiment.model_dump(), **experiment})
        wf = wf.model_copy(update={"experiment": e})
    return wf, v.version, default_as_of(con)


@pytest.fixture
def con(sample_copy):
    con = connect(sample_copy)
    yield con
    con.close()


def test_runs_assign_eligible_accounts_once_and_they_keep_their_arm(con):
    wf, version, as_of = _wf(con)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    first = run_workflow(con, wf, version, as_of - timedelta(days=14), actor="Ana")
    exp = exp_store.current_experiment(con, wf.name)
    assert exp is not None and first.experiment_id == exp.experiment_id
    before = exp_store.assignments(con, exp.experiment_id)
    assert len(before) == sum(first.assigned.values()) > 0
    assert set(before["arm"]) <= {"ai", "csm", "control"}
    key = exp_store.experiment_version(con)
    second = run_workflow(con, wf, version, as_of - timedelta(days=7), actor="Ana")
    assert second.assigned and exp_store.experiment_version(con) != key  # the page's cache key
    after = exp_store.assignments(con, exp.experiment_id)
    assert after["account_id"].is_unique
    kept = after.set_index("account_id").loc[before["account_id"], "arm"]
    assert list(kept) == list(before["arm"])  # nobody changed arm
    assert len(after) == len(before) + sum(second.assigned.values())
    # Actions carry the arm; control accounts get none; escalations are outside the experiment.
    acts = store.actions(con, wf.name)
    auto = acts[acts["route"] == "automated"]
    arm_of = after.set_index("account_id")["arm"]
    assert list(auto["arm"]) == list(arm_of.loc[auto["account_id"]])
    assert "control" not in set(auto["arm"])
    assert acts.loc[acts["route"] != "automated", "arm"].isna().all()
    skipped = set(first.plan.skipped["reason"]) | set(second.plan.skipped["reason"])
    assert ("control" in skipped) == bool((after["arm"] == "control").any())
    # Only accounts a run acted on (or held out as control) are in the experiment: none was
    # skipped for a cap or the cooldown without an arm's action.
    acted = set(auto["account_id"])
    non_control = set(after.loc[after["arm"] != "control", "account_id"])
    assert non_control == acted
    # Covariates are recorded as they were at assignment.
    assert after["health_score"].notna().all() and after["stratum"].str.contains(" · ").all()


def test_a_changed_allocation_starts_a_new_experiment(con):
    wf, version, as_of = _wf(con)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    run_workflow(con, wf, version, as_of - timedelta(days=7), actor="Ana")
    old = exp_store.current_experiment(con, wf.name)
    # Changing only the metrics keeps the experiment.
    wf2, _, _ = _wf(con, metrics=["renewed"])
    run_workflow(con, wf2, version, as_of - timedelta(days=6), actor="Ana")
    assert exp_store.current_experiment(con, wf.name).experiment_id == old.experiment_id
    kept = exp_store.assignments(con, old.experiment_id)
    wf3, _, _ = _wf(con, allocation=Allocation(ai=60, csm=20, control=20))
    out = run_workflow(con, wf3, version, as_of, actor="Ana")
    new = exp_store.current_experiment(con, wf.name)
    assert new.experiment_id != old.experiment_id and out.experiment_id == new.experiment_id
    assert "allocation ai 45% / csm 45% / control 10% -> ai 60% / csm 20% / control 20%" in (
        new.reason
    )
    ended = exp_store.get_experiment(con, old.experiment_id)
    assert ended.ended_at is not None
    pd.testing.assert_frame_equal(exp_store.assignments(con, old.experiment_id), kept)
    entries = audit.entries(con, kind="experiment")
    assert len(entries) == 2 and audit.verify(con).ok


def test_a_stopped_run_stores_no_experiment_and_no_assignment(con):
    from workbench.errors import WorkbenchError

    wf, version, as_of = _wf(con)
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    with pytest.raises(WorkbenchError, match="stopped"):
        run_workflow(con, wf, version, as_of, actor="Ana", should_stop=lambda: True)
    assert con.execute("SELECT count(*) FROM wb.experiments").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM wb.assignments").fetchall()[0][0] == 0


def test_over_the_cap_accounts_join_no_arm_and_control_frees_its_place(con):
    from workbench.workflow.model import Guardrails

    wf, version, as_of = _wf(con, allocation=Allocation(ai=40, csm=30, control=30))
    rails = Guardrails(**{**wf.guardrails.model_dump(), "max_actions_per_run": 10})
    wf = wf.model_copy(update={"guardrails": rails})
    change_mode(con, wf, "shadow", actor="Ana", reason="start")
    out = run_workflow(con, wf, version, as_of, actor="Ana")
    arms = exp_store.assignments(con, out.experiment_id)
    acts = store.actions(con, wf.name)
    assert len(acts) == 10  # the cap holds; control accounts did not take places in it
    auto = acts[acts["route"] == "automated"]
    in_arms = arms[arms["arm"] != "control"]
    assert set(in_arms["account_id"]) == set(auto["account_id"])
    assert (arms["arm"] == "control").sum() == (out.plan.skipped["reason"] == "control").sum()
    assert (out.plan.skipped["reason"] == "run_cap").sum() > 0
    over = set(out.plan.skipped.loc[out.plan.skipped["reason"] == "run_cap", "account_id"])
    assert not over & set(arms["account_id"])  # over the cap: no arm
