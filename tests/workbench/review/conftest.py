"""A sample-book workspace prepared once; each test that writes gets its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.storage.workspace import Workspace, connect


@pytest.fixture(scope="session")
def prepared_book(sample_root: Path) -> Path:
    """The closed sample workspace (see ``tests/conftest.py``)."""
    return sample_root


@pytest.fixture
def book_copy(sample_copy: Workspace):
    """A writable copy of the sample workspace: (workspace, connection)."""
    con = connect(sample_copy)
    yield sample_copy, con
    con.close()
