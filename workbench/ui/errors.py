"""One translator from exceptions to what the user sees."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from workbench.errors import WorkbenchError

log = logging.getLogger("workbench")


def show_error(exc: BaseException) -> None:
    """Show a WorkbenchError with its hint; anything else as a short reference, logged in full."""
    if isinstance(exc, WorkbenchError):
        st.error(
            exc.message + (f"\n\n**What to do:** {exc.hint}" if exc.hint else ""),
            icon=":material/warning:",
        )
        return
    ref = uuid.uuid4().hex[:8]
    log.exception("Unexpected error (reference %s)", ref, exc_info=exc)
    st.error(
        f"Something went wrong (reference {ref}). Imports, deletions and resets run in one "
        "transaction, so no table is left half-written. The terminal running the app shows "
        "the details for this reference.",
        icon=":material/error:",
    )


@contextmanager
def user_errors() -> Iterator[None]:
    """``with user_errors():`` shows errors raised inside the block instead of a traceback."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        # st.rerun/st.stop raise BaseException subclasses, so they pass through untouched.
        show_error(exc)


FLASH_KEY = "ui:flash"


def flash(message: str) -> None:
    """Show ``message`` as a toast at the start of the next run (survives ``st.rerun``)."""
    st.session_state.setdefault(FLASH_KEY, []).append(message)


def show_flash() -> None:
    """Show and clear pending flash messages."""
    for message in st.session_state.pop(FLASH_KEY, []):
        st.toast(message, icon=":material/check_circle:")
