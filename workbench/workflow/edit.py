"""Small, pure edits of a workflow (the threshold explorer's "apply this threshold")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from workbench.errors import WorkflowInvalid
from workbench.workflow.model import Group, Workflow, condition_ids


def _rebuild(group: Group, ids: Iterator[str], cid: str, new: Any) -> Group:
    """The group with the leaf whose id is ``cid`` replaced, ids taken depth first."""
    items: list[Any] = []
    for item in group.items:
        if isinstance(item, Group):
            items.append(_rebuild(item, ids, cid, new))
        else:
            items.append(new if next(ids) == cid else item)
    return Group.model_validate({group.mode: items})


def replace_condition(wf: Workflow, cid: str, new_condition: Any) -> Workflow:
    """The workflow with main condition ``cid`` replaced by ``new_condition``.

    Ids are those of ``model.condition_ids`` (the written id, else ``fact_op``), so a
    condition without a written id is found by its generated one. The result is
    validated again (duplicate ids, group shape); ``wf`` is not changed.

    Raises:
        WorkflowInvalid: The workflow has no main condition ``cid`` (the hint lists them).
    """
    ids = condition_ids(wf.conditions)
    if cid not in ids:
        raise WorkflowInvalid(
            f"The workflow '{wf.name}' has no condition '{cid}'.",
            f"Conditions: {', '.join(ids)}.",
        )
    group = _rebuild(wf.conditions, iter(ids), cid, new_condition)
    fields = {name: getattr(wf, name) for name in type(wf).model_fields}
    edited = type(wf).model_validate({**fields, "conditions": group})
    # Validate from plain data: pydantic does not re-check model instances it is handed.
    try:
        return type(wf).model_validate(edited.model_dump(mode="python", exclude_none=True))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise WorkflowInvalid(
            "The edited workflow is not valid: " + "; ".join(problems),
            "Pick a threshold inside the allowed range.",
            problems=problems,
        ) from None
