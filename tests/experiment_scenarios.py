"""Experiment scenarios on the sample book, for the library, CLI, report and page tests.

* ``small``: the scripted six-week shadow period of the example workflow (about 45
  accounts assigned) plus generated renewal outcomes with a known effect: underpowered.
* ``broad``: a broader version of the workflow (health below 101, renewal within 365 days;
  allocation ai 40 / csm 30 / control 30; caps raised so one run acts on every account it
  fires on) run once, so about 1,300 accounts are assigned, plus generated outcomes: the
  known effect is detectable.

Each step opens and closes the workspace, so a prepared folder can be copied between steps.
The true renewal rates are ``scenario.RENEW_RATE`` unless a test passes its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from workbench.experiment.scenario import (
    generate_outcomes,
    import_demo_outcomes,
    write_outcomes_csv,
)
from workbench.experiment.store import assignments, current_experiment
from workbench.ingest.pipeline import ImportOptions, import_file
from workbench.review.control import change_mode
from workbench.review.runs import run_workflow
from workbench.review.simulate import GOOD, shadow_period, week_dates
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.store import latest, save_version

DEFAULT_ALLOCATION = "allocation: {ai: 45, csm: 45, control: 10}"
BROAD_ALLOCATION = "allocation: {ai: 40, csm: 30, control: 30}"


def _ws(ws: Workspace | Path) -> Workspace:
    return ws if isinstance(ws, Workspace) else Workspace(Path(ws))


def run_shadow_period(ws: Workspace | Path) -> None:
    """Six weekly shadow runs of the example workflow, reviewed by the simulated reviewer."""
    con = connect(_ws(ws))
    try:
        v = latest(con)
        assert v is not None
        last = default_as_of(con) - timedelta(days=7)
        shadow_period(con, v.workflow, v.version, week_dates(last, 6), GOOD)
    finally:
        con.close()


def run_broad(ws: Workspace | Path) -> None:
    """Save the broad version (allocation 40/30/30) and run it once in shadow mode."""
    con = connect(_ws(ws))
    try:
        v = latest(con)
        assert v is not None
        text = v.yaml.replace("value: 60", "value: 101").replace("days: 90", "days: 365")
        text = text.replace(DEFAULT_ALLOCATION, BROAD_ALLOCATION)
        # Caps high enough that the one run acts on every account it fires on: only accounts
        # a run acts on join the experiment.
        for cap in ("max_actions_per_run: 50", "max_per_csm_per_week: 8", "capacity_per_week: 8"):
            assert cap in text
            text = text.replace(cap, cap.split(":")[0] + ": 5000")
        assert BROAD_ALLOCATION in text
        broad = save_version(con, text, "tester", "broad scenario")
        wf = broad.workflow
        change_mode(con, wf, "shadow", actor="tester", reason="scenario", version=broad.version)
        run_workflow(con, wf, broad.version, default_as_of(con), actor="tester")
    finally:
        con.close()


def add_outcomes(
    ws: Workspace | Path,
    *,
    seed: int = 7,
    drop_control_share: float = 0.0,
    renew_rate: Mapping[str, float] | None = None,
) -> None:
    """Generated renewal outcomes for the running experiment's accounts, appended."""
    w = _ws(ws)
    con = connect(w)
    try:
        v = latest(con)
        assert v is not None
        folder = Path(w.root) / "exports"
        if renew_rate is None:
            import_demo_outcomes(
                con, v.workflow, folder, seed=seed, drop_control_share=drop_control_share
            )
            return
        info = current_experiment(con, v.name)
        assert info is not None
        frame = generate_outcomes(
            assignments(con, info.experiment_id),
            renew_rate=renew_rate,
            seed=seed,
            drop_control_share=drop_control_share,
        )
        folder.mkdir(exist_ok=True)
        path = write_outcomes_csv(frame, folder / "outcomes.csv")
        import_file(con, path, ImportOptions(kind="outcomes", mode="append", actor="tester"))
    finally:
        con.close()


def build_small(ws: Workspace | Path, **outcomes: object) -> None:
    run_shadow_period(ws)
    add_outcomes(ws, **outcomes)  # type: ignore[arg-type]


def build_broad(ws: Workspace | Path, **outcomes: object) -> None:
    run_broad(ws)
    add_outcomes(ws, **outcomes)  # type: ignore[arg-type]
