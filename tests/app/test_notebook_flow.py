"""Notebook page flow: starter cells run, errors stay in their cell, writes are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def at(accounts_workspace, open_app):
    return open_app(accounts_workspace, "notebook.py")


def test_starter_notebook_runs_on_first_visit(at):
    # The starter notebook's first SQL cell (ARR by segment) ran without a click.
    assert len(at.dataframe) >= 1
    assert any("2 rows" in c.value for c in at.caption)
    # Cells over tables this workspace lacks show their error inside the cell, with the tables.
    assert any("Tables in this workspace: accounts" in e.value for e in at.error)


def test_write_is_refused_inside_the_cell(at):
    first_sql = next(t for t in at.text_area if t.key.startswith("nb:src:") and "SELECT" in t.value)
    first_sql.input("DROP TABLE accounts").run()
    at.button(key=f"nb:run:{first_sql.key.split(':')[-1]}").click().run()
    assert not at.exception
    assert any("read-only" in e.value for e in at.error)
    at.button(key="nb:run-all").click().run()
    assert not at.exception


def test_create_new_notebook(at):
    at.selectbox(key="nb:choice").select("+ New notebook…").run()
    at.text_input(key="nb:new-name").input("Renewal risk").run()
    at.button(key="nb:create").click().run()
    assert not at.exception, at.exception
    assert not at.error or all("Tables in this workspace" in e.value for e in at.error)
    assert at.selectbox(key="nb:choice").value == "Renewal risk"
