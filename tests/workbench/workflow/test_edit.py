"""replace_condition: one leaf of the condition tree replaced, everything else kept."""

from __future__ import annotations

import pytest

from workbench.errors import WorkflowInvalid
from workbench.workflow.edit import replace_condition
from workbench.workflow.loader import default_workflow_text, dump_workflow, parse_workflow
from workbench.workflow.model import Compare, Group, WithinDays, condition_ids, iter_conditions

NESTED = """
name: Nested
health:
  inputs: [{fact: nps_score, weight: 100, normalise: linear, worst: 0, best: 10}]
conditions:
  all:
    - {fact: health_score, op: lt, value: 60}
    - any:
        - {id: soon, fact: renewal_date, op: within_days, days: 90}
        - all:
            - {fact: arr, op: ge, value: 100000}
            - {fact: arr, op: ge, value: 500000}
action: {type: alert, channel: '#cs-risk'}
"""


def test_replaces_a_top_level_condition_and_keeps_the_rest():
    wf = parse_workflow(default_workflow_text())
    old = iter_conditions(wf.conditions)[0]
    out = replace_condition(wf, "health_below", old.model_copy(update={"value": 55}))
    assert iter_conditions(out.conditions)[0].value == 55
    assert iter_conditions(wf.conditions)[0].value == 60  # the input is untouched
    assert out.model_copy(update={"conditions": wf.conditions}) == wf
    assert parse_workflow(dump_workflow(out)) == out


@pytest.mark.parametrize(
    ("cid", "new", "index"),
    [
        ("health_score_lt", Compare(op="lt", fact="health_score", value=45), 0),
        ("soon", WithinDays(id="soon", op="within_days", fact="renewal_date", days=30), 1),
        ("arr_ge", Compare(op="ge", fact="arr", value=150000), 2),
        ("arr_ge_2", Compare(op="ge", fact="arr", value=750000), 3),
    ],
)
def test_replaces_leaves_of_nested_groups_by_their_ids(cid, new, index):
    wf = parse_workflow(NESTED)
    out = replace_condition(wf, cid, new)
    leaves = iter_conditions(out.conditions)
    assert leaves[index] == new
    others = [c for i, c in enumerate(iter_conditions(wf.conditions)) if i != index]
    assert [c for i, c in enumerate(leaves) if i != index] == others
    assert condition_ids(out.conditions) == condition_ids(wf.conditions)
    # The tree keeps its shape: all > [leaf, any > [leaf, all > [leaf, leaf]]].
    inner = out.conditions.items[1]
    assert isinstance(inner, Group) and inner.mode == "any"
    assert isinstance(inner.items[1], Group) and inner.items[1].mode == "all"


def test_unknown_id_names_the_conditions():
    wf = parse_workflow(NESTED)
    with pytest.raises(WorkflowInvalid, match="no condition 'nope'") as err:
        replace_condition(wf, "nope", Compare(op="lt", fact="arr", value=1))
    assert "health_score_lt, soon, arr_ge, arr_ge_2" in err.value.hint


def test_a_duplicate_id_is_refused():
    wf = parse_workflow(NESTED)
    with pytest.raises(ValueError, match="share the id 'soon'"):
        replace_condition(wf, "arr_ge", Compare(id="soon", op="ge", fact="arr", value=1))
