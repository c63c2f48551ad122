"""One call for everything the Outcomes page, the CLI and the reports show about an experiment.

``evaluate`` reads the workflow's experiment (the running one, or another by id), its
assignments, the configured metrics and their outcomes, and runs the analysis; the result
says in words what is missing when there is nothing to analyse yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench.experiment import store
from workbench.experiment.analysis import (
    Breach,
    ExperimentAnalysis,
    analyze,
    guardrail_breaches,
)
from workbench.experiment.outcomes import outcome_frame, resolve_metrics
from workbench.experiment.srm import SrmResult, check_srm
from workbench.experiment.store import ExperimentInfo
from workbench.experiment.types import ARMS, MetricSpec
from workbench.review.store import mode_changes
from workbench.storage.history import data_version
from workbench.workflow.model import Workflow


@dataclass(frozen=True)
class Halt:
    """The workflow no longer acts: paused or rolled back, by whom, when and why."""

    mode: str
    actor: str
    at: datetime
    reason: str

    def words(self) -> str:
        """``paused by Ana on 2026-11-21 14:05 (the AI arm renews less often)``."""
        what = "paused" if self.mode == "paused" else "rolled back"
        why = f" ({self.reason})" if self.reason else ""
        return f"{what} by {self.actor} on {self.at:%Y-%m-%d %H:%M}{why}"


def halt_of(con: duckdb.DuckDBPyConnection, workflow_name: str) -> Halt | None:
    """The workflow's last mode change when it left it paused or rolled back, else None."""
    changes = mode_changes(con, workflow_name)
    if changes.empty:
        return None
    last = changes.iloc[-1]
    if last["to_mode"] not in ("paused", "rolled_back"):
        return None
    reason = "" if pd.isna(last["reason"]) else str(last["reason"])
    return Halt(str(last["to_mode"]), str(last["actor"]), last["changed_at"], reason)


@dataclass(frozen=True)
class ExperimentReport:
    """An experiment, its assignments and the analysis of its outcomes.

    ``experiment`` is None before the workflow's first run (then ``analysis`` is None and
    ``next_step`` says what to do). ``problems`` names configured metrics that cannot be
    measured with the data in the workspace.
    """

    workflow_name: str
    experiment: ExperimentInfo | None
    experiments: tuple[ExperimentInfo, ...]
    frame: pd.DataFrame
    specs: tuple[MetricSpec, ...]
    problems: tuple[str, ...]
    analysis: ExperimentAnalysis | None
    breaches: tuple[Breach, ...]
    data_version: str
    window_days: int
    segments: tuple[str, ...] = field(default_factory=tuple)
    halt: Halt | None = None
    """Set when the workflow was paused or rolled back: the guardrail advice then says so."""

    @property
    def empty(self) -> bool:
        return self.experiment is None or self.frame.empty

    @property
    def next_step(self) -> str:
        if self.experiment is None:
            return (
                f"'{self.workflow_name}' has no experiment yet: the first run (shadow or "
                "autonomous) assigns the accounts it fires on to the AI, CSM and control "
                "arms. Start shadow mode and run it on the Review page, or `workbench run "
                "--mode shadow --actor NAME`."
            )
        if self.frame.empty:
            return (
                f"Experiment {self.experiment.experiment_id} has no assigned accounts yet: no "
                "run has fired on an account on the automated route since it started."
            )
        if not self.specs and self.problems:
            return (
                "None of the workflow's metrics can be measured with the data in this workspace "
                "yet. Import renewal outcomes or an outcome-metrics file (Data page, or "
                "`workbench outcomes import FILE`)."
            )
        observed = {s.name: int(self.frame[s.name].notna().sum()) for s in self.specs}
        if self.specs and not any(observed.values()):
            return (
                f"{len(self.frame):,} accounts are assigned, but none has an outcome yet. "
                "Import renewal outcomes or an outcome-metrics file (Data page, or `workbench "
                "outcomes import FILE`); outcomes count within "
                f"{self.window_days} days of assignment."
            )
        return ""

    def srm_failures(self) -> list[str]:
        """The sentences of every failed sample ratio check (all assigned accounts, then each
        metric's accounts with an outcome): while any fails, no result can be trusted."""
        if self.analysis is None:
            return []
        checks = [self.analysis.srm, *(m.srm for m in self.analysis.metrics)]
        return [c.sentence for c in checks if c.failed]

    def arm_counts(self) -> dict[str, int]:
        """Arm -> assigned accounts."""
        if self.frame.empty:
            return {a: 0 for a in ARMS}
        counts = self.frame["arm"].value_counts()
        return {a: int(counts.get(a, 0)) for a in ARMS}

    def assignment_srm(self) -> SrmResult | None:
        if self.experiment is None:
            return None
        return check_srm(self.arm_counts(), self.experiment.shares())

    def by_stratum(self) -> pd.DataFrame:
        """Assigned accounts per stratum and arm (a column per arm, plus the total)."""
        if self.frame.empty:
            return pd.DataFrame(columns=["stratum", *ARMS, "total"])
        table = pd.crosstab(self.frame["stratum"], self.frame["arm"])
        for arm in ARMS:
            if arm not in table.columns:
                table[arm] = 0
        table = table[list(ARMS)]
        table["total"] = table.sum(axis=1)
        return table.reset_index().sort_values("total", ascending=False, ignore_index=True)

    def outcome_counts(self) -> pd.DataFrame:
        """Per metric: accounts with an outcome so far, per arm."""
        rows = []
        for s in self.specs:
            have = self.frame[self.frame[s.name].notna()] if len(self.frame) else self.frame
            counts = have["arm"].value_counts() if len(have) else pd.Series(dtype=int)
            rows.append(
                {"metric": s.label, "with an outcome": len(have), "assigned": len(self.frame)}
                | {a: int(counts.get(a, 0)) for a in ARMS}
            )
        return pd.DataFrame(rows)

    def sentence(self) -> str:
        """The experiment in one line: which, since when, how many accounts per arm."""
        if self.experiment is None:
            return f"'{self.workflow_name}' has no experiment yet."
        e = self.experiment
        counts = self.arm_counts()
        # The data date of the first assignment, as the charts show it (the run itself may
        # have been made later, on older data).
        if len(self.frame) and self.frame["assigned_on"].notna().any():
            since = f"{pd.Timestamp(self.frame['assigned_on'].min()):%Y-%m-%d}"
        elif e.started_at is not None:
            since = f"{e.started_at:%Y-%m-%d}"
        else:
            since = "its first run"
        parts = ", ".join(f"{counts[a]:,} {a}" for a in ARMS)
        return (
            f"Experiment {e.experiment_id} of '{self.workflow_name}' ({e.allocation_words()}), "
            f"since {since}: {sum(counts.values()):,} accounts assigned ({parts})."
        )


def evaluate(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    *,
    experiment_id: int | None = None,
    segment: str | None = None,
    metrics: Sequence[str] | None = None,
    mde: Mapping[str, float] | None = None,
    as_of: date | None = None,
) -> ExperimentReport:
    """Analyse the workflow's experiment (the running one unless ``experiment_id``).

    Args:
        metrics: Names to analyse (default: the workflow's ``experiment.metrics``).
        segment: Only accounts of this segment (as recorded at assignment).
        mde: Metric name -> the minimum detectable effect for the power calculator
            (a fraction for rates: 0.05 is 5 points).
        as_of: Count only outcomes observed by this date.
    """
    config = wf.experiment
    if metrics is not None:
        config = config.model_copy(update={"metrics": list(metrics)})
    all_experiments = tuple(store.experiments(con, wf.name))
    if experiment_id is None:
        info = store.current_experiment(con, wf.name)
    else:
        info = next((e for e in all_experiments if e.experiment_id == experiment_id), None)
    specs, problems = resolve_metrics(con, config)
    version = data_version(con)
    if info is None:
        return ExperimentReport(
            wf.name, None, all_experiments, pd.DataFrame(), tuple(specs), tuple(problems),
            None, (), version, config.window_days, halt=halt_of(con, wf.name),
        )  # fmt: skip
    frame = outcome_frame(con, info.experiment_id, list(specs), config.window_days, as_of=as_of)
    segments = tuple(sorted({str(s) for s in frame["segment"].dropna()})) if len(frame) else ()
    analysis = analyze(
        frame,
        specs,
        info.shares(),
        covariates=tuple(config.covariates),
        alpha=config.alpha,
        power=config.power,
        segment=segment,
        mde=mde,
    )
    # Guardrails are judged on the whole experiment, never on a filtered segment.
    breaches = guardrail_breaches(analysis) if segment is None else []
    return ExperimentReport(
        wf.name, info, all_experiments, frame, tuple(specs), tuple(problems), analysis,
        tuple(breaches), version, config.window_days, segments, halt_of(con, wf.name),
    )  # fmt: skip
