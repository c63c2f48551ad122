"""The workflow model: one bounded workflow as typed, validated policy-as-code.

A workflow is written as YAML, parsed into these pydantic models, and compiled
to SQL by ``workflow.compiler``. Every condition names a fact of the account
facts view (``workflow.facts``); the compiler checks the names against the
workspace, this module checks the shape.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Route = Literal["automated", "human", "manager"]
Scalar = bool | int | float | str | date


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_RESERVED_ID = re.compile(r"^(scope_\d+|esc\d+_\d+)$", re.IGNORECASE)


class _Cond(_Strict):
    id: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        max_length=60,
        description="Short name used by the sweep and in reasons (letters, digits, underscores); "
        "generated when omitted.",
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str | None) -> str | None:
        if v is not None and _RESERVED_ID.match(v):
            raise ValueError(
                f"'{v}' is reserved for scope and escalation conditions; pick another id"
            )
        return v


class Compare(_Cond):
    """``fact`` compared with a value: lt, le, gt, ge, eq, ne."""

    op: Literal["lt", "le", "gt", "ge", "eq", "ne"]
    fact: str
    value: Scalar


class Between(_Cond):
    """``low <= fact <= high`` (inclusive)."""

    op: Literal["between"]
    fact: str
    low: Scalar
    high: Scalar


class InList(_Cond):
    """``fact`` is (or is not) one of ``values``."""

    op: Literal["in", "not_in"]
    fact: str
    values: list[Scalar] = Field(min_length=1)


class Missing(_Cond):
    """``fact`` has no value (``is_missing``) or has one (``is_present``)."""

    op: Literal["is_missing", "is_present"]
    fact: str


class WithinDays(_Cond):
    """A date fact falls within the next (or last) ``days`` days of the as-of date."""

    op: Literal["within_days"]
    fact: str
    days: int = Field(ge=0, le=3650)
    direction: Literal["next", "last"] = "next"


class Change(_Cond):
    """A usage metric changed by more than ``pct`` percent: last ``window_days`` vs the window before."""

    op: Literal["change"]
    metric: str
    window_days: int = Field(30, ge=1, le=365)
    direction: Literal["down", "up"] = "down"
    pct: float = Field(gt=0, le=1000)


CountSource = Literal["open_tickets", "tickets_opened", "csm_touches", "survey_responses"]


class Count(_Cond):
    """At least ``at_least`` rows of a source for the account (open P1 tickets, touches…)."""

    op: Literal["count"]
    source: CountSource
    at_least: int = Field(ge=0)
    priority: list[str] | None = Field(None, description="Ticket priorities (tickets only).")
    within_days: int | None = Field(
        None, ge=1, le=3650, description="Only rows dated in the last N days (not open_tickets)."
    )

    @model_validator(mode="after")
    def _check(self) -> Count:
        if self.priority is not None and self.source not in ("open_tickets", "tickets_opened"):
            raise ValueError("priority applies to ticket sources only")
        if self.within_days is not None and self.source == "open_tickets":
            raise ValueError("within_days does not apply to open_tickets (they are open now)")
        return self


Condition = Annotated[
    Compare | Between | InList | Missing | WithinDays | Change | Count,
    Field(discriminator="op"),
]


class Group(_Strict):
    """All (or any) of the items hold. Items are conditions or nested groups."""

    all: list[Condition | Group] | None = None
    any: list[Condition | Group] | None = None

    @model_validator(mode="after")
    def _one(self) -> Group:
        if (self.all is None) == (self.any is None):
            raise ValueError("a group has exactly one of 'all' or 'any'")
        if not self.items:
            raise ValueError("a group needs at least one condition")
        return self

    @property
    def mode(self) -> Literal["all", "any"]:
        return "all" if self.all is not None else "any"

    @property
    def items(self) -> list[Condition | Group]:
        return list(self.all if self.all is not None else (self.any or []))


class Trigger(_Strict):
    """When the workflow runs: by hand, after each data refresh, or on a written-down schedule."""

    type: Literal["manual", "on_refresh", "schedule"] = "manual"
    schedule: str | None = Field(
        None, description="Cron-like text for production, e.g. '0 7 * * MON' (not run here)."
    )

    @model_validator(mode="after")
    def _schedule(self) -> Trigger:
        if self.type == "schedule":
            if not self.schedule:
                raise ValueError(
                    "a schedule trigger needs 'schedule' (cron text like '0 7 * * MON')"
                )
            if len(self.schedule.split()) != 5:
                raise ValueError(
                    f"schedule '{self.schedule}' needs five fields: minute hour day month weekday"
                )
        return self


class EscalationRule(_Strict):
    """Accounts matching ``when`` go to ``route`` instead of automation. First match wins."""

    name: str = Field(min_length=1)
    when: Condition | Group
    route: Literal["human", "manager"] = "human"


Linear = Literal["linear"]


class Band(_Strict):
    """Values at or above ``at_least`` score ``score`` (the highest matching band wins)."""

    at_least: float
    score: float = Field(ge=0, le=100)


class HealthInput(_Strict):
    """One input of the health score and how its value maps to 0-100.

    ``linear``: ``worst`` scores 0, ``best`` scores 100, clipped in between
    (``worst`` may be above ``best``, as for days since the last touch).
    ``bands``: the score of the highest band whose ``at_least`` the value reaches;
    values below every band score 0.
    """

    fact: str
    weight: float = Field(gt=0, le=100)
    normalise: Literal["linear", "bands"] = "linear"
    worst: float | None = None
    best: float | None = None
    bands: list[Band] | None = None

    @model_validator(mode="after")
    def _check(self) -> HealthInput:
        if self.normalise == "linear":
            if self.worst is None or self.best is None:
                raise ValueError("linear normalisation needs 'worst' and 'best'")
            if self.worst == self.best:
                raise ValueError("'worst' and 'best' must differ")
        elif not self.bands:
            raise ValueError("bands normalisation needs at least one band")
        return self


class HealthScore(_Strict):
    """A weighted 0-100 health score. Weights sum to 100."""

    inputs: list[HealthInput] = Field(min_length=1)
    missing: Literal["skip", "neutral"] = Field(
        "skip",
        description="skip: leave a missing input out and renormalise the rest; "
        "neutral: score a missing input 50.",
    )

    @field_validator("inputs")
    @classmethod
    def _weights(cls, inputs: list[HealthInput]) -> list[HealthInput]:
        total = sum(i.weight for i in inputs)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"weights sum to {total:g}; they must sum to 100")
        facts = [i.fact for i in inputs]
        if len(set(facts)) != len(facts):
            raise ValueError("each fact can be a health input only once")
        return inputs


class FactWindows(_Strict):
    """Windows the account facts are computed over."""

    usage_days: int = Field(30, ge=1, le=365, description="Usage: last N days vs the N before.")
    csat_days: int = Field(90, ge=1, le=730, description="Ticket CSAT: tickets closed in N days.")


ActionType = Literal["assign_csm", "draft_email", "risk_brief", "crm_update", "alert"]


class Action(_Strict):
    """What the workflow does for a firing account (never sent anywhere from the workbench).

    ``assign_csm``: ``strategy`` round_robin among ``csms`` up to ``capacity_per_week`` each,
    or by_segment through ``by_segment`` (segment -> CSM). The others take ``template``
    (draft_email, risk_brief), ``field``/``value`` (crm_update) or ``channel`` (alert).
    """

    type: ActionType
    strategy: Literal["round_robin", "by_segment"] | None = None
    csms: list[str] | None = None
    capacity_per_week: int | None = Field(None, ge=1)
    by_segment: dict[str, str] | None = None
    template: str | None = None
    field: str | None = None
    value: str | None = None
    channel: str | None = None

    @model_validator(mode="after")
    def _params(self) -> Action:
        if self.type == "assign_csm":
            if self.strategy is None:
                raise ValueError("assign_csm needs 'strategy': round_robin or by_segment")
            if self.strategy == "round_robin" and not self.csms:
                raise ValueError("round_robin needs 'csms': the CSMs to assign among")
            if self.strategy == "by_segment" and not self.by_segment:
                raise ValueError("by_segment needs 'by_segment': a segment -> CSM map")
        if self.type == "crm_update" and not self.field:
            raise ValueError("crm_update needs 'field' (the CRM field to set)")
        if self.type == "alert" and not self.channel:
            raise ValueError("alert needs 'channel' (e.g. #cs-risk)")
        return self


class Guardrails(_Strict):
    """Volume caps and cooldown (the control holdout is the experiment's ``control`` arm)."""

    max_actions_per_run: int = Field(50, ge=1)
    max_per_csm_per_week: int = Field(5, ge=1)
    cooldown_days: int = Field(30, ge=0)


DEFAULT_BANNED_PHRASES = [
    "guarantee",
    "guaranteed",
    "act now",
    "100%",
    "risk-free",
    "limited time",
]


class OutputPolicy(_Strict):
    """What a draft may say (checked on every draft; a failing draft is held for a person)."""

    allow_discounts: bool = Field(
        False, description="Let drafts offer discounts, credits, free months or refunds."
    )
    max_body_chars: int = Field(2000, gt=0, description="Longest allowed body, in characters.")
    max_subject_chars: int = Field(
        120, gt=0, description="Longest allowed subject line, in characters."
    )
    banned_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BANNED_PHRASES),
        description="Phrases a draft must not contain (whole words, any case).",
    )
    require_account_name: bool = Field(
        True, description="The draft must name the account it is about."
    )


class Autonomy(_Strict):
    """When the workflow may act on its own (the autonomy gate), and how it is watched after."""

    target: float = Field(
        0.90, gt=0, lt=1, description="Approval rate to clear in shadow mode (0.90 = 90%)."
    )
    min_reviews: int = Field(30, ge=0, description="Reviewed actions needed before any verdict.")
    rule: Literal["wilson_lower", "point"] = Field(
        "wilson_lower",
        description="wilson_lower: the 95% interval's lower bound must clear the target; "
        "point: the observed rate must (lenient).",
    )
    sample_pct: float = Field(
        10,
        ge=0,
        le=100,
        description="In autonomous mode, the share of automated actions still sent to review.",
    )
    min_sampled_reviews: int = Field(
        10, ge=0, description="Sampled reviews before a low rate alone pauses the workflow."
    )


class Allocation(_Strict):
    """How accounts on the automated route are split, in percent (they add up to 100).

    ``ai``: the automated action; ``csm``: a CSM handles it as usual; ``control``: no
    intervention at all.
    """

    ai: float = Field(45, gt=0, le=100, description="Percent handled by the automated action.")
    csm: float = Field(45, ge=0, le=100, description="Percent a CSM handles as usual.")
    control: float = Field(10, ge=0, le=90, description="Percent held out: no intervention.")

    @model_validator(mode="after")
    def _adds_up(self) -> Allocation:
        total = self.ai + self.csm + self.control
        if abs(total - 100) > 1e-9:
            raise ValueError(
                f"the allocation adds up to {total:g}%, not 100% "
                f"(ai {self.ai:g} + csm {self.csm:g} + control {self.control:g})"
            )
        return self

    def shares(self) -> dict[str, float]:
        """Arm -> share of accounts (0..1)."""
        return {"ai": self.ai / 100, "csm": self.csm / 100, "control": self.control / 100}


Covariate = Literal["health_score", "arr", "segment"]
_COVARIATES: tuple[Covariate, ...] = ("health_score", "arr", "segment")


class Experiment(_Strict):
    """The control groups and the outcomes they are compared on.

    Changing the allocation, salt or ARR bands starts a new experiment at the next run;
    changing the metrics does not (they only change what is analysed).
    """

    allocation: Allocation = Allocation()
    salt: str = Field(
        "", description="Seed of the assignment (empty: the workflow name and experiment number)."
    )
    arr_bands: list[float] = Field(
        default_factory=lambda: [25_000.0, 100_000.0],
        description="ARR band edges: assignment is balanced within segment x ARR band.",
    )
    metrics: list[str] = Field(
        default_factory=lambda: ["renewed", "expansion_arr"],
        description="Outcome metrics the experiment tracks.",
    )
    guardrail_metrics: list[str] = Field(
        default_factory=lambda: ["renewed"],
        description="Metrics on which a significantly worse AI arm flags the workflow for pause.",
    )
    lower_is_better: list[str] = Field(
        default_factory=list, description="Metrics where a lower value is the better outcome."
    )
    covariates: list[Covariate] = Field(
        default_factory=lambda: list(_COVARIATES),
        description="Pre-period covariates for the adjusted effect (recorded at assignment).",
    )
    window_days: int = Field(
        180, ge=1, le=1095, description="Days after assignment in which an outcome counts."
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Significance level (0.05: 95% CIs).")
    power: float = Field(0.8, gt=0.5, lt=1, description="Power for the sample-size calculator.")

    @field_validator("arr_bands")
    @classmethod
    def _ascending(cls, v: list[float]) -> list[float]:
        if any(b <= 0 for b in v) or any(b >= c for b, c in zip(v, v[1:], strict=False)):
            raise ValueError(
                "arr_bands must be positive and strictly ascending, e.g. [25000, 100000]"
            )
        return v


class Workflow(_Strict):
    """One bounded workflow."""

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    trigger: Trigger = Trigger()
    facts: FactWindows = FactWindows()
    health: HealthScore
    scope: list[Condition] = Field(
        default_factory=list, description="Accounts in bounds at all (all must hold)."
    )
    conditions: Group
    escalation: list[EscalationRule] = Field(default_factory=list)
    action: Action
    guardrails: Guardrails = Guardrails()
    output_policy: OutputPolicy = OutputPolicy()
    autonomy: Autonomy = Autonomy()
    experiment: Experiment = Experiment()

    @model_validator(mode="before")
    @classmethod
    def _holdout_pct(cls, data: Any) -> Any:
        """Versions saved before experiments had ``guardrails.holdout_pct``: it becomes the
        control share, the rest split evenly between the AI and CSM arms."""
        if not isinstance(data, dict):
            return data
        rails = data.get("guardrails")
        if isinstance(rails, dict) and "holdout_pct" in rails:
            rails = dict(rails)
            hold = rails.pop("holdout_pct")
            data = {**data, "guardrails": rails}
            if "experiment" not in data and isinstance(hold, int | float):
                rest = (100 - float(hold)) / 2
                data["experiment"] = {"allocation": {"ai": rest, "csm": rest, "control": hold}}
        return data

    @model_validator(mode="after")
    def _ids(self) -> Workflow:
        seen: set[str] = set()
        for cond in iter_conditions(self.conditions):
            if cond.id is not None:
                # Ids become column names, and DuckDB column names ignore case.
                if cond.id.lower() in seen:
                    raise ValueError(f"two conditions share the id '{cond.id}' (ids ignore case)")
                seen.add(cond.id.lower())
        return self


def iter_conditions(group: Group) -> list[Any]:
    """The conditions of a group, depth first, in written order."""
    out: list[Any] = []
    for item in group.items:
        if isinstance(item, Group):
            out.extend(iter_conditions(item))
        else:
            out.append(item)
    return out


def condition_paths(group: Group, prefix: str) -> list[str]:
    """Where each condition of a group is written (``conditions.all[1].any[0]``), depth first."""
    out: list[str] = []
    for k, item in enumerate(group.items):
        here = f"{prefix}.{group.mode}[{k}]"
        out.extend(condition_paths(item, here) if isinstance(item, Group) else [here])
    return out


def subject(cond: Any) -> str:
    """The fact (or metric, or source) a condition reads."""
    if isinstance(cond, Change):
        return cond.metric
    if isinstance(cond, Count):
        return cond.source
    return str(cond.fact)


def condition_ids(group: Group) -> list[str]:
    """Stable ids for the conditions of a group: the written id, else ``fact_op`` (deduplicated)."""
    ids: list[str] = []
    for cond in iter_conditions(group):
        base = cond.id or re.sub(r"[^a-z0-9]+", "_", f"{subject(cond)}_{cond.op}".lower())
        name, n = base, 2
        while name.lower() in {i.lower() for i in ids}:
            name, n = f"{base}_{n}", n + 1
        ids.append(name)
    return ids


def json_schema() -> dict[str, Any]:
    """The JSON schema of a workflow file."""
    return Workflow.model_json_schema()
