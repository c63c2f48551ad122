"""A sample-book workspace prepared once; each test that writes gets its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workbench.review.shadow_month import open_busy, prepare_busy
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


@pytest.fixture(scope="session")
def prepared_busy(prepared_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed workspace after the shadow period, made once for every module that needs it."""
    return prepare_busy(prepared_book, tmp_path_factory)


@pytest.fixture
def busy(prepared_busy: Path, tmp_path: Path):
    """A writable copy of the shadow-period workspace, opened (see ``shadow_month``)."""
    opened = open_busy(prepared_busy, tmp_path)
    yield opened
    opened.con.close()
