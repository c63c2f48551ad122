"""The workspace: one folder, one DuckDB file, plus notebooks and exports."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from workbench.errors import WorkbenchError, WorkspaceLocked
from workbench.storage.migrate import migrate

DB_FILE = "workbench.duckdb"
_LOCK_PID = re.compile(r"PID (\d+)")


class WorkspaceError(WorkbenchError):
    """The workspace folder or database cannot be used."""


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace folder."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILE

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def exists(self) -> bool:
        return self.db_path.exists()


def describe_process(pid: int) -> str:
    """A short description of a process for lock messages (``1234 (streamlit run app.py)``)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"process {pid}"
    args = [a for a in raw.decode("utf-8", "replace").split("\0") if a]
    shown: list[str] = []
    for arg in args[:6]:
        shown.append(Path(arg).name if arg.startswith("/") and len(shown) == 0 else arg)
    cmd = " ".join(shown)
    if len(cmd) > 120:
        cmd = cmd[:117] + "..."
    return f"process {pid} ({cmd})" if cmd else f"process {pid}"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting lock" in text or "Could not set lock" in text)


def lock_error(ws: Workspace, exc: Exception) -> WorkspaceLocked:
    """Translate DuckDB's lock error into one that says who holds the workspace."""
    match = _LOCK_PID.search(str(exc))
    holder = describe_process(int(match.group(1))) if match else "another program"
    return WorkspaceLocked(
        f"The workspace {ws.root} is in use by {holder}. "
        "DuckDB lets one program open a workspace at a time.",
        "If that is the workbench app, use its Data and Notebook pages, or stop it "
        "(Ctrl+C in its terminal) and run this command again. To work on another copy, "
        "pass --workspace DIR or set WORKBENCH_WORKSPACE.",
    )


def connect(
    ws: Workspace, *, read_only: bool = False, wait_seconds: float = 0.0
) -> duckdb.DuckDBPyConnection:
    """Open the workspace database, waiting up to ``wait_seconds`` for another process's lock.

    Creates the folder and runs migrations when opened for writing.

    Raises:
        WorkspaceLocked: when another process still holds the file after the wait.
    """
    if ws.root.exists() and not ws.root.is_dir():
        raise WorkspaceError(
            f"The workspace {ws.root} is a file, not a folder.",
            "Pass a folder with --workspace (or WORKBENCH_WORKSPACE); it is created if missing.",
        )
    if not read_only:
        try:
            ws.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create the workspace folder {ws.root}: {exc.strerror}.",
                "Choose a folder you can write to with --workspace or WORKBENCH_WORKSPACE.",
            ) from None
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(ws.db_path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WorkspaceError(
                    f"Cannot open the workspace database {ws.db_path}: "
                    + str(exc).splitlines()[0].removeprefix("IO Error: "),
                    "If the file is damaged, move it away (the app then starts a fresh workspace "
                    "from the sample) or point --workspace at another folder.",
                ) from None
            if time.monotonic() >= deadline:
                raise lock_error(ws, exc) from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)
    if not read_only:
        migrate(con)
    return con
