"""Every page renders without exceptions on the sample workspace and on an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "app_pages").glob("*.py"))


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory):
    """A workspace loaded with the sample book once for the module (loading takes a second)."""
    from workbench.ingest.sample import reset_to_sample
    from workbench.storage.workspace import Workspace, connect

    ws = Workspace(tmp_path_factory.mktemp("sample") / "ws")
    con = connect(ws)
    reset_to_sample(con)
    con.close()
    return ws


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_sample_workspace(page, sample_ws, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(sample_ws.root))
    at = _app()
    at.run()
    at.switch_page(f"app_pages/{page}")
    at.run()
    assert not at.exception, at.exception
    assert at.title, "every page has a title"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_empty_workspace(page, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "empty"))
    monkeypatch.setenv("WORKBENCH_NO_SAMPLE", "1")
    at = _app()
    at.run()
    at.switch_page(f"app_pages/{page}")
    at.run()
    assert not at.exception, at.exception
