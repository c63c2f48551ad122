"""README stays honest: two commands first, every setting, kind, column, problem and command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.config import SETTINGS_HELP
from workbench.ingest.kinds import KINDS
from workbench.ingest.report import PROBLEM_KINDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_exactly_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None and README.index("```bash") < 40
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["./dev run", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in ci


@pytest.mark.parametrize("setting", SETTINGS_HELP, ids=lambda s: s.name)
def test_every_setting_documented(setting):
    assert f"`{setting.name}`" in README


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda k: k.name)
def test_every_kind_and_column_documented(kind):
    row = next(line for line in README.splitlines() if line.startswith(f"| `{kind.name}` |"))
    for col in kind.columns:
        assert col.name in row, (kind.name, col.name)


@pytest.mark.parametrize("code", PROBLEM_KINDS)
def test_every_problem_kind_documented(code):
    assert f"`{code}`" in README


@pytest.mark.parametrize(
    "command",
    [
        "import",
        "tables",
        "sql",
        "sheets",
        "history",
        "profiles",
        "delete",
        "reset-sample",
        "preview",
        "sweep",
        "backtest",
        "draft",
        "audit verify",
        "audit show",
        "run",
        "mode",
        "review list",
        "review export",
        "review import",
        "gate",
        "outbox",
        "report monthly",
        "demo shadow",
        "experiment status",
        "outcomes import",
        "analyze",
        "demo outcomes",
    ],
)
def test_every_cli_command_documented(command):
    assert f"workbench {command}" in README or f"] {command} " in README


def _literals(model: type) -> list[str]:
    from typing import get_args

    return list(get_args(model.model_fields["op"].annotation))


def _condition_ops() -> list[str]:
    from workbench.workflow import model as m

    ops: list[str] = []
    for cls in (m.Compare, m.Between, m.InList, m.Missing, m.WithinDays, m.Change, m.Count):
        ops += _literals(cls)
    return ops


@pytest.mark.parametrize("op", _condition_ops())
def test_every_condition_operator_documented(op):
    table = README[README.index("**Condition operators**") : README.index("A missing value never")]
    assert f"`{op}`" in table


def test_every_count_source_action_and_route_documented():
    from typing import get_args

    from workbench.workflow import model as m

    for name in (*get_args(m.CountSource), *get_args(m.ActionType), "human", "manager"):
        assert f"`{name}`" in README, name


def test_every_built_in_fact_documented(tmp_path):
    """Facts on the sample book: each is named in the README or covered by a documented pattern."""
    from workbench.ingest.sample import reset_to_sample
    from workbench.storage.sql import Params
    from workbench.storage.workspace import Workspace, connect
    from workbench.workflow.facts import build_facts, table_columns, usage_metrics

    con = connect(Workspace(tmp_path / "ws"))
    reset_to_sample(con)
    facts = build_facts(con, Params()).facts
    cols = table_columns(con)
    metrics = usage_metrics(cols)
    section = README[README.index("**Account facts**") : README.index("**Health score**")]
    for f in facts:
        if f.source == "accounts" and f.name in cols["accounts"] and f.name not in ("arr",):
            continue  # "every accounts column"
        name = f.name
        for m in metrics:
            for part in ("recent", "prior", "change_pct"):
                if name == f"{m}_{part}":
                    name = f"<metric>_{part}"
        if name.startswith("open_tickets_"):
            name = "open_tickets_<priority>"
        assert f"`{name}`" in section, f.name
    con.close()


def test_every_llm_setting_documented():
    from workbench.drafting.settings import ENV_PREFIX, FIELD_NAMES

    section = README[README.index("## Drafting") : README.index("## Command line")]
    for name in FIELD_NAMES:
        assert f"`{ENV_PREFIX}{name.upper()}` | `{name}` |" in section, name


def test_every_draft_outcome_and_output_policy_field_documented():
    from typing import get_args

    from workbench.drafting.engine import OUTCOMES, Outcome
    from workbench.workflow.model import OutputPolicy

    assert set(OUTCOMES) == set(get_args(Outcome))
    section = README[README.index("## Drafting") : README.index("## Command line")]
    for outcome in OUTCOMES:
        assert f"| `{outcome}` |" in section, outcome
    for field in OutputPolicy.model_fields:
        assert f"  {field}:" in section, field
