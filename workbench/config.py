"""Settings as typed dataclasses with defaults and help text."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

WORKSPACE_ENV = "WORKBENCH_WORKSPACE"
DEFAULT_WORKSPACE = Path("workspace")


def resolve_workspace(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the workspace folder to use.

    Order: an explicit path (``workbench --workspace DIR``), then the
    ``WORKBENCH_WORKSPACE`` environment variable, then ``./workspace``.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(WORKSPACE_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_WORKSPACE.resolve()


@dataclass(frozen=True)
class Setting:
    """Documentation of one setting (kept in sync with README by a test)."""

    name: str
    default: str
    help: str


@dataclass(frozen=True)
class Settings:
    """Workbench settings.

    Attributes:
        workspace: Folder holding the DuckDB file, notebooks and exports.
        lock_wait_seconds: How long the CLI waits for a workspace another
            process holds before explaining who holds it.
        preview_rows: Rows shown in file and table previews.
        max_examples: Example rows kept per validation problem.
        notebook_max_rows: Rows a notebook cell fetches for display.
    """

    workspace: Path = field(default_factory=resolve_workspace)
    lock_wait_seconds: float = 5.0
    preview_rows: int = 200
    max_examples: int = 50
    notebook_max_rows: int = 10_000


SETTINGS_HELP: tuple[Setting, ...] = (
    Setting(
        "WORKBENCH_WORKSPACE",
        "./workspace",
        "Workspace folder (the app and the CLI); `workbench --workspace DIR` overrides it.",
    ),
    Setting(
        "WORKBENCH_LOCK_WAIT",
        "5",
        "Seconds the CLI waits for a workspace held by another process before explaining.",
    ),
    Setting(
        "WORKBENCH_NO_SAMPLE",
        "unset",
        "When set to 1, the app starts on an empty workspace instead of loading the sample book.",
    ),
)


def load_settings(workspace: str | os.PathLike[str] | None = None) -> Settings:
    """Build settings from the environment and an optional explicit workspace."""
    wait = float(os.environ.get("WORKBENCH_LOCK_WAIT", "5") or 5)
    return Settings(workspace=resolve_workspace(workspace), lock_wait_seconds=wait)
