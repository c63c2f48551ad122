"""Idempotent start of every page: settings, the cached workspace, a cursor for this rerun."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import streamlit as st

from workbench.config import Settings, load_settings
from workbench.errors import WorkbenchError
from workbench.ingest.sample import is_empty, reset_to_sample
from workbench.storage.workspace import Workspace, connect
from workbench.ui.errors import show_error, show_flash


@dataclass(frozen=True)
class Context:
    """What a page needs: settings, the workspace paths and a cursor for this rerun."""

    settings: Settings
    workspace: Workspace
    con: duckdb.DuckDBPyConnection


@st.cache_resource(show_spinner="Opening the workspace (a first start loads the sample book)…")
def _connection(root: str) -> duckdb.DuckDBPyConnection:
    """One connection per workspace for the server process; pages take cursors from it."""
    ws = Workspace(Path(root))
    con = connect(ws, wait_seconds=load_settings(root).lock_wait_seconds)
    if is_empty(con) and os.environ.get("WORKBENCH_NO_SAMPLE", "") != "1":
        reset_to_sample(con, actor="system")  # the app's first start, not a person
    return con


def bootstrap() -> Context:
    """Return the context for this rerun, or stop the page with an explanation."""
    settings = load_settings()
    try:
        base = _connection(str(settings.workspace))
    except WorkbenchError as exc:
        show_error(exc)
        st.stop()
    show_flash()
    return Context(settings, Workspace(settings.workspace), base.cursor())
