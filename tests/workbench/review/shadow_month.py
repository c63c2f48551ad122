"""A workspace after a month in shadow mode, shared by the pack's and the rollback's tests.

The sample book in shadow mode, two weekly runs in November, decisions in November and one in
December, then a second workflow version (threshold 55). Each test module wraps
``prepare_busy`` in a session fixture and ``open_busy`` in a per-test one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.runs import run_workflow
from workbench.storage.workspace import Workspace, connect
from workbench.workflow import store as versions
from workbench.workflow.facts import default_as_of
from workbench.workflow.model import Workflow

MONTH = "2026-11"
RUN_1 = datetime(2026, 11, 3, 9, 0)
RUN_2 = datetime(2026, 11, 10, 9, 0)
LATE = datetime(2026, 12, 2, 9, 0)  # a decision in the next month


@dataclass(frozen=True)
class Busy:
    con: duckdb.DuckDBPyConnection
    wf: Workflow
    decided: dict[str, str]  # action key -> decision (November only)


def shadow_period(con: duckdb.DuckDBPyConnection) -> None:
    """Shadow mode, two weekly runs in November, decisions in November and one in December,
    then a second workflow version (threshold 55)."""
    v1 = versions.latest(con)
    assert v1 is not None
    wf = v1.workflow
    change_mode(con, wf, "shadow", actor="Ana", reason="Start the shadow period", at=RUN_1)
    as_of = default_as_of(con)
    run_workflow(con, wf, 1, as_of - timedelta(days=7), actor="Ana", at=RUN_1)
    queue = list(store.pending(con, wf.name)["action_key"])
    items = [
        DecisionInput(queue[0], "approved"),
        DecisionInput(queue[1], "approved"),
        DecisionInput(queue[2], "approved", subject="Shorter subject"),  # stored as edited
        DecisionInput(queue[3], "rejected", reason="tone", comment="Too blunt"),
        DecisionInput(queue[4], "rejected", reason="wrong_timing", comment="After the QBR"),
    ]
    record_decisions(con, wf, items, reviewer="Dana", at=RUN_1 + timedelta(hours=2))
    run_workflow(con, wf, 1, as_of, actor="Ana", at=RUN_2)
    record_decisions(
        con, wf, [DecisionInput(queue[5], "rejected", reason="policy")], reviewer="Lee", at=LATE
    )
    versions.save_version(con, v1.yaml.replace("value: 60", "value: 55"), "Ana", "Threshold 55")


def prepare_busy(prepared_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed workspace after the shadow period above (for a session fixture)."""
    root = tmp_path_factory.mktemp("governance_book") / "ws"
    shutil.copytree(prepared_book, root)
    con = connect(Workspace(root))
    shadow_period(con)
    con.close()
    return root


def open_busy(prepared_busy: Path, tmp_path: Path) -> Busy:
    """A writable copy of ``prepared_busy``, open; the caller closes ``Busy.con``."""
    root = tmp_path / "busy"
    shutil.copytree(prepared_busy, root)
    con = connect(Workspace(root))
    v1 = versions.get_version(con, "Senior CSM for at-risk renewals", 1)
    done = store.reviewed(con, v1.name)
    november = done[done["decided_at"] < datetime(2026, 12, 1)]
    return Busy(
        con, v1.workflow, dict(zip(november["action_key"], november["decision"], strict=True))
    )
