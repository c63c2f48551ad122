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
import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import duckdb
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes

Kind = Literal["import", "workflow_version", "run", "draft", "review", "mode_change",
               "export", "override", "rollback", "other"]  # fmt: skip
KINDS: tuple[str, ...] = get_args(Kind)
GENESIS = "0" * 64
"""The ``prev_hash`` of entry 1."""
COLUMNS = ("seq", "recorded_at", "actor", "kind", "subject", "detail", "prev_hash", "hash")

_CANONICAL: dict[str, Any] = {
    "sort_keys": True, "ensure_ascii": False, "separators": (",", ":"), "allow_nan": False
}  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM wb.audit_log"
# One append at a time in this process, so appends owning their transaction never collide
# (DuckDB lets one process write a workspace). A caller's open transaction is not covered.
_APPEND_LOCK = threading.Lock()
_ATTEMPTS = 5
_MOVE_WINDOW = 64  # how far verify looks for the number a moved entry was written as
_MOVE_SEARCHES = 200  # and for how many changed entries at most


class AuditConflict(WorkbenchError):
    """Another session appended to the audit log at the same time."""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log, as stored (``detail`` is canonical JSON text)."""

    seq: int
    recorded_at: datetime
    actor: str
    kind: str
    subject: str
    detail: str
    prev_hash: str
    hash: str

    def describe(self) -> str:
        """``review by Dana at 2026-03-01 14:02 UTC``."""
        return f"{self.kind} by {self.actor} at {self.recorded_at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Head:
    """The last entry written: its number and hash, written ``SEQ:HASH``."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """Read ``SEQ:HASH`` as printed by ``workbench audit verify``."""
        seq, _, digest = text.strip().partition(":")
        digest = digest.strip().lower()
        if not seq.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise WorkbenchError(
                f"'{text}' is not an audit head.",
                "Write it as `workbench audit verify` prints it: SEQ:HASH (64 hex digits).",
            )
        return cls(int(seq), digest)


@dataclass(frozen=True)
class Problem:
    """Something wrong with the log; ``seq`` says where (None: the log as a whole)."""

    seq: int | None
    what: str


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: ``problems`` in log order, empty when ``ok``."""

    ok: bool
    entries: int
    problems: tuple[Problem, ...]
    head: Head | None

    def sentence(self) -> str:
        """One line for a page, the CLI or a workbook."""
        n = f"{self.entries:,} {'entry' if self.entries == 1 else 'entries'}"
        if self.ok:
            return f"The audit log is intact: {n}."
        k = len(self.problems)
        return f"The audit log is not intact: {k} problem{'s' * (k != 1)} in {n}."


def entry_hash(
    seq: int, at: datetime, actor: str, kind: str, subject: str, detail: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's fields and the previous hash."""
    payload = [seq, at.isoformat(timespec="microseconds"), actor, kind, subject, detail, prev_hash]
    text = json.dumps(payload, **_CANONICAL)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    top = head(con)
    pos = _written_as(rows)
    found = _order_problems(rows, pos) + _link_problems(rows, pos, top)
    found += _end_problems(rows, pos, top, {p.seq for p in found})
    found += _anchor_problems(rows, pos, anchor)
    found.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return VerifyResult(not found, len(rows), tuple(found), top)


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
        return json.dumps(dict(detail or {}), default=_json_value, **_CANONICAL)
    except (TypeError, ValueError) as exc:
        raise WorkbenchError(
            f"The audit entry's detail cannot be stored: {exc}.",
            "Pass plain values: text, numbers (not NaN), booleans, dates, lists and dicts.",
        ) from None


# --- verifying ---------------------------------------------------------------------------


def _rehash(r: AuditEntry, seq: int | None = None, prev: str | None = None) -> str:
    seq, prev = r.seq if seq is None else seq, r.prev_hash if prev is None else prev
    return entry_hash(seq, r.recorded_at, r.actor, r.kind, r.subject, r.detail, prev)


def _written_as(rows: list[AuditEntry]) -> list[int | None]:
    """Each row's number when written: its own, a nearby one (moved), or None (edited)."""
    out: list[int | None] = []
    searches = _MOVE_SEARCHES
    for r in rows:
        found = r.seq if _rehash(r) == r.hash else None
        if found is None and searches > 0:
            searches -= 1
            near = (s for d in range(1, _MOVE_WINDOW + 1) for s in (r.seq - d, r.seq + d))
            found = next((s for s in near if s > 0 and _rehash(r, s) == r.hash), None)
        out.append(found)
    return out


def _span(lo: int, hi: int, one: str, many: str) -> str:
    return f"entry {lo} {one}" if lo == hi else f"entries {lo} to {hi} {many}"


def _order_problems(rows: list[AuditEntry], pos: list[int | None]) -> list[Problem]:
    """Missing, swapped and renumbered entries, from the number each row was written as."""
    numbers = [r.seq if p is None else p for r, p in zip(rows, pos, strict=True)]
    have, found = set(numbers), []
    missing = [n for n in range(1, max(numbers, default=0)) if n not in have]
    for lo, hi in _runs(missing):
        where = "at the start of the log" if lo == 1 else f"between {lo - 1} and {hi + 1}"
        found.append(Problem(lo, f"{_span(lo, hi, 'is', 'are')} missing ({where})"))
    index = {r.seq: i for i, r in enumerate(rows)}
    moved = [i for i, r in enumerate(rows) if pos[i] not in (None, r.seq)]
    swapped = {i for i in moved if pos[index.get(pos[i] or 0, i)] == rows[i].seq}
    for i in sorted(swapped):
        if rows[i].seq < (pos[i] or 0):
            found.append(
                Problem(rows[i].seq, f"entries {rows[i].seq} and {pos[i]} have swapped places")
            )
    by_shift: dict[int, list[int]] = {}
    for i in moved:
        if i not in swapped:
            by_shift.setdefault(rows[i].seq - (pos[i] or 0), []).append(rows[i].seq)
    for shift, seqs in by_shift.items():
        for lo, hi in _runs(seqs):
            what = f"{_span(lo, hi, 'was', 'were')} renumbered: written as {lo - shift}"
            found.append(Problem(lo, what + ("" if lo == hi else f" to {hi - shift}")))
    return found


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Numbers as the (first, last) of each consecutive run."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [(lo, hi) for lo, hi in runs]


def _link_problems(
    rows: list[AuditEntry], pos: list[int | None], top: Head | None
) -> list[Problem]:
    """Edited entries and links, and intact neighbours that no longer link."""
    found: list[Problem] = []
    breaks: list[int] = []  # b: entry b does not carry the hash of entry b - 1
    for i, r in enumerate(rows):
        before = rows[i - 1] if i and rows[i - 1].seq == r.seq - 1 else None
        expected = before.hash if before else (GENESIS if r.seq == 1 else None)
        if pos[i] is None:
            what = f"entry {r.seq} ({r.describe()}) was changed after it was written"
            if expected not in (None, r.prev_hash) and _rehash(r, prev=expected) == r.hash:
                what = f"the link stored in entry {r.seq} ({r.describe()}) was changed"
            found.append(Problem(r.seq, what))
        elif pos[i] == r.seq and expected not in (None, r.prev_hash):
            breaks += [r.seq] if before is None or pos[i - 1] == before.seq else []
    by_seq = {r.seq: r for r in rows}
    last = rows[-1].seq if rows else 0
    for b in breaks:
        if b - 1 in breaks:
            continue  # told with b - 1
        if b + 1 in breaks or (b == last and top is not None and top.hash != by_seq[b].hash):
            what = f"entry {b} ({by_seq[b].describe()}) was rewritten with a recomputed hash"
            found.append(Problem(b, what + ": it no longer links to the entries around it"))
        elif b == 1:
            found.append(Problem(1, "entry 1 was rewritten: it no longer starts the chain"))
        else:
            what = f"entry {b - 1} ({by_seq[b - 1].describe()}) was replaced or rewritten with a"
            found.append(
                Problem(b - 1, what + f" recomputed hash: entry {b} still carries its old hash")
            )
    return found


def _end_problems(
    rows: list[AuditEntry], pos: list[int | None], top: Head | None, told: set[int | None]
) -> list[Problem]:
    """The log's end against the head, which catches a cut-off tail or a rewritten last entry."""
    numbers = [r.seq if p is None else p for r, p in zip(rows, pos, strict=True)]
    end = max(numbers, default=0)
    if top is None:
        return [
            Problem(None, "the log's head record is missing, so a cut-off end cannot be ruled out")
        ]
    if top.seq > end:
        where = "the log is empty" if end == 0 else f"the log ends at entry {end}"
        which = _span(end + 1, top.seq, "is", "are")
        return [Problem(end + 1, f"the last {which} missing: {where} but {top.seq} were written")]
    if top.seq < end:
        which = _span(top.seq + 1, end, "was", "were")
        return [
            Problem(
                top.seq + 1, f"{which} not added through the audit log (the head records {top.seq})"
            )
        ]
    i = numbers.index(end) if rows else -1
    if i < 0 or pos[i] is None or rows[i].hash == top.hash or end in told:
        return []
    what = f"entry {end} ({rows[i].describe()}), the last, was rewritten with a recomputed hash"
    return [Problem(end, what + ": it no longer matches the head")]


def _anchor_problems(
    rows: list[AuditEntry], pos: list[int | None], anchor: Head | None
) -> list[Problem]:
    if anchor is None or anchor.seq == 0:
        return []
    r = {p: r for r, p in zip(rows, pos, strict=True) if p is not None}.get(anchor.seq)
    if r is None:
        return [Problem(anchor.seq, f"entry {anchor.seq}, the anchor's, is missing")]
    what = f"entry {anchor.seq} ({r.describe()}) no longer carries the hash of the anchor"
    return (
        []
        if r.hash == anchor.hash
        else [Problem(anchor.seq, what + ": the log up to it was rewritten")]
    )
