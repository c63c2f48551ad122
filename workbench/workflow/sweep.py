"""Threshold explorer: move one numeric condition and count what the workflow would do.

One statement sweeps every threshold at once: the evaluation is crossed with the
list of thresholds and the workflow's condition tree is re-applied with the swept
condition's decision recomputed against each threshold (no query per threshold).
When the evaluation carries churn labels (``churn_date``), precision and recall of
catching churners come out of the same statement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.storage.sql import Params, quote_ident
from workbench.workflow.compiler import Compiled, Evaluation, pass_col, value_col
from workbench.workflow.conditions import CompiledCondition, compile_condition
from workbench.workflow.model import Change, Compare, Count, WithinDays
from workbench.workflow.preview import ROUTES, weekly_capacity

MAX_POINTS = 501


def sweep_sql(compiled: Compiled, table: str, cid: str) -> str:
    """The sweep statement over an evaluation table; takes ``$thresholds`` (DOUBLE[])."""
    target = compiled.condition(cid)
    if target.threshold is None:
        raise WorkbenchError(
            f"Condition '{cid}' has no numeric threshold to sweep.",
            "Pick one of: " + ", ".join(c.id for c in compiled.sweepable) + ".",
        )
    v = "e." + quote_ident(value_col(cid))

    def at_threshold(c: CompiledCondition) -> str:
        if c.id == cid:
            return target.sweep_pass(v, "t.threshold")
        return "e." + quote_ident(pass_col(c.id))

    def swept_passes(c: CompiledCondition) -> str:
        return "true" if c.id == cid else "e." + quote_ident(pass_col(c.id))

    routes = ", ".join(
        f"count(*) FILTER (WHERE hit AND route_if_fired = $route_{r}) AS {r}" for r in ROUTES
    )
    ctes = [
        "t AS (SELECT unnest($thresholds::DOUBLE[]) AS threshold)",
        # Groups are all/any only, so a row that does not fire with the swept condition
        # passing fires at no threshold: leave it out before crossing with thresholds.
        f"c AS (SELECT * FROM {table} e WHERE e.in_scope AND {compiled.fires_sql(swept_passes)})",
        # The firing test once per (row, threshold), not once per aggregate.
        f"h AS (SELECT t.threshold, e.*, {compiled.fires_sql(at_threshold)} AS hit "
        "FROM c e CROSS JOIN t)",
        "s AS (SELECT threshold, count(*) FILTER (WHERE hit) AS accounts, "
        f"coalesce(sum(arr) FILTER (WHERE hit), 0) AS arr, {routes}"
        + (
            ", count(*) FILTER (WHERE hit AND churn_date IS NOT NULL) AS flagged_churn_rows"
            if compiled.labelled
            else ""
        )
        + " FROM h GROUP BY threshold)",
    ]
    cols = ["accounts", "arr", *ROUTES]
    joins = "LEFT JOIN s USING (threshold)"
    if compiled.labelled:
        # Precision counts flagged (account, date) rows; recall counts churn events (an
        # account's churn caught on any date before it), as the backtest does.
        ctes += [
            "ev AS (SELECT threshold, count(*) AS caught FROM (SELECT threshold FROM h "
            "WHERE churn_date IS NOT NULL GROUP BY threshold, account_id, churn_date "
            "HAVING bool_or(hit)) GROUP BY threshold)",
            "ch AS (SELECT count(*) AS churners FROM (SELECT DISTINCT account_id, churn_date "
            f"FROM {table} WHERE in_scope AND churn_date IS NOT NULL))",
        ]
        joins += " LEFT JOIN ev USING (threshold) CROSS JOIN ch"
        cols += ["flagged_churn_rows", "caught"]
    select = ", ".join(f"coalesce({c}, 0) AS {c}" for c in cols)
    extra = ", coalesce(accounts, 0) AS flagged_rows, ch.churners" if compiled.labelled else ""
    # Every threshold gets a row, also when no account can fire.
    return (
        "WITH " + ", ".join(ctes) + f" SELECT t.threshold, {select}{extra} "
        f"FROM t {joins} ORDER BY t.threshold"
    )


def sweep(ev: Evaluation, cid: str, thresholds: Sequence[float]) -> pd.DataFrame:
    """Counts per threshold: accounts, ARR, per route; with churn labels also precision and recall.

    Precision is the share of flagged (account, date) rows followed by churn; recall the
    share of churn events flagged on at least one date before them (as in the backtest).

    Raises:
        WorkbenchError: The condition has no numeric threshold, or too many points.
    """
    points = sorted({float(t) for t in thresholds})
    if not points or len(points) > MAX_POINTS:
        raise WorkbenchError(
            f"A sweep takes 1 to {MAX_POINTS} thresholds; this one has {len(points)}.",
            "Choose a wider step.",
        )
    params: dict[str, object] = {"thresholds": points, **{f"route_{r}": r for r in ROUTES}}
    df = ev.con.execute(sweep_sql(ev.compiled, ev.table, cid), params).df()
    if ev.compiled.labelled:
        df["precision"] = np.where(
            df["flagged_rows"] > 0,
            df["flagged_churn_rows"] / df["flagged_rows"].clip(lower=1),
            np.nan,
        )
        df["recall"] = np.where(
            df["churners"] > 0, df["caught"] / df["churners"].clip(lower=1), np.nan
        )
    return df


def _nice(step: float) -> float:
    if step <= 0:
        return 1.0
    exp = math.floor(math.log10(step))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= step:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def default_range(ev: Evaluation, cid: str, points: int = 101) -> tuple[float, float, float]:
    """A sensible (start, stop, step) for sweeping a condition, about ``points`` values."""
    c = ev.compiled.condition(cid)
    cond = c.condition
    if isinstance(cond, Compare) and cond.fact == "health_score":
        return 0.0, 100.0, 1.0
    if isinstance(cond, WithinDays):
        hi = max(2 * cond.days, 180)
        step = float(max(1, round(hi / (points - 1))))  # whole days
        return 0.0, math.ceil(hi / step) * step, step
    if isinstance(cond, Change):
        return 1.0, 100.0, 1.0  # a change "by more than 0%" is not allowed
    if isinstance(cond, Count):
        return 0.0, float(max(10, 2 * cond.at_least)), 1.0
    v = quote_ident(value_col(cid))
    lo, hi = ev.con.execute(
        f"SELECT quantile_cont({v}, 0.01), quantile_cont({v}, 0.99) FROM {ev.table} WHERE in_scope"
    ).fetchall()[0]
    if lo is None or hi is None or lo == hi:
        t = c.threshold or 0.0
        return t - 50, t + 50, 1.0
    step = _nice((hi - lo) / (points - 1))
    start = math.floor(min(lo, c.threshold or lo) / step) * step
    stop = math.ceil(max(hi, c.threshold or hi) / step) * step
    while (stop - start) / step > MAX_POINTS - 1:
        step = _nice(step * 1.5)
        start, stop = math.floor(start / step) * step, math.ceil(stop / step) * step
    return float(start), float(stop), step


def grid(start: float, stop: float, step: float) -> list[float]:
    """Thresholds from start to stop inclusive (rounded to the step's precision)."""
    if step <= 0 or stop < start:
        raise WorkbenchError(
            f"A sweep from {start:g} to {stop:g} by {step:g} is empty.",
            "Use a positive step and a start at or below the end.",
        )
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    digits = max(0, -math.floor(math.log10(step)) + 2) if step < 1 else 6
    return [round(start + i * step, digits) for i in range(n)]


@dataclass(frozen=True)
class Suggestion:
    """The loosest threshold that keeps the run within the weekly capacity."""

    threshold: float | None
    accounts: int
    capacity: int
    sentence: str


def _looseness(c: CompiledCondition) -> int:
    """+1 when a larger threshold fires more accounts, -1 when fewer."""
    cond = c.condition
    if isinstance(cond, Compare):
        return 1 if cond.op in ("lt", "le") else -1
    if isinstance(cond, WithinDays):
        return 1
    return -1  # change (more than X%) and count (at least N): larger is stricter


def suggest(ev: Evaluation, cid: str, frame: pd.DataFrame) -> Suggestion:
    """The loosest swept threshold whose actions stay within the weekly capacity."""
    c = ev.compiled.condition(cid)
    wf = ev.compiled.workflow
    capacity, why = weekly_capacity(wf)
    measure = "automated" if wf.action.type == "assign_csm" else "accounts"
    cap = wf.guardrails.max_actions_per_run
    why = f"{why}, and at most {cap} actions per run"
    ok = frame[(frame[measure] <= capacity) & (frame["accounts"] <= cap)]
    if ok.empty:
        return Suggestion(
            None,
            0,
            capacity,
            f"No threshold in this range keeps {measure} actions within {capacity} ({why}).",
        )
    row = ok.sort_values("threshold", ascending=_looseness(c) < 0).iloc[0]
    t = float(row["threshold"])
    what = compile_condition(cid, c.with_threshold(t), ev.compiled.facts, Params()).sentence
    return Suggestion(
        t,
        int(row[measure]),
        capacity,
        f"The loosest threshold that keeps {measure} actions within the weekly capacity of "
        f"{capacity} ({why}) is “{what}”: {int(row['accounts'])} accounts, "
        f"{int(row[measure])} {measure}, ${float(row['arr']):,.0f} ARR.",
    )
