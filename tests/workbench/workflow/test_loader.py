"""Workflow YAML: readable errors (path: reason), YAML positions, normalised dump round-trip."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from workbench.errors import WorkbenchError, WorkflowInvalid
from workbench.workflow.loader import (
    default_workflow_text,
    dump_workflow,
    parse_workflow,
    workflow_json_schema,
)
from workbench.workflow.model import Workflow

BASE = yaml.safe_load(default_workflow_text())


def _problems(edit) -> list[str]:
    data = copy.deepcopy(BASE)
    edit(data)
    with pytest.raises(WorkflowInvalid) as info:
        parse_workflow(yaml.safe_dump(data, sort_keys=False), "wf.yaml")
    assert info.value.message.startswith("wf.yaml is not a valid workflow")
    for problem in info.value.problems:
        assert f"  {problem}" in info.value.message
    return info.value.problems


def _set(*path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(*path):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _append(*path, value):
    def edit(data):
        target = data
        for key in path:
            target = target[key]
        target.append(value)

    return edit


ALL_OPS = "lt, le, gt, ge, eq, ne, between, in, not_in, is_missing, is_present, within_days, change, count"

CASES = [
    pytest.param(
        _set("conditions", "all", 0, "value", value=[1]),
        [
            "conditions.all[0].value: should be true or false, a number, text or a date (YYYY-MM-DD) (got [1])"
        ],
        id="wrong-type-in-union",
    ),
    pytest.param(
        _drop("conditions", "all", 0, "fact"),
        ["conditions.all[0].fact: required but missing"],
        id="missing-field-in-condition",
    ),
    pytest.param(_drop("action"), ["action: required but missing"], id="missing-top-field"),
    pytest.param(
        _set("conditions", "all", 0, "vlaue", value=1),
        [
            "conditions.all[0]: unknown field 'vlaue' (allowed: id, op, fact, value); "
            "did you mean 'value'?"
        ],
        id="unknown-field-lists-allowed",
    ),
    pytest.param(
        _set("colour", value="red"),
        [
            "top level: unknown field 'colour' (allowed: name, description, trigger, facts, "
            "health, scope, conditions, escalation, action, guardrails, output_policy, autonomy, experiment)"
        ],
        id="unknown-top-field",
    ),
    pytest.param(
        _set("health", "inputs", 2, "weight", value=25),
        ["health.inputs: weights sum to 105; they must sum to 100"],
        id="weights-not-100",
    ),
    pytest.param(
        _set("health", "inputs", 2, "worst", value="x"),
        ["health.inputs[2].worst: should be a number (got 'x')"],
        id="not-a-number",
    ),
    pytest.param(
        _set("escalation", 1, "when", "op", value="bad"),
        [f"escalation[1].when.op: unknown op 'bad' (allowed: {ALL_OPS})"],
        id="unknown-op",
    ),
    pytest.param(
        _set("conditions", "all", 0, "op", value="lte"),
        [f"conditions.all[0].op: unknown op 'lte' (allowed: {ALL_OPS}); did you mean 'lt'?"],
        id="unknown-op-suggests",
    ),
    pytest.param(
        _drop("escalation", 1, "when", "op"),
        [
            "escalation[1].when.op: required but missing; a condition says which comparison "
            f"it is ({ALL_OPS})"
        ],
        id="missing-op",
    ),
    pytest.param(
        _append("conditions", "all", value={"any": [{"fact": "x", "op": "lt", "value": {}}]}),
        [
            "conditions.all[2].any[0].value: should be true or false, a number, text or a date (YYYY-MM-DD) "
            "(got {})"
        ],
        id="nested-group",
    ),
    pytest.param(
        _append("conditions", "all", value="nope"),
        ["conditions.all[2]: should be a mapping of fields (key: value lines), got 'nope'"],
        id="not-a-mapping",
    ),
    pytest.param(
        _set("scope", 0, "values", value=[]),
        ["scope[0].values: should have at least 1 item, not 0 (got [])"],
        id="empty-list",
    ),
    pytest.param(
        _set("action", "type", value="assign"),
        [
            "action.type: should be 'assign_csm', 'draft_email', 'risk_brief', 'crm_update' "
            "or 'alert' (got 'assign')"
        ],
        id="literal",
    ),
    pytest.param(
        _set("trigger", "type", value="schedule"),
        ["trigger: a schedule trigger needs 'schedule' (cron text like '0 7 * * MON')"],
        id="model-validator",
    ),
    pytest.param(
        _append(
            "conditions",
            "all",
            value={"op": "count", "source": "open_tickets", "at_least": 1, "within_days": 3},
        ),
        ["conditions.all[2]: within_days does not apply to open_tickets (they are open now)"],
        id="validator-inside-tagged-union",
    ),
    pytest.param(
        lambda d: (_set("guardrails", "cooldown_days", value=-1)(d), _drop("health")(d)),
        [
            "health: required but missing",
            "guardrails.cooldown_days: should be greater than or equal to 0 (got -1)",
        ],
        id="every-problem-listed",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), CASES)
def test_validation_errors_have_readable_paths(edit, expected):
    assert _problems(edit) == expected


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("name: x\n  bad: 1\n", "line 2, column 6", "':' is not allowed here"),
        ("name: [1, 2\n", "line 2, column 1", "the end of the file"),
        ("name: a\nname: b\n", "line 2, column 1", "the key 'name' is written twice"),
        ("\tname: x\n", "line 1, column 1", "tab character"),
    ],
)
def test_bad_yaml_names_line_and_column(text, where, words):
    with pytest.raises(WorkflowInvalid) as info:
        parse_workflow(text, "mine.yaml")
    message = info.value.message
    assert message.startswith(f"mine.yaml is not valid YAML: {where}: ")
    assert words in message
    assert info.value.hint and isinstance(info.value, WorkbenchError)


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "mine.yaml is empty"), ("- a\n- b\n", "should be a mapping of fields")],
)
def test_not_a_mapping(text, words):
    with pytest.raises(WorkflowInvalid, match=words):
        parse_workflow(text, "mine.yaml")


def test_default_parses_and_round_trips():
    wf = parse_workflow(default_workflow_text())
    assert wf.name == "Senior CSM for at-risk renewals"
    text = dump_workflow(wf)
    assert parse_workflow(text) == wf
    assert dump_workflow(parse_workflow(text)) == text
    # Field order of the model, block style, short lists on one line, no None fields.
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line[0].isspace()]
    assert keys == [k for k in Workflow.model_fields if k in keys]
    assert "weight: 30\n" in text and "values: [SMB, Mid-Market, Enterprise]" in text
    assert "null" not in text and "schedule" not in text


def test_round_trip_keeps_dates_groups_and_multiline_text():
    data = copy.deepcopy(BASE)
    data["description"] = "line one\nline two\n"
    data["conditions"] = {
        "any": [
            {"fact": "renewal_date", "op": "lt", "value": date(2027, 1, 31)},
            {"all": [{"fact": "arr", "op": "between", "low": 1.5, "high": 10}]},
        ]
    }
    wf = Workflow.model_validate(data)
    again = parse_workflow(dump_workflow(wf))
    assert again == wf
    assert again.conditions.items[0].value == date(2027, 1, 31)


def test_comments_do_not_change_the_normalised_form():
    commented = "# my policy\n" + default_workflow_text().replace(
        "value: 60}", "value: 60}  # the playbook's threshold"
    )
    assert dump_workflow(parse_workflow(commented)) == dump_workflow(
        parse_workflow(default_workflow_text())
    )


def test_json_schema():
    schema = workflow_json_schema()
    assert schema["title"] == "Workflow"
    assert {"name", "health", "conditions", "action"} <= set(schema["required"])
