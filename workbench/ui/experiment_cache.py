"""The Outcomes page's analysis, cached: a widget change (filters, the power calculator)
reruns the page, and the regressions need to run again only when the data, the
experiment's assignments or the workflow changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import duckdb
import streamlit as st

from workbench.experiment.evaluate import ExperimentReport, evaluate, halt_of
from workbench.experiment.store import experiment_version
from workbench.storage.history import data_version
from workbench.ui.bootstrap import Context
from workbench.workflow.model import Workflow
from workbench.workflow.preview import workflow_sha


@st.cache_data(max_entries=16, show_spinner="Analysing the experiment…")
def _report(
    _con: duckdb.DuckDBPyConnection,
    _wf: Workflow,
    root: str,
    data: str,
    experiments: str,
    sha: str,
    metrics: tuple[str, ...] | None,
    segment: str | None,
) -> ExperimentReport:
    return evaluate(_con, _wf, metrics=metrics, segment=segment)


def experiment_report(
    ctx: Context, wf: Workflow, metrics: Sequence[str] | None, segment: str | None = None
) -> ExperimentReport:
    """``evaluate`` for the page, from the cache while nothing it reads has changed (the
    workflow's pause or rollback is read fresh: a mode change touches none of the keys)."""
    report = _report(
        ctx.con,
        wf,
        str(ctx.workspace.root),
        data_version(ctx.con),
        experiment_version(ctx.con),
        workflow_sha(wf),
        None if metrics is None else tuple(metrics),
        segment,
    )
    return replace(report, halt=halt_of(ctx.con, wf.name))
