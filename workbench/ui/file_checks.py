"""Cached reading and checking of uploaded files, so a rerun of the Data page does not redo them.

Streamlit reruns the page on every click; staging and validating a large file
takes seconds. Reading is keyed by the file's content and sheet; a check by
the content, the choices made and the workspace's data version (which changes
with every import, deletion or reset, because a check looks at existing tables).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from workbench.ingest.mapping import Mapping
from workbench.ingest.pipeline import (
    ImportOptions,
    ImportResult,
    run_import,
    staged_file,
    staged_preview,
)
from workbench.ingest.staged import StagedTable, sample_values
from workbench.storage.history import data_version


@dataclass(frozen=True)
class FileView:
    """What the page shows of a file before any choice: its shape, a preview, sample values."""

    staged: StagedTable  # metadata only: its temp table is gone once read
    preview: pd.DataFrame
    samples: dict[str, list[str]]


@st.cache_data(show_spinner="Reading the file…", max_entries=64)
def read_file(
    _con: duckdb.DuckDBPyConnection, path: str, sha256: str, sheet: str | None
) -> FileView:
    """Stage the file once per content and sheet (``sha256`` is the cache key, with the path)."""
    with staged_file(_con, Path(path), sheet=sheet) as staged:
        return FileView(staged, staged_preview(_con, staged), sample_values(_con, staged))


@st.cache_data(show_spinner="Checking the file…", max_entries=64)
def _check(
    _con: duckdb.DuckDBPyConnection,
    _mapping: Mapping,
    _options: ImportOptions,
    path: str,
    sha256: str,
    key: str,
) -> ImportResult:
    with staged_file(_con, Path(path), sheet=_options.sheet) as staged:
        return run_import(_con, staged, _mapping, _options, file_sha256=sha256, commit=False)


def check_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sha256: str,
    mapping: Mapping,
    options: ImportOptions,
) -> ImportResult:
    """The validation report for these choices, from the cache when nothing changed."""
    key = json.dumps(
        [mapping.to_json_dict(), asdict(options), data_version(con)], sort_keys=True, default=str
    )
    return _check(con, mapping, options, str(path), sha256, key)
