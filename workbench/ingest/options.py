"""What to do with a file being imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.ingest.parse import DateOrder


@dataclass(frozen=True)
class ImportOptions:
    """What to do with a file.

    Attributes:
        kind: Dataset kind (and table) to import into.
        mode: ``replace`` the table or ``append`` to it.
        date_order: ``auto`` detects day/month order and asks when unsure.
        skip_bad_rows: Import the good rows and leave the bad ones out (downloadable).
        unify_categories: Import category variants as their most common spelling.
        sheet: Spreadsheet sheet (None: the first with data).
        profile: Name of the mapping profile used, for the history.
        actor: Who imports, for the audit log.
    """

    kind: str
    mode: Literal["replace", "append"] = "replace"
    date_order: DateOrder = "auto"
    skip_bad_rows: bool = False
    unify_categories: bool = False
    sheet: str | None = None
    profile: str | None = None
    actor: str = "local user"
