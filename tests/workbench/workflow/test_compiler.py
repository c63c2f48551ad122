"""The workflow compiler on the sample book: SQL decisions agree with Python, routes, labels."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from workbench.errors import WorkflowInvalid
from workbench.storage.migrate import migrate
from workbench.workflow import compiler
from workbench.workflow.compiler import (
    compile_workflow,
    evaluation,
    group_decide,
    pass_col,
    reasons,
    value_col,
)
from workbench.workflow.conditions import decide
from workbench.workflow.facts import default_as_of
from workbench.workflow.model import Workflow

DEFAULT_YAML = Path(compiler.__file__).with_name("default_workflow.yaml")
MAY1 = dt.date(2026, 5, 1)


def load(text: str) -> Workflow:
    return Workflow.model_validate(yaml.safe_load(text))


DEFAULT = load(DEFAULT_YAML.read_text("utf-8"))

NESTED = load(
    """
name: Nested
health:
  inputs:
    - {fact: active_users_change_pct, weight: 60, normalise: linear, worst: -40, best: 5}
    - fact: open_tickets
      weight: 40
      normalise: bands
      bands: [{at_least: 0, score: 100}, {at_least: 2, score: 50}, {at_least: 4, score: 0}]
scope:
  - {fact: segment, op: not_in, values: [Internal]}
  - {fact: arr, op: gt, value: 0}
conditions:
  any:
    - all:
        - {id: low_health, fact: health_score, op: lt, value: 70}
        - {id: renews, fact: renewal_date, op: within_days, days: 120}
    - all:
        - {id: usage_drop, op: change, metric: active_users, window_days: 14, pct: 25}
        - any:
            - {id: p1_open, fact: open_tickets_p1, op: ge, value: 1}
            - {id: detractor, fact: nps_category, op: in, values: [Detractor]}
            - {id: quiet, fact: days_since_touch, op: gt, value: 60}
    - {id: many_tickets, op: count, source: tickets_opened, within_days: 30, at_least: 3}
    - all:
        - {id: big, fact: arr, op: between, low: 100000, high: 400000}
        - {id: not_small, fact: segment, op: ne, value: smb}
        - {id: no_nps, fact: nps_score, op: is_missing}
escalation:
  - name: Big and unhappy
    route: manager
    when:
      all:
        - {fact: arr, op: ge, value: 200000}
        - any:
            - {fact: nps_score, op: le, value: 6}
            - {fact: csat_recent, op: lt, value: 3}
  - name: Touched lately
    route: human
    when: {fact: last_touch_date, op: within_days, days: 14, direction: last}
action: {type: alert, channel: "#cs-risk"}
"""
)


@pytest.fixture(scope="module")
def as_of(sample) -> dt.date:
    return default_as_of(sample)


def run(con, wf, as_of, label_days=None):
    with evaluation(con, wf, as_of, label_days) as ev:
        return ev.compiled, ev.frame()


@pytest.fixture(scope="module")
def default_run(sample, as_of):
    return run(sample, DEFAULT, as_of)


@pytest.fixture(scope="module")
def nested_run(sample, as_of):
    return run(sample, NESTED, as_of)


def missing_as_none(v):
    """pandas' missing markers as None (see test_conditions: decide() does not know NA/NaT)."""
    return None if v is pd.NA or v is pd.NaT else v


def python_decision(compiled, row, clean=missing_as_none):
    """fires, route and rule for one evaluated row, from decide() on the values alone."""
    ok = {c.id: decide(c.condition, clean(row[value_col(c.id)])) for c in compiled.leaves()}
    in_scope = all(ok[c.id] for c in compiled.scope)
    matches = group_decide(
        compiled.workflow.conditions, iter([ok[c.id] for c in compiled.conditions])
    )
    hit = next(
        (
            r
            for r in compiled.escalation
            if group_decide(r.group, iter([ok[c.id] for c in r.leaves]))
        ),
        None,
    )
    route_if_fired = hit.rule.route if hit else "automated"
    fires = bool(in_scope and matches)
    return {
        "fires": fires,
        "route": route_if_fired if fires else None,
        "route_if_fired": route_if_fired,
        "route_rule": hit.rule.name if hit else None,
    }


def nan_none(v):
    return None if v is None or (isinstance(v, float) and v != v) else v


def mismatches(compiled, df, clean=missing_as_none) -> list:
    out = []
    for leaf in compiled.leaves():
        values, oks = df[value_col(leaf.id)], df[pass_col(leaf.id)]
        for acc, v, ok in zip(df["account_id"], values, oks, strict=True):
            if bool(decide(leaf.condition, clean(v))) != bool(ok):
                out.append((leaf.id, acc, v, ok))
    return out


# --- the default workflow on the sample ----------------------------------------------------


def test_default_leaves(default_run):
    compiled, df = default_run
    assert [c.id for c in compiled.conditions] == ["health_below", "renews_soon"]
    assert [c.id for c in compiled.scope] == ["scope_0"]
    assert [[c.id for c in r.leaves] for r in compiled.escalation] == [
        ["esc0_0"],
        ["esc1_0"],
        ["esc2_0"],
        ["esc3_0"],
    ]
    for leaf in compiled.leaves():
        assert {value_col(leaf.id), pass_col(leaf.id)} <= set(df.columns)


def test_default_decide_equals_sql_for_every_leaf(default_run):
    compiled, df = default_run
    assert mismatches(compiled, df, clean=lambda v: v) == []


def test_default_groups(default_run):
    compiled, df = default_run
    wf = compiled.workflow
    leaves = [df[pass_col(c.id)] for c in compiled.conditions]
    assert group_decide(wf.conditions, iter(leaves)).equals(df["matches"])
    assert df["matches"].equals(df["ok__health_below"] & df["ok__renews_soon"])
    for r in compiled.escalation:
        hit = group_decide(r.group, iter([df[pass_col(c.id)] for c in r.leaves]))
        assert hit.equals(df[r.column])
    assert df["in_scope"].equals(df["ok__scope_0"])
    assert df["fires"].equals(df["in_scope"] & df["matches"])


def test_default_routes_follow_the_first_escalation_hit(default_run):
    compiled, df = default_run
    for row in df.to_dict("records"):
        want = python_decision(compiled, row, clean=lambda v: v)
        got = {k: nan_none(row[k]) for k in want}
        assert got == want, row["account_id"]


def test_default_firing_set_is_plausible(default_run):
    _, df = default_run
    active = len(df)
    assert active > 1500
    assert 0.01 * active <= df["fires"].sum() <= 0.10 * active
    routes = df.loc[df["fires"], "route"]
    assert {"automated", "human"} <= set(routes)
    assert routes.notna().all()
    assert df.loc[~df["fires"], "route"].isna().all()
    assert set(df["route_if_fired"]) <= {"automated", "human", "manager"}


def test_reasons(default_run):
    compiled, df = default_run
    row = df[df["fires"]].iloc[0].to_dict()
    got = reasons(compiled, row)
    assert len(got) == 2
    assert got[0].startswith("health score below 60: ")
    assert re.fullmatch(r"renewal date within the next 90 days: (today|in \d+ days)", got[1])


def test_condition_lookup(default_run):
    compiled, _ = default_run
    assert compiled.condition("renews_soon").sentence == "renewal date within the next 90 days"
    with pytest.raises(WorkflowInvalid) as exc:
        compiled.condition("nope")
    assert exc.value.message == "The workflow has no condition 'nope'."
    assert exc.value.hint == "Conditions: health_below, renews_soon."
    assert [c.id for c in compiled.sweepable] == ["health_below", "renews_soon"]


def workflow_strings(wf: Workflow) -> set[str]:
    """Every text value the author wrote into the conditions, scope and escalation."""
    out: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, v in node.items():
                if key in ("value", "values", "low", "high", "priority", "name", "route"):
                    walk_values(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    def walk_values(v):
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, str):
                out.add(x)

    dumped = wf.model_dump()
    walk([dumped["scope"], dumped["conditions"], dumped["escalation"]])
    return out


@pytest.mark.parametrize("which", ["default", "nested"])
def test_user_strings_only_in_params(sample, as_of, which):
    wf = DEFAULT if which == "default" else NESTED
    compiled = compile_workflow(sample, wf, as_of)
    strings = workflow_strings(wf)
    assert {"Enterprise", "High ARR", "human", "manager", "P1", "Detractor", "smb"} & strings
    for s in strings:
        assert s not in compiled.sql
        assert s.lower() in {str(v).lower() for v in compiled.params.values()}
    # No string literal is written into the SQL except date_diff's unit.
    assert set(re.findall(r"'[^']*'", compiled.sql)) == {"'day'"}
    for name, value in compiled.params.items():
        assert re.fullmatch(r"p\d+", name)
        if isinstance(value, list):
            assert all(isinstance(d, dt.date) for d in value)
        else:
            assert isinstance(value, str | int | float | dt.date)
        if isinstance(value, str):
            assert re.fullmatch(r"[\w \-]*", value), value
            assert "$" not in value and "select" not in value.lower()


# --- a nested workflow ------------------------------------------------------------------


def test_nested_matches_the_written_logic(nested_run):
    compiled, df = nested_run
    ok = {c.id: df[pass_col(c.id)] for c in compiled.conditions}
    written = (
        (ok["low_health"] & ok["renews"])
        | (ok["usage_drop"] & (ok["p1_open"] | ok["detractor"] | ok["quiet"]))
        | ok["many_tickets"]
        | (ok["big"] & ok["not_small"] & ok["no_nps"])
    )
    assert df["matches"].equals(written)
    grouped = group_decide(compiled.workflow.conditions, iter(ok.values()))
    assert df["matches"].equals(grouped)
    # every branch and leaf does something on the sample, so the test is not vacuous
    for c in compiled.conditions:
        assert df[pass_col(c.id)].any(), c.id
        assert not df[pass_col(c.id)].all(), c.id
    assert 0 < df["matches"].sum() < len(df)
    assert df["in_scope"].equals(df["ok__scope_0"] & df["ok__scope_1"])
    esc = {c.id: df[pass_col(c.id)] for r in compiled.escalation for c in r.leaves}
    assert df["esc__0"].equals(esc["esc0_0"] & (esc["esc0_1"] | esc["esc0_2"]))
    assert df["esc__1"].equals(esc["esc1_0"])


def test_nested_fires_sql(sample, as_of):
    with evaluation(sample, NESTED, as_of) as ev:
        everything = ev.frame()
        matched = ev.frame(ev.compiled.fires_sql())
        custom = ev.frame(ev.compiled.fires_sql(lambda c: f'"{pass_col(c.id)}" = true'))
        managers = ev.frame("route = $r", {"r": "manager"})
    expected = everything.loc[everything["matches"], "account_id"].tolist()
    assert matched["account_id"].tolist() == expected == custom["account_id"].tolist()
    assert set(managers["route"]) <= {"manager"}
    assert len(managers) == (everything["route"] == "manager").sum()


def test_nested_decide_equals_sql(nested_run):
    compiled, df = nested_run
    assert len(compiled.leaves()) == 10 + 2 + 4
    assert mismatches(compiled, df) == []


def test_nested_decide_on_raw_frame_values(nested_run):
    compiled, df = nested_run
    assert mismatches(compiled, df, clean=lambda v: v) == []


def test_nested_routes(nested_run):
    compiled, df = nested_run
    for row in df.to_dict("records"):
        want = python_decision(compiled, row)
        got = {k: nan_none(row[k]) for k in want}
        assert got == want, row["account_id"]
    assert df["fires"].equals(df["in_scope"] & df["matches"])


def test_several_dates_in_one_evaluation(sample, as_of):
    dates = [MAY1, as_of]
    _, both = run(sample, DEFAULT, dates)
    assert not both.duplicated(["account_id", "as_of"]).any()
    cols = ["account_id", "health_score", "fires", "route", "route_rule"]
    for d in dates:
        _, one = run(sample, DEFAULT, d)
        part = both[both["as_of"] == pd.Timestamp(d)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part[cols], one[cols])


# --- labels -------------------------------------------------------------------------------


def test_label_days_adds_churn_date(sample):
    compiled, df = run(sample, DEFAULT, MAY1, label_days=90)
    assert compiled.labelled and "churn_date" in df.columns
    labelled = df.dropna(subset=["churn_date"])
    assert len(labelled) > 10
    start, end = pd.Timestamp(MAY1), pd.Timestamp(MAY1 + dt.timedelta(days=90))
    assert ((labelled["churn_date"] >= start) & (labelled["churn_date"] < end)).all()
    # The same label computed from the outcomes table directly.
    outcomes = sample.execute("SELECT account_id, renewal_date, outcome FROM outcomes").df()
    assert set(outcomes["outcome"].str.lower()) == {"renewed", "churned", "downgraded"}
    churned = outcomes[
        (outcomes["outcome"].str.lower() == "churned")
        & (outcomes["renewal_date"] >= start)
        & (outcomes["renewal_date"] < end)
    ]
    first = churned.groupby("account_id")["renewal_date"].min()
    first = first[first.index.isin(df["account_id"])]
    pd.testing.assert_series_equal(
        labelled.set_index("account_id")["churn_date"].sort_index(),
        first.sort_index(),
        check_names=False,
    )


def test_no_label_without_label_days(default_run):
    compiled, df = default_run
    assert not compiled.labelled and "churn_date" not in df.columns


@pytest.fixture
def mem():
    con = duckdb.connect()
    migrate(con)
    yield con
    con.close()


SMALL = load(
    """
name: Small
health: {inputs: [{fact: arr, weight: 100, normalise: linear, worst: 0, best: 10}]}
conditions: {all: [{fact: arr, op: ge, value: 5}]}
action: {type: alert, channel: "#x"}
"""
)


def small_book(con, outcomes: str | None) -> None:
    con.execute("CREATE TABLE accounts (account_id VARCHAR, arr DOUBLE)")
    con.execute("INSERT INTO accounts VALUES ('A1', 4), ('A2', 6)")
    if outcomes:
        con.execute(f"CREATE TABLE outcomes ({outcomes})")


@pytest.mark.parametrize("outcomes", [None, "account_id VARCHAR, renewal_date DATE"])
def test_no_label_without_outcomes(mem, outcomes):
    small_book(mem, outcomes)
    compiled = compile_workflow(mem, SMALL, MAY1, label_days=90)
    assert not compiled.labelled
    assert "churn_date" not in compiled.sql


@pytest.mark.parametrize("outcomes", [None, "account_id VARCHAR, renewal_date DATE"])
def test_evaluation_without_outcomes(mem, outcomes):
    small_book(mem, outcomes)
    _, df = run(mem, SMALL, MAY1, label_days=90)
    assert df["fires"].tolist() == [False, True]
    assert "churn_date" not in df.columns


def test_small_book_with_outcomes(mem):
    small_book(mem, "account_id VARCHAR, renewal_date DATE, outcome VARCHAR")
    mem.execute("INSERT INTO outcomes VALUES ('A2', DATE '2026-06-01', 'Lost')")
    compiled, df = run(mem, SMALL, MAY1, label_days=32)
    assert compiled.labelled
    assert df["fires"].tolist() == [False, True]
    assert df["route"].tolist()[1] == "automated"
    assert df["churn_date"].tolist()[1] == pd.Timestamp("2026-06-01")
    _, df = run(mem, SMALL, MAY1, label_days=31)  # 06-01 is as_of + 31: outside
    assert df["churn_date"].isna().all()


# --- errors and the temporary table ---------------------------------------------------------


@pytest.mark.parametrize("tables", [[], ["CREATE TABLE usage (account_id VARCHAR, date DATE)"]])
def test_no_accounts_table(mem, tables):
    for sql in tables:
        mem.execute(sql)
    with pytest.raises(WorkflowInvalid) as exc:
        compile_workflow(mem, DEFAULT, MAY1)
    assert exc.value.message == (
        "The workspace has no accounts table, so there is nothing to evaluate."
    )
    assert "Import an accounts file" in exc.value.hint


def temp_tables(con) -> set[str]:
    return {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    }


def test_evaluation_table_is_dropped(sample, as_of):
    before = temp_tables(sample)
    with evaluation(sample, DEFAULT, as_of) as ev:
        name = ev.table.strip('"')
        assert name in temp_tables(sample)
        assert ev.as_of == (as_of,)
    assert temp_tables(sample) == before
    with pytest.raises(RuntimeError), evaluation(sample, DEFAULT, as_of):
        raise RuntimeError("boom")
    assert temp_tables(sample) == before


def with_(wf: Workflow, **update) -> Workflow:
    return Workflow.model_validate({**wf.model_dump(), **update})


@pytest.mark.parametrize("where", ["scope", "escalation"])
def test_change_window_outside_the_main_conditions(sample, as_of, where):
    change = {"op": "change", "metric": "active_users", "window_days": 14, "pct": 25}
    if where == "scope":
        wf = with_(DEFAULT, scope=[change])
    else:
        wf = with_(DEFAULT, escalation=[{"name": "Drop", "route": "human", "when": change}])
    compiled, df = run(sample, wf, as_of)
    (leaf,) = [c for c in compiled.leaves() if c.condition.op == "change"]
    assert leaf.value_sql == 'f."active_users_change_pct_14d"'
    assert mismatches(compiled, df) == []


@pytest.mark.parametrize(
    "update",
    [
        {
            "scope": [{"fact": "segment", "op": "eq", "value": "SMB"}],
            "conditions": {"all": [{"id": "scope_0", "fact": "arr", "op": "gt", "value": 1000}]},
        },
        {
            "conditions": {
                "all": [
                    {"id": "a-b", "op": "count", "source": "tickets_opened", "at_least": 1},
                    {"id": "a_b", "op": "count", "source": "csm_touches", "at_least": 1},
                ]
            }
        },
    ],
    ids=["scope_0", "cnt_a_b"],
)
def test_colliding_ids(sample, as_of, update):
    try:
        wf = with_(DEFAULT, **update)
        compiled, df = run(sample, wf, as_of)
    except (WorkflowInvalid, ValidationError):
        return  # rejecting the ids with a clear message is fine too
    assert mismatches(compiled, df) == []
