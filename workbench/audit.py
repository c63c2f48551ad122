"""The audit log: append-only, hash-chained events (imports, versions, runs, reviews, ...).

An entry's ``hash`` is the SHA-256 of the canonical JSON of ``[seq, recorded_at, actor,
kind, subject, detail, prev_hash]``; ``prev_hash`` is the previous entry's hash (64 zeros
for entry 1). So an edited, removed or reordered entry breaks the chain where it happened.
``wb.audit_head`` holds the last number and hash written: appends chain from it and
:func:`verify` compares the log's end with it, so a cut-off tail is found too.

No chain kept inside the database can catch someone who rewrites an entry *and* recomputes
every later hash and the head. Keep the head ``verify`` reports somewhere else (the monthly
pack, a ticket) and pass it back as ``anchor``: a history rewritten up to it then shows.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import duckdb
import pandas as pd

from workbench.audit_chain import (
    CANONICAL,
    GENESIS,
    AuditEntry,
    Head,
    Problem,
    VerifyResult,
    diagnose,
    entry_hash,
)
from workbench.errors import WorkbenchError
from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes

__all__ = [
    "COLUMNS",
    "GENESIS",
    "KINDS",
    "AuditConflict",
    "AuditEntry",
    "Head",
    "Kind",
    "Problem",
    "VerifyResult",
    "entries",
    "entry_hash",
    "export_bytes",
    "export_meta",
    "head",
    "record",
    "verify",
]

Kind = Literal["import", "workflow_version", "run", "draft", "review", "mode_change",
               "export", "override", "rollback", "experiment", "guardrail", "other"]  # fmt: skip
KINDS: tuple[str, ...] = get_args(Kind)
COLUMNS = ("seq", "recorded_at", "actor", "kind", "subject", "detail", "prev_hash", "hash")

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM wb.audit_log"
# One append at a time in this process, so appends owning their transaction never collide
# (DuckDB lets one process write a workspace). A caller's open transaction is not covered.
_APPEND_LOCK = threading.Lock()
_ATTEMPTS = 5


class AuditConflict(WorkbenchError):
    """Another session appended to the audit log at the same time."""


def record(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    subject: str,
    detail: Mapping[str, Any] | None,
    actor: str,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry; inside the caller's open transaction, as part of it.

    ``record`` never begins, commits or rolls back a transaction the caller opened, so an
    import and its entry commit or roll back together. In autocommit it writes the entry
    and the head in a short transaction of its own, retrying briefly on a collision. Two
    open transactions cannot both append (the number is the table's key): the second gets
    ``AuditConflict`` or fails at ``COMMIT``, with nothing applied. The chain never forks.

    Args:
        con: The workspace connection or a cursor of it.
        kind: What happened (one of ``KINDS``).
        subject: What it happened to, in a few words (``workflow renewal-risk v3``).
        detail: Plain values (text, numbers, booleans, dates, lists, dicts), kept as JSON.
        actor: Who did it (``system`` for scheduled work).
        at: When (default now); kept as UTC.

    Raises:
        WorkbenchError: An unknown kind, no actor, or a detail that is not plain values.
        AuditConflict: Another session appended at the same time; nothing was added.
    """
    checked = _check_kind(kind)
    who = actor.strip() if isinstance(actor, str) else ""
    if not who:
        raise WorkbenchError(
            "An audit entry needs the name of who did it.",
            "Pass actor= the reviewer's or author's name ('system' for scheduled work).",
        )
    when = datetime.now(UTC) if at is None else at
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    args = (checked, str(subject), _detail_text(detail), who, when)
    collided = (duckdb.ConstraintException, duckdb.TransactionException)
    if _in_transaction(con):
        try:
            return _append(con, *args)
        except collided as exc:
            raise _conflict() from exc
    for attempt in range(_ATTEMPTS):
        with _APPEND_LOCK:
            con.execute("BEGIN TRANSACTION")
            try:
                entry = _append(con, *args)
                con.execute("COMMIT")
                return entry
            except collided:
                _end(con)  # a caller's open transaction appended first: wait for it
            except BaseException:
                _end(con)
                raise
        time.sleep(0.02 * (attempt + 1))
    raise _conflict()


def head(con: duckdb.DuckDBPyConnection) -> Head | None:
    """The last entry written (``Head(0, GENESIS)`` before any; None if the head is gone)."""
    rows = con.execute("SELECT last_seq, last_hash FROM wb.audit_head WHERE id = 1").fetchall()
    return Head(int(rows[0][0]), str(rows[0][1])) if rows else None


def verify(con: duckdb.DuckDBPyConnection, anchor: Head | None = None) -> VerifyResult:
    """Check the whole chain and name, in plain words, every place it is broken.

    Finds edited entries and links, missing entries (gaps, a cut-off start or tail), swapped
    and renumbered entries, entries rewritten with a recomputed hash (a neighbour still
    carries the old one) and entries added around :func:`record`.

    Args:
        con: The workspace connection or a cursor of it.
        anchor: A head noted earlier: the entry written as that number must still carry that
            hash, which also catches a log rewritten with recomputed hashes up to there.
    """
    rows = [AuditEntry(*r) for r in con.execute(f"{_SELECT} ORDER BY seq").fetchall()]
    return diagnose(rows, head(con), anchor)


def entries(
    con: duckdb.DuckDBPyConnection,
    kind: str | Sequence[str] | None = None,
    actor: str | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The log as a table (columns ``COLUMNS``), oldest first.

    Args:
        con: The workspace connection or a cursor of it.
        kind: One kind or several.
        actor: Who (any case).
        since: From this date or moment on (UTC).
        until: Up to this moment, or to the end of this date.
        text: Words the subject, detail or actor holds (any case).
        limit: Only the latest N entries.
    """
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    conditions: list[tuple[str, Any]] = [
        ("list_contains(?::VARCHAR[], kind)", [_check_kind(k) for k in kinds] or None),
        ("lower(actor) = lower(?)", (actor or "").strip() or None),
        ("recorded_at >= ?", None if since is None else _moment(since)),
        ("recorded_at < ?", None if until is None else _moment(until, after=True)),
        ("contains(lower(concat_ws(' ', subject, detail, actor)), lower(?))", text or None),
    ]
    used = [(sql, value) for sql, value in conditions if value is not None]
    sql = _SELECT + "".join((" AND " if i else " WHERE ") + c for i, (c, _) in enumerate(used))
    params = [value for _, value in used]
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?)"
        params.append(max(0, int(limit)))
    return con.execute(f"{sql} ORDER BY seq", params).df()


def export_meta(
    con: duckdb.DuckDBPyConnection, filters: Mapping[str, object] | None = None
) -> dict[str, str]:
    """The ``about`` sheet of an export: the chain's status, its head and the filters."""
    result = verify(con)
    shown = {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())}
    return {
        "Audit chain": result.sentence(),
        "Head (SEQ:HASH)": str(result.head) if result.head else "(missing)",
        "Filters": ", ".join(f"{k}={v}" for k, v in shown.items()) or "none",
        "Exported at (UTC)": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
    }


def export_bytes(
    con: duckdb.DuckDBPyConnection, fmt: Literal["csv", "xlsx"], **filters: Any
) -> bytes:
    """The filtered log as CSV, or a workbook with the chain's status; formula-safe."""
    df = entries(con, **filters)
    if fmt == "csv":
        return to_csv_bytes(df)
    return to_xlsx_bytes(df, sheet_name="audit_log", meta=export_meta(con, filters))


# --- appending ---------------------------------------------------------------------------


def _append(
    con: duckdb.DuckDBPyConnection, kind: str, subject: str, detail: str, actor: str, at: datetime
) -> AuditEntry:
    # Chain from the head, not from the log's last row: appending to a cut-off log then
    # leaves a gap that verify names, instead of hiding the cut.
    top = head(con)
    if top is None:
        raise WorkbenchError(
            "The audit log's head record is missing, so nothing can be appended safely.",
            "Run `workbench audit verify` to see what happened to the log.",
        )
    seq = top.seq + 1
    digest = entry_hash(seq, at, actor, kind, subject, detail, top.hash)
    entry = AuditEntry(seq, at, actor, kind, subject, detail, top.hash, digest)
    values = [getattr(entry, c) for c in COLUMNS]
    con.execute("INSERT INTO wb.audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
    con.execute("UPDATE wb.audit_head SET last_seq = ?, last_hash = ? WHERE id = 1", [seq, digest])
    return entry


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    # In autocommit every statement runs in a transaction of its own, with a new id.
    query = "SELECT current_transaction_id()"
    return bool(con.execute(query).fetchall() == con.execute(query).fetchall())


def _end(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT ended it already
        con.execute("ROLLBACK")


def _conflict() -> AuditConflict:
    return AuditConflict(
        "Another session wrote to the audit log at the same time, so this entry was not added.",
        "Roll back and try again; nothing was half-written.",
    )


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise WorkbenchError(
            f"'{kind}' is not an audit entry kind.", f"Use one of: {', '.join(KINDS)}."
        )
    return kind


def _moment(day: date, after: bool = False) -> datetime:
    """A moment as it is, or a date's start (``after``: the next day's start)."""
    if isinstance(day, datetime):
        return day + timedelta(microseconds=1) if after else day
    return datetime.combine(day + timedelta(days=int(after)), dtime())


def _json_value(value: object) -> object:
    if isinstance(value, date | dtime):
        return value.isoformat()
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if callable(item := getattr(value, "item", None)):  # numpy scalars
        return item()
    raise TypeError(f"a {type(value).__name__} is not a plain value")


def _detail_text(detail: Mapping[str, Any] | None) -> str:
    try:
        return json.dumps(dict(detail or {}), default=_json_value, **CANONICAL)
    except (TypeError, ValueError) as exc:
        raise WorkbenchError(
            f"The audit entry's detail cannot be stored: {exc}.",
            "Pass plain values: text, numbers (not NaN), booleans, dates, lists and dicts.",
        ) from None


# --- verifying ---------------------------------------------------------------------------
