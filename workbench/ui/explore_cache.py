"""Cached computations of the Thresholds and Backtest pages.

Every entry is keyed by the workspace path, the data version (changes with each
import, deletion and reset), the workflow's content hash and the inputs, so moving
a slider or switching pages reads a stored result instead of querying again.
Connections and workflow objects travel as ``_``-prefixed arguments, which
Streamlit does not hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from workbench.export.backtest_book import backtest_workbook
from workbench.storage.history import data_version
from workbench.storage.sql import Params
from workbench.ui.bootstrap import Context
from workbench.ui.workflow_state import workflow_of
from workbench.workflow.backtest import (
    BacktestResult,
    Every,
    backtest_dates,
    run_backtest,
)
from workbench.workflow.backtest import has_outcomes as backtest_has_outcomes
from workbench.workflow.compiler import evaluation
from workbench.workflow.conditions import CompiledCondition, compile_condition
from workbench.workflow.facts import default_as_of
from workbench.workflow.store import WorkflowVersion
from workbench.workflow.sweep import Suggestion, default_range, grid, suggest, sweep

LABEL_DAYS = 90
_ENTRIES = 32


@st.cache_data(show_spinner=False, max_entries=4 * _ENTRIES)
def _spec(key: str, _build: Callable[[], alt.TopLevelMixin]) -> dict[str, Any]:
    spec = _build().to_dict()
    spec.pop("config", None)  # Altair's default theme only sets a fixed 300 px view
    return spec


def chart_spec(key: str, build: Callable[[], alt.TopLevelMixin]) -> dict[str, Any]:
    """The Vega-Lite spec of the Altair chart ``build()`` makes, built once per ``key``.

    Building and validating an Altair chart takes tens of milliseconds; the threshold
    slider redraws its charts on every move, so the page draws them from stored specs
    (``st.vega_lite_chart``) and adds only the moving rule.
    """
    return _spec(key, build)


@dataclass(frozen=True)
class SweepChoice:
    """A condition the explorer can sweep, with its current threshold and default range."""

    id: str
    sentence: str
    threshold: float
    unit: str
    start: float
    stop: float
    step: float


@dataclass(frozen=True)
class SweepView:
    """A sweep on the current data.

    Attributes:
        key: Names the inputs of this sweep (for caching charts drawn from it).
        as_of: The as-of date of the evaluation.
        target: The swept condition as compiled (``with_threshold`` makes the edited one).
        frame: One row per threshold: accounts, arr, automated, human, manager.
        sentences: The condition in words at each threshold of ``frame``.
        current: The same counts at the workflow's current threshold.
        suggestion: The loosest threshold within the weekly capacity.
    """

    key: str
    as_of: date
    target: CompiledCondition
    frame: pd.DataFrame
    sentences: tuple[str, ...]
    current: dict[str, float]
    suggestion: Suggestion


@dataclass(frozen=True)
class LabelledSweep:
    """Precision and recall per threshold, pooled over past as-of dates (``key`` as above)."""

    key: str
    frame: pd.DataFrame
    dates: tuple[date, ...]
    label_days: int


def data_key(ctx: Context) -> tuple[str, str]:
    """(workspace path, data version): the part of every key that the data decides."""
    return str(ctx.workspace.root), data_version(ctx.con)


@st.cache_data(show_spinner=False, max_entries=_ENTRIES)
def _as_of(root: str, dv: str, _con: duckdb.DuckDBPyConnection) -> date:
    return default_as_of(_con)


@st.cache_data(show_spinner="Reading the workflow's conditions…", max_entries=_ENTRIES)
def _choices(
    root: str,
    dv: str,
    sha: str,
    as_of: date,
    _con: duckdb.DuckDBPyConnection,
    _version: WorkflowVersion,
) -> tuple[SweepChoice, ...]:
    with evaluation(_con, workflow_of(_version), as_of) as ev:
        out = []
        for c in ev.compiled.sweepable:
            start, stop, step = default_range(ev, c.id)
            out.append(
                SweepChoice(c.id, c.sentence, float(c.threshold or 0.0), c.unit, start, stop, step)
            )
        return tuple(out)


def sweep_choices(ctx: Context, version: WorkflowVersion) -> tuple[SweepChoice, ...]:
    """The workflow's sweepable conditions with their default ranges (cached).

    Raises:
        WorkflowInvalid: The workflow does not fit the workspace.
    """
    root, dv = data_key(ctx)
    return _choices(root, dv, version.sha256, _as_of(root, dv, ctx.con), ctx.con, version)


def _counts(row: pd.Series) -> dict[str, float]:
    return {str(k): float(v) for k, v in row.items() if k != "threshold"}


@st.cache_data(show_spinner="Sweeping the threshold…", max_entries=_ENTRIES)
def _sweep(
    root: str,
    dv: str,
    sha: str,
    as_of: date,
    cid: str,
    start: float,
    stop: float,
    step: float,
    _con: duckdb.DuckDBPyConnection,
    _version: WorkflowVersion,
) -> SweepView:
    with evaluation(_con, workflow_of(_version), as_of) as ev:
        frame = sweep(ev, cid, grid(start, stop, step))
        target = ev.compiled.condition(cid)
        current = sweep(ev, cid, [target.threshold or 0.0]).iloc[0]
        sentences = tuple(
            compile_condition(cid, target.with_threshold(t), ev.compiled.facts, Params()).sentence
            for t in frame["threshold"]
        )
        key = "|".join(str(x) for x in (root, dv, sha, as_of, cid, start, stop, step))
        return SweepView(
            key, as_of, target, frame, sentences, _counts(current), suggest(ev, cid, frame)
        )


def current_sweep(
    ctx: Context, version: WorkflowVersion, cid: str, start: float, stop: float, step: float
) -> SweepView:
    """Sweep condition ``cid`` over ``grid(start, stop, step)`` as of today's data (cached).

    Raises:
        WorkbenchError: An empty range or too many points.
        WorkflowInvalid: The workflow does not fit the workspace.
    """
    root, dv = data_key(ctx)
    as_of = _as_of(root, dv, ctx.con)
    return _sweep(root, dv, version.sha256, as_of, cid, start, stop, step, ctx.con, version)


@st.cache_data(
    show_spinner="Pooling past as-of dates for precision and recall…", max_entries=_ENTRIES
)
def _labelled(
    root: str,
    dv: str,
    sha: str,
    cid: str,
    start: float,
    stop: float,
    step: float,
    label_days: int,
    _con: duckdb.DuckDBPyConnection,
    _version: WorkflowVersion,
) -> LabelledSweep | None:
    dates = backtest_dates(_con, label_days=label_days)
    with evaluation(_con, workflow_of(_version), dates, label_days=label_days) as ev:
        if not ev.compiled.labelled:
            return None
        frame = sweep(ev, cid, grid(start, stop, step))
    key = "|".join(str(x) for x in (root, dv, sha, cid, start, stop, step, label_days))
    return LabelledSweep(key, frame, tuple(dates), label_days)


def labelled_sweep(
    ctx: Context,
    version: WorkflowVersion,
    cid: str,
    start: float,
    stop: float,
    step: float,
    label_days: int = LABEL_DAYS,
) -> LabelledSweep | None:
    """Precision and recall of catching churners per threshold, pooled over the default
    backtest dates (cached); None when the workspace has no renewal outcomes.

    Raises:
        WorkbenchError: The outcomes leave no run date (see ``backtest_dates``).
    """
    if not has_outcomes(ctx):
        return None
    root, dv = data_key(ctx)
    return _labelled(root, dv, version.sha256, cid, start, stop, step, label_days, ctx.con, version)


@st.cache_data(show_spinner=False, max_entries=_ENTRIES)
def _outcomes(root: str, dv: str, _con: duckdb.DuckDBPyConnection) -> bool:
    return backtest_has_outcomes(_con)


def has_outcomes(ctx: Context) -> bool:
    """Whether the workspace has renewal outcomes (account id, renewal date, outcome)."""
    return _outcomes(*data_key(ctx), ctx.con)


@st.cache_data(show_spinner=False, max_entries=_ENTRIES)
def _default_dates(
    root: str, dv: str, label_days: int, _con: duckdb.DuckDBPyConnection
) -> tuple[date, ...]:
    return tuple(backtest_dates(_con, label_days=label_days))


def default_backtest_dates(ctx: Context, label_days: int = LABEL_DAYS) -> tuple[date, ...]:
    """The default run dates: monthly over the last year with complete labels (cached).

    Raises:
        WorkbenchError: No renewal outcomes, or no run date.
    """
    root, dv = data_key(ctx)
    return _default_dates(root, dv, label_days, ctx.con)


@st.cache_data(show_spinner=False, max_entries=_ENTRIES)
def _backtest(
    root: str,
    dv: str,
    sha: str,
    start: date,
    end: date,
    every: Every,
    label_days: int,
    _con: duckdb.DuckDBPyConnection,
    _version: WorkflowVersion,
) -> BacktestResult:
    # The bar is created here, not by the caller: a cache hit replays the element
    # messages of this function, and it can only replay elements it created itself.
    bar = st.progress(0.0, text="Starting the backtest…")

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    try:
        dates = backtest_dates(_con, start, end, every, label_days)
        return run_backtest(_con, workflow_of(_version), dates, label_days, progress=report)
    finally:
        bar.empty()


@dataclass(frozen=True)
class BacktestInputs:
    """What a backtest run was asked for (kept in the session to show it again)."""

    sha: str
    start: date
    end: date
    every: Every
    label_days: int


def backtest(ctx: Context, version: WorkflowVersion, inputs: BacktestInputs) -> BacktestResult:
    """Run (or read the stored result of) a backtest, with a progress bar while it runs.

    Raises:
        WorkbenchError: No outcomes, an empty date range, or a bad label window.
        WorkflowInvalid: The workflow does not fit the workspace.
    """
    root, dv = data_key(ctx)
    return _backtest(
        root,
        dv,
        version.sha256,
        inputs.start,
        inputs.end,
        inputs.every,
        inputs.label_days,
        ctx.con,
        version,
    )


@st.cache_data(show_spinner="Writing the workbook…", max_entries=_ENTRIES)
def _workbook(
    root: str,
    dv: str,
    sha: str,
    number: int,
    inputs: BacktestInputs,
    _result: BacktestResult,
    _version: WorkflowVersion,
) -> bytes:
    return backtest_workbook(_result, _version.name, f"v{number}", _version.yaml, dv)


def backtest_xlsx(
    ctx: Context, version: WorkflowVersion, inputs: BacktestInputs, result: BacktestResult
) -> bytes:
    """The backtest workbook (Summary, Per date, Churn events, Lift by decile), cached."""
    root, dv = data_key(ctx)
    return _workbook(root, dv, version.sha256, version.version, inputs, result, version)
