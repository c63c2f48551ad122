"""Domain errors: every failure a user can cause is a WorkbenchError with a hint."""

from __future__ import annotations


class WorkbenchError(Exception):
    """An error the user can act on.

    Args:
        message: What went wrong, naming the file, sheet, row and column where known.
        hint: What to do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  What to do: {self.hint}" if self.hint else self.message


class InputFileError(WorkbenchError):
    """A file could not be read or understood (encoding, sheet, shape, header)."""


class ImportBlocked(WorkbenchError):
    """The validation report holds problems that block the import."""

    def __init__(self, message: str, hint: str = "", report: object | None = None) -> None:
        super().__init__(message, hint)
        self.report = report


class WorkspaceLocked(WorkbenchError):
    """Another process holds the workspace database."""


class NotFound(WorkbenchError):
    """A named table, profile, notebook or sheet does not exist."""


class QueryError(WorkbenchError):
    """A SQL query failed or was refused (for example a write in a read-only cell)."""


class WorkflowInvalid(WorkbenchError):
    """A workflow file is not valid YAML or does not fit the workflow model.

    Args:
        message: Names the file; lists every problem as ``path: reason`` on its own line.
        hint: What to do about it.
        problems: The ``path: reason`` lines alone, for a page that shows them as a list.
    """

    def __init__(self, message: str, hint: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])
