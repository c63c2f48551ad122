"""Shared fixtures: an in-memory-like workspace on disk and a small-file writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.storage.workspace import Workspace, connect


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def con(ws: Workspace):
    c = connect(ws)
    yield c
    c.close()


@pytest.fixture
def write(tmp_path: Path):
    """write("name.csv", text) -> path (UTF-8)."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding=encoding)
        return path

    return _write
