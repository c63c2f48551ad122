"""Files that leave the workspace, each noted in the audit log as an ``export`` entry.

The command line writes a file and its entry together (:func:`write_export`); the app's
download buttons note theirs when clicked (``workbench.ui.downloads``). An entry names the
file, what it holds, its rows and the SHA-256 of its bytes, so a file found later can be
matched to the export that made it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from workbench import audit
from workbench.errors import WorkbenchError
from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes

DEFAULT_ACTOR = "local user"
"""Who exports, imports or drafts when nobody gave a name (the app without a name set)."""


def export_detail(
    file_name: str,
    data: bytes,
    *,
    what: str,
    rows: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The detail of an export entry: file, what, rows, bytes and their SHA-256."""
    detail: dict[str, Any] = {
        "file": file_name,
        "what": what,
        "rows": rows,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    detail.update(extra or {})
    return detail


def record_export(
    con: duckdb.DuckDBPyConnection,
    file_name: str,
    data: bytes,
    *,
    what: str,
    rows: int | None = None,
    actor: str = DEFAULT_ACTOR,
    extra: Mapping[str, Any] | None = None,
) -> audit.AuditEntry:
    """Note in the audit log that ``data`` left the workspace as ``file_name``.

    Args:
        con: The workspace connection or a cursor of it.
        file_name: The file's name (no folder).
        data: The exact bytes written or downloaded.
        what: What the file holds, in a few words (``drafts of run 4``).
        rows: How many rows it holds, when it is a table.
        actor: Who exported it.
        extra: More plain values for the entry's detail (filters, a run id).
    """
    detail = export_detail(file_name, data, what=what, rows=rows, extra=extra)
    return audit.record(con, "export", f"{what}: {file_name}", detail, actor)


def table_bytes(df: pd.DataFrame, path: Path, meta: Mapping[str, str] | None = None) -> bytes:
    """A table as the bytes of a ``.csv`` or ``.xlsx`` file, chosen by the path's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return to_csv_bytes(df)
    if suffix == ".xlsx":
        return to_xlsx_bytes(df, meta=meta)
    raise WorkbenchError(
        f"Cannot export to '{path.name}': unknown file type '{suffix or '(none)'}'.",
        "Use a file name ending in .csv or .xlsx.",
    )


def write_export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    data: bytes,
    *,
    what: str,
    rows: int | None = None,
    actor: str = DEFAULT_ACTOR,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``data`` to ``path`` and note the export, together.

    The bytes go to ``path.part`` first; the entry is added and the file moved into place in
    one transaction, so a file written shows in the log and a failed write leaves no entry.

    Raises:
        WorkbenchError: the file cannot be written (nothing is logged then).
    """
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    placed = False
    con.execute("BEGIN TRANSACTION")
    try:
        record_export(con, path.name, data, what=what, rows=rows, actor=actor, extra=extra)
        tmp.replace(path)
        placed = True
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT ended it
            con.execute("ROLLBACK")
        tmp.unlink(missing_ok=True)
        if placed:  # the entry is gone, so the file must not stay without it
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    return path


def write_table_export(
    con: duckdb.DuckDBPyConnection,
    df: pd.DataFrame,
    path: Path,
    *,
    what: str,
    actor: str = DEFAULT_ACTOR,
    meta: Mapping[str, str] | None = None,
) -> Path:
    """Write a table to ``.csv`` or ``.xlsx`` (formula-safe) and note the export."""
    data = table_bytes(df, path, meta)
    return write_export(con, path, data, what=what, rows=len(df), actor=actor)


def _cannot_write(path: Path, exc: OSError) -> WorkbenchError:
    return WorkbenchError(
        f"Cannot write {path}: {exc.strerror or exc}.",
        "Choose a file name in a folder you can write to (not an existing folder).",
    )
