"""Review by spreadsheet: download the pending queue, upload the filled workbook (placeholder)."""

from __future__ import annotations

from workbench.ui.bootstrap import Context
from workbench.workflow.model import Workflow


def render_sheet_panel(ctx: Context, wf: Workflow, version: int | None, reviewer: str) -> None:
    """Download the queue as xlsx and import the filled workbook back (being built)."""
    return None
