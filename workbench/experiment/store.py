"""Experiments and assignments in the workspace (``wb.experiments``, ``wb.assignments``).

An experiment is one allocation of one workflow: its arms' shares, its salt and its ARR
bands. A run first calls ``prepare`` (reads only: which accounts are new, and their arms) and
then, inside its transaction, ``record`` (writes the experiment when new, ends the one it
replaces, and stores the new assignments, each with an audit entry). A changed allocation,
salt or band edges therefore starts a new experiment rather than reshuffling the old one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from workbench import audit
from workbench.experiment.assign import assign_new, stratum_of
from workbench.experiment.types import ARMS
from workbench.workflow.model import Workflow

_EXPERIMENT_COLUMNS = (
    "experiment_id", "workflow_name", "salt", "allocation", "arr_bands", "started_at",
    "started_by", "started_version", "started_run", "ended_at", "reason",
)  # fmt: skip
ASSIGNMENT_COLUMNS = (
    "experiment_id", "account_id", "arm", "stratum", "position", "segment", "arr",
    "health_score", "run_id", "assigned_on", "assigned_at",
)  # fmt: skip


@dataclass(frozen=True)
class ExperimentInfo:
    """One experiment: a workflow's allocation, salt and strata, from its first run."""

    experiment_id: int
    workflow_name: str
    salt: str
    allocation: dict[str, float]
    arr_bands: tuple[float, ...]
    started_at: datetime | None = None
    started_by: str = ""
    started_version: int | None = None
    started_run: int | None = None
    ended_at: datetime | None = None
    reason: str = ""

    def shares(self) -> dict[str, float]:
        """Arm -> planned share (0..1)."""
        return {arm: self.allocation.get(arm, 0.0) / 100 for arm in ARMS}

    def allocation_words(self) -> str:
        a = self.allocation
        return (
            f"ai {a.get('ai', 0):g}% / csm {a.get('csm', 0):g}% / control {a.get('control', 0):g}%"
        )


def _info(row: tuple[object, ...]) -> ExperimentInfo:
    d = dict(zip(_EXPERIMENT_COLUMNS, row, strict=True))
    return ExperimentInfo(
        experiment_id=int(d["experiment_id"]),  # type: ignore[call-overload]
        workflow_name=str(d["workflow_name"]),
        salt=str(d["salt"]),
        allocation={k: float(v) for k, v in json.loads(str(d["allocation"])).items()},
        arr_bands=tuple(float(b) for b in json.loads(str(d["arr_bands"]))),
        started_at=d["started_at"],  # type: ignore[arg-type]
        started_by=str(d["started_by"]),
        started_version=None if d["started_version"] is None else int(d["started_version"]),  # type: ignore[call-overload]
        started_run=None if d["started_run"] is None else int(d["started_run"]),  # type: ignore[call-overload]
        ended_at=d["ended_at"],  # type: ignore[arg-type]
        reason=str(d["reason"]),
    )


def experiments(con: duckdb.DuckDBPyConnection, workflow_name: str) -> list[ExperimentInfo]:
    """Every experiment of a workflow, oldest first."""
    rows = con.execute(
        f"SELECT {', '.join(_EXPERIMENT_COLUMNS)} FROM wb.experiments WHERE workflow_name = ? "
        "ORDER BY experiment_id",
        [workflow_name],
    ).fetchall()
    return [_info(r) for r in rows]


def current_experiment(con: duckdb.DuckDBPyConnection, workflow_name: str) -> ExperimentInfo | None:
    """The running experiment of a workflow (none before its first run)."""
    live = [e for e in experiments(con, workflow_name) if e.ended_at is None]
    return live[-1] if live else None


def get_experiment(con: duckdb.DuckDBPyConnection, experiment_id: int) -> ExperimentInfo | None:
    rows = con.execute(
        f"SELECT {', '.join(_EXPERIMENT_COLUMNS)} FROM wb.experiments WHERE experiment_id = ?",
        [experiment_id],
    ).fetchall()
    return _info(rows[0]) if rows else None


def effective_salt(wf: Workflow, experiment_id: int) -> str:
    """The workflow's salt, or (empty) its name and the experiment number."""
    return wf.experiment.salt or f"{wf.name}#{experiment_id}"


def same_design(info: ExperimentInfo, wf: Workflow) -> bool:
    """Whether the workflow still has the experiment's allocation, salt and ARR bands."""
    e = wf.experiment
    return (
        info.allocation == {k: float(v) for k, v in e.allocation.model_dump().items()}
        and info.salt == effective_salt(wf, info.experiment_id)
        and info.arr_bands == tuple(float(b) for b in e.arr_bands)
    )


def design_change(old: ExperimentInfo, wf: Workflow) -> str:
    """What changed between an experiment and the workflow's design, in words."""
    e = wf.experiment
    new = {k: float(v) for k, v in e.allocation.model_dump().items()}
    parts = []
    if old.allocation != new:
        a = new
        words = f"ai {a['ai']:g}% / csm {a['csm']:g}% / control {a['control']:g}%"
        parts.append(f"allocation {old.allocation_words()} -> {words}")
    if old.salt != effective_salt(wf, old.experiment_id):
        parts.append("salt changed")
    if old.arr_bands != tuple(float(b) for b in e.arr_bands):
        parts.append(f"ARR bands {list(old.arr_bands)} -> {list(e.arr_bands)}")
    return "; ".join(parts) or "design changed"


def assignments(con: duckdb.DuckDBPyConnection, experiment_id: int) -> pd.DataFrame:
    """The experiment's assignments, in order of assignment."""
    return con.execute(
        f"SELECT {', '.join(ASSIGNMENT_COLUMNS)} FROM wb.assignments WHERE experiment_id = ? "
        "ORDER BY assigned_at, run_id, stratum, position",
        [experiment_id],
    ).df()


@dataclass(frozen=True)
class AssignmentPlan:
    """What a run will record: the experiment (new or running), and the arm of every account.

    ``arms`` covers every eligible fired account (already assigned or new); ``new_rows`` are
    the ones to insert; ``replaces`` is the experiment a changed design ends.
    """

    experiment: ExperimentInfo
    is_new: bool
    replaces: ExperimentInfo | None
    arms: dict[str, str]
    new_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    taken: dict[str, int] = field(default_factory=dict)  # stratum -> accounts, incl. new_rows

    def counts(self) -> dict[str, int]:
        """Arm -> accounts newly assigned in this run."""
        if self.new_rows.empty:
            return {}
        return {str(k): int(v) for k, v in self.new_rows["arm"].value_counts().items()}


def prepare(con: duckdb.DuckDBPyConnection, wf: Workflow, eligible: pd.DataFrame) -> AssignmentPlan:
    """Arms for the eligible fired accounts (``account_id``, ``segment``, ``arr``, ``health_score``).

    Reads only (it draws the id of a new experiment from its sequence; an unused id is a
    harmless gap).
    """
    running = current_experiment(con, wf.name)
    replaces = None
    if running is not None and not same_design(running, wf):
        replaces, running = running, None
    is_new = running is None
    if running is None:
        new_id = int(con.execute("SELECT nextval('wb.experiment_ids')").fetchall()[0][0])
        e = wf.experiment
        running = ExperimentInfo(
            experiment_id=new_id,
            workflow_name=wf.name,
            salt=effective_salt(wf, new_id),
            allocation={k: float(v) for k, v in e.allocation.model_dump().items()},
            arr_bands=tuple(float(b) for b in e.arr_bands),
            reason=(
                "first run of the workflow"
                if replaces is None
                else f"design changed since experiment {replaces.experiment_id}: "
                + design_change(replaces, wf)
            ),
        )
        known: dict[str, str] = {}
        taken: dict[str, int] = {}
    else:
        rows = con.execute(
            "SELECT account_id, arm FROM wb.assignments WHERE experiment_id = ?",
            [running.experiment_id],
        ).fetchall()
        known = {str(a): str(arm) for a, arm in rows}
        taken = {
            str(s): int(n)
            for s, n in con.execute(
                "SELECT stratum, count(*) FROM wb.assignments WHERE experiment_id = ? GROUP BY 1",
                [running.experiment_id],
            ).fetchall()
        }
    return extend(AssignmentPlan(running, is_new, replaces, known, pd.DataFrame(), taken), eligible)


def extend(plan: AssignmentPlan, eligible: pd.DataFrame) -> AssignmentPlan:
    """Arms for more eligible accounts, continuing the strata's blocks (pure).

    Accounts the plan already has an arm for keep it.
    """
    ids = eligible["account_id"].astype(str) if len(eligible) else pd.Series([], dtype=str)
    fresh = eligible[~ids.isin(list(plan.arms))].drop_duplicates("account_id")
    if fresh.empty:
        return plan
    running = plan.experiment
    strata = [
        stratum_of(seg, None if pd.isna(arr) else float(arr), running.arr_bands)
        for seg, arr in zip(fresh["segment"], fresh["arr"], strict=True)
    ]
    new = assign_new(
        pd.DataFrame({"account_id": fresh["account_id"].astype(str), "stratum": strata}),
        plan.taken,
        running.allocation,
        running.salt,
    )
    cov = fresh.assign(account_id=fresh["account_id"].astype(str))
    cov = cov[["account_id", "segment", "arr", "health_score"]]
    new = new.merge(cov, on="account_id", how="left", validate="one_to_one")
    taken = dict(plan.taken)
    for stratum, n in new["stratum"].value_counts().items():
        taken[str(stratum)] = taken.get(str(stratum), 0) + int(n)
    rows = new if plan.new_rows.empty else pd.concat([plan.new_rows, new], ignore_index=True)
    arms = {**plan.arms, **dict(zip(new["account_id"], new["arm"], strict=True))}
    return AssignmentPlan(running, plan.is_new, plan.replaces, arms, rows, taken)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type, call-overload]


def record(
    con: duckdb.DuckDBPyConnection,
    plan: AssignmentPlan,
    *,
    run_id: int,
    version: int | None,
    as_of: date,
    actor: str,
    at: datetime,
) -> None:
    """Store the plan inside the caller's open transaction (with the run)."""
    e = plan.experiment
    if plan.replaces is not None:
        con.execute(
            "UPDATE wb.experiments SET ended_at = ? WHERE experiment_id = ?",
            [at, plan.replaces.experiment_id],
        )
    if plan.is_new:
        con.execute(
            f"INSERT INTO wb.experiments ({', '.join(_EXPERIMENT_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [e.experiment_id, e.workflow_name, e.salt, json.dumps(e.allocation)]
            + [json.dumps(list(e.arr_bands)), at, actor, version, run_id, e.reason],
        )
        audit.record(
            con,
            "experiment",
            f"workflow {e.workflow_name} experiment {e.experiment_id}",
            {
                "started": True,
                "allocation": e.allocation,
                "arr_bands": list(e.arr_bands),
                "salt": e.salt,
                "reason": e.reason,
                "ends": None if plan.replaces is None else plan.replaces.experiment_id,
                "run": run_id,
                "version": version,
            },
            actor,
            at=at,
        )
    rows = plan.new_rows
    if len(rows):
        values: list[list[object]] = []
        for r in rows.to_dict("records"):
            seg = r["segment"]
            values.append(
                [e.experiment_id, str(r["account_id"]), str(r["arm"]), str(r["stratum"])]
                + [int(r["position"]), None if seg is None or pd.isna(seg) else str(seg)]
                + [_number(r["arr"]), _number(r["health_score"]), run_id, as_of, at]
            )
        con.executemany(
            f"INSERT INTO wb.assignments ({', '.join(ASSIGNMENT_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )


def experiment_version(con: duckdb.DuckDBPyConnection) -> str:
    """Changes whenever an experiment starts or ends or an account is assigned: with the
    data version, a cache key for anything computed from the experiments."""
    rows = con.execute(
        "SELECT (SELECT count(*) FROM wb.experiments), (SELECT count(ended_at) FROM "
        "wb.experiments), (SELECT count(*) FROM wb.assignments), "
        "(SELECT CAST(max(assigned_at) AS VARCHAR) FROM wb.assignments)"
    ).fetchall()
    return "/".join(str(v) for v in rows[0])
