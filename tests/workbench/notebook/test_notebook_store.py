"""Notebook files: round trip, atomic save, damaged files, list and delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.errors import NotFound, WorkbenchError
from workbench.notebook import (
    Cell,
    ChartSpec,
    Notebook,
    default_notebook,
    delete_notebook,
    list_notebooks,
    load_notebook,
    notebooks_dir,
    save_notebook,
)
from workbench.notebook import store as store_module
from workbench.notebook.store import slugify


def sample(name: str = "Renewal Risk") -> Notebook:
    return Notebook(
        name=name,
        cells=(
            Cell("m", "markdown", "# Notes — café ✓"),
            Cell("s", "sql", "SELECT 1", ChartSpec("point", "a", "b")),
        ),
        updated_at="2024-05-01T12:00:00+00:00",
    )


def test_notebooks_dir_is_inside_workspace(tmp_path: Path) -> None:
    assert notebooks_dir(tmp_path) == tmp_path / "notebooks"


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Renewal Risk", "renewal-risk"), ("  Q3: ARR / NRR!  ", "q3-arr-nrr"), ("abc", "abc")],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_slugify_refuses_empty_names() -> None:
    with pytest.raises(WorkbenchError):
        slugify("!!!")


def test_round_trip(tmp_path: Path) -> None:
    directory = tmp_path / "notebooks"
    path = save_notebook(directory, sample())
    assert path == directory / "renewal-risk.json"
    assert load_notebook(directory, "Renewal Risk") == sample()
    assert load_notebook(directory, "renewal-risk") == sample()


def test_save_overwrites_and_leaves_no_temp_files(tmp_path: Path) -> None:
    save_notebook(tmp_path, sample())
    changed = Notebook("Renewal Risk", (Cell("x", "sql", "SELECT 2"),), "2024-06-01T00:00:00+00:00")
    save_notebook(tmp_path, changed)
    assert load_notebook(tmp_path, "Renewal Risk") == changed
    assert [p.name for p in tmp_path.iterdir()] == ["renewal-risk.json"]


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_notebook(tmp_path, sample())
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_module.os, "replace", broken_replace)
    changed = Notebook("Renewal Risk", (), "2024-06-01T00:00:00+00:00")
    with pytest.raises(OSError, match="disk full"):
        save_notebook(tmp_path, changed)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["renewal-risk.json"]


def test_save_writes_readable_json(tmp_path: Path) -> None:
    path = save_notebook(tmp_path, sample())
    data = json.loads(path.read_text("utf-8"))
    assert data["name"] == "Renewal Risk"
    assert "café" in path.read_text("utf-8")


def test_missing_notebook(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="Nope"):
        load_notebook(tmp_path, "Nope")
    with pytest.raises(NotFound):
        delete_notebook(tmp_path, "Nope")


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"name": "x", "cells": [{"id": "a", "kind": "bash", "source": ""}]}'],
)
def test_damaged_file_names_the_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "broken.json").write_text(content, "utf-8")
    with pytest.raises(WorkbenchError) as info:
        load_notebook(tmp_path, "broken")
    assert not isinstance(info.value, NotFound)
    assert str(tmp_path / "broken.json") in info.value.message
    assert info.value.hint


def test_list_and_delete(tmp_path: Path) -> None:
    assert list_notebooks(tmp_path / "absent") == []
    save_notebook(tmp_path, sample("beta"))
    save_notebook(tmp_path, sample("Alpha"))
    (tmp_path / "damaged.json").write_text("{", "utf-8")
    (tmp_path / "notes.txt").write_text("not a notebook", "utf-8")
    assert list_notebooks(tmp_path) == ["Alpha", "beta", "damaged"]
    delete_notebook(tmp_path, "beta")
    delete_notebook(tmp_path, "damaged")
    assert list_notebooks(tmp_path) == ["Alpha"]


def test_default_notebook_shape(tmp_path: Path) -> None:
    nb = default_notebook()
    kinds = [c.kind for c in nb.cells]
    assert kinds == ["markdown", "sql", "sql", "sql"]
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert any(c.chart is not None and c.chart.mark == "bar" for c in nb.cells)
    save_notebook(tmp_path, nb)
    assert load_notebook(tmp_path, nb.name) == nb
