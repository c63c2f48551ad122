"""AppTest helpers: a workspace in the environment and the app opened on a page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def open_app(monkeypatch) -> Callable[..., AppTest]:
    """open_app(workspace_dir, page=None, sample=False) -> AppTest after its first run(s)."""

    def _open(workspace: Path, page: str | None = None, sample: bool = False) -> AppTest:
        monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace))
        if sample:
            monkeypatch.delenv("WORKBENCH_NO_SAMPLE", raising=False)
        else:
            monkeypatch.setenv("WORKBENCH_NO_SAMPLE", "1")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        if page:
            at.switch_page(f"app_pages/{page}")
            at.run()
        assert not at.exception, at.exception
        return at

    return _open


@pytest.fixture
def accounts_workspace(tmp_path) -> Path:
    """A workspace holding a two-row accounts table."""
    from workbench.ingest.pipeline import ImportOptions, import_file
    from workbench.storage.workspace import Workspace, connect

    ws = Workspace(tmp_path / "ws")
    con = connect(ws)
    path = tmp_path / "a.csv"
    path.write_text("Account ID,Segment,ARR\nA1,SMB,10\nA2,Enterprise,20\n")
    import_file(con, path, ImportOptions(kind="accounts"))
    con.close()
    return ws.root
