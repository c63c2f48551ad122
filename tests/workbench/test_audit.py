"""The audit log: the chain it builds, and verify finding each kind of tampering and where."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta

import duckdb
import openpyxl
import pytest

from workbench import audit
from workbench.audit import GENESIS, AuditConflict, Head, entry_hash, record, verify
from workbench.errors import WorkbenchError
from workbench.storage.workspace import Workspace, connect

T0 = datetime(2026, 3, 2, 9, 0)
ACTORS = ("Dana", "Lee", "system")
KINDS = ("import", "workflow_version", "run", "review", "mode_change")


def fill(con: duckdb.DuckDBPyConnection, n: int = 10) -> list[audit.AuditEntry]:
    """n entries, a minute apart, of mixed kinds and actors."""
    return [
        record(
            con,
            KINDS[i % len(KINDS)],  # type: ignore[arg-type]
            f"subject {i + 1}",
            {"n": i + 1, "decision": "approve"},
            ACTORS[i % len(ACTORS)],
            at=T0 + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def rehash(con: duckdb.DuckDBPyConnection, seq: int) -> None:
    """Recompute entry seq's hash from its current fields, as a careful forger would."""
    row = con.execute(
        "SELECT seq, recorded_at, actor, kind, subject, detail, prev_hash FROM wb.audit_log "
        "WHERE seq = ?",
        [seq],
    ).fetchall()[0]
    con.execute("UPDATE wb.audit_log SET hash = ? WHERE seq = ?", [entry_hash(*row), seq])


def swap(con: duckdb.DuckDBPyConnection, a: int, b: int) -> None:
    con.execute("CREATE TEMP TABLE pair AS SELECT * FROM wb.audit_log WHERE seq IN (?, ?)", [a, b])
    con.execute("DELETE FROM wb.audit_log WHERE seq IN (?, ?)", [a, b])
    con.execute(
        "INSERT INTO wb.audit_log SELECT CASE WHEN seq = ? THEN ? ELSE ? END, "
        "recorded_at, actor, kind, subject, detail, prev_hash, hash FROM pair",
        [a, b, a],
    )
    con.execute("DROP TABLE pair")


def sql(*statements: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def run(con: duckdb.DuckDBPyConnection) -> None:
        for s in statements:
            con.execute(s)

    return run


def forge(seq: int, change: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def run(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"UPDATE wb.audit_log SET {change} WHERE seq = {seq}")
        rehash(con, seq)

    return run


# name, tampering, expected problems in order as (seq, words the message holds)
CASES: list[
    tuple[str, Callable[[duckdb.DuckDBPyConnection], None], list[tuple[int | None, str]]]
] = [
    (
        "edited detail",
        sql("""UPDATE wb.audit_log SET detail = '{"decision":"reject","n":5}' WHERE seq = 5"""),
        [
            (
                5,
                "entry 5 (mode_change by Lee at 2026-03-02 09:04 UTC) was changed after it was written",
            )
        ],
    ),
    (
        "edited actor",
        sql("UPDATE wb.audit_log SET actor = 'Mallory' WHERE seq = 3"),
        [(3, "entry 3 (run by Mallory at 2026-03-02 09:02 UTC) was changed after it was written")],
    ),
    (
        "edited time",
        sql("UPDATE wb.audit_log SET recorded_at = recorded_at + INTERVAL 1 SECOND WHERE seq = 1"),
        [(1, "entry 1 (import by Dana at 2026-03-02 09:00 UTC) was changed after it was written")],
    ),
    (
        "deleted middle entry",
        sql("DELETE FROM wb.audit_log WHERE seq = 6"),
        [(6, "entry 6 is missing (between 5 and 7)")],
    ),
    (
        "deleted first entries",
        sql("DELETE FROM wb.audit_log WHERE seq <= 2"),
        [(1, "entries 1 to 2 are missing (at the start of the log)")],
    ),
    (
        "deleted last entry",
        sql("DELETE FROM wb.audit_log WHERE seq = 10"),
        [(10, "the last entry 10 is missing: the log ends at entry 9 but 10 were written")],
    ),
    (
        "deleted tail",
        sql("DELETE FROM wb.audit_log WHERE seq > 7"),
        [(8, "the last entries 8 to 10 are missing: the log ends at entry 7 but 10 were written")],
    ),
    (
        "emptied log",
        sql("DELETE FROM wb.audit_log"),
        [(1, "the last entries 1 to 10 are missing: the log is empty but 10 were written")],
    ),
    (
        "swapped neighbours",
        lambda con: swap(con, 4, 5),
        [(4, "entries 4 and 5 have swapped places")],
    ),
    (
        "swapped far apart",
        lambda con: swap(con, 2, 9),
        [(2, "entries 2 and 9 have swapped places")],
    ),
    (
        "deleted and renumbered",
        sql(
            "DELETE FROM wb.audit_log WHERE seq = 4",
            "CREATE TEMP TABLE rest AS SELECT * FROM wb.audit_log WHERE seq > 4",
            "DELETE FROM wb.audit_log WHERE seq > 4",
            "INSERT INTO wb.audit_log SELECT seq - 1, recorded_at, actor, kind, subject, detail, "
            "prev_hash, hash FROM rest",
        ),
        [
            (4, "entry 4 is missing (between 3 and 5)"),
            (4, "entries 4 to 9 were renumbered: written as 5 to 10"),
        ],
    ),
    (
        "forged entry, hash recomputed",
        forge(5, "subject = 'nothing to see'"),
        [
            (
                5,
                "entry 5 (mode_change by Lee at 2026-03-02 09:04 UTC) was replaced or rewritten with a "
                "recomputed hash: entry 6 still carries its old hash",
            )
        ],  # fmt: skip
    ),
    (
        "forged last entry, hash recomputed",
        forge(10, "actor = 'Mallory'"),
        [
            (
                10,
                "entry 10 (mode_change by Mallory at 2026-03-02 09:09 UTC), the last, was rewritten",
            )
        ],
    ),
    (
        "changed link",
        sql(f"UPDATE wb.audit_log SET prev_hash = '{'f' * 64}' WHERE seq = 7"),
        [
            (
                7,
                "the link stored in entry 7 (workflow_version by Dana at 2026-03-02 09:06 UTC) was changed",
            )
        ],
    ),
    (
        "changed link of entry 1",
        sql(f"UPDATE wb.audit_log SET prev_hash = '{'f' * 64}' WHERE seq = 1"),
        [(1, "the link stored in entry 1 (import by Dana")],
    ),
    (
        "changed link, hash recomputed",
        forge(7, f"prev_hash = '{'f' * 64}'"),
        [
            (
                7,
                "entry 7 (workflow_version by Dana at 2026-03-02 09:06 UTC) was rewritten with a recomputed "
                "hash: it no longer links to the entries around it",
            )
        ],  # fmt: skip
    ),
    (
        "two edits far apart",
        sql(
            "UPDATE wb.audit_log SET subject = 'x' WHERE seq = 2",
            "UPDATE wb.audit_log SET kind = 'other' WHERE seq = 8",
        ),
        [(2, "entry 2 (workflow_version by Lee"), (8, "entry 8 (other by Lee")],
    ),
    (
        "added behind the log's back",
        lambda con: (
            sql(
                "INSERT INTO wb.audit_log SELECT 11, recorded_at, actor, kind, subject, detail, "
                "hash, '' FROM wb.audit_log WHERE seq = 10"
            )(con),
            rehash(con, 11),
        ),
        [(11, "entry 11 was not added through the audit log (the head records 10)")],
    ),
    (
        "head removed",
        sql("DELETE FROM wb.audit_head"),
        [(None, "the log's head record is missing, so a cut-off end cannot be ruled out")],
    ),
]


def test_chain_builds_from_genesis(con) -> None:
    written = fill(con, 5)
    assert [e.seq for e in written] == [1, 2, 3, 4, 5]
    assert written[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(written, written[1:], strict=False))
    assert len({e.hash for e in written}) == 5 and all(len(e.hash) == 64 for e in written)
    assert audit.head(con) == Head(5, written[-1].hash)
    stored = audit.entries(con)
    assert stored["hash"].tolist() == [e.hash for e in written]
    assert json.loads(stored["detail"][0]) == {"decision": "approve", "n": 1}


def test_verify_passes_on_an_intact_log(con) -> None:
    assert verify(con) == audit.VerifyResult(True, 0, (), Head(0, GENESIS))
    fill(con)
    result = verify(con)
    assert result.ok and result.entries == 10 and result.problems == ()
    assert result.sentence() == "The audit log is intact: 10 entries."


@pytest.mark.parametrize(("name", "tamper", "expected"), CASES, ids=[c[0] for c in CASES])
def test_verify_finds_tampering_and_says_where(con, name, tamper, expected) -> None:
    fill(con)
    tamper(con)
    result = verify(con)
    assert not result.ok
    got = [(p.seq, p.what) for p in result.problems]
    assert len(got) == len(expected), got
    for (seq, what), (want_seq, words) in zip(got, expected, strict=True):
        assert seq == want_seq and words in what, got
    assert result.sentence().startswith("The audit log is not intact: ")


def test_rewritten_history_passes_alone_but_not_against_an_anchor(con) -> None:
    """Recomputing every later hash and the head leaves a consistent log; an anchor catches it."""
    fill(con)
    noted = verify(con).head
    assert noted is not None
    con.execute("UPDATE wb.audit_log SET detail = '{}' WHERE seq = 4")
    for seq in range(4, 11):
        if seq > 4:
            con.execute(
                "UPDATE wb.audit_log SET prev_hash = (SELECT hash FROM wb.audit_log WHERE seq = ?) "
                "WHERE seq = ?",
                [seq - 1, seq],
            )
        rehash(con, seq)
    con.execute(
        "UPDATE wb.audit_head SET last_hash = (SELECT hash FROM wb.audit_log WHERE seq = 10)"
    )
    assert verify(con).ok  # the documented limit of a chain kept in the same database
    result = verify(con, anchor=noted)
    assert [(p.seq, p.what) for p in result.problems] == [
        (
            10,
            "entry 10 (mode_change by Dana at 2026-03-02 09:09 UTC) no longer carries the hash "
            "of the anchor: the log up to it was rewritten",
        )  # fmt: skip
    ]
    assert verify(con, anchor=Head(3, audit.entries(con)["hash"][2])).ok  # before the edit
    assert "entry 12, the anchor's, is missing" in verify(con, Head(12, "0" * 64)).problems[0].what


def test_head_parses_as_printed() -> None:
    digest = "ab" * 32
    assert Head.parse(f" 12:{digest.upper()} ") == Head(12, digest)
    assert str(Head(12, digest)) == f"12:{digest}"
    for bad in ("12", f"x:{digest}", "12:abc", f"12:{'g' * 64}"):
        with pytest.raises(WorkbenchError, match="is not an audit head"):
            Head.parse(bad)


def test_appending_in_a_rolled_back_transaction_leaves_nothing(con) -> None:
    fill(con, 2)
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TABLE imported AS SELECT 1 AS x")
    entry = record(con, "import", "imported", {"rows": 1}, "Dana")
    assert entry.seq == 3
    con.execute("ROLLBACK")
    assert len(audit.entries(con)) == 2 and audit.head(con) == verify(con).head
    assert audit.head(con) == Head(2, audit.entries(con)["hash"][1])
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TABLE imported AS SELECT 1 AS x")
    record(con, "import", "imported", {"rows": 1}, "Dana")
    con.execute("COMMIT")  # the import and its entry together
    assert verify(con).entries == 3 and verify(con).ok
    assert record(con, "other", "after", None, "Lee").seq == 4


def test_record_refuses_bad_input_and_changes_nothing(con) -> None:
    with pytest.raises(WorkbenchError, match="'approve' is not an audit entry kind"):
        record(con, "approve", "x", {}, "Dana")  # type: ignore[arg-type]
    with pytest.raises(WorkbenchError, match="needs the name of who did it"):
        record(con, "review", "x", {}, "  ")
    with pytest.raises(WorkbenchError, match="detail cannot be stored"):
        record(con, "review", "x", {"rate": float("nan")}, "Dana")
    with pytest.raises(WorkbenchError, match="detail cannot be stored"):
        record(con, "review", "x", {"obj": object()}, "Dana")
    assert verify(con).entries == 0


def test_detail_takes_dates_and_zones_become_utc(con) -> None:
    from datetime import UTC, timezone

    at = datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    entry = record(con, "run", "r", {"as_of": date(2026, 3, 1), "ids": {"b", "a"}}, "sys", at=at)
    assert entry.recorded_at == datetime(2026, 3, 2, 9, 30) and entry.recorded_at.tzinfo is None
    assert entry.detail == '{"as_of":"2026-03-01","ids":["a","b"]}'
    now = record(con, "run", "r", None, "sys").recorded_at
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert verify(con).ok


def test_sessions_appending_at_once_keep_one_chain(tmp_path) -> None:
    con = connect(Workspace(tmp_path / "ws"))
    seqs: list[int] = []
    errors: list[str] = []

    def session(name: str) -> None:
        cur = con.cursor()  # as each Streamlit rerun takes its own cursor
        for i in range(50):
            try:
                seqs.append(record(cur, "review", f"action {i}", {"i": i}, name).seq)
            except Exception as exc:  # the assertion below names it
                errors.append(repr(exc))

    threads = [threading.Thread(target=session, args=(f"r{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify(con)
    con.close()
    assert errors == [] and sorted(seqs) == list(range(1, 201))
    assert result.ok and result.entries == 200


def test_two_open_transactions_cannot_both_append(con) -> None:
    fill(con, 1)
    a, b = con.cursor(), con.cursor()
    a.execute("BEGIN TRANSACTION")
    assert record(a, "run", "first", {}, "Dana").seq == 2
    b.execute("BEGIN TRANSACTION")
    with pytest.raises(AuditConflict, match="Another session wrote to the audit log"):
        record(b, "run", "second", {}, "Lee")
    b.execute("ROLLBACK")
    with pytest.raises(AuditConflict):  # autocommit retries, then gives up while a is open
        record(con, "run", "third", {}, "Lee")
    a.execute("COMMIT")
    assert record(con, "run", "third", {}, "Lee").seq == 3
    assert verify(con).ok and verify(con).entries == 3


def test_a_transaction_older_than_an_append_cannot_commit_its_own(con) -> None:
    fill(con, 1)
    a = con.cursor()
    a.execute("BEGIN TRANSACTION")
    a.execute("SELECT count(*) FROM wb.audit_log").fetchall()  # a's snapshot: one entry
    record(con, "run", "committed meanwhile", {}, "Lee")
    with pytest.raises((AuditConflict, duckdb.Error)):
        record(a, "run", "stale", {}, "Dana")
        a.execute("COMMIT")
    with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT ended it
        a.execute("ROLLBACK")
    assert verify(con).ok and verify(con).entries == 2


def test_entries_filters(con) -> None:
    fill(con)
    record(
        con, "export", '=HYPERLINK("x")', {"file": "pack.xlsx"}, "Dana", at=T0 + timedelta(days=2)
    )

    def seqs(**kw) -> list[int]:
        return audit.entries(con, **kw)["seq"].tolist()

    assert seqs() == list(range(1, 12))
    assert seqs(kind="review") == [4, 9]
    assert seqs(kind=["review", "export"]) == [4, 9, 11]
    assert seqs(actor="dana") == [1, 4, 7, 10, 11]
    assert seqs(since=date(2026, 3, 3)) == [11]
    assert seqs(until=date(2026, 3, 2)) == list(range(1, 11))
    assert seqs(since=T0 + timedelta(minutes=8), until=T0 + timedelta(minutes=9)) == [9, 10]
    assert seqs(text="PACK.xlsx") == [11] and seqs(text="subject 1") == [1, 10]
    assert seqs(limit=3) == [9, 10, 11] and seqs(kind="review", limit=1) == [9]
    assert list(audit.entries(con, kind="rollback").columns) == list(audit.COLUMNS)
    with pytest.raises(WorkbenchError, match="'reviews' is not an audit entry kind"):
        audit.entries(con, kind="reviews")


def test_exports_are_formula_safe_and_carry_the_chain_status(con, tmp_path) -> None:
    fill(con, 3)
    record(con, "export", '=HYPERLINK("x")', {"file": "pack.xlsx"}, "Dana")
    csv = audit.export_bytes(con, "csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and csv.count("\r\n") == 5
    path = tmp_path / "audit.xlsx"
    path.write_bytes(audit.export_bytes(con, "xlsx", kind="export"))
    book = openpyxl.load_workbook(path)
    sheet = book["audit_log"]
    assert [c.value for c in sheet[1]] == list(audit.COLUMNS)
    assert sheet["A2"].value == 4 and isinstance(sheet["B2"].value, datetime)
    assert sheet["E2"].value == '\'=HYPERLINK("x")'
    about = {r[0]: r[1] for r in book["about"].iter_rows(min_row=2, values_only=True)}
    assert about["Audit chain"] == "The audit log is intact: 4 entries."
    assert about["Filters"] == "kind=export" and about["Head (SEQ:HASH)"].startswith("4:")
