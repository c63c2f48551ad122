"""A compiled workflow in words: what the Workflow page (and a reviewer) reads.

Sentences come from the compiler (so they name the facts the way reasons do);
this module only arranges them: the trigger, the scope, the conditions with
their all/any structure, escalation rules in order, the action, the guardrails
and how the health score is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.workflow.compiler import Compiled, CompiledRule
from workbench.workflow.conditions import CompiledCondition, label, show
from workbench.workflow.model import Action, Group, HealthInput, Trigger, Workflow

ROUTE_WORDS = {
    "automated": "the action runs without a person deciding",
    "human": "the account's CSM decides",
    "manager": "a CS manager decides",
}


@dataclass(frozen=True)
class Line:
    """One line of a nested list: ``depth`` 0 is the top level."""

    depth: int
    text: str


@dataclass(frozen=True)
class RuleWords:
    """An escalation rule: its name, route and condition(s) in words."""

    position: int
    name: str
    route: str
    when: tuple[Line, ...]


@dataclass(frozen=True)
class HealthInputWords:
    """One input of the health score, stated fully."""

    fact: str
    label: str
    weight: float
    normalisation: str
    description: str


@dataclass(frozen=True)
class InWords:
    """Everything a workflow does, as sentences."""

    name: str
    description: str
    trigger: str
    scope: tuple[str, ...]
    conditions: tuple[Line, ...]
    escalation: tuple[RuleWords, ...]
    action: str
    action_params: tuple[tuple[str, str], ...]
    guardrails: tuple[str, ...]
    autonomy: tuple[str, ...]
    output_policy: tuple[str, ...]
    health: tuple[HealthInputWords, ...]
    missing: str


def trigger_words(t: Trigger) -> str:
    """When the workflow runs."""
    if t.type == "manual":
        return "Runs when someone starts it by hand."
    if t.type == "on_refresh":
        return "Runs after each data refresh (each import of new data)."
    return f"Runs on a schedule: `{t.schedule}` (minute hour day month weekday)."


def group_lines(group: Group, leaves: list[CompiledCondition], depth: int = 0) -> list[Line]:
    """A group as nested lines; ``leaves`` are its compiled conditions in depth-first order."""
    it = iter(leaves)
    return _group(group, it, depth)


def _group(group: Group, it: Any, depth: int) -> list[Line]:
    out = [Line(depth, "All of these hold:" if group.mode == "all" else "Any of these holds:")]
    for item in group.items:
        if isinstance(item, Group):
            out.extend(_group(item, it, depth + 1))
        else:
            out.append(Line(depth + 1, next(it).sentence))
    return out


def _rule(r: CompiledRule) -> RuleWords:
    leaves = list(r.leaves)
    if len(leaves) == 1 and not isinstance(r.rule.when, Group):
        when: tuple[Line, ...] = (Line(0, leaves[0].sentence),)
    else:
        when = tuple(group_lines(r.group, leaves))
    return RuleWords(r.index + 1, r.rule.name, r.rule.route, when)


def action_words(a: Action) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The action as a sentence, and its parameters as (name, value) pairs."""
    params: list[tuple[str, str]] = [
        (k, _param(v)) for k, v in a.model_dump(exclude_none=True).items() if k != "type"
    ]
    if a.type == "assign_csm":
        if a.strategy == "round_robin":
            per = f", up to {a.capacity_per_week} a week each" if a.capacity_per_week else ""
            text = f"Assign a CSM, taking turns among {', '.join(a.csms or [])}{per}."
        else:
            pairs = "; ".join(f"{s} → {c}" for s, c in (a.by_segment or {}).items())
            text = f"Assign a CSM by segment: {pairs}."
    elif a.type == "draft_email":
        text = f"Draft an email for the CSM to review (template: {a.template or 'default'})."
    elif a.type == "risk_brief":
        text = f"Write a risk brief for the account team (template: {a.template or 'default'})."
    elif a.type == "crm_update":
        text = f"Set the CRM field {a.field} to {a.value or '(empty)'}."
    else:
        text = f"Send an alert to {a.channel}."
    return text + " Nothing is sent from the workbench: this is a design to prove.", tuple(params)


def _param(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} → {v}" for k, v in value.items())
    return show(value)


def guardrail_words(wf: Workflow) -> tuple[str, ...]:
    """The guardrails, one sentence each."""
    g = wf.guardrails
    return (
        f"At most {g.max_actions_per_run} actions per run; the lowest-priority accounts wait.",
        f"At most {g.max_per_csm_per_week} tasks per CSM per week.",
        f"An account is acted on at most once every {g.cooldown_days} days (cooldown).",
    ) + experiment_words(wf)


def experiment_words(wf: Workflow) -> tuple[str, ...]:
    """The control groups and what they are compared on, one sentence each."""
    from workbench.experiment.outcomes import metric_label  # experiment builds on workflow

    e = wf.experiment
    a = e.allocation
    metrics = ", ".join(metric_label(m) for m in e.metrics) or "none chosen"
    guards = ", ".join(metric_label(m) for m in e.guardrail_metrics) or "no metric"
    bands = ", ".join(f"{b:,.0f}" for b in e.arr_bands) or "none"
    return (
        f"Accounts on the automated route are split {a.ai:g}% AI-handled, {a.csm:g}% "
        f"CSM-handled and {a.control:g}% control (no intervention), balanced within segment "
        f"and ARR band (edges {bands}); an account keeps its arm.",
        f"Outcomes compared: {metrics}, within {e.window_days} days of assignment; a "
        f"significantly worse AI arm on {guards} flags the workflow for pause.",
    )


def autonomy_words(wf: Workflow) -> tuple[str, ...]:
    """When the workflow may go autonomous and how it is watched after, one sentence each."""
    a = wf.autonomy
    bar = (
        "the lower bound of the 95% interval of the approval rate"
        if a.rule == "wilson_lower"
        else "the approval rate (lenient rule)"
    )
    return (
        f"Autonomous only when {bar} on reviewed automated actions reaches {a.target:.0%}, "
        f"after at least {a.min_reviews} reviews.",
        f"Once autonomous, {a.sample_pct:g}% of automated actions still go to review; "
        f"after {a.min_sampled_reviews} sampled reviews a rate shown to be below the target "
        "pauses the workflow.",
    )


def output_policy_words(wf: Workflow) -> tuple[str, ...]:
    """What a draft may say, one sentence each (a draft breaking one is held for a person)."""
    p = wf.output_policy
    out = [
        "Drafts may offer discounts, credits or refunds."
        if p.allow_discounts
        else "Drafts must not offer discounts, credits, free time or refunds.",
        f"Subject at most {p.max_subject_chars} characters, body at most {p.max_body_chars}.",
    ]
    if p.require_account_name:
        out.append("A draft must name its account, and no other account.")
    else:
        out.append("A draft must not name another account.")
    if p.banned_phrases:
        out.append("Banned phrases: " + ", ".join(f"“{b}”" for b in p.banned_phrases) + ".")
    out.append("No unfilled placeholders ([Name], {first_name}, TODO).")
    return tuple(out)


def normalisation_words(inp: HealthInput) -> str:
    """How an input's value becomes 0-100."""
    if inp.normalise == "linear":
        return f"linear: {show(inp.worst)} or worse scores 0, {show(inp.best)} or better scores 100"
    bands = sorted(inp.bands or [], key=lambda b: b.at_least)
    parts = ", ".join(f"{show(b.at_least)} or more → {show(b.score)}" for b in bands)
    return f"bands: {parts}; below {show(bands[0].at_least)} → 0" if bands else "bands"


def missing_words(wf: Workflow) -> str:
    """The missing-value policy of the health score."""
    if wf.health.missing == "skip":
        return (
            "A missing input is left out and the other inputs' weights are scaled up to 100 "
            "(an account with no NPS is scored on the rest)."
        )
    return "A missing input scores 50 (neutral) at its full weight."


def describe(c: Compiled) -> InWords:
    """The compiled workflow in words."""
    wf = c.workflow
    action, params = action_words(wf.action)
    health = tuple(
        HealthInputWords(
            inp.fact,
            label(inp.fact),
            inp.weight,
            normalisation_words(inp),
            (f.description if (f := c.facts.fact(inp.fact)) else ""),
        )
        for inp in wf.health.inputs
    )
    return InWords(
        name=wf.name,
        description=wf.description.strip(),
        trigger=trigger_words(wf.trigger),
        scope=tuple(s.sentence for s in c.scope),
        conditions=tuple(group_lines(wf.conditions, list(c.conditions))),
        escalation=tuple(_rule(r) for r in c.escalation),
        action=action,
        action_params=params,
        guardrails=guardrail_words(wf),
        autonomy=autonomy_words(wf),
        output_policy=output_policy_words(wf),
        health=health,
        missing=missing_words(wf),
    )
