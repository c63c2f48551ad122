"""The validation report: every problem with file, sheet, row, column, value and what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["error", "question", "warning"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``1,234 keys``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


ProblemCode = Literal[
    "suspicious_shape",
    "missing_required_column",
    "ambiguous_date_order",
    "mixed_date_order",
    "bad_value",
    "missing_value",
    "duplicate_key",
    "duplicate_in_table",
    "category_variants",
    "no_rows_left",
]

# Problems that reject individual rows: with "skip bad rows" the rest can still be imported.
ROW_LEVEL: frozenset[str] = frozenset(
    {"bad_value", "missing_value", "duplicate_key", "duplicate_in_table"}
)

PROBLEM_KINDS: dict[str, str] = {
    "suspicious_shape": "The file parses into too few columns (for example each line quoted whole).",
    "missing_required_column": "A column the dataset kind needs is not mapped.",
    "ambiguous_date_order": "Dates like 03/04/2026 could be day/month or month/day; you choose.",
    "mixed_date_order": "A date column holds both day/month and month/day dates.",
    "bad_value": "A number, date, timestamp or yes/no value cannot be read.",
    "missing_value": "A required column is empty in some rows.",
    "duplicate_key": "Two or more rows share the same key (for example the same account id).",
    "duplicate_in_table": "Appending would repeat keys the table already holds.",
    "category_variants": "Values that look like one category spelled differently.",
    "no_rows_left": "Every row has a problem: skipping bad rows would import nothing.",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in a file.

    Attributes:
        code: Problem kind (see PROBLEM_KINDS).
        severity: ``error`` blocks, ``question`` blocks until answered, ``warning`` informs.
        message: The problem in a sentence, naming file, sheet, row, column and value.
        hint: What to do about it.
        file: File name.
        sheet: Sheet name for spreadsheets.
        column: The file's column header (not the canonical name).
        row: First affected row as the user sees it in the file (header row counted).
        value: The offending value.
        rows_affected: How many rows have this problem.
        examples: A few more (row, value) pairs.
    """

    code: ProblemCode
    severity: Severity
    message: str
    hint: str
    file: str
    sheet: str | None = None
    column: str | None = None
    row: int | None = None
    value: str | None = None
    rows_affected: int = 0
    examples: tuple[tuple[int, str], ...] = ()

    @property
    def row_level(self) -> bool:
        return self.code in ROW_LEVEL

    @property
    def where(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class ValidationReport:
    """All problems of one file for one kind and mapping."""

    file: str
    sheet: str | None
    kind: str
    rows_in_file: int
    problems: tuple[Problem, ...] = ()
    rows_rejected: int = 0
    date_order: str | None = None
    notes: tuple[str, ...] = ()
    column_types: dict[str, str] = field(default_factory=dict)
    headers: tuple[
        str, ...
    ] = ()  # the file's columns as read (what a mapping profile is made from)

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def questions(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "question"]

    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def blocking(self, skip_bad_rows: bool) -> list[Problem]:
        """Problems that stop the import (row-level errors do not when bad rows are skipped)."""
        return [
            p
            for p in self.problems
            if p.severity == "question"
            or (p.severity == "error" and not (skip_bad_rows and p.row_level))
        ]

    def summary(self) -> str:
        e, q, w = len(self.errors()), len(self.questions()), len(self.warnings())
        if not (e or q or w):
            return f"{self.file}: {plural(self.rows_in_file, 'row')}, no problems found."
        bits = []
        if e:
            bits.append(f"{e} error{'s' if e != 1 else ''}")
        if q:
            bits.append(f"{q} question{'s' if q != 1 else ''}")
        if w:
            bits.append(f"{w} warning{'s' if w != 1 else ''}")
        extra = (
            f"; {plural(self.rows_rejected, 'row')} cannot be imported"
            if self.rows_rejected
            else ""
        )
        return f"{self.file}: {plural(self.rows_in_file, 'row')}, " + ", ".join(bits) + extra + "."

    def text_lines(self) -> list[str]:
        """The report as the command line prints it: summary, notes, problems and hints."""
        lines = [self.summary()] + [f"  note: {note}" for note in self.notes]
        for p in self.problems:
            lines.append(f"  {p.severity.upper()}: {p.message}")
            if p.hint:
                lines.append(f"    What to do: {p.hint}")
        return lines

    def to_frame(self) -> pd.DataFrame:
        """One row per problem, for display and download."""
        rows = [
            {
                "severity": p.severity,
                "problem": p.code,
                "file": p.file,
                "sheet": p.sheet or "",
                "row": p.row,
                "column": p.column or "",
                "value": p.value if p.value is not None else "",
                "rows affected": p.rows_affected,
                "message": p.message,
                "what to do": p.hint,
            }
            for p in self.problems
        ]
        columns = ["severity", "problem", "file", "sheet", "row", "column", "value"]
        columns += ["rows affected", "message", "what to do"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["row"] = frame["row"].astype("Int64")  # whole numbers, empty where no row applies
        return frame
