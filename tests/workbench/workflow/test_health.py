"""The health score: normalisation, missing inputs, golden numbers, and the breakdown."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import pytest
import yaml
from pydantic import ValidationError

from workbench.errors import WorkflowInvalid
from workbench.storage.migrate import migrate
from workbench.storage.sql import Params
from workbench.workflow import compiler
from workbench.workflow.compiler import compile_workflow, evaluation
from workbench.workflow.facts import Fact, FactsQuery, default_as_of
from workbench.workflow.health import breakdown, breakdown_frame, health_select
from workbench.workflow.model import HealthScore, Workflow

D = dt.date(2026, 3, 1)
DEFAULT_YAML = Path(compiler.__file__).with_name("default_workflow.yaml")


@pytest.fixture
def con():
    """In-memory workspace database; accounts carry the health inputs as plain columns."""
    c = duckdb.connect()
    migrate(c)
    c.execute("CREATE TABLE accounts (account_id VARCHAR, a DOUBLE, b DOUBLE, c BIGINT)")
    # An (empty) outcomes table keeps these tests off a facts bug, see test_facts.py.
    c.execute("CREATE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR)")
    yield c
    c.close()


def workflow(health: dict) -> Workflow:
    return Workflow.model_validate(
        {
            "name": "health",
            "health": health,
            "conditions": {"all": [{"fact": "account_id", "op": "is_present"}]},
            "action": {"type": "alert", "channel": "#x"},
        }
    )


def scored(con, health: dict, rows: list[tuple]) -> list[dict]:
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", [list(r) for r in rows])
    with evaluation(con, workflow(health), D) as ev:
        return ev.frame().to_dict("records")


def none_if_nan(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def single(con, spec: dict, values: list, missing: str = "skip") -> list[tuple]:
    """(input score, health score) of one input (weight 100), one account per value."""
    rows = [(f"K{i:02}", v, None, None) for i, v in enumerate(values)]
    health = {"missing": missing, "inputs": [{"fact": "a", "weight": 100, **spec}]}
    out = scored(con, health, rows)
    return [(none_if_nan(r["hs__a"]), none_if_nan(r["health_score"])) for r in out]


LINEAR = [
    (
        {"worst": 0, "best": 200},
        [-50, 0, 50, 100, 200, 300],
        [0, 0, 25, 50, 100, 100],
    ),
    # worst above best: fewer is better (days since the last touch)
    (
        {"worst": 90, "best": 14},
        [0, 14, 33, 52, 90, 120],
        [100, 100, 75, 50, 0, 0],
    ),
    (
        {"worst": -40, "best": 5},
        [-100, -40, -17.5, 5, 50],
        [0, 0, 50, 100, 100],
    ),
]


@pytest.mark.parametrize("spec,values,expected", LINEAR)
def test_linear(con, spec, values, expected):
    got = single(con, {"normalise": "linear", **spec}, values)
    assert [round(s, 6) for s, _ in got] == expected
    assert [round(h, 6) for _, h in got] == expected


BANDS = [
    # written in any order: the highest band the value reaches wins
    (
        [{"at_least": 1, "score": 40}, {"at_least": 0, "score": 100}, {"at_least": 2, "score": 0}],
        [-1, 0, 0.5, 1, 1.99, 2, 7, None],
        [0, 100, 100, 40, 40, 0, 0, None],
    ),
    # below every band scores 0
    (
        [{"at_least": 10, "score": 50}, {"at_least": 20, "score": 100}],
        [5, 9.99, 10, 19, 20, 25, None],
        [0, 0, 50, 50, 100, 100, None],
    ),
]


@pytest.mark.parametrize("bands,values,expected", BANDS)
def test_bands(con, bands, values, expected):
    got = single(con, {"normalise": "bands", "bands": bands}, values)
    assert [s for s, _ in got] == expected
    # one input: the score is the input's score; a missing one leaves no score (skip)
    assert [h for _, h in got] == expected


def test_bands_missing_neutral(con):
    bands = [{"at_least": 0, "score": 100}]
    assert single(con, {"normalise": "bands", "bands": bands}, [None, 3], "neutral") == [
        (None, 50.0),
        (100.0, 100.0),
    ]


@pytest.mark.parametrize("missing,expected", [("skip", (None, None)), ("neutral", (None, 50.0))])
def test_linear_missing_stays_missing(con, missing, expected):
    assert single(con, {"normalise": "linear", "worst": 0, "best": 10}, [None], missing) == [
        expected
    ]


THREE = [
    {"fact": "a", "weight": 50, "normalise": "linear", "worst": 0, "best": 100},
    {"fact": "b", "weight": 30, "normalise": "linear", "worst": 0, "best": 10},
    {
        "fact": "c",
        "weight": 20,
        "normalise": "bands",
        "bands": [
            {"at_least": 0, "score": 100},
            {"at_least": 1, "score": 40},
            {"at_least": 2, "score": 0},
        ],
    },
]

# a: 80 -> 80, b: 5 -> 50, c: 1 -> 40
#   all present: (50*80 + 30*50 + 20*40) / 100 = 63
#   c missing, skip: (50*80 + 30*50) / 80 = 68.75; neutral: (4000 + 1500 + 20*50) / 100 = 65
# a: -10 -> 0 (clipped), b: 12 -> 100 (clipped), c: 5 -> 0: 3000 / 100 = 30
POLICY_ROWS = [("K1", 80, 5, 1), ("K2", 80, 5, None), ("K3", -10, 12, 5)]


@pytest.mark.parametrize("missing,k2", [("skip", 68.75), ("neutral", 65.0)])
def test_golden_scores(con, missing, k2):
    out = scored(con, {"missing": missing, "inputs": THREE}, POLICY_ROWS)
    assert [round(r["health_score"], 6) for r in out] == [63.0, k2, 30.0]
    assert [r["hs__a"] for r in out] == [80.0, 80.0, 0.0]
    assert [r["hs__b"] for r in out] == [50.0, 50.0, 100.0]
    assert none_if_nan(out[1]["hs__c"]) is None


@pytest.mark.parametrize("missing,k4", [("skip", 6000 / 70), ("neutral", 75.0)])
def test_golden_scores_missing_linear_input(con, missing, k4):
    # a: 80 -> 80, b missing, c: 0 -> 100
    #   skip: (50*80 + 20*100) / 70 = 85.714...; neutral: (4000 + 30*50 + 2000) / 100 = 75
    out = scored(con, {"missing": missing, "inputs": THREE}, [("K4", 80, None, 0)])
    assert out[0]["health_score"] == pytest.approx(k4)


BANDS_ONLY = [
    {"fact": "a", "weight": 60, "normalise": "bands", "bands": [{"at_least": 0, "score": 80}]},
    {"fact": "c", "weight": 40, "normalise": "bands", "bands": [{"at_least": 0, "score": 30}]},
]


@pytest.mark.parametrize("missing,expected", [("skip", None), ("neutral", 50.0)])
def test_every_input_missing(con, missing, expected):
    out = scored(con, {"missing": missing, "inputs": BANDS_ONLY}, [("K", None, None, None)])
    assert none_if_nan(out[0]["health_score"]) == expected


def test_breakdown_golden(con):
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", [list(r) for r in POLICY_ROWS])
    for missing, weights, points, score in [
        ("skip", [62.5, 37.5, 0.0], [50.0, 18.75, 0.0], 68.75),
        ("neutral", [50.0, 30.0, 20.0], [40.0, 15.0, 10.0], 65.0),
    ]:
        health = {"missing": missing, "inputs": THREE}
        with evaluation(con, workflow(health), D) as ev:
            row = ev.frame().to_dict("records")[1]  # K2: c missing
        parts = breakdown(ev.compiled.workflow.health, row)
        assert [p.fact for p in parts] == ["a", "b", "c"]
        assert [p.score for p in parts] == [80.0, 50.0, None]
        assert [p.weight for p in parts] == [50, 30, 20]
        assert [round(p.effective_weight, 9) for p in parts] == weights
        assert [round(p.points, 9) for p in parts] == points
        assert sum(p.points for p in parts) == pytest.approx(row["health_score"]) == score
        assert parts[0].note == "linear: 0 scores 0, 100 scores 100"
        assert parts[2].note == (
            "missing: left out, other weights scaled up"
            if missing == "skip"
            else "missing: scored neutral (50)"
        )


def test_breakdown_frame(con):
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", [list(r) for r in POLICY_ROWS])
    health = {"missing": "skip", "inputs": THREE}
    with evaluation(con, workflow(health), D) as ev:
        row = ev.frame().to_dict("records")[0]  # K1
    df = breakdown_frame(ev.compiled.workflow.health, row)
    assert df.columns.tolist() == [
        "input",
        "value",
        "score (0-100)",
        "weight",
        "weight used",
        "points",
        "how it is scored",
    ]
    assert df["input"].tolist() == ["a", "b", "c"]
    assert df["value"].tolist() == ["80", "5", "1"]
    assert df["points"].tolist() == [40.0, 15.0, 8.0]
    assert df["how it is scored"].iloc[2] == "bands: ≥0 → 100, ≥1 → 40, ≥2 → 0"


# --- errors and validation ----------------------------------------------------------------

FACTS = FactsQuery(
    (),
    "",
    (
        Fact("account_id", "text", "accounts", ""),
        Fact("arr", "number", "accounts", ""),
        Fact("segment", "text", "accounts", ""),
        Fact("renewal_date", "date", "accounts", ""),
        Fact("nps_score", "number", "surveys", ""),
    ),
)


@pytest.mark.parametrize(
    "fact,what",
    [
        ("segment", "is text, not a number"),
        ("renewal_date", "is date, not a number"),
        ("health", "does not exist in this workspace"),
    ],
)
def test_input_must_be_a_number_fact(fact, what):
    health = HealthScore.model_validate(
        {
            "inputs": [
                {"fact": "arr", "weight": 50, "worst": 0, "best": 1},
                {"fact": fact, "weight": 50, "worst": 0, "best": 1},
            ]
        }
    )
    with pytest.raises(WorkflowInvalid) as exc:
        health_select(health, FACTS, Params())
    assert exc.value.message == f"Health input health.inputs[1] uses '{fact}', which {what}."
    assert exc.value.hint == "Use one of the number facts: arr, nps_score."


def test_input_error_through_the_compiler(con):
    wf = workflow({"inputs": [{"fact": "nps_score", "weight": 100, "worst": 0, "best": 10}]})
    with pytest.raises(WorkflowInvalid) as exc:
        compile_workflow(con, wf, D)
    assert "'nps_score', which does not exist" in exc.value.message
    assert exc.value.hint == "Use one of the number facts: arr, days_to_renewal, a, b, c."


FACTS_ABC = FactsQuery((), "", tuple(Fact(n, "number", "accounts", "") for n in "abc"))


def test_health_values_are_params():
    params = Params()
    items, score = health_select(HealthScore.model_validate({"inputs": THREE}), FACTS_ABC, params)
    text = re.sub(r"\$p\d+", "", " ".join([*items, score]))
    assert set(re.findall(r"\d+(?:\.\d+)?", text)) <= {"0", "0.0", "100", "100.0"}
    # a: worst, span; b: worst, span; c: bands from the highest; then the weights
    assert list(params.values.values()) == [
        0.0,
        100.0,
        0.0,
        10.0,
        2.0,
        0.0,
        1.0,
        40.0,
        0.0,
        100.0,
        50.0,
        30.0,
        20.0,
    ]


@pytest.mark.parametrize(
    "inputs,message",
    [
        (
            [{"fact": "a", "weight": 50, "worst": 0, "best": 1}],
            "weights sum to 50; they must sum to 100",
        ),
        (
            [
                {"fact": "a", "weight": 60, "worst": 0, "best": 1},
                {"fact": "b", "weight": 60, "worst": 0, "best": 1},
            ],
            "weights sum to 120; they must sum to 100",
        ),
        (
            [
                {"fact": "a", "weight": 50, "worst": 0, "best": 1},
                {"fact": "a", "weight": 50, "worst": 0, "best": 2},
            ],
            "each fact can be a health input only once",
        ),
        (
            [{"fact": "a", "weight": 100, "worst": 0}],
            "linear normalisation needs 'worst' and 'best'",
        ),
        ([{"fact": "a", "weight": 100, "worst": 3, "best": 3}], "'worst' and 'best' must differ"),
        (
            [{"fact": "a", "weight": 100, "normalise": "bands", "bands": []}],
            "bands normalisation needs at least one band",
        ),
        ([{"fact": "a", "weight": 0, "worst": 0, "best": 1}], "greater than 0"),
        ([], "at least 1 item"),
    ],
)
def test_health_model_validation(inputs, message):
    with pytest.raises(ValidationError, match=message):
        HealthScore.model_validate({"inputs": inputs})


def test_weights_summing_to_100_with_fractions():
    thirds = [{"fact": f, "weight": 100 / 3, "worst": 0, "best": 1} for f in "abc"]
    assert len(HealthScore.model_validate({"inputs": thirds}).inputs) == 3


# --- the sample book ----------------------------------------------------------------------


def default_workflow(missing: str) -> Workflow:
    wf = Workflow.model_validate(yaml.safe_load(DEFAULT_YAML.read_text("utf-8")))
    return wf.model_copy(update={"health": wf.health.model_copy(update={"missing": missing})})


@pytest.mark.parametrize("missing", ["skip", "neutral"])
def test_breakdown_adds_up_for_every_sample_account(sample, missing):
    wf = default_workflow(missing)
    with evaluation(sample, wf, default_as_of(sample)) as ev:
        rows = ev.frame().to_dict("records")
    assert len(rows) > 1000
    for row in rows:
        parts = breakdown(wf.health, row)
        score = none_if_nan(row["health_score"])
        if score is None:
            assert all(p.score is None for p in parts)
            continue
        assert sum(p.points for p in parts) == pytest.approx(score, abs=1e-9), row["account_id"]
        assert 0 <= score <= 100
        assert sum(p.effective_weight for p in parts) == pytest.approx(100)


def test_input_scores_missing_exactly_when_the_fact_is(sample):
    wf = default_workflow("skip")
    with evaluation(sample, wf, default_as_of(sample)) as ev:
        df = ev.frame()
    assert df["nps_score"].isna().any()
    for inp in wf.health.inputs:
        assert (df[f"hs__{inp.fact}"].isna() == df[inp.fact].isna()).all(), inp.fact
