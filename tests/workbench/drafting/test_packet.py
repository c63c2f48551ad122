"""Context packets on the sample book: coverage, ordering, budget, as-of cut-off, hashing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from workbench.drafting.packet import (
    URGENT,
    build_packets,
    packet_hash,
    render_packet,
)


@pytest.fixture(scope="module")
def packets(book):
    con, wf, pv = book
    return build_packets(con, pv, wf)


def test_a_packet_for_every_fired_account(book, packets):
    _, wf, pv = book
    assert len(pv.fired) > 0
    assert [p.account_id for p in packets] == list(pv.fired["account_id"].astype(str))
    for p, row in zip(packets, pv.fired.to_dict("records"), strict=True):
        assert p.account_name == row["account_name"]
        assert p.arr == pytest.approx(row["arr"])
        assert p.route == row["route"]
        assert p.action_type == wf.action.type
        assert p.reasons and all(r in row["reasons"] for r in p.reasons)
        assert p.days_to_renewal == (p.renewal_date - pv.as_of).days
        assert p.usage and len(p.usage) <= 12
        assert p.key_facts
        assert all(c.endswith(".example") for c in p.contacts)


def test_tickets_most_relevant_first(packets):
    with_tickets = [p for p in packets if len(p.tickets) > 1]
    assert with_tickets
    for p in with_tickets:
        keys = [
            (not (t.is_open and t.priority.lower() in URGENT), -t.opened.toordinal())
            for t in p.tickets
        ]
        assert keys == sorted(keys), p.account_id
    assert any(p.tickets[0].is_open and p.tickets[0].priority in ("P1", "P2") for p in packets)


def test_comments_lowest_score_then_newest(packets):
    with_comments = [p for p in packets if len(p.comments) > 1]
    assert with_comments
    for p in with_comments:
        keys = [(c.score, -c.responded.toordinal()) for c in p.comments]
        assert keys == sorted(keys), p.account_id


def test_usage_is_the_latest_weeks_oldest_first(packets):
    for p in packets:
        dates = [d for d, _ in p.usage]
        assert dates == sorted(dates)


@pytest.mark.parametrize("budget", [1200, 1600, 2000])
def test_budget_respected(book, packets, budget):
    con, wf, pv = book
    small = build_packets(con, pv, wf, budget_chars=budget)
    assert [p.account_id for p in small] == [p.account_id for p in packets]
    assert all(len(render_packet(p)) <= budget for p in small)
    # Trimming drops from the least relevant end only.
    for s, full in zip(small, packets, strict=True):
        assert s.tickets == full.tickets[: len(s.tickets)]
        assert s.comments == full.comments[: len(s.comments)]
    assert any(len(s.tickets) < len(f.tickets) for s, f in zip(small, packets, strict=True))


def test_no_rows_dated_on_or_after_as_of(book, packets):
    _, _, pv = book
    for p in packets:
        assert all(d < pv.as_of for d, _ in p.usage)
        assert all(t.opened < pv.as_of for t in p.tickets)
        assert all(c.responded < pv.as_of for c in p.comments)


def test_future_rows_are_not_used(book):
    con, wf, pv = book
    acc = pv.fired_ids[0]
    on = datetime.combine(pv.as_of, datetime.min.time())
    later = on + timedelta(days=20)
    con.execute(
        "INSERT INTO tickets (ticket_id, account_id, opened_at, priority, status, subject) "
        "VALUES ('FUT-1', $a, $on, 'P1', 'open', 'Future outage on as-of day'), "
        "('FUT-2', $a, $later, 'P1', 'open', 'Future outage later')",
        {"a": acc, "on": on, "later": later},
    )
    con.execute(
        "INSERT INTO surveys (response_id, account_id, responded_at, survey_type, score, comment, "
        "contact_email) VALUES ('FUT-S', $a, $d, 'NPS', 0, 'Future complaint', "
        "'future.person@elsewhere.example')",
        {"a": acc, "d": pv.as_of},
    )
    try:
        p = next(p for p in build_packets(con, pv, wf) if p.account_id == acc)
    finally:
        con.execute("DELETE FROM tickets WHERE ticket_id LIKE 'FUT-%'")
        con.execute("DELETE FROM surveys WHERE response_id = 'FUT-S'")
    text = render_packet(p)
    assert "Future outage" not in text
    assert "Future complaint" not in text
    assert "future.person@elsewhere.example" not in p.contacts


def test_hash_stable_and_sensitive(book, packets):
    con, wf, pv = book
    again = build_packets(con, pv, wf)
    assert [packet_hash(p) for p in again] == [packet_hash(p) for p in packets]
    h = packet_hash(packets[0])
    assert len(h) == 64 and int(h, 16) >= 0
    changed = dataclasses.replace(packets[0], csm_owner="Someone Else")
    assert packet_hash(changed) != h


def test_render_shows_the_facts(packets):
    p = packets[0]
    text = render_packet(p)
    assert p.account_name in text and p.account_id in text
    assert p.arr_text in text and p.renewal_text in text
    for r in p.reasons:
        assert r in text
    if p.tickets:
        assert p.tickets[0].subject in text


def test_empty_preview_gives_no_packets(book):
    con, wf, pv = book
    empty = dataclasses.replace(pv, fired=pv.fired.iloc[0:0])
    assert build_packets(con, empty, wf) == []
