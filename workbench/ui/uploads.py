"""Uploaded files are saved into the workspace so the library reads them by path."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from workbench.storage.workspace import Workspace

_SAFE = re.compile(r"[^A-Za-z0-9 ._()-]+")


@dataclass(frozen=True)
class SavedUpload:
    """An uploaded file on disk."""

    name: str
    path: Path
    sha256: str
    size: int


def save_upload(ws: Workspace, name: str, data: bytes) -> SavedUpload:
    """Write the bytes under ``tmp/uploads`` (content-addressed, so re-runs reuse the file)."""
    digest = hashlib.sha256(data).hexdigest()
    folder = ws.tmp_dir / "uploads" / digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (_SAFE.sub("_", Path(name).name) or "upload")
    if not path.exists() or path.stat().st_size != len(data):
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return SavedUpload(name, path, digest, len(data))
