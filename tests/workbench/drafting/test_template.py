"""The template drafter: a grounded draft for every action type and fired account, offline."""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest

from tests.workbench.drafting.actions import ACTIONS
from workbench.drafting.packet import build_packets
from workbench.drafting.template import (
    DRAFTER,
    TEMPLATES,
    template_draft,
    template_drafts,
    template_version,
)

PLACEHOLDER = re.compile(r"\{\{?\s*[A-Za-z_][\w.]*\s*\}?\}|\[[A-Z][A-Z _]*\]|\$\{?[a-z_]+\}?")
OFFERS = re.compile(r"discount|credit|% off|free month|refund", re.IGNORECASE)


@pytest.fixture(scope="module")
def packets(book):
    con, wf, pv = book
    return build_packets(con, pv, wf)


def test_every_action_type_has_a_template():
    assert set(TEMPLATES) == set(ACTIONS)


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_grounded_draft_for_every_fired_account(packets, kind):
    action = ACTIONS[kind]
    drafts = template_drafts(packets, action)
    assert len(drafts) == len(packets) > 0
    for p, d in zip(packets, drafts, strict=True):
        assert d.account_id == p.account_id
        assert d.action_type == kind
        assert d.drafter == DRAFTER
        assert d.template_version == template_version(kind)
        assert 0.0 <= d.confidence <= 1.0
        assert d.subject and d.body and d.summary and d.rationale
        assert p.account_name in d.body, p.account_id
        assert p.arr_text in d.text and p.renewal_text in d.text
        assert not PLACEHOLDER.search(d.text), PLACEHOLDER.search(d.text)
        assert not OFFERS.search(d.text)


def test_draft_contents_follow_the_action(packets):
    p = next(p for p in packets if p.open_tickets and p.comments and p.usage)
    brief = template_draft(p, ACTIONS["risk_brief"])
    for r in p.reasons:
        assert r in brief.body
    assert p.open_tickets[0].subject in brief.body
    assert p.comments[0].comment in brief.body
    assert "weekly active users" in brief.body
    crm = template_draft(p, ACTIONS["crm_update"])
    assert "Field: Risk_Flag__c" in crm.body and "Value: High" in crm.body
    alert = template_draft(p, ACTIONS["alert"])
    assert alert.subject.startswith("#cs-risk")
    note = template_draft(p, ACTIONS["assign_csm"])
    assert note.body.startswith(f"Hi {p.assignee},")
    email = template_draft(p, ACTIONS["draft_email"])
    assert email.body.startswith(f"Hello {p.account_name} team,")
    assert email.body.rstrip().endswith(p.csm_owner or "")
    # Internal figures stay out of the customer email body.
    assert "health score" not in email.body.lower() and p.arr_text not in email.body


def test_template_versions_are_short_distinct_and_stable():
    versions = {k: template_version(k) for k in ACTIONS}
    assert len(set(versions.values())) == len(versions)
    assert all(re.fullmatch(r"[0-9a-f]{12}", v) for v in versions.values())
    assert versions == {k: template_version(k) for k in ACTIONS}


def test_deterministic(packets):
    a = template_drafts(packets, ACTIONS["draft_email"])
    b = template_drafts(packets, ACTIONS["draft_email"])
    assert a == b


def _loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return isinstance(address, str | bytes)  # AF_UNIX paths are local


def test_no_network_outside_loopback(book, monkeypatch):
    con, wf, pv = book
    seen: list[object] = []
    real = socket.socket.connect

    def record(self: socket.socket, address: object) -> None:
        seen.append(address)
        if not _loopback(address):
            raise OSError(f"test blocks non-loopback connect to {address!r}")
        real(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", record)
    # The recorder works: a loopback connection is seen.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert seen and _loopback(seen[0])
    seen.clear()

    packets = build_packets(con, pv, wf)
    for action in ACTIONS.values():
        template_drafts(packets, action)
    outside = [a for a in seen if not _loopback(a)]
    assert outside == []
