"""Experiment scenarios on the sample book, for the library, CLI, report and page tests.

* ``small``: the scripted six-week shadow period of the example workflow (about 45
  accounts assigned) plus generated renewal outcomes with a known effect: underpowered.
* ``broad``: a broader version of the workflow (health below 101, renewal within 365 days;
  allocation ai 40 / csm 30 / control 30) run once, so about 1,300 accounts are assigned,
  plus generated outcomes: the known effect is detectable.

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

BROAD_ALLOCATION = "allocation: {ai: 40, csm: 30, control: 30}"


def build_small(ws: Workspace, *, seed: int = 7, drop_control_share: float = 0.0) -> None:
    """Shadow period + demo outcomes on a sample-book workspace (closed afterwards)."""
    con = connect(ws)
    try:
        v = latest(con)
        assert v is not None
        last = default_as_of(con) - timedelta(days=7)
        shadow_period(con, v.workflow, v.version, week_dates(last, 6), GOOD)
        import_demo_outcomes(
            con, v.workflow, ws.root / "exports", seed=seed, drop_control_share=drop_control_share
        )
    finally:
        con.close()


def build_broad(
    ws: Workspace,
    *,
    seed: int = 7,
    drop_control_share: float = 0.0,
    renew_rate: Mapping[str, float] | None = None,
) -> None:
    """A broad workflow version, one shadow run, and generated outcomes (closed afterwards)."""
    con = connect(ws)
    try:
        v = latest(con)
        assert v is not None
        text = v.yaml.replace("value: 60", "value: 101").replace("days: 90", "days: 365")
        text = text.replace("allocation: {ai: 45, csm: 45, control: 10}", BROAD_ALLOCATION)
        assert BROAD_ALLOCATION in text
        broad = save_version(con, text, "tester", "broad scenario")
        wf = broad.workflow
        change_mode(con, wf, "shadow", actor="tester", reason="scenario", version=broad.version)
        run_workflow(con, wf, broad.version, default_as_of(con), actor="tester")
        if renew_rate is None:
            import_demo_outcomes(
                con, wf, ws.root / "exports", seed=seed, drop_control_share=drop_control_share
            )
        else:
            info = current_experiment(con, wf.name)
            assert info is not None
            frame = generate_outcomes(
                assignments(con, info.experiment_id),
                renew_rate=renew_rate,
                seed=seed,
                drop_control_share=drop_control_share,
            )
            (Path(ws.root) / "exports").mkdir(exist_ok=True)
            path = write_outcomes_csv(frame, Path(ws.root) / "exports" / "outcomes.csv")
            import_file(con, path, ImportOptions(kind="outcomes", mode="append", actor="tester"))
    finally:
        con.close()
