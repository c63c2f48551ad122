"""The audit chain itself, without the database: entries, hashes, and the diagnosis.

:func:`diagnose` reads the stored entries in number order with the head and an optional
anchor and names, in plain words, every place the chain is broken: edited entries and
links, missing entries (gaps, a cut-off start or tail), swapped and renumbered entries and
entries rewritten with a recomputed hash. ``workbench.audit`` stores and reads the log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.errors import WorkbenchError

GENESIS = "0" * 64
"""The ``prev_hash`` of entry 1."""
CANONICAL: dict[str, Any] = {
    "sort_keys": True, "ensure_ascii": False, "separators": (",", ":"), "allow_nan": False
}  # fmt: skip
_MOVE_WINDOW = 64  # how far the diagnosis looks for the number a moved entry was written as
_MOVE_SEARCHES = 200  # and for how many changed entries at most


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
    text = json.dumps(payload, **CANONICAL)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def diagnose(rows: list[AuditEntry], top: Head | None, anchor: Head | None) -> VerifyResult:
    """Every problem of the chain ``rows`` (in number order), given the head and an anchor."""
    pos = _written_as(rows)
    found = _order_problems(rows, pos) + _link_problems(rows, pos, top)
    found += _end_problems(rows, pos, top, {p.seq for p in found})
    found += _anchor_problems(rows, pos, anchor)
    found.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return VerifyResult(not found, len(rows), tuple(found), top)


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
