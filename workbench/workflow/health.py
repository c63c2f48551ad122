"""The configurable health score: SQL for every account, and "why is this account 42?".

Each input maps its fact to 0-100 (linear between worst and best, or bands);
the score is the weighted average. A missing input is either left out and the
remaining weights renormalised (``skip``), or scored 50 (``neutral``). Both
the SQL and the breakdown use the per-input scores the SQL computes, so the
contributions always add up to the score.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.errors import WorkflowInvalid
from workbench.storage.sql import Params, quote_ident
from workbench.workflow.conditions import label, show
from workbench.workflow.facts import FactsQuery
from workbench.workflow.model import HealthInput, HealthScore

NEUTRAL = 50.0


def input_column(fact: str) -> str:
    """Name of the output column holding an input's 0-100 score."""
    return f"hs__{fact}"


def _normalised(inp: HealthInput, col: str, params: Params) -> str:
    if inp.normalise == "linear":
        assert inp.worst is not None and inp.best is not None
        worst, span = params.add(float(inp.worst)), params.add(float(inp.best - inp.worst))
        # greatest/least skip NULLs, so a missing value must stay missing explicitly.
        return (
            f"CASE WHEN {col} IS NULL THEN NULL "
            f"ELSE greatest(0.0, least(100.0, ({col}::DOUBLE - {worst}) / {span} * 100)) END"
        )
    bands = sorted(inp.bands or [], key=lambda b: b.at_least, reverse=True)
    whens = " ".join(
        f"WHEN {col} >= {params.add(float(b.at_least))} THEN {params.add(float(b.score))}"
        for b in bands
    )
    return f"CASE WHEN {col} IS NULL THEN NULL {whens} ELSE 0.0 END"


def health_select(health: HealthScore, facts: FactsQuery, params: Params) -> tuple[list[str], str]:
    """SQL of the health score over facts alias ``f``.

    Returns:
        The SELECT items giving one ``hs__<fact>`` column per input, and the score
        expression over those columns (to be selected in an enclosing query).

    Raises:
        WorkflowInvalid: An input names a missing or non-numeric fact.
    """
    found = problems(health, facts)
    if found:
        raise found[0][1]
    items: list[str] = []
    for inp in health.inputs:
        col = f"f.{quote_ident(inp.fact)}"
        items.append(f"{_normalised(inp, col, params)} AS {quote_ident(input_column(inp.fact))}")
    terms, weights = [], []
    for inp in health.inputs:
        s = quote_ident(input_column(inp.fact))
        w = params.add(float(inp.weight))
        if health.missing == "neutral":
            terms.append(f"{w} * coalesce({s}, {NEUTRAL})")
        else:
            terms.append(f"coalesce({w} * {s}, 0)")
            weights.append(f"CASE WHEN {s} IS NULL THEN 0 ELSE {w} END")
    if health.missing == "neutral":
        score = f"({' + '.join(terms)}) / 100.0"
    else:
        score = f"({' + '.join(terms)}) / nullif({' + '.join(weights)}, 0)"
    return items, score


def _did_you_mean(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f"Did you mean '{close[0]}'? " if close else ""


def problems(health: HealthScore, facts: FactsQuery) -> list[tuple[str, WorkflowInvalid]]:
    """Every health input on a missing or non-numeric fact, with its path."""
    numbers = [x.name for x in facts.facts if x.type == "number"]
    out = []
    for i, inp in enumerate(health.inputs):
        f = facts.fact(inp.fact)
        if f is None or f.type != "number":
            what = "does not exist in this workspace" if f is None else f"is {f.type}, not a number"
            out.append(
                (
                    f"health.inputs[{i}]",
                    WorkflowInvalid(
                        f"Health input health.inputs[{i}] uses '{inp.fact}', which {what}.",
                        _did_you_mean(inp.fact, numbers)
                        + f"Use one of the number facts: {', '.join(numbers)}.",
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class Contribution:
    """One input's part in an account's score."""

    fact: str
    label: str
    value: Any
    score: float | None
    weight: float
    effective_weight: float
    points: float
    note: str


def breakdown(health: HealthScore, row: dict[str, Any]) -> list[Contribution]:
    """Per-input contributions for one evaluated account; the points add up to its score.

    Args:
        health: The workflow's health configuration.
        row: One row of the evaluation (facts plus ``hs__`` columns).
    """

    def score_of(inp: HealthInput) -> float | None:
        v = row.get(input_column(inp.fact))
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    scores = {inp.fact: score_of(inp) for inp in health.inputs}
    present = sum(inp.weight for inp in health.inputs if scores[inp.fact] is not None)
    out = []
    for inp in health.inputs:
        s = scores[inp.fact]
        if health.missing == "neutral":
            eff = inp.weight
            used = NEUTRAL if s is None else s
            note = "missing: scored neutral (50)" if s is None else _rule(inp)
        else:
            eff = 0.0 if s is None or present == 0 else inp.weight * 100 / present
            used = s or 0.0
            note = "missing: left out, other weights scaled up" if s is None else _rule(inp)
        out.append(
            Contribution(
                inp.fact,
                label(inp.fact),
                row.get(inp.fact),
                s,
                inp.weight,
                eff,
                eff * used / 100,
                note,
            )
        )
    return out


def _rule(inp: HealthInput) -> str:
    if inp.normalise == "linear":
        return f"linear: {show(inp.worst)} scores 0, {show(inp.best)} scores 100"
    bands = sorted(inp.bands or [], key=lambda b: b.at_least)
    return "bands: " + ", ".join(f"≥{show(b.at_least)} → {show(b.score)}" for b in bands)


def breakdown_frame(health: HealthScore, row: dict[str, Any]) -> pd.DataFrame:
    """The breakdown as a table for display and export."""
    rows = [
        {
            "input": c.label,
            "value": show(c.value),
            "score (0-100)": None if c.score is None else round(c.score, 1),
            "weight": c.weight,
            "weight used": round(c.effective_weight, 1),
            "points": round(c.points, 1),
            "how it is scored": c.note,
        }
        for c in breakdown(health, row)
    ]
    return pd.DataFrame(rows)
