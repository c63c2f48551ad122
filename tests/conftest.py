"""Shared fixtures: a workspace on disk, a small-file writer, and the sample book once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# No network in tests: a test module importing litellm at collection must not fetch its cost
# map (the app sets this itself, lazily, in workbench.drafting.gateway).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from workbench.storage.workspace import Workspace, connect


@pytest.fixture(autouse=True)
def _no_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's WORKBENCH_LLM_* variables never reach a test (tests set their own)."""
    import os

    for name in list(os.environ):
        if name.startswith("WORKBENCH_LLM_"):
            monkeypatch.delenv(name)


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


@pytest.fixture(scope="session")
def sample_book(tmp_path_factory: pytest.TempPathFactory):
    """A workspace loaded with the sample book, loaded once for the whole run.

    For tests that read it. A test that adds rows must remove them again (in a
    ``finally``); a test that changes tables or saves versions builds its own workspace.
    """
    from workbench.ingest.sample import reset_to_sample

    c = connect(Workspace(tmp_path_factory.mktemp("sample_book") / "ws"))
    reset_to_sample(c)
    yield c
    c.close()


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a closed workspace holding the sample book and the example workflow v1.

    Loaded once per run; tests that write copy it first (``copy_workspace``).
    """
    from workbench.ingest.sample import reset_to_sample

    ws = Workspace(tmp_path_factory.mktemp("sample_root") / "ws")
    c = connect(ws)
    reset_to_sample(c)
    c.close()
    return ws.root


@pytest.fixture
def sample_copy(sample_root: Path, tmp_path: Path) -> Workspace:
    """A writable copy of the sample workspace (closed; connect to it)."""
    return Workspace(Path(shutil.copytree(sample_root, tmp_path / "sample_ws")))


def pytest_sessionfinish(session, exitstatus):
    """Free DuckDB objects before the interpreter exits (else DuckDB reports them as leaked).

    AppTest keeps the app's cached connections and the shared sample book lives for the
    whole run; dropping the caches and collecting cycles lets them close normally.
    """
    import gc
    import sys

    if "streamlit" in sys.modules:
        import streamlit as st

        st.cache_resource.clear()
        st.cache_data.clear()
    gc.collect()
