"""The bundled sample book of business: load it, or reset a workspace to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from workbench import audit
from workbench.errors import WorkbenchError
from workbench.ingest.pipeline import (
    ImportOptions,
    run_import,
    sha256_file,
    staged_file,
    suggest_for,
)
from workbench.samplebook import SampleFile
from workbench.storage.sql import qualified
from workbench.storage.tables import list_tables
from workbench.workflow.store import install_default

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"

Progress = Callable[[float, str], None]


def manifest(sample_dir: Path = SAMPLE_DIR) -> list[SampleFile]:
    """The sample files in import order."""
    path = sample_dir / "manifest.json"
    if not path.exists():
        raise WorkbenchError(
            f"The sample data is missing: {path} does not exist.",
            "Run `python sample_data/generate.py` from the project folder to regenerate it.",
        )
    entries = json.loads(path.read_text("utf-8"))
    return [
        SampleFile(e["file"], e["kind"], e.get("sheet"), e.get("description", "")) for e in entries
    ]


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the workspace has no user table and no import history."""
    history = con.execute("SELECT count(*) FROM wb.import_history").fetchall()[0][0]
    return not list_tables(con) and not history


def reset_to_sample(
    con: duckdb.DuckDBPyConnection,
    sample_dir: Path = SAMPLE_DIR,
    progress: Progress | None = None,
    *,
    actor: str = "local user",
) -> dict[str, int]:
    """Replace every table, the history and the mapping profiles with the sample book.

    All-or-nothing: one transaction around the whole reset. Notebooks and workflow
    versions are kept (policy work is not sample data); a workspace without any
    workflow gets the example workflow as v1. The audit log keeps what was replaced:
    one entry for the reset (the tables dropped), then one per sample file imported.
    Returns rows per table.
    """
    files = manifest(sample_dir)
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        dropped = {info.name: info.rows for info in list_tables(con)}
        for name in dropped:
            con.execute(f"DROP TABLE {qualified('main', name)}")
        for table in ("import_history", "tables", "mapping_profiles"):
            con.execute(f"DELETE FROM {qualified('wb', table)}")
        audit.record(
            con,
            "import",
            "workspace reset to the sample book",
            {"mode": "reset", "dropped": dropped, "files": [e.file for e in files]},
            actor,
        )
        for i, entry in enumerate(files):
            if progress:
                progress(i / len(files), f"Importing {entry.file} as {entry.kind}")
            path = sample_dir / entry.file
            options = ImportOptions(
                kind=entry.kind, sheet=entry.sheet, profile="sample", actor=actor
            )
            with staged_file(con, path, sheet=entry.sheet) as staged:
                mapping = suggest_for(con, staged, entry.kind).mapping
                result = run_import(
                    con,
                    staged,
                    mapping,
                    options,
                    file_sha256=sha256_file(path),
                    own_transaction=False,
                )
            counts[result.table] = result.rows_imported
        install_default(con, own_transaction=False)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress(1.0, "Sample workspace ready")
    return counts
