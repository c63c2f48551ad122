"""Guardrail flags: the AI arm significantly worse than control or CSM on a guardrail metric.

A finding flags the workflow for pause: it is stored in ``wb.guardrail_flags`` with its
numbers and written to the audit log, once per experiment, metric, baseline and data version
(analysing the same data again adds nothing). Pausing is a person's decision, taken on the
Governance page or with ``workbench mode paused``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.experiment.evaluate import ExperimentReport
from workbench.review.store import now

FLAG_COLUMNS = (
    "experiment_id", "metric", "baseline", "data_version", "flagged_at", "sentence", "figures",
)  # fmt: skip


def _figures(report: ExperimentReport, metric: str, baseline: str) -> dict[str, object]:
    assert report.analysis is not None
    m = report.analysis.metric(metric)
    pair = m.pair("ai", baseline) if m is not None else None
    c = pair.comparison if pair is not None else None
    if c is None:
        return {}
    keep = ("n_t", "n_b", "value_t", "value_b", "diff", "ci_low", "ci_high", "statistic", "p")
    raw = asdict(c)
    return {k: raw[k] for k in keep if k in raw} | {"test": c.test}


def record_flags(
    con: duckdb.DuckDBPyConnection,
    report: ExperimentReport,
    *,
    actor: str = "system",
    at: datetime | None = None,
) -> int:
    """Store the report's guardrail breaches not stored yet (with audit entries); returns
    how many were new."""
    if report.experiment is None or not report.breaches:
        return 0
    e = report.experiment
    when = (at or now()).replace(microsecond=0)
    have = {
        (str(m), str(b))
        for m, b in con.execute(
            "SELECT metric, baseline FROM wb.guardrail_flags WHERE experiment_id = ? "
            "AND data_version = ?",
            [e.experiment_id, report.data_version],
        ).fetchall()
    }
    new = [b for b in report.breaches if (b.metric, b.baseline) not in have]
    if not new:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        for b in new:
            figures = _figures(report, b.metric, b.baseline)
            con.execute(
                f"INSERT INTO wb.guardrail_flags ({', '.join(FLAG_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [e.experiment_id, b.metric, b.baseline, report.data_version, when, b.sentence]
                + [json.dumps(figures, default=str)],
            )
            audit.record(
                con,
                "guardrail",
                f"workflow {report.workflow_name} experiment {e.experiment_id}: {b.metric}",
                {"baseline": b.baseline, "sentence": b.sentence, **figures,
                 "data_version": report.data_version, "flagged_for": "pause"},
                actor,
                at=when,
            )  # fmt: skip
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(new)


def flags(con: duckdb.DuckDBPyConnection, workflow_name: str) -> pd.DataFrame:
    """Every guardrail flag of the workflow's experiments, newest first."""
    return con.execute(
        f"SELECT {', '.join('g.' + c for c in FLAG_COLUMNS)} FROM wb.guardrail_flags g "
        "JOIN wb.experiments e USING (experiment_id) WHERE e.workflow_name = ? "
        "ORDER BY g.flagged_at DESC, g.metric, g.baseline",
        [workflow_name],
    ).df()
