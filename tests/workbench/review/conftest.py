"""A sample-book workspace prepared once; each test that writes gets its own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench.storage.workspace import Workspace, connect


@pytest.fixture(scope="session")
def prepared_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a closed workspace holding the sample book and the example workflow v1."""
    from workbench.ingest.sample import reset_to_sample

    ws = Workspace(tmp_path_factory.mktemp("review_book") / "ws")
    con = connect(ws)
    reset_to_sample(con)
    con.close()
    return ws.root


@pytest.fixture
def book_copy(prepared_book: Path, tmp_path: Path):
    """A writable copy of the prepared workspace: (workspace, connection)."""
    root = tmp_path / "ws"
    shutil.copytree(prepared_book, root)
    ws = Workspace(root)
    con = connect(ws)
    yield ws, con
    con.close()
