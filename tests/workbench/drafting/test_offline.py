"""Offline by default: with no model, every action type is drafted with no network access at all.

A socket guard makes any attempt to reach a non-loopback address fail the test
(and records every attempt, loopback included, so the offline path can be shown
to open no socket at all). A subprocess shows that litellm is not even imported.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.workbench.drafting.actions import ACTIONS as ONE_OF_EACH
from workbench.drafting.run import draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.drafting.store import load_drafts, load_traces
from workbench.drafting.template import DRAFTER
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.model import Action
from workbench.workflow.preview import preview

ROOT = Path(__file__).resolve().parents[3]

ACTIONS = {
    **ONE_OF_EACH,
    "assign_csm_by_segment": Action(
        type="assign_csm",
        strategy="by_segment",
        by_segment={"SMB": "Daniel Kim", "Mid-Market": "Olivia Grant", "Enterprise": "Jonas Weber"},
    ),
}


class NetworkAttempt(AssertionError):
    """A test tried to reach the network."""


def _loopback(host: Any) -> bool:
    if host is None:
        return False
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail on any connection (or name lookup) for a non-loopback address; record every attempt."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def check(what: str, address: Any) -> None:
        attempts.append(f"{what} {address!r}")
        if isinstance(address, tuple):
            host = address[0]
        elif isinstance(address, str | bytes):  # a Unix socket path is local
            return
        else:
            host = None
        if not _loopback(host):
            raise NetworkAttempt(f"network access attempted: {what} {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check("connect", address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check("connect_ex", address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        check("create_connection", address)
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        check("getaddrinfo", (host, port))
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory):
    """A workspace of its own: the runs write drafts."""
    from workbench.ingest.sample import reset_to_sample

    con = connect(Workspace(tmp_path_factory.mktemp("drafting_offline") / "ws"))
    reset_to_sample(con)
    yield con, parse_workflow(default_workflow_text())
    con.close()


def test_the_guard_stops_network_access(socket_guard: list[str]) -> None:
    with pytest.raises(NetworkAttempt):
        socket.create_connection(("example.com", 443), timeout=1)
    with pytest.raises(NetworkAttempt):
        socket.getaddrinfo("api.openai.com", 443)
    with socket.socket() as s, pytest.raises(NetworkAttempt):
        s.connect(("93.184.216.34", 80))
    with socket.socket() as s, pytest.raises(NetworkAttempt):
        s.connect_ex(("2001:db8::1", 80, 0, 0))
    # Loopback is allowed (the tests' own servers).
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=1).close()
    assert len(socket_guard) > 4  # create_connection looks up and connects: recorded too
    assert all("127.0.0.1" in a for a in socket_guard[4:])


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_template_drafter_drafts_every_action_type_offline(book, socket_guard, kind: str) -> None:
    con, base = book
    wf = base.model_copy(update={"action": ACTIONS[kind]})
    pv = preview(con, wf, default_as_of(con))
    assert len(pv.fired) > 0
    settings = LLMSettings()
    assert not settings.configured and settings.describe() == DRAFTER

    report = draft_workflow(con, wf, pv, settings)

    assert socket_guard == []  # not one socket, not even to loopback
    assert len(report.results) == len(pv.fired)
    assert report.summary.by_outcome == {"template": len(pv.fired)}
    assert report.summary.requests == 0
    for r in report.results:
        p, d = r.packet, r.draft
        assert r.outcome == "template" and r.trace is None
        assert r.note == "Drafted by the template drafter."
        assert d.drafter == DRAFTER and d.action_type == wf.action.type
        assert d.subject and d.body and d.summary and d.rationale
        # Grounded: the draft carries the packet's own facts.
        assert p.account_name in d.body, p.account_id
        if kind != "draft_email":  # a customer email leaves internal figures out
            assert p.arr_text in d.text and p.renewal_text in d.text
        else:
            assert p.renewal_text in d.text
        if kind == "crm_update":
            assert "Risk_Flag__c" in d.text and "High" in d.text
        if kind == "alert":
            assert "#cs-risk" in d.text
        # Nothing the checks would have to hold.
        assert not r.held, (p.account_id, [c.detail for c in r.checks if not c.ok])

    drafts = load_drafts(con, report.run_id)
    assert len(drafts) == len(pv.fired) and set(drafts["drafter"]) == {DRAFTER}
    assert load_traces(con, report.run_id).empty


_PROBE = r"""
import json, socket, sys, tempfile
from pathlib import Path

attempts = []
real = socket.socket.connect
def connect(self, address):
    attempts.append(repr(address))
    return real(self, address)
socket.socket.connect = connect
socket.socket.connect_ex = lambda self, a: attempts.append(repr(a)) or 1
socket.create_connection = lambda a, *x, **k: attempts.append(repr(a)) or None

from workbench.drafting.run import draft_workflow
from workbench.drafting.settings import load_llm_settings
from workbench.ingest.sample import reset_to_sample
from workbench.storage.workspace import Workspace, connect as open_ws
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview

con = open_ws(Workspace(Path(tempfile.mkdtemp()) / "ws"))
reset_to_sample(con)
wf = parse_workflow(default_workflow_text())
settings = load_llm_settings(secrets_path=Path(tempfile.mkdtemp()) / "none.toml", environ={})
report = draft_workflow(con, wf, preview(con, wf, default_as_of(con)), settings)
print(json.dumps({
    "drafted": len(report.results),
    "outcomes": sorted({r.outcome for r in report.results}),
    "configured": settings.configured,
    "attempts": attempts,
    "gateway_loaded": "workbench.drafting.gateway" in sys.modules,
    "imported": sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai", "httpx", "aiohttp", "requests", "tiktoken")),
}))
"""


def test_offline_path_does_not_import_litellm() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_LLM_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["configured"] is False
    assert out["drafted"] > 0 and out["outcomes"] == ["template"]
    assert out["attempts"] == []
    assert out["gateway_loaded"]  # the module that would import litellm was loaded, but
    assert out["imported"] == [], out["imported"]  # litellm and its HTTP clients were not
