"""One condition at a time: exact SQL, parameters and sentence; errors; ``decide`` vs the SQL."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from workbench.errors import WorkflowInvalid
from workbench.storage.sql import Params, quote_ident
from workbench.storage.tables import list_tables
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.compiler import compile_workflow, evaluation
from workbench.workflow.conditions import compile_condition, decide, describe_value
from workbench.workflow.facts import Fact, FactsQuery
from workbench.workflow.model import Condition, Workflow

D = dt.date(2026, 3, 1)
CONDITION = TypeAdapter(Condition)

# A hand-made facts catalogue: compile_condition reads only names, types and sources.
FACTS = FactsQuery(
    (),
    "",
    (
        Fact("account_id", "text", "accounts", ""),
        Fact("as_of", "date", "facts", ""),
        Fact("arr", "number", "accounts", ""),
        Fact("renewal_date", "date", "accounts", ""),
        Fact("segment", "text", "accounts", ""),
        Fact("is_strategic", "boolean", "accounts", ""),
        Fact("health_score", "number", "workflow", ""),
        Fact("active_users_change_pct", "number", "usage", ""),
        Fact("active_users_change_pct_14d", "number", "usage", ""),
        Fact("logins_change_pct", "number", "usage", ""),
        Fact("open_tickets", "number", "tickets", ""),
        Fact("open_tickets_p1", "number", "tickets", ""),
        Fact("nps_score", "number", "surveys", ""),
        Fact("nps_category", "text", "surveys", ""),
        Fact("last_touch_date", "date", "activity", ""),
        Fact("days_since_touch", "number", "activity", ""),
    ),
    30,
)

NASTY = ["x'; DROP TABLE accounts; --", 'Robert"); DELETE FROM usage', "O'Brien"]


def cond(**kw):
    return CONDITION.validate_python(kw)


def compiled(**kw):
    return compile_condition("c", cond(**kw), FACTS, Params())


def cnt_cte(table: str, where: str) -> str:
    return (
        f'cnt_c AS (SELECT x.account_id, d.as_of, count(*) AS n FROM "{table}" x '
        f"JOIN dates d ON {where} GROUP BY ALL)"
    )


CNT_JOIN = "LEFT JOIN cnt_c ON cnt_c.account_id = f.account_id AND cnt_c.as_of = f.as_of"
OPEN = "(x.closed_at IS NULL OR x.closed_at >= d.as_of)"
MAR1 = dt.date(2026, 3, 1)

# (condition, value_sql, pass_sql, params, sentence)
CASES = [
    # numbers
    (
        {"op": "lt", "fact": "health_score", "value": 60},
        'f."health_score"',
        "coalesce({v} < $p0, false)",
        {"p0": 60.0},
        "health score below 60",
    ),
    (
        {"op": "le", "fact": "arr", "value": 250000},
        'f."arr"',
        "coalesce({v} <= $p0, false)",
        {"p0": 250000.0},
        "ARR at most 250,000",
    ),
    (
        {"op": "gt", "fact": "days_since_touch", "value": 30},
        'f."days_since_touch"',
        "coalesce({v} > $p0, false)",
        {"p0": 30.0},
        "days since touch above 30",
    ),
    (
        {"op": "ge", "fact": "arr", "value": 250000.5},
        'f."arr"',
        "coalesce({v} >= $p0, false)",
        {"p0": 250000.5},
        "ARR at least 250,000.5",
    ),
    (
        {"op": "eq", "fact": "nps_score", "value": 7},
        'f."nps_score"',
        "coalesce({v} = $p0, false)",
        {"p0": 7.0},
        "NPS score is 7",
    ),
    (
        {"op": "ne", "fact": "open_tickets_p1", "value": 0},
        'f."open_tickets_p1"',
        "coalesce({v} <> $p0, false)",
        {"p0": 0.0},
        "open P1 tickets is not 0",
    ),
    # dates: ISO text or a date, both become a date parameter
    (
        {"op": "lt", "fact": "renewal_date", "value": "2026-03-01"},
        'f."renewal_date"',
        "coalesce({v} < $p0, false)",
        {"p0": MAR1},
        "renewal date below 2026-03-01",
    ),
    (
        {"op": "le", "fact": "renewal_date", "value": MAR1},
        'f."renewal_date"',
        "coalesce({v} <= $p0, false)",
        {"p0": MAR1},
        "renewal date at most 2026-03-01",
    ),
    (
        {"op": "gt", "fact": "last_touch_date", "value": "2026-03-01"},
        'f."last_touch_date"',
        "coalesce({v} > $p0, false)",
        {"p0": MAR1},
        "last touch date above 2026-03-01",
    ),
    (
        {"op": "ge", "fact": "renewal_date", "value": "2026-03-01"},
        'f."renewal_date"',
        "coalesce({v} >= $p0, false)",
        {"p0": MAR1},
        "renewal date at least 2026-03-01",
    ),
    (
        {"op": "eq", "fact": "renewal_date", "value": "2026-03-01"},
        'f."renewal_date"',
        "coalesce({v} = $p0, false)",
        {"p0": MAR1},
        "renewal date is 2026-03-01",
    ),
    (
        {"op": "ne", "fact": "renewal_date", "value": MAR1},
        'f."renewal_date"',
        "coalesce({v} <> $p0, false)",
        {"p0": MAR1},
        "renewal date is not 2026-03-01",
    ),
    # text: eq / ne ignore case (both sides lower-cased, the value as a parameter)
    (
        {"op": "eq", "fact": "segment", "value": "Enterprise"},
        'f."segment"',
        "coalesce(lower({v}) = $p0, false)",
        {"p0": "enterprise"},
        "segment is Enterprise",
    ),
    (
        {"op": "ne", "fact": "nps_category", "value": "Detractor"},
        'f."nps_category"',
        "coalesce(lower({v}) <> $p0, false)",
        {"p0": "detractor"},
        "NPS category is not Detractor",
    ),
    # between (inclusive)
    (
        {"op": "between", "fact": "arr", "low": 1000, "high": 5000},
        'f."arr"',
        "coalesce({v} BETWEEN $p0 AND $p1, false)",
        {"p0": 1000.0, "p1": 5000.0},
        "ARR between 1,000 and 5,000",
    ),
    (
        {"op": "between", "fact": "renewal_date", "low": "2026-01-01", "high": "2026-03-31"},
        'f."renewal_date"',
        "coalesce({v} BETWEEN $p0 AND $p1, false)",
        {"p0": dt.date(2026, 1, 1), "p1": dt.date(2026, 3, 31)},
        "renewal date between 2026-01-01 and 2026-03-31",
    ),
    # in / not_in
    (
        {"op": "in", "fact": "segment", "values": ["SMB", "Mid-Market"]},
        'f."segment"',
        "coalesce(lower({v}) IN ($p0, $p1), false)",
        {"p0": "smb", "p1": "mid-market"},
        "segment is one of SMB, Mid-Market",
    ),
    (
        {"op": "not_in", "fact": "segment", "values": ["Enterprise"]},
        'f."segment"',
        "coalesce(lower({v}) NOT IN ($p0), false)",
        {"p0": "enterprise"},
        "segment is none of Enterprise",
    ),
    (
        {"op": "in", "fact": "nps_score", "values": [9, 10]},
        'f."nps_score"',
        "coalesce({v} IN ($p0, $p1), false)",
        {"p0": 9.0, "p1": 10.0},
        "NPS score is one of 9, 10",
    ),
    (
        {"op": "not_in", "fact": "renewal_date", "values": ["2026-03-01", dt.date(2026, 6, 1)]},
        'f."renewal_date"',
        "coalesce({v} NOT IN ($p0, $p1), false)",
        {"p0": MAR1, "p1": dt.date(2026, 6, 1)},
        "renewal date is none of 2026-03-01, 2026-06-01",
    ),
    # is_missing / is_present
    (
        {"op": "is_missing", "fact": "nps_score"},
        'f."nps_score"',
        "({v} IS NULL)",
        {},
        "NPS score is missing",
    ),
    (
        {"op": "is_present", "fact": "last_touch_date"},
        'f."last_touch_date"',
        "({v} IS NOT NULL)",
        {},
        "last touch date is known",
    ),
    # within_days: the value is a day count relative to the as-of date
    (
        {"op": "within_days", "fact": "renewal_date", "days": 90},
        "date_diff('day', f.as_of, f.\"renewal_date\")",
        "coalesce({v} BETWEEN 0 AND $p0, false)",
        {"p0": 90},
        "renewal date within the next 90 days",
    ),
    (
        {"op": "within_days", "fact": "last_touch_date", "days": 14, "direction": "last"},
        "date_diff('day', f.\"last_touch_date\", f.as_of)",
        "coalesce({v} BETWEEN 0 AND $p0, false)",
        {"p0": 14},
        "last touch date within the last 14 days",
    ),
    # change: the default window reads <metric>_change_pct, another window _<N>d
    (
        {"op": "change", "metric": "active_users", "pct": 20},
        'f."active_users_change_pct"',
        "coalesce({v} < -$p0, false)",
        {"p0": 20.0},
        "active users down more than 20% (last 30 days vs the 30 before)",
    ),
    (
        {"op": "change", "metric": "logins", "window_days": 30, "direction": "up", "pct": 50},
        'f."logins_change_pct"',
        "coalesce({v} > $p0, false)",
        {"p0": 50.0},
        "logins up more than 50% (last 30 days vs the 30 before)",
    ),
    (
        {"op": "change", "metric": "active_users", "window_days": 14, "pct": 12.5},
        'f."active_users_change_pct_14d"',
        "coalesce({v} < -$p0, false)",
        {"p0": 12.5},
        "active users down more than 12.5% (last 14 days vs the 14 before)",
    ),
    (
        {
            "op": "change",
            "metric": "active_users",
            "window_days": 14,
            "direction": "up",
            "pct": 10,
        },
        'f."active_users_change_pct_14d"',
        "coalesce({v} > $p0, false)",
        {"p0": 10.0},
        "active users up more than 10% (last 14 days vs the 14 before)",
    ),
    # count, every source, with and without priority / within_days
    (
        {"op": "count", "source": "open_tickets", "at_least": 1},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p0, false)",
        {"p0": 1},
        "at least 1 open ticket",
    ),
    (
        {"op": "count", "source": "open_tickets", "priority": ["P1", "p2"], "at_least": 2},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p2, false)",
        {"p0": "p1", "p1": "p2", "p2": 2},
        "at least 2 open P1/p2 tickets",
    ),
    (
        {"op": "count", "source": "tickets_opened", "at_least": 3},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p1, false)",
        {"p0": 90, "p1": 3},
        "at least 3 tickets opened in the last 90 days",
    ),
    (
        {
            "op": "count",
            "source": "tickets_opened",
            "priority": ["P1"],
            "within_days": 30,
            "at_least": 1,
        },
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p2, false)",
        {"p0": 30, "p1": "p1", "p2": 1},
        "at least 1 P1 ticket opened in the last 30 days",
    ),
    (
        {"op": "count", "source": "csm_touches", "at_least": 4},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p1, false)",
        {"p0": 90, "p1": 4},
        "at least 4 CSM touches in the last 90 days",
    ),
    (
        {"op": "count", "source": "csm_touches", "within_days": 30, "at_least": 0},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p1, false)",
        {"p0": 30, "p1": 0},
        "at least 0 CSM touches in the last 30 days",
    ),
    (
        {"op": "count", "source": "survey_responses", "at_least": 1},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p1, false)",
        {"p0": 365, "p1": 1},
        "at least 1 survey response in the last 365 days",
    ),
    (
        {"op": "count", "source": "survey_responses", "within_days": 180, "at_least": 2},
        "coalesce(cnt_c.n, 0)",
        "coalesce({v} >= $p1, false)",
        {"p0": 180, "p1": 2},
        "at least 2 survey responses in the last 180 days",
    ),
]

# The CTE each count case needs, by sentence.
COUNT_CTES = {
    "at least 1 open ticket": cnt_cte("tickets", f'x."opened_at" < d.as_of AND {OPEN}'),
    "at least 2 open P1/p2 tickets": cnt_cte(
        "tickets", f'x."opened_at" < d.as_of AND {OPEN} AND lower(x.priority) IN ($p0, $p1)'
    ),
    "at least 3 tickets opened in the last 90 days": cnt_cte(
        "tickets", 'x."opened_at" < d.as_of AND x."opened_at" >= d.as_of - $p0::INTEGER'
    ),
    "at least 1 P1 ticket opened in the last 30 days": cnt_cte(
        "tickets",
        'x."opened_at" < d.as_of AND x."opened_at" >= d.as_of - $p0::INTEGER '
        "AND lower(x.priority) IN ($p1)",
    ),
    "at least 4 CSM touches in the last 90 days": cnt_cte(
        "activity", 'x."date" < d.as_of AND x."date" >= d.as_of - $p0::INTEGER'
    ),
    "at least 0 CSM touches in the last 30 days": cnt_cte(
        "activity", 'x."date" < d.as_of AND x."date" >= d.as_of - $p0::INTEGER'
    ),
    "at least 1 survey response in the last 365 days": cnt_cte(
        "surveys", 'x."responded_at" < d.as_of AND x."responded_at" >= d.as_of - $p0::INTEGER'
    ),
    "at least 2 survey responses in the last 180 days": cnt_cte(
        "surveys", 'x."responded_at" < d.as_of AND x."responded_at" >= d.as_of - $p0::INTEGER'
    ),
}


@pytest.mark.parametrize(
    "spec,value_sql,pass_sql,params,sentence", CASES, ids=[c[4] for c in CASES]
)
def test_compile_condition(spec, value_sql, pass_sql, params, sentence):
    c = compiled(**spec)
    assert c.value_sql == value_sql
    assert c.pass_sql == pass_sql
    assert c.params == params
    assert c.sentence == sentence
    if sentence in COUNT_CTES:
        assert c.ctes == (COUNT_CTES[sentence],)
        assert c.joins == (CNT_JOIN,)
    else:
        assert c.ctes == () and c.joins == ()


def test_params_are_typed_as_the_fact():
    assert type(compiled(op="lt", fact="arr", value=60).params["p0"]) is float
    assert type(compiled(op="eq", fact="renewal_date", value="2026-03-01").params["p0"]) is dt.date
    assert compiled(op="eq", fact="segment", value=5).params == {"p0": "5"}


def test_params_continue_the_statement_numbering():
    p = Params()
    p.add("earlier")
    c = compile_condition("c", cond(op="lt", fact="arr", value=5), FACTS, p)
    assert c.pass_sql == "coalesce({v} < $p1, false)"
    assert c.params == {"p1": 5.0}
    assert p.values == {"p0": "earlier", "p1": 5.0}


@pytest.mark.parametrize(
    "spec,threshold,unit",
    [
        ({"op": "lt", "fact": "health_score", "value": 60}, 60.0, ""),
        ({"op": "ge", "fact": "renewal_date", "value": "2026-03-01"}, None, ""),
        ({"op": "eq", "fact": "segment", "value": "SMB"}, None, ""),
        ({"op": "between", "fact": "arr", "low": 1, "high": 2}, None, ""),
        ({"op": "within_days", "fact": "renewal_date", "days": 90}, 90.0, "days"),
        ({"op": "change", "metric": "active_users", "pct": 20}, 20.0, "%"),
        ({"op": "count", "source": "open_tickets", "at_least": 2}, 2.0, ""),
    ],
)
def test_threshold_and_unit(spec, threshold, unit):
    c = compiled(**spec)
    assert (c.threshold, c.unit) == (threshold, unit)


@pytest.mark.parametrize(
    "spec,sql",
    [
        ({"op": "lt", "fact": "health_score", "value": 60}, "coalesce(v < $t, false)"),
        ({"op": "ge", "fact": "arr", "value": 60}, "coalesce(v >= $t, false)"),
        (
            {"op": "within_days", "fact": "renewal_date", "days": 90},
            "coalesce(v BETWEEN 0 AND $t, false)",
        ),
        ({"op": "change", "metric": "active_users", "pct": 20}, "coalesce(v < -($t), false)"),
        (
            {"op": "change", "metric": "logins", "direction": "up", "pct": 20},
            "coalesce(v > $t, false)",
        ),
        ({"op": "count", "source": "csm_touches", "at_least": 2}, "coalesce(v >= $t, false)"),
    ],
)
def test_sweep_pass(spec, sql):
    assert compiled(**spec).sweep_pass("v", "$t") == sql


def test_sweep_pass_needs_a_threshold():
    with pytest.raises(WorkflowInvalid, match="no numeric threshold to sweep"):
        compiled(op="in", fact="segment", values=["SMB"]).sweep_pass("v", "$t")


def test_pass_on_and_with_threshold():
    c = compiled(op="lt", fact="health_score", value=60)
    assert c.pass_on('v."v__c"') == 'coalesce(v."v__c" < $p0, false)'
    assert c.with_threshold(55).value == 55
    w = compiled(op="within_days", fact="renewal_date", days=90)
    assert w.with_threshold(30.0).days == 30
    with pytest.raises(WorkflowInvalid, match="no numeric threshold"):
        compiled(op="is_missing", fact="nps_score").with_threshold(1)


@pytest.mark.parametrize(
    "spec,value,text",
    [
        ({"op": "within_days", "fact": "renewal_date", "days": 90}, 12, "in 12 days"),
        ({"op": "within_days", "fact": "renewal_date", "days": 90}, 0, "today"),
        ({"op": "within_days", "fact": "renewal_date", "days": 90}, -3, "3 days ago"),
        (
            {"op": "within_days", "fact": "last_touch_date", "days": 9, "direction": "last"},
            5,
            "5 days ago",
        ),
        ({"op": "change", "metric": "active_users", "pct": 20}, -25.04, "-25.0%"),
        ({"op": "lt", "fact": "arr", "value": 5}, 120000.0, "120,000"),
        ({"op": "lt", "fact": "arr", "value": 5}, float("nan"), "missing"),
        ({"op": "eq", "fact": "segment", "value": "x"}, None, "missing"),
    ],
)
def test_describe_value(spec, value, text):
    assert describe_value(cond(**spec), value) == text


def test_reason_joins_sentence_and_value():
    c = compiled(op="lt", fact="health_score", value=60)
    assert c.reason(42.36) == "health score below 60: 42.4"


# --- values stay data ------------------------------------------------------------------


@pytest.mark.parametrize("nasty", NASTY)
@pytest.mark.parametrize(
    "spec",
    [
        {"op": "eq", "fact": "segment"},
        {"op": "ne", "fact": "segment"},
        {"op": "in", "fact": "segment"},
        {"op": "count", "source": "open_tickets", "at_least": 1},
    ],
    ids=["eq", "ne", "in", "count_priority"],
)
def test_literal_values_only_in_params(spec, nasty):
    spec = dict(spec)
    if spec["op"] == "in":
        spec["values"] = ["SMB", nasty]
    elif spec["op"] == "count":
        spec["priority"] = [nasty]
    else:
        spec["value"] = nasty
    c = compiled(**spec)
    text = " ".join([c.value_sql, c.pass_sql, *c.ctes, *c.joins]).lower()
    for fragment in (nasty.lower(), "drop", "delete", "brien", "'"):
        assert fragment not in text
    assert nasty.lower() in c.params.values()


@pytest.fixture
def nasty_con(tmp_path: Path):
    """Accounts whose segment values look like SQL, and one ticket each."""
    con = connect(Workspace(tmp_path / "ws"))
    con.execute("CREATE TABLE accounts (account_id VARCHAR, segment VARCHAR, arr DOUBLE)")
    con.execute(
        "INSERT INTO accounts VALUES ('N0', ?, 1), ('N1', ?, 2), ('N2', ?, 3), ('OK', 'SMB', 4)",
        NASTY,
    )
    con.execute("CREATE TABLE usage (account_id VARCHAR, date DATE, active_users BIGINT)")
    con.execute("INSERT INTO usage VALUES ('N1', DATE '2026-02-01', 5)")
    con.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, "
        "closed_at TIMESTAMP, priority VARCHAR)"
    )
    con.execute(
        "INSERT INTO tickets VALUES ('T1', 'N2', TIMESTAMP '2026-02-01 10:00', NULL, ?)",
        [NASTY[0]],
    )
    # An (empty) outcomes table: see test_facts for workspaces without one.
    con.execute("CREATE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR)")
    yield con
    con.close()


def snapshot(con) -> dict[str, list]:
    return {
        t.name: sorted(con.execute(f'SELECT * FROM "{t.name}"').fetchall(), key=repr)
        for t in list_tables(con)
    }


def nasty_workflow(conditions: dict, escalation: list | None = None) -> Workflow:
    return Workflow.model_validate(
        {
            "name": "nasty",
            "health": {
                "inputs": [
                    {"fact": "arr", "weight": 100, "normalise": "linear", "worst": 0, "best": 4}
                ]
            },
            "conditions": conditions,
            "escalation": escalation or [],
            "action": {"type": "alert", "channel": "#x"},
        }
    )


@pytest.mark.parametrize("i", range(len(NASTY)))
def test_sql_looking_values_match_as_data(nasty_con, i):
    before = snapshot(nasty_con)
    wf = nasty_workflow(
        {"all": [{"id": "seg", "fact": "segment", "op": "eq", "value": NASTY[i]}]},
        [
            {
                "name": NASTY[(i + 1) % 3],
                "route": "manager",
                "when": {"fact": "arr", "op": "ge", "value": 0},
            }
        ],
    )
    with evaluation(nasty_con, wf, D) as ev:
        sql = ev.compiled.sql
        df = ev.frame()
    assert NASTY[i] not in sql and NASTY[i].lower() not in sql.lower()
    assert df.loc[df.fires, "account_id"].tolist() == [f"N{i}"]
    assert df.loc[df.fires, "route_rule"].tolist() == [NASTY[(i + 1) % 3]]
    assert snapshot(nasty_con) == before


ODD_IDS = ["seg_in", "p1_open"]
NASTY_IDS = ['seg"; DROP TABLE tickets; --', "p1'); DELETE FROM accounts; --", "_x", "scope_0"]


@pytest.mark.parametrize("cid", NASTY_IDS)
def test_ids_are_plain_names(cid):
    """Ids become column names: punctuation, a leading underscore and reserved names are refused."""
    with pytest.raises(ValidationError):
        nasty_workflow({"all": [{"id": cid, "fact": "arr", "op": "gt", "value": 1}]})


def test_sql_looking_values_in_lists_priorities_and_ids(nasty_con):
    before = snapshot(nasty_con)
    wf = nasty_workflow(
        {
            "any": [
                {"id": ODD_IDS[0], "fact": "segment", "op": "in", "values": [NASTY[1], NASTY[2]]},
                {
                    "id": ODD_IDS[1],
                    "op": "count",
                    "source": "open_tickets",
                    "priority": [NASTY[0]],
                    "at_least": 1,
                },
            ]
        }
    )
    with evaluation(nasty_con, wf, D) as ev:
        df = ev.frame()
        sql = ev.compiled.sql
    for s in NASTY:
        assert s.lower() not in sql.lower()
    # Ids are identifiers: outside double-quoted identifiers no trace of them is left.
    unquoted = re.sub(r'"(?:[^"]|"")*"', "", sql)
    for cid in ODD_IDS:
        assert quote_ident(f"ok__{cid}") in sql
        assert ";" not in unquoted and "--" not in unquoted
        assert set(re.findall(r"'[^']*'", unquoted)) == {"'day'"}
    assert df.loc[df.fires, "account_id"].tolist() == ["N1", "N2"]
    assert df[f"ok__{ODD_IDS[1]}"].tolist() == [False, False, True, False]
    assert df[f"v__{ODD_IDS[1]}"].tolist() == [0, 0, 1, 0]
    assert snapshot(nasty_con) == before
    assert {t.name for t in list_tables(nasty_con)} == {"accounts", "usage", "tickets", "outcomes"}


# --- errors ----------------------------------------------------------------------------


def raises(spec, facts=FACTS) -> WorkflowInvalid:
    with pytest.raises(WorkflowInvalid) as exc:
        compile_condition("c", cond(**spec), facts, Params())
    return exc.value


def test_unknown_fact_lists_the_facts():
    e = raises({"op": "lt", "fact": "health", "value": 60})
    assert e.message == "Condition 'c' uses 'health', which this workspace does not have."
    assert e.hint.startswith(
        "Did you mean 'health_score'? Use one of the facts: account_id, as_of,"
    )
    assert "health_score" in e.hint and "days_since_touch" in e.hint


@pytest.mark.parametrize(
    "spec",
    [
        {"op": "in", "fact": "nope", "values": [1]},
        {"op": "between", "fact": "nope", "low": 1, "high": 2},
        {"op": "is_missing", "fact": "nope"},
        {"op": "within_days", "fact": "nope", "days": 3},
    ],
)
def test_unknown_fact_every_operator(spec):
    assert "'nope'" in raises(spec).message


def test_unknown_fact_without_accounts():
    e = raises({"op": "lt", "fact": "arr", "value": 1}, FactsQuery((), "", ()))
    assert e.hint == "Import an accounts file first."


NUMBER_HINT = "Write a number (no quotes), e.g. 60."
DATE_HINT = "Write a date as YYYY-MM-DD, or use within_days for a window."


@pytest.mark.parametrize(
    "spec,message,hint",
    [
        (
            {"op": "gt", "fact": "arr", "value": "lots"},
            "Condition 'c' compares the number fact 'arr' with 'lots'.",
            NUMBER_HINT,
        ),
        (
            {"op": "in", "fact": "nps_score", "values": [9, "ten"]},
            "Condition 'c' compares the number fact 'nps_score' with 'ten'.",
            NUMBER_HINT,
        ),
        (
            {"op": "between", "fact": "arr", "low": 1, "high": "2k"},
            "Condition 'c' compares the number fact 'arr' with '2k'.",
            NUMBER_HINT,
        ),
        (
            {"op": "lt", "fact": "renewal_date", "value": "next week"},
            "Condition 'c' compares the date fact 'renewal_date' with 'next week'.",
            DATE_HINT,
        ),
    ],
)
def test_wrongly_typed_value(spec, message, hint):
    e = raises(spec)
    assert (e.message, e.hint) == (message, hint)


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
def test_ordering_on_a_text_fact(op):
    e = raises({"op": op, "fact": "segment", "value": "M"})
    assert e.message == f"Condition 'c' uses {op} on the text fact 'segment'."
    assert e.hint == "Text facts take eq, ne, in, not_in, is_missing or is_present."


def test_between_on_a_text_fact():
    e = raises({"op": "between", "fact": "segment", "low": "A", "high": "M"})
    assert e.message == "Condition 'c' uses between on the text fact 'segment'."


def test_within_days_on_a_non_date_lists_date_facts():
    e = raises({"op": "within_days", "fact": "arr", "days": 30})
    assert e.message == "Condition 'c' uses within_days on 'arr', which is not a date."
    assert e.hint == "Use one of the date facts: as_of, renewal_date, last_touch_date."


def test_change_on_an_unknown_metric_lists_metrics():
    e = raises({"op": "change", "metric": "seats", "pct": 10})
    assert e.message == (
        "Condition 'c' watches the usage metric 'seats', which this workspace does not have."
    )
    assert e.hint == "Use one of: active_users, logins."


def test_change_without_usage():
    only = FactsQuery((), "", (Fact("arr", "number", "accounts", ""),))
    e = raises({"op": "change", "metric": "active_users", "pct": 10}, only)
    assert e.hint == "Import a usage file first."


@pytest.mark.parametrize(
    "source,table",
    [
        ("open_tickets", "tickets"),
        ("tickets_opened", "tickets"),
        ("csm_touches", "activity"),
        ("survey_responses", "surveys"),
    ],
)
def test_count_on_a_missing_table(source, table):
    only = FactsQuery((), "", (Fact("arr", "number", "accounts", ""),))
    e = raises({"op": "count", "source": source, "at_least": 1}, only)
    words = source.replace("_", " ")
    assert e.message == f"Condition 'c' counts {words}, but this workspace has no {table} table."
    assert table in e.hint


def test_count_open_tickets_without_an_open_fact():
    no_open = FactsQuery((), "", (Fact("tickets_90d", "number", "tickets", ""),))
    e = raises({"op": "count", "source": "open_tickets", "at_least": 1}, no_open)
    assert "no closed_at or status column" in e.message


def test_boolean_fact_eq_true():
    c = compiled(op="eq", fact="is_strategic", value=True)
    assert c.pass_sql == "coalesce({v} = $p0, false)"
    assert c.params == {"p0": True}


# --- decide() vs the SQL -----------------------------------------------------------------


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    yield con
    con.close()


def sql_decision(duck, c, sql_type: str, value) -> bool:
    """The compiled pass expression evaluated by DuckDB on one typed value."""
    expr = c.pass_on(f"CAST($val AS {sql_type})")
    used = {k: v for k, v in c.params.items() if k in re.findall(r"\$(\w+)", expr)}
    return duck.execute(f"SELECT {expr}", {**used, "val": value}).fetchall()[0][0]


NUM, TXT, DATE = "DOUBLE", "VARCHAR", "DATE"
NAN = float("nan")

# (condition, SQL type of the value, values to try: at, around the threshold and missing)
EDGES = [
    *[
        ({"op": op, "fact": "health_score", "value": 60}, NUM, [59.9, 60, 60.0, 60.1, None])
        for op in ("lt", "le", "gt", "ge", "eq", "ne")
    ],
    *[
        (
            {"op": op, "fact": "renewal_date", "value": "2026-03-01"},
            DATE,
            [dt.date(2026, 2, 28), MAR1, dt.date(2026, 3, 2), None],
        )
        for op in ("lt", "le", "gt", "ge", "eq", "ne")
    ],
    *[
        (
            {"op": op, "fact": "segment", "value": "Mid-Market"},
            TXT,
            ["mid-market", "MID-MARKET", "SMB", "", None],
        )
        for op in ("eq", "ne")
    ],
    ({"op": "between", "fact": "arr", "low": 10, "high": 20}, NUM, [9.99, 10, 15, 20, 20.01, None]),
    (
        {"op": "between", "fact": "renewal_date", "low": "2026-03-01", "high": "2026-03-31"},
        DATE,
        [dt.date(2026, 2, 28), MAR1, dt.date(2026, 3, 31), dt.date(2026, 4, 1), None],
    ),
    (
        {"op": "in", "fact": "segment", "values": ["SMB", "Mid-Market"]},
        TXT,
        ["smb", "MID-market", "Enterprise", None],
    ),
    ({"op": "not_in", "fact": "segment", "values": ["SMB"]}, TXT, ["Smb", "Enterprise", None]),
    ({"op": "in", "fact": "nps_score", "values": [9, 10]}, NUM, [9, 9.5, 10.0, None]),
    ({"op": "not_in", "fact": "nps_score", "values": [9, 10]}, NUM, [9, 8, None]),
    (
        {"op": "in", "fact": "renewal_date", "values": [MAR1]},
        DATE,
        [MAR1, dt.date(2026, 3, 2), None],
    ),
    ({"op": "is_missing", "fact": "nps_score"}, NUM, [0, 7, None]),
    ({"op": "is_present", "fact": "nps_score"}, NUM, [0, 7, None]),
    ({"op": "is_missing", "fact": "segment"}, TXT, ["", "SMB", None]),
    ({"op": "within_days", "fact": "renewal_date", "days": 90}, NUM, [-1, 0, 45, 90, 91, None]),
    ({"op": "within_days", "fact": "renewal_date", "days": 0}, NUM, [-1, 0, 1, None]),
    (
        {"op": "change", "metric": "active_users", "pct": 20},
        NUM,
        [-20.01, -20, -19.99, 0, 25, None],
    ),
    (
        {"op": "change", "metric": "active_users", "direction": "up", "pct": 20},
        NUM,
        [-25, 19.99, 20, 20.01, None],
    ),
    ({"op": "count", "source": "open_tickets", "at_least": 2}, NUM, [0, 1, 2, 3]),
    ({"op": "count", "source": "csm_touches", "at_least": 0}, NUM, [0, 1]),
]


def _id(edge) -> str:
    spec = edge[0]
    return "-".join(str(spec[k]) for k in ("op", "fact", "metric", "source") if k in spec)


@pytest.mark.parametrize("spec,sql_type,values", EDGES, ids=[_id(e) for e in EDGES])
def test_decide_matches_sql(duck, spec, sql_type, values):
    c = compiled(**spec)
    for value in values:
        want = sql_decision(duck, c, sql_type, value)
        assert decide(c.condition, value) is want, value
        # How the value comes back from a DataFrame: NaN for a missing number,
        # a Timestamp for a date.
        if value is None and sql_type == NUM:
            assert decide(c.condition, NAN) is want
        if isinstance(value, dt.date):
            assert decide(c.condition, pd.Timestamp(value)) is want
            assert decide(c.condition, dt.datetime.combine(value, dt.time())) is want


def test_missing_never_passes_a_comparison():
    for spec, _, _ in EDGES:
        c = compiled(**spec)
        expected = c.condition.op == "is_missing"
        assert decide(c.condition, None) is expected
        assert decide(c.condition, NAN) is expected


@pytest.mark.parametrize("op", ["in", "not_in"])
def test_decide_date_in_list_of_iso_text(duck, op):
    c = compiled(op=op, fact="renewal_date", values=["2026-03-01"])
    for value in (MAR1, pd.Timestamp(MAR1)):
        assert decide(c.condition, value) is sql_decision(duck, c, DATE, MAR1)


@pytest.mark.parametrize(
    "spec,missing",
    [
        ({"op": "is_missing", "fact": "renewal_date"}, pd.NaT),
        ({"op": "is_missing", "fact": "days_since_touch"}, pd.NA),
        ({"op": "is_present", "fact": "days_since_touch"}, pd.NA),
        ({"op": "ne", "fact": "renewal_date", "value": "2026-03-01"}, pd.NaT),
        ({"op": "gt", "fact": "days_since_touch", "value": 30}, pd.NA),
        ({"op": "within_days", "fact": "renewal_date", "days": 90}, pd.NA),
    ],
    ids=["missing-NaT", "missing-NA", "present-NA", "ne-NaT", "gt-NA", "within-NA"],
)
def test_decide_pandas_missing_values(spec, missing):
    c = compiled(**spec)
    assert decide(c.condition, missing) is (c.condition.op == "is_missing")


# --- compile errors surface through the workflow compiler too ----------------------------


def test_compile_workflow_names_the_condition(nasty_con):
    wf = nasty_workflow({"all": [{"id": "low_nps", "fact": "nps_score", "op": "lt", "value": 7}]})
    with pytest.raises(WorkflowInvalid) as exc:
        compile_workflow(nasty_con, wf, D)
    assert exc.value.message == (
        "Condition 'low_nps' (conditions.all[0]) uses 'nps_score', "
        "which this workspace does not have."
    )
    assert "active_users_change_pct" in exc.value.hint


def test_compile_workflow_lists_every_problem_with_its_path(nasty_con):
    wf = nasty_workflow(
        {"all": [{"id": "a", "fact": "nps_scor", "op": "lt", "value": 7}, {"any": [
            {"fact": "segment", "op": "in", "values": ["SMB"]},
            {"fact": "arrr", "op": "gt", "value": 1},
        ]}]},
        escalation=[{"name": "Big", "when": {"fact": "ARR", "op": "ge", "value": 5}}],
    )  # fmt: skip
    with pytest.raises(WorkflowInvalid) as exc:
        compile_workflow(nasty_con, wf, D)
    assert "(3 problems)" in exc.value.message
    assert exc.value.problems[0].startswith("conditions.all[0]: Condition 'a' uses 'nps_scor'")
    assert exc.value.problems[1].startswith("conditions.all[1].any[1]: Condition")
    assert "uses 'arrr'" in exc.value.problems[1]
    assert "Did you mean 'arr'?" in exc.value.problems[1]
    assert exc.value.problems[2].startswith("escalation[0].when: Escalation rule 'Big' uses 'ARR'")


@pytest.fixture
def status_con(tmp_path: Path):
    """Tickets with a status but no closed_at and no priority column."""
    con = connect(Workspace(tmp_path / "ws"))
    con.execute("CREATE TABLE accounts (account_id VARCHAR, arr DOUBLE)")
    con.execute("INSERT INTO accounts VALUES ('A1', 1), ('A2', 2)")
    con.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, "
        "status VARCHAR)"
    )
    con.execute(
        "INSERT INTO tickets VALUES ('T1', 'A1', TIMESTAMP '2026-02-01 09:00', 'open'), "
        "('T2', 'A1', TIMESTAMP '2026-02-02 09:00', 'Solved'), "
        "('T3', 'A2', TIMESTAMP '2026-02-03 09:00', 'CLOSED')"
    )
    con.execute("CREATE TABLE outcomes (account_id VARCHAR, renewal_date DATE, outcome VARCHAR)")
    yield con
    con.close()


def test_open_tickets_fact_from_status(status_con):
    wf = nasty_workflow({"all": [{"fact": "open_tickets", "op": "ge", "value": 1}]})
    with evaluation(status_con, wf, D) as ev:
        df = ev.frame()
    assert df["open_tickets"].tolist() == [1, 0]
    assert df["fires"].tolist() == [True, False]


def test_count_open_tickets_by_status(status_con):
    wf = nasty_workflow({"all": [{"op": "count", "source": "open_tickets", "at_least": 1}]})
    with evaluation(status_con, wf, D) as ev:
        df = ev.frame()
    assert df["v__open_tickets_count"].tolist() == df["open_tickets"].tolist() == [1, 0]


def test_count_priority_without_a_priority_column(status_con):
    wf = nasty_workflow(
        {"all": [{"op": "count", "source": "tickets_opened", "priority": ["P1"], "at_least": 1}]}
    )
    with pytest.raises(WorkflowInvalid, match="priority"):
        compile_workflow(status_con, wf, D)
