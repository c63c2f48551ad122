"""Notebooks on disk: one JSON file per notebook in ``<workspace>/notebooks/``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path

from workbench.errors import NotFound, WorkbenchError
from workbench.notebook.model import (
    Cell,
    ChartSpec,
    Notebook,
    new_notebook,
    notebook_from_dict,
    notebook_to_dict,
)

NOTEBOOKS_DIR = "notebooks"
"""Folder name, inside the workspace folder, that holds the notebook files."""

DEFAULT_NAME = "Getting started"

_SUFFIX = ".json"


def notebooks_dir(workspace_dir: Path) -> Path:
    """The notebooks folder of a workspace (not created)."""
    return workspace_dir / NOTEBOOKS_DIR


def slugify(name: str) -> str:
    """The file stem for a notebook name: lower case, words joined by ``-``.

    Names that differ only in case or punctuation share a file.

    Raises:
        WorkbenchError: If the name has no letter or digit.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80].strip("-")
    if not slug:
        raise WorkbenchError(
            f"'{name}' cannot be used as a notebook name.",
            "Use a name with at least one letter or digit.",
        )
    return slug


def notebook_path(directory: Path, name: str) -> Path:
    """Where the notebook called ``name`` is stored."""
    return directory / f"{slugify(name)}{_SUFFIX}"


def list_notebooks(directory: Path) -> list[str]:
    """Names of the saved notebooks, sorted case-insensitively.

    A damaged file is listed under its file stem, so it can still be opened (and
    report what is wrong) or deleted.
    """
    if not directory.is_dir():
        return []
    names = []
    for path in directory.glob(f"*{_SUFFIX}"):
        try:
            names.append(notebook_from_dict(json.loads(path.read_text("utf-8"))).name)
        except (OSError, ValueError):
            names.append(path.stem)
    return sorted(names, key=str.casefold)


def load_notebook(directory: Path, name: str) -> Notebook:
    """Read a notebook.

    Raises:
        NotFound: If there is no notebook of that name.
        WorkbenchError: If the file is not a readable notebook (names the file).
    """
    path = notebook_path(directory, name)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"There is no notebook '{name}' in {directory}.",
            "Pick a notebook from the list or create a new one.",
        ) from None
    try:
        return notebook_from_dict(json.loads(text))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise WorkbenchError(
            f"The notebook file {path} is damaged: {exc}.",
            "Fix the file in a text editor, restore it from a backup, or delete it.",
        ) from exc


def save_notebook(directory: Path, nb: Notebook) -> Path:
    """Write a notebook atomically (a temporary file, then ``os.replace``).

    A crash mid-write leaves the previous version intact.

    Returns:
        The notebook's file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = notebook_path(directory, nb.name)
    payload = json.dumps(notebook_to_dict(nb), indent=2, ensure_ascii=False) + "\n"
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return path


def delete_notebook(directory: Path, name: str) -> None:
    """Delete a notebook's file.

    Raises:
        NotFound: If there is no notebook of that name.
    """
    path = notebook_path(directory, name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise NotFound(
            f"There is no notebook '{name}' in {directory}.",
            "Pick a notebook from the list.",
        ) from None


def default_notebook() -> Notebook:
    """A starter notebook over the sample tables ``accounts`` and ``tickets``."""
    return new_notebook(
        DEFAULT_NAME,
        (
            Cell(
                id="intro",
                kind="markdown",
                source=(
                    "# Getting started\n\n"
                    "Each SQL cell queries the tables in this workspace and shows the result "
                    "below it. Cells are **read-only**: import or delete tables on the Data "
                    "page.\n\n"
                    "Edit a query and run it again, add a chart, or export the result."
                ),
            ),
            Cell(
                id="arr-by-segment",
                kind="sql",
                source=(
                    "-- ARR and account count per segment\n"
                    "SELECT segment, count(*) AS accounts, sum(arr) AS total_arr\n"
                    "FROM accounts\n"
                    "GROUP BY segment\n"
                    "ORDER BY total_arr DESC"
                ),
                chart=ChartSpec(mark="bar", x="segment", y="total_arr"),
            ),
            Cell(
                id="renewals-90-days",
                kind="sql",
                source=(
                    "-- Accounts renewing in the 90 days after the latest usage week\n"
                    "-- (the data's 'today', as on the Overview page)\n"
                    "WITH as_of AS (SELECT coalesce(max(date), current_date) AS d FROM usage)\n"
                    "SELECT account_id, account_name, segment, csm_owner, arr,\n"
                    "       TRY_CAST(renewal_date AS DATE) AS renewal_date\n"
                    "FROM accounts, as_of\n"
                    "WHERE TRY_CAST(renewal_date AS DATE)\n"
                    "      BETWEEN as_of.d AND as_of.d + INTERVAL 90 DAY\n"
                    "ORDER BY renewal_date, arr DESC"
                ),
            ),
            Cell(
                id="open-tickets-by-priority",
                kind="sql",
                source=(
                    "-- Open tickets per priority\n"
                    "SELECT priority, count(*) AS open_tickets,\n"
                    "       count(DISTINCT account_id) AS accounts\n"
                    "FROM tickets\n"
                    "WHERE lower(CAST(status AS VARCHAR)) NOT IN ('closed', 'resolved', 'solved')\n"
                    "GROUP BY priority\n"
                    "ORDER BY open_tickets DESC"
                ),
                chart=ChartSpec(mark="bar", x="priority", y="open_tickets"),
            ),
        ),
    )
