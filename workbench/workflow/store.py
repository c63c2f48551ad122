"""Workflow versions: every save is a new numbered version with an author and a reason.

DuckDB (``wb.workflow_versions``) is the source of truth. History is never rewritten:
restoring an old version saves its content as the next version. Saving content equal
to the latest version (same normalised YAML) changes nothing. Each new version is
noted in the audit log in the same transaction. With a workspace, each
new version is also mirrored to ``workflows/<slug>/vNNNN.yaml`` and ``current.yaml``
for people who keep policy-as-code in git.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from workbench import audit
from workbench.errors import NotFound, WorkbenchError
from workbench.storage.sql import qualified
from workbench.storage.workspace import Workspace
from workbench.workflow.loader import default_workflow_text, dump_workflow, parse_workflow
from workbench.workflow.model import Workflow, condition_ids, condition_paths

_TABLE = qualified("wb", "workflow_versions")
_COLUMNS = "workflow_name, version, saved_at, author, reason, yaml, sha256"
SAMPLE_AUTHOR = "sample"
SAMPLE_REASON = "Playbook example: health below 60 and renewal within 90 days"


@dataclass(frozen=True)
class WorkflowVersion:
    """One saved version of a workflow, as stored."""

    name: str
    version: int
    saved_at: datetime
    author: str
    reason: str
    yaml: str  # as the author wrote it (comments kept)
    sha256: str  # of the normalised YAML

    @property
    def workflow(self) -> Workflow:
        """The parsed workflow."""
        return parse_workflow(self.yaml, source=f"{self.name} v{self.version}")

    @property
    def label(self) -> str:
        """``v3 (2026-11-21 10:02, alice: lower the threshold)``."""
        return f"v{self.version} ({self.saved_at:%Y-%m-%d %H:%M}, {self.author}: {self.reason})"


def content_hash(wf: Workflow) -> str:
    """sha256 of the normalised YAML: equal workflows hash equal, whatever the comments."""
    return hashlib.sha256(dump_workflow(wf).encode("utf-8")).hexdigest()


def _row(row: tuple[Any, ...]) -> WorkflowVersion:
    name, version, saved_at, author, reason, text, sha = row
    return WorkflowVersion(str(name), int(version), saved_at, str(author), str(reason), text, sha)


def _fetch(con: duckdb.DuckDBPyConnection, name: str, version: int) -> WorkflowVersion | None:
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM {_TABLE} WHERE workflow_name = ? AND version = ?",
        [name, version],
    ).fetchall()
    return _row(rows[0]) if rows else None


def save_version(
    con: duckdb.DuckDBPyConnection,
    wf_or_text: Workflow | str,
    author: str,
    reason: str,
    workspace: Workspace | None = None,
    *,
    source: str = "workflow.yaml",
    own_transaction: bool = True,
) -> WorkflowVersion:
    """Validate and save a workflow as its next version.

    Text is stored as written (comments kept); a ``Workflow`` is stored as its
    normalised YAML. When the content equals the latest version of the same name,
    nothing is saved and the latest version is returned (compare ``.version`` with
    what you had to tell the two apart).

    Args:
        con: The workspace connection.
        wf_or_text: A workflow, or its YAML text.
        author: Who made the change (required).
        reason: Why, in a few words (required).
        workspace: When given, also mirror the new version to files after the commit.
        source: The name of the text in error messages (a file name).
        own_transaction: False when the caller already holds a transaction.

    Raises:
        WorkflowInvalid: the text is not a valid workflow.
        WorkbenchError: author or reason is empty.
    """
    return _save(con, wf_or_text, author, reason, workspace, source, own_transaction, None)


def _save(
    con: duckdb.DuckDBPyConnection,
    wf_or_text: Workflow | str,
    author: str,
    reason: str,
    workspace: Workspace | None,
    source: str,
    own_transaction: bool,
    restored_from: int | None,
) -> WorkflowVersion:
    author, reason = author.strip(), reason.strip()
    if not author:
        raise WorkbenchError(
            "A workflow version needs an author.",
            "Say who made the change: your name in the app, or --author NAME on the command line.",
        )
    if not reason:
        raise WorkbenchError(
            "A workflow version needs a reason.",
            "Say why it changed in a few words, e.g. 'Threshold 55 after the Q3 review'.",
        )
    if isinstance(wf_or_text, str):
        wf, text = parse_workflow(wf_or_text, source), wf_or_text
    else:
        wf, text = wf_or_text, dump_workflow(wf_or_text)
    sha = content_hash(wf)
    if own_transaction:
        con.execute("BEGIN TRANSACTION")
    try:
        current = latest(con, wf.name)
        if current is not None and current.sha256 == sha:
            saved = current
        else:
            number = 1 if current is None else current.version + 1
            con.execute(
                f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES (?, ?, now()::TIMESTAMP, ?, ?, ?, ?)",
                [wf.name, number, author, reason, text, sha],
            )
            found = _fetch(con, wf.name, number)
            if found is None:  # pragma: no cover - the insert above guarantees the row
                raise RuntimeError(f"workflow version {wf.name} v{number} vanished")
            saved = found
            detail: dict[str, Any] = {
                "workflow": wf.name,
                "version": number,
                "reason": reason,
                "sha256": sha,
                "source": source,
            }
            if restored_from is not None:
                detail["restored_from"] = f"v{restored_from}"
            audit.record(con, "workflow_version", f"workflow {wf.name} v{number}", detail, author)
        if own_transaction:
            con.execute("COMMIT")
    except BaseException:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
    if workspace is not None and saved is not current:
        write_mirror(workspace, saved)
    return saved


def slug(name: str) -> str:
    """A folder name for a workflow name (``Senior CSM`` -> ``senior-csm``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workflow"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_mirror(workspace: Workspace, version: WorkflowVersion) -> Path:
    """Write ``workflows/<slug>/vNNNN.yaml`` and ``current.yaml`` (each atomically).

    Returns the version file. The database already holds the version, so a failure
    here says so rather than suggesting the save failed.
    """
    folder = workspace.root / "workflows" / slug(version.name)
    target = folder / f"v{version.version:04d}.yaml"
    text = version.yaml if version.yaml.endswith("\n") else version.yaml + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, text)
        _write_atomic(folder / "current.yaml", text)
    except OSError as exc:
        raise WorkbenchError(
            f"Saved {version.name} v{version.version} in the workspace, but could not write "
            f"its copy {target}: {exc.strerror or exc}.",
            "The version is safe in the workspace database; free disk space or fix the "
            "folder's permissions, then save again to refresh the copy.",
        ) from None
    return target


def list_versions(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[WorkflowVersion]:
    """Saved versions, newest first: of one workflow, or of all of them."""
    where, params = ("WHERE workflow_name = ?", [name]) if name is not None else ("", [])
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM {_TABLE} {where} "
        "ORDER BY saved_at DESC, version DESC, workflow_name",
        params,
    ).fetchall()
    return [_row(r) for r in rows]


def latest(con: duckdb.DuckDBPyConnection, name: str | None = None) -> WorkflowVersion | None:
    """The newest version of ``name``; without a name, the most recently saved workflow."""
    if name is not None:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM {_TABLE} WHERE workflow_name = ? ORDER BY version DESC LIMIT 1",
            [name],
        ).fetchall()
    else:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM {_TABLE} "
            "ORDER BY saved_at DESC, version DESC, workflow_name LIMIT 1"
        ).fetchall()
    return _row(rows[0]) if rows else None


def workflow_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the saved workflows, alphabetically."""
    rows = con.execute(f"SELECT DISTINCT workflow_name FROM {_TABLE} ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def get_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> WorkflowVersion:
    """One version of a workflow.

    Raises:
        NotFound: naming the versions (or the workflows) that exist.
    """
    found = _fetch(con, name, version)
    if found is not None:
        return found
    numbers = [v.version for v in list_versions(con, name)]
    if not numbers:
        names = ", ".join(f"'{n}'" for n in workflow_names(con)) or "none saved yet"
        raise NotFound(f"No workflow named '{name}'.", f"Workflows: {names}.")
    listed = ", ".join(f"v{n}" for n in sorted(numbers))
    raise NotFound(f"Workflow '{name}' has no version {version}.", f"Versions: {listed}.")


def restore_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    version: int,
    author: str,
    reason: str,
    workspace: Workspace | None = None,
) -> WorkflowVersion:
    """Save the content of an old version as the next version (history is kept).

    Returns the latest version unchanged when it already has that content.
    """
    old = get_version(con, name, version)
    source = f"{name} v{old.version}"
    return _save(con, old.yaml, author, reason, workspace, source, True, old.version)


def install_default(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace | None = None,
    *,
    own_transaction: bool = True,
) -> WorkflowVersion | None:
    """Save the example workflow as v1 when no workflow exists yet; else return None."""
    if con.execute(f"SELECT count(*) FROM {_TABLE}").fetchall()[0][0]:
        return None
    return save_version(
        con,
        default_workflow_text(),
        SAMPLE_AUTHOR,
        SAMPLE_REASON,
        workspace,
        source="default_workflow.yaml",
        own_transaction=own_transaction,
    )


# --- comparing versions ---------------------------------------------------------------------


def diff_versions(a: WorkflowVersion, b: WorkflowVersion) -> str:
    """A unified diff of the normalised YAML of two versions (comments and layout ignored)."""
    return "".join(
        difflib.unified_diff(
            dump_workflow(a.workflow).splitlines(keepends=True),
            dump_workflow(b.workflow).splitlines(keepends=True),
            fromfile=a.label,
            tofile=b.label,
        )
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value if value.strip() == value and value else json.dumps(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if value is None:
        return "(none)"
    return json.dumps(value, default=str)


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def _item_label(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("name", "id", "fact", "metric", "source"):
            if isinstance(value.get(key), str):
                return f" ({value[key]})"
    elif not isinstance(value, list):
        return f" ({_fmt(value)})"
    return ""


def _walk(path: str, old: Any, new: Any, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{sub} removed (was {_fmt(old[key])})")
            elif key not in old:
                out.append(f"{sub} added: {_fmt(new[key])}")
            else:
                _walk(sub, old[key], new[key], out)
    elif (
        isinstance(old, list)
        and isinstance(new, list)
        and not (_is_scalar_list(old) and _is_scalar_list(new))
    ):
        keys_old = [json.dumps(v, sort_keys=True, default=str) for v in old]
        keys_new = [json.dumps(v, sort_keys=True, default=str) for v in new]
        matcher = difflib.SequenceMatcher(a=keys_old, b=keys_new, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(paired):
                _walk(f"{path}[{j1 + k}]", old[i1 + k], new[j1 + k], out)
            for i in range(i1 + paired, i2):
                out.append(f"{path}[{i}] removed{_item_label(old[i])}")
            for j in range(j1 + paired, j2):
                out.append(f"{path}[{j}] added{_item_label(new[j])}")
    elif old != new:
        out.append(f"{path}: {_fmt(old)} → {_fmt(new)}")


def change_summary(old: Workflow, new: Workflow) -> list[str]:
    """What changed, one sentence per field path.

    For example ``conditions.all[0] (health_below).value: 60 → 55`` (the condition named by its id),
    ``escalation[2] added (Open P1 ticket)``.
    Removed and added list items are named by the old and new index respectively.
    """
    out: list[str] = []
    _walk(
        "",
        old.model_dump(mode="json", exclude_none=True),
        new.model_dump(mode="json", exclude_none=True),
        out,
    )
    return [_named(line, old) for line in out]


def _named(line: str, wf: Workflow) -> str:
    """Name the condition a path points into: ``conditions.all[0] (health_below).value: …``."""
    paths = condition_paths(wf.conditions, "conditions")
    for path, cid in sorted(zip(paths, condition_ids(wf.conditions), strict=True), reverse=True):
        if line.startswith(path + ".") or line.startswith(path + ":"):
            return f"{path} ({cid}){line[len(path) :]}"
    return line
