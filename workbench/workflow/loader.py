"""Workflow YAML in and out, with errors that point at what the author wrote.

``parse_workflow`` turns text into a ``Workflow``; every problem comes back as one
``path: reason`` line whose path reads like the YAML (``conditions.all[0].value``),
not like pydantic's internal location (which names union branches and tags).
``dump_workflow`` writes the normalised form: model field order, block style,
no empty optional fields. Its hash is what makes two versions "the same content".
"""

from __future__ import annotations

import difflib
import json
import re
import types
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from workbench.errors import WorkflowInvalid
from workbench.workflow.model import Condition, Workflow, json_schema

_YAML_HINT = (
    "Check the indentation and the ':' after each key near that line; "
    "quote a value that contains ': ' or starts with a special character."
)
_MODEL_HINT = (
    "Fix each field named above (the path reads like the file: conditions.all[0] is the "
    "first item under conditions: all:). The JSON schema (a download on the Workflow page, or `workbench workflow schema`) lists every field."
)
_ROOT = "top level"
_DISCRIMINATOR = "op"


# --- reading -----------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """A SafeLoader that refuses a key written twice in one mapping.

    Plain YAML keeps the last of two equal keys silently, so a second ``conditions:``
    would quietly replace the first; in a policy file that must be an error.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key '{key_node.value}' is written twice",
                    key_node.start_mark,
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_YAML_WORDS = {
    "mapping values are not allowed here": "a ':' is not allowed here "
    "(is the line indented too far, or does the value before it need quotes?)",
    "'<stream end>'": "the end of the file",
    "end of stream": "end of the file",
    "found character '\\t' that cannot start any token": "a tab character; "
    "YAML indents with spaces only",
}


def _plain(problem: str) -> str:
    for raw, words in _YAML_WORDS.items():
        problem = problem.replace(raw, words)
    return problem


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> WorkflowInvalid:
    mark = getattr(exc, "problem_mark", None)
    problem = _plain(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    if mark is None:
        return WorkflowInvalid(f"{source} is not valid YAML: {problem}.", _YAML_HINT, [problem])
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    line = f"{where}: {problem}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line != mark.line:
        line += f" ({context} that starts on line {context_mark.line + 1})"
    lines = text.splitlines()
    snippet = ""
    if 0 <= mark.line < len(lines):
        shown = lines[mark.line].expandtabs(1)
        snippet = f"\n  {mark.line + 1:>4} | {shown}\n         {' ' * mark.column}^"
    return WorkflowInvalid(f"{source} is not valid YAML: {line}.{snippet}", _YAML_HINT, [line])


def parse_workflow(text: str, source: str = "workflow.yaml") -> Workflow:
    """Parse workflow YAML into a validated ``Workflow``.

    Args:
        text: The YAML as written.
        source: How to name the text in messages (a file name).

    Raises:
        WorkflowInvalid: not YAML (naming line and column), not a mapping, or not a
            valid workflow (every problem as ``path: reason``, also in ``.problems``).
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    if data is None:
        raise WorkflowInvalid(
            f"{source} is empty.",
            "Start from the example: `workbench workflow show` prints the current workflow.",
            [f"{_ROOT}: the file is empty"],
        )
    if not isinstance(data, dict):
        problem = f"{_ROOT}: should be a mapping of fields (name, health, conditions, action…), got {_kind(data)}"
        raise WorkflowInvalid(f"{source} is not a workflow: {problem}.", _MODEL_HINT, [problem])
    try:
        return Workflow.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, data)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        listing = "\n".join(f"  {p}" for p in problems)
        raise WorkflowInvalid(
            f"{source} is not a valid workflow ({count}):\n{listing}", _MODEL_HINT, problems
        ) from None


def default_workflow_text() -> str:
    """The example workflow shipped with the package (the playbook's at-risk renewals)."""
    return (
        resources.files("workbench.workflow").joinpath("default_workflow.yaml").read_text("utf-8")
    )


def workflow_json_schema() -> dict[str, Any]:
    """The JSON schema of a workflow file (for editors and ``workbench workflow schema``)."""
    return json_schema()


# --- writing -----------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style with list items indented under their key, as people write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # One trailing newline only: a folded paragraph (as `description: >` is written).
        style = ">" if value.count("\n") == 1 and value.endswith("\n") else "|"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return dumper.represent_str(value)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    # Short lists of plain values stay on one line: values: [SMB, Mid-Market].
    flat = all(isinstance(v, str | int | float | date) and "\n" not in str(v) for v in value)
    flow = flat and sum(len(str(v)) + 2 for v in value) <= 60
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def _tidy(value: Any) -> Any:
    """Whole floats as ints (``weight: 30``, not ``30.0``); equal models stay equal."""
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def dump_workflow(wf: Workflow) -> str:
    """The normalised YAML of a workflow: model field order, block style, no ``None`` fields.

    Parsing the result gives an equal ``Workflow``. Dates stay YAML dates (python-mode
    dump) so a date value round-trips as a date, not as text.
    """
    data = _tidy(wf.model_dump(mode="python", exclude_none=True))
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


# --- readable validation errors -----------------------------------------------------------


@dataclass
class _Err:
    """One pydantic error with each location segment classified."""

    loc: tuple[str | int, ...]
    kinds: tuple[str, ...]  # key | index | label (a union branch) | tag (discriminator value)
    raw: dict[str, Any]
    text: str | None = None  # set when several branch errors are merged into one

    def path(self, upto: int | None = None) -> str:
        out = ""
        for seg, kind in zip(self.loc[:upto], self.kinds[:upto], strict=True):
            if kind == "index":
                out += f"[{seg}]"
            elif kind == "key":
                out += f".{seg}" if out else str(seg)
        return out


def _classify(loc: tuple[str | int, ...], data: Any, err_type: str) -> tuple[str, ...]:
    """Which segments the author wrote (keys, indexes) and which pydantic added."""
    kinds: list[str] = []
    cur: Any = data
    tagged = False  # the segment after 'tagged-union[...]' is the tag
    tag_seen_in: set[int] = set()
    for i, seg in enumerate(loc):
        if isinstance(seg, int):
            kinds.append("index")
            cur = cur[seg] if isinstance(cur, list) and 0 <= seg < len(cur) else None
        elif tagged:
            kinds.append("tag")
            tagged = False
            tag_seen_in.add(id(cur))
        elif seg.startswith("tagged-union["):
            kinds.append("label")
            tagged = True
        elif (
            isinstance(cur, dict)
            and id(cur) not in tag_seen_in
            and cur.get(_DISCRIMINATOR) == seg
            and "[" not in seg
        ):
            # A discriminated union without a wrapper label puts the tag alone.
            kinds.append("tag")
            tag_seen_in.add(id(cur))
        elif "[" not in seg and isinstance(cur, dict) and seg in cur:
            kinds.append("key")
            cur = cur[seg]
        elif i == len(loc) - 1 and err_type == "missing":
            kinds.append("key")
        else:
            kinds.append("label")
    return tuple(kinds)


def _value_at(data: Any, err: _Err, upto: int) -> Any:
    cur = data
    for seg, kind in zip(err.loc[:upto], err.kinds[:upto], strict=True):
        if kind == "key":
            cur = cur.get(seg) if isinstance(cur, dict) else None
        elif kind == "index":
            cur = cur[seg] if isinstance(cur, list) and isinstance(seg, int) else None
    return cur


def _pick_branch(labels: list[str], errs: list[_Err], value: Any, depth: int) -> str | None:
    """The union branch the author meant; None to merge (all branches failed on a scalar)."""
    groups = [lb for lb in labels if re.search(r"\bGroup\b", lb)]
    others = [lb for lb in labels if lb not in groups]
    if groups and others:
        wants_group = (
            isinstance(value, dict)
            and ("all" in value or "any" in value)
            and _DISCRIMINATOR not in value
        )
        return groups[0] if wants_group else others[0]
    if all(len(e.loc) == depth + 1 for e in errs):
        return None
    counts = {lb: sum(1 for e in errs if e.loc[depth] == lb) for lb in labels}
    return min(labels, key=lambda lb: counts[lb])


_TYPE_WORDS = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a number",
    "int_parsing": "a number",
    "int_from_float": "a number",
    "string_type": "text",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _merge(errs: list[_Err]) -> _Err:
    words = list(dict.fromkeys(_TYPE_WORDS.get(e.raw["type"], e.raw["type"]) for e in errs))
    expected = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    first = errs[0]
    return _Err(first.loc, first.kinds, first.raw, text=f"should be {expected}")


def _select(errs: list[_Err], data: Any) -> list[_Err]:
    """Keep the errors of the branch the author meant at every union, shallowest first."""
    points = sorted(
        {e.loc[:i] for e in errs for i, k in enumerate(e.kinds) if k == "label"}, key=len
    )
    out = list(errs)
    for prefix in points:
        depth = len(prefix)
        at = [
            e
            for e in out
            if len(e.loc) > depth and e.loc[:depth] == prefix and e.kinds[depth] == "label"
        ]
        labels = list(dict.fromkeys(str(e.loc[depth]) for e in at))
        if len(labels) < 2:
            continue
        keep = _pick_branch(labels, at, _value_at(data, at[0], depth), depth)
        if keep is None:
            merged = _merge(at)
            out = [merged if e is at[0] else e for e in out if e is at[0] or e not in at]
        else:
            out = [e for e in out if e not in at or e.loc[depth] == keep]
    return out


def _members(tp: Any) -> list[Any]:
    """The alternatives of a type: Optional, unions and Annotated unwrapped."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _members(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [] if tp is type(None) else [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags(model: Any) -> tuple[Any, ...]:
    field = model.model_fields.get(_DISCRIMINATOR) if _is_model(model) else None
    return get_args(field.annotation) if field is not None else ()


def _model_at(err: _Err, upto: int) -> type[BaseModel] | None:
    """The model class that validated the mapping at ``loc[:upto]`` (for its field names)."""
    cands: list[Any] = [Workflow]
    for seg, kind in zip(err.loc[:upto], err.kinds[:upto], strict=True):
        nxt: list[Any] = []
        if kind == "key":
            for c in cands:
                if _is_model(c) and seg in c.model_fields:
                    nxt += _members(c.model_fields[seg].annotation)
                elif get_origin(c) is dict:
                    nxt += _members(get_args(c)[1])
        elif kind == "index":
            nxt = [m for c in cands if get_origin(c) is list for m in _members(get_args(c)[0])]
        elif kind == "tag":
            nxt = [c for c in cands if seg in _tags(c)]
        else:
            label = str(seg)
            if label.startswith("tagged-union["):
                nxt = [c for c in cands if _tags(c)]
            else:
                nxt = [c for c in cands if _is_model(c) and re.search(rf"\b{c.__name__}\b", label)]
                nxt = nxt or cands
        cands = nxt
    models = [c for c in cands if _is_model(c)]
    return models[0] if len(models) == 1 else None


_OPS = [tag for member in _members(Condition) for tag in _tags(member)]


def _short(value: Any, limit: int = 40) -> str | None:
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return _short(value) or type(value).__name__


def _suggest(word: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _describe(err: _Err) -> str:
    """``path: reason`` for one error."""
    raw = err.raw
    kind = raw["type"]
    path = err.path() or _ROOT
    if err.text is not None:
        got = _short(raw.get("input"))
        return f"{path}: {err.text}" + (f" (got {got})" if got else "")
    if kind == "missing":
        return f"{path}: required but missing"
    if kind == "extra_forbidden":
        key = str(err.loc[-1])
        parent = err.path(len(err.loc) - 1) or _ROOT
        model = _model_at(err, len(err.loc) - 1)
        if model is None:
            return f"{parent}: unknown field '{key}'"
        allowed = list(model.model_fields)
        return (
            f"{parent}: unknown field '{key}' (allowed: {', '.join(allowed)})"
            f"{_suggest(key, allowed)}"
        )
    if kind == "union_tag_invalid":
        tag = str(raw.get("ctx", {}).get("tag", ""))
        return (
            f"{path}.{_DISCRIMINATOR}: unknown {_DISCRIMINATOR} '{tag}' "
            f"(allowed: {', '.join(_OPS)}){_suggest(tag, _OPS)}"
        )
    if kind == "union_tag_not_found":
        return (
            f"{path}.{_DISCRIMINATOR}: required but missing; a condition says which "
            f"comparison it is ({', '.join(_OPS)})"
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path}: should be a mapping of fields (key: value lines), got {_kind(raw.get('input'))}"
    if kind == "list_type":
        return f"{path}: should be a list (lines starting with '- '), got {_kind(raw.get('input'))}"
    msg = str(raw["msg"])
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if msg.startswith("Input should"):
        msg = msg.replace("Input should", "should", 1)
    elif msg.startswith("List should"):
        msg = msg.replace("List should", "should", 1).replace(" after validation", "")
    if kind in _TYPE_WORDS:
        msg = f"should be {_TYPE_WORDS[kind]}"
    got = None if kind == "value_error" else _short(raw.get("input"))
    return f"{path}: {msg}" + (f" (got {got})" if got else "")


def _problems(exc: ValidationError, data: Any) -> list[str]:
    errs = [
        _Err(tuple(e["loc"]), _classify(tuple(e["loc"]), data, e["type"]), dict(e))
        for e in exc.errors()
    ]
    return list(dict.fromkeys(_describe(e) for e in _select(errs, data)))
