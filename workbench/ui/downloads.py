"""Download buttons that note each download in the audit log (an ``export`` entry).

A click downloads the file in the browser and reruns the app; the button's ``on_click``
callback then records the file's name, what it holds, its rows and the SHA-256 of the
exact bytes downloaded (``workbench.export.logged.record_export``). A button given a
callable builds the file once, when clicked, for the download and the entry alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from workbench.export.logged import record_export
from workbench.ui.bootstrap import Context
from workbench.ui.errors import user_errors
from workbench.ui.workflow_state import actor_name

Data = bytes | str | Callable[[], bytes | str]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Payload:
    """The bytes of a download, built at most once (the browser's fetch and the entry share them)."""

    def __init__(self, data: Data) -> None:
        self._data = data
        self._bytes: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._bytes is None:
                raw = self._data() if callable(self._data) else self._data
                self._bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            return self._bytes


def download_button(
    label: str,
    data: Data,
    file_name: str,
    mime: str,
    *,
    ctx: Context,
    what: str,
    key: str | None = None,
    rows: int | None = None,
    extra: Mapping[str, Any] | None = None,
    help: str | None = None,
    icon: str | None = None,
    where: DeltaGenerator | None = None,
) -> bool:
    """``st.download_button`` whose click is noted in the audit log as an export.

    Args:
        label: The button's label.
        data: The file's bytes or text, or a callable that builds them when clicked.
        file_name: The name the browser saves the file as.
        mime: The file's MIME type.
        ctx: The page's context (its workspace gets the entry).
        what: What the file holds, in a few words (``firing set of v3``).
        key: The widget key.
        rows: How many rows the file holds, when it is a table.
        extra: More plain values for the entry (filters used, a run id).
        help: The button's tooltip.
        icon: The button's icon.
        where: A container or column to put the button in (default: the page).
    """
    payload = _Payload(data)
    place: Any = st if where is None else where
    return bool(
        place.download_button(
            label,
            payload.get if callable(data) else data,
            file_name,
            mime,
            key=key,
            help=help,
            on_click=_note,
            args=(ctx, payload, file_name, what, rows, dict(extra or {})),
            icon=icon,
        )
    )


def csv_and_xlsx(
    ctx: Context,
    stem: str,
    csv: Data,
    xlsx: Data,
    *,
    what: str,
    rows: int,
    keys: tuple[str, str],
    labels: tuple[str, str] = (":material/download: CSV", ":material/download: XLSX"),
    xlsx_help: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """The same table as ``stem.csv`` and ``stem.xlsx``, side by side, each download logged."""
    row = st.container(horizontal=True)
    for label, data, suffix, mime, key, tip in (
        (labels[0], csv, "csv", "text/csv", keys[0], None),
        (labels[1], xlsx, "xlsx", XLSX_MIME, keys[1], xlsx_help),
    ):
        download_button(
            label, data, f"{stem}.{suffix}", mime, ctx=ctx, what=what, rows=rows, extra=extra,
            key=key, help=tip, where=row,
        )  # fmt: skip


def xlsx_and_html(
    ctx: Context,
    stem: str,
    xlsx: Data,
    html: Data,
    *,
    what: str,
    keys: tuple[str, str],
    labels: tuple[str, str],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """A report as ``stem.xlsx`` and as the printable ``stem.html``, side by side, each logged."""
    c1, c2 = st.columns(2)
    for label, data, suffix, mime, key, icon, where, said in (
        (labels[0], xlsx, "xlsx", XLSX_MIME, keys[0], ":material/download:", c1, what),
        (labels[1], html, "html", "text/html", keys[1], ":material/print:", c2, f"{what} (HTML)"),
    ):
        download_button(
            label, data, f"{stem}.{suffix}", mime, ctx=ctx, what=said, key=key, extra=extra,
            icon=icon, where=where,
        )  # fmt: skip


def _note(
    ctx: Context,
    payload: _Payload,
    file_name: str,
    what: str,
    rows: int | None,
    extra: dict[str, Any],
) -> None:
    """The click's callback, at the start of the rerun: add the export entry."""
    with user_errors():
        con = ctx.con.cursor()  # this rerun's thread gets a cursor of its own
        try:
            record_export(
                con,
                file_name,
                payload.get(),
                what=what,
                rows=rows,
                actor=actor_name(),
                extra=extra,
            )
        finally:
            con.close()
