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
    ["import", "tables", "sql", "sheets", "history", "profiles", "delete", "reset-sample"],
)
def test_every_cli_command_documented(command):
    assert f"workbench {command}" in README or f"] {command} " in README
