"""Runs, drafts, traces, edits and the answer cache in the workspace, through ``draft_workflow``.

A workspace of its own (it writes rows and saves prompt versions); models answer
from the loopback ``LLMServer`` over real HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.llm_server import LLMServer, Reply, draft_json
from workbench.drafting.engine import DraftResult
from workbench.drafting.packet import packet_hash, render_packet
from workbench.drafting.prompts import DEFAULT_ACTIONS, prompt_set, save_text
from workbench.drafting.run import draft_workflow, select_packets
from workbench.drafting.settings import LLMSettings
from workbench.drafting.store import (
    DuckCache,
    checks_of,
    latest_run,
    list_runs,
    load_drafts,
    load_traces,
    save_edit,
    trace_totals,
)
from workbench.drafting.template import DRAFTER
from workbench.errors import NotFound, WorkbenchError
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview

SECRET = "sk-test-do-not-store-4242"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory):
    """A fresh sample-book workspace for this module (the shared one is read-only)."""
    from workbench.ingest.sample import reset_to_sample

    con = connect(Workspace(tmp_path_factory.mktemp("drafting_store") / "ws"))
    reset_to_sample(con)
    wf = parse_workflow(default_workflow_text())
    yield con, wf, preview(con, wf, default_as_of(con))
    con.close()


@pytest.fixture
def srv(server: LLMServer, book) -> LLMServer:
    """A fresh script and record, and an empty answer cache, for each test."""
    DuckCache(book[0]).clear()
    return server.reset()


def llm(srv: LLMServer, **kw: Any) -> LLMSettings:
    base: dict[str, Any] = {
        "model": "openai/fake",
        "api_base": srv.api_base,
        "api_key": SECRET,
        "backoff_s": 0.01,
        "concurrency": 4,
    }
    return LLMSettings(**{**base, **kw})


def test_run_drafts_and_traces_are_saved(book, srv) -> None:
    con, wf, pv = book
    progress: list[tuple[int, int]] = []
    report = draft_workflow(
        con,
        wf,
        pv,
        llm(srv),
        workflow_version=7,
        limit=6,
        on_result=lambda r, done, total: progress.append((done, total)),
    )
    packets = select_packets(con, wf, pv, limit=6)
    assert [r.packet.account_id for r in report.results] == [p.account_id for p in packets]
    assert progress == [(i, 6) for i in range(1, 7)]
    assert report.run_id == latest_run(con)
    assert len(srv.requests) == 6

    run = con.execute(
        "SELECT workflow_name, workflow_version, as_of, action_type, drafter, accounts, "
        "finished_at IS NOT NULL, cancelled, note FROM wb.draft_runs WHERE run_id = ?",
        [report.run_id],
    ).fetchone()
    assert run is not None
    assert run[:6] == (wf.name, 7, pv.as_of, "assign_csm", llm(srv).describe(), 6)
    assert run[6] is True and run[7] is False
    assert run[8] == report.summary.sentence()
    assert "Drafted 6 of 6 accounts (6 ok)" in run[8] and "6 requests" in run[8]

    drafts = load_drafts(con, report.run_id)
    assert list(drafts["position"]) == list(range(6))
    assert list(drafts["account_id"]) == [p.account_id for p in packets]
    assert set(drafts["outcome"]) == {"ok"} and set(drafts["drafter"]) == {"openai/fake"}
    assert set(drafts["template_version"]) == {prompt_set(con, "assign_csm").version}
    first = drafts.iloc[0].to_dict()
    assert first["packet_text"] == render_packet(packets[0])
    assert first["packet_hash"] == packet_hash(packets[0])
    assert first["account_name"] in first["body"]
    assert first["route"] == packets[0].route
    checks = checks_of(first)
    assert [c.name for c in checks][:4] == [
        "audience",
        "placeholders",
        "names_account",
        "no_other_account",
    ]
    assert all(c.ok for c in checks) and not first["held"]
    assert first["edited_body"] is None

    traces = load_traces(con, report.run_id)
    assert len(traces) == 6
    assert set(traces["outcome"]) == {"ok"}
    assert set(traces["model"]) == {"openai/fake"}
    assert traces["tokens_in"].sum() == 6 * 120
    row = traces[traces["account_id"] == packets[0].account_id].iloc[0]
    assert render_packet(packets[0]) in row["sent"]
    assert json.loads(row["received"])["subject"] == first["subject"]
    totals = trace_totals(traces)
    assert (totals["calls"], totals["requests"], totals["tokens_out"]) == (6, 6, 360)
    assert totals["cached"] == 0 and totals["failed"] == 0
    assert totals["p50_ms"] is not None and totals["p95_ms"] is not None
    assert totals["p95_ms"] >= totals["p50_ms"]

    runs = list_runs(con)
    mine = runs[runs["run_id"] == report.run_id].iloc[0]
    assert (mine["drafted"], mine["held"], mine["needs_human"], mine["edited"]) == (6, 0, 0, 0)


def test_api_key_is_never_stored(book, srv) -> None:
    con, wf, pv = book
    draft_workflow(con, wf, pv, llm(srv), limit=2)
    for table in ("draft_runs", "drafts", "draft_traces", "draft_cache", "prompt_templates"):
        rows = con.execute(f"SELECT * FROM wb.{table}").fetchall()
        assert SECRET not in repr(rows), table
    assert SECRET not in json.dumps(srv.requests)  # the key travels in a header only


def test_second_run_is_answered_from_the_cache(book, srv) -> None:
    con, wf, pv = book
    first = draft_workflow(con, wf, pv, llm(srv), limit=5)
    assert len(srv.requests) == 5
    assert {r.outcome for r in first.results} == {"ok"}

    second = draft_workflow(con, wf, pv, llm(srv), limit=5)
    assert len(srv.requests) == 5  # not one more request
    assert [r.outcome for r in second.results] == ["cached"] * 5
    for a, b in zip(first.results, second.results, strict=True):
        assert (a.draft.subject, a.draft.body) == (b.draft.subject, b.draft.body)
        assert b.note.startswith("From the cache (first drafted with outcome 'ok')")
        assert b.checks and not b.held
    s = second.summary
    assert s.requests == 0 and s.by_outcome == {"cached": 5} and s.tokens_in == 0
    traces = load_traces(con, second.run_id)
    assert set(traces["outcome"]) == {"cached"} and traces["requests"].sum() == 0
    assert trace_totals(traces)["cached"] == 5
    assert set(load_drafts(con, second.run_id)["outcome"]) == {"cached"}

    # A larger run pays only for the accounts it has not drafted yet.
    third = draft_workflow(con, wf, pv, llm(srv), limit=8)
    assert len(srv.requests) == 8
    assert [r.outcome for r in third.results] == ["cached"] * 5 + ["ok"] * 3

    # use_cache=False asks again.
    draft_workflow(con, wf, pv, llm(srv), limit=2, use_cache=False)
    assert len(srv.requests) == 10


def test_a_new_prompt_version_or_model_misses_the_cache(book, srv) -> None:
    con, wf, pv = book
    draft_workflow(con, wf, pv, llm(srv), limit=3)
    assert len(srv.requests) == 3
    before = prompt_set(con, "assign_csm").version
    try:
        assert save_text(con, "assign_csm", DEFAULT_ACTIONS["assign_csm"] + "Be brief.\n")
        assert prompt_set(con, "assign_csm").version != before
        again = draft_workflow(con, wf, pv, llm(srv), limit=3)
        assert len(srv.requests) == 6
        assert {r.outcome for r in again.results} == {"ok"}
        assert "Be brief." in srv.requests[-1]["messages"][1]["content"]
        assert {r.draft.template_version for r in again.results} == {
            prompt_set(con, "assign_csm").version
        }
        # The edited template is cached in its own right.
        draft_workflow(con, wf, pv, llm(srv), limit=3)
        assert len(srv.requests) == 6
    finally:
        save_text(con, "assign_csm", DEFAULT_ACTIONS["assign_csm"])
    assert prompt_set(con, "assign_csm").version == before

    # Back to the first text: its answers are still in the cache.
    back = draft_workflow(con, wf, pv, llm(srv), limit=3)
    assert len(srv.requests) == 6 and {r.outcome for r in back.results} == {"cached"}

    other = draft_workflow(con, wf, pv, llm(srv, model="openai/other"), limit=3)
    assert len(srv.requests) == 9
    assert {r.outcome for r in other.results} == {"ok"}
    assert {r.draft.drafter for r in other.results} == {"openai/other"}

    redacted = draft_workflow(con, wf, pv, llm(srv, redact="on"), limit=3)
    assert len(srv.requests) == 12  # redaction changes what was sent: a new key
    assert {r.outcome for r in redacted.results} == {"ok"}


def test_failures_and_invalid_answers_are_not_cached(book, srv) -> None:
    con, wf, pv = book
    srv.script = [Reply(status=401), Reply(content="nope"), Reply(content="still nope")]
    settings = llm(srv, concurrency=1)
    first = draft_workflow(con, wf, pv, settings, limit=3)
    assert [r.outcome for r in first.results] == ["fallback", "abstained", "ok"]
    assert first.results[0].draft.drafter == "template drafter (fallback: openai/fake failed)"
    assert first.results[1].needs_human
    assert len(srv.requests) == 4

    second = draft_workflow(con, wf, pv, settings, limit=3)
    assert [r.outcome for r in second.results] == ["ok", "ok", "cached"]
    assert len(srv.requests) == 6

    drafts = load_drafts(con, first.run_id)
    abstained = drafts.iloc[1]
    assert abstained["outcome"] == "abstained" and abstained["needs_human"]
    assert "invalid twice" in abstained["note"] and "invalid twice" in abstained["rationale"]
    traces = load_traces(con, first.run_id)
    assert sorted(traces["outcome"]) == ["abstained", "failed", "ok"]
    failed = traces[traces["outcome"] == "failed"].iloc[0]
    assert "refused the API key" in failed["error"]
    assert trace_totals(traces)["failed"] == 1


def test_template_drafter_run_is_saved_without_traces(book, srv) -> None:
    con, wf, pv = book
    report = draft_workflow(con, wf, pv, LLMSettings(), limit=4)
    assert srv.requests == []
    assert [r.outcome for r in report.results] == ["template"] * 4
    drafter = con.execute(
        "SELECT drafter FROM wb.draft_runs WHERE run_id = ?", [report.run_id]
    ).fetchone()
    assert drafter == ("template drafter (no LLM configured)",)
    drafts = load_drafts(con, report.run_id)
    assert set(drafts["drafter"]) == {DRAFTER} and len(drafts) == 4
    assert load_traces(con, report.run_id).empty
    assert trace_totals(load_traces(con, report.run_id))["requests"] == 0
    assert con.execute("SELECT count(*) FROM wb.draft_cache").fetchone() == (0,)


def test_edits_are_kept_beside_the_original_and_checked(book, srv) -> None:
    con, wf, pv = book
    report = draft_workflow(con, wf, pv, llm(srv), limit=2)
    r = report.results[0]
    names = report_names(con)
    checks = save_edit(
        con,
        report.run_id,
        r.packet.account_id,
        "New subject",
        f"Note on {r.packet.account_name}: we can give them a 15% discount.",
        edited_by="ana",
        policy=wf.output_policy,
        names=names,
    )
    assert [c.name for c in checks if not c.ok] == ["no_discount_offer"]
    row = load_drafts(con, report.run_id).iloc[0].to_dict()
    assert row["body"] == r.draft.body  # the original is kept
    assert row["edited_body"].endswith("15% discount.") and row["edited_subject"] == "New subject"
    assert row["edited_by"] == "ana" and row["edited_at"] is not None
    assert row["held"] and row["needs_human"]
    assert [c.name for c in checks_of(row) if not c.ok] == ["no_discount_offer"]

    ok = save_edit(
        con,
        report.run_id,
        r.packet.account_id,
        "Renewal",
        f"Note on {r.packet.account_name}: plan a call next week.",
        edited_by="ana",
        policy=wf.output_policy,
        names=names,
    )
    assert all(c.ok for c in ok)
    row = load_drafts(con, report.run_id).iloc[0].to_dict()
    assert not row["held"] and not row["needs_human"]
    runs = list_runs(con)
    assert runs[runs["run_id"] == report.run_id].iloc[0]["edited"] == 1

    with pytest.raises(NotFound, match="no draft for account NOPE"):
        save_edit(con, report.run_id, "NOPE", "s", "b", edited_by="a", policy=wf.output_policy, names=names)  # fmt: skip
    with pytest.raises(WorkbenchError, match="edited body is empty"):
        save_edit(con, report.run_id, r.packet.account_id, "s", "  ", edited_by="a", policy=wf.output_policy, names=names)  # fmt: skip


def report_names(con):
    from workbench.drafting.run import account_names

    return account_names(con)


def test_a_stopped_run_keeps_what_it_drafted(book, srv) -> None:
    con, wf, pv = book
    seen: list[DraftResult] = []
    report = draft_workflow(
        con,
        wf,
        pv,
        llm(srv, concurrency=1),
        limit=10,
        on_result=lambda r, d, t: seen.append(r),
        should_stop=lambda: len(seen) >= 3,
    )
    # The next request starts while a result is being saved, so one more may be drafted.
    drafted = len(report.results)
    assert report.summary.cancelled and drafted in (3, 4)
    assert len(srv.requests) == drafted
    row = con.execute(
        "SELECT accounts, cancelled, finished_at IS NOT NULL, note FROM wb.draft_runs "
        "WHERE run_id = ?",
        [report.run_id],
    ).fetchone()
    assert row is not None and row[:3] == (10, True, True)
    assert "Stopped early" in row[3]
    assert len(load_drafts(con, report.run_id)) == drafted


def test_held_model_drafts_are_saved_as_held(book, srv) -> None:
    con, wf, pv = book
    p = select_packets(con, wf, pv, limit=1)[0]
    srv.script = [Reply(content=draft_json(p.account_name, " We will waive the fee."))]
    report = draft_workflow(con, wf, pv, llm(srv), account_ids=[p.account_id])
    row = load_drafts(con, report.run_id).iloc[0].to_dict()
    assert row["held"] and row["needs_human"] and row["outcome"] == "ok"
    failing = [c for c in checks_of(row) if not c.ok]
    assert [c.name for c in failing] == ["no_discount_offer"] and "waive" in failing[0].detail


def test_choosing_accounts(book, srv) -> None:
    con, wf, pv = book
    ids = list(pv.fired["account_id"].astype(str))
    picked = select_packets(con, wf, pv, account_ids=[ids[4], ids[1]])
    assert [p.account_id for p in picked] == [ids[1], ids[4]]  # priority order
    with pytest.raises(WorkbenchError, match="does not fire on ACC-NOPE"):
        select_packets(con, wf, pv, account_ids=["ACC-NOPE"])
    with pytest.raises(WorkbenchError, match="--limit is 0"):
        select_packets(con, wf, pv, limit=0)
    assert len(select_packets(con, wf, pv)) == len(pv.fired)


def test_cache_clear(book, srv) -> None:
    con, wf, pv = book
    draft_workflow(con, wf, pv, llm(srv), limit=2)
    cache = DuckCache(con)
    assert cache.clear() == 2
    assert cache.get_many([]) == {}
    assert cache.clear() == 0


def test_the_output_policy_and_the_server_are_part_of_the_cache_key(book, srv) -> None:
    """The policy is written into the system prompt; another server is another model."""
    from workbench.workflow.model import OutputPolicy

    con, wf, pv = book
    draft_workflow(con, wf, pv, llm(srv), limit=2)
    assert len(srv.requests) == 2
    stricter = wf.model_copy(update={"output_policy": OutputPolicy(max_body_chars=600)})
    again = draft_workflow(con, stricter, pv, llm(srv), limit=2)
    assert len(srv.requests) == 4 and {r.outcome for r in again.results} == {"ok"}
    assert "under 600" in srv.requests[-1]["messages"][0]["content"]
    with LLMServer() as other:
        elsewhere = draft_workflow(con, wf, pv, llm(other), limit=2)
        assert len(other.requests) == 2 and {r.outcome for r in elsewhere.results} == {"ok"}


def test_asking_again_refreshes_the_cache(book, srv) -> None:
    con, wf, pv = book
    draft_workflow(con, wf, pv, llm(srv), limit=2, use_cache=False)
    assert len(srv.requests) == 2
    cached = draft_workflow(con, wf, pv, llm(srv), limit=2)
    assert len(srv.requests) == 2 and {r.outcome for r in cached.results} == {"cached"}


def test_a_template_that_fails_on_one_account_does_not_stop_the_run(book, srv) -> None:
    con, wf, pv = book
    broken = DEFAULT_ACTIONS["assign_csm"] + "First ticket: {{ packet.tickets[0].subject }}\n"
    packets = select_packets(con, wf, pv)
    without = next(p for p in packets if not p.tickets)
    with_tickets = next(p for p in packets if p.tickets)
    try:
        save_text(con, "assign_csm", broken)
        report = draft_workflow(
            con, wf, pv, llm(srv), account_ids=[without.account_id, with_tickets.account_id]
        )
    finally:
        save_text(con, "assign_csm", DEFAULT_ACTIONS["assign_csm"])
    by_id = {r.packet.account_id: r for r in report.results}
    assert by_id[with_tickets.account_id].outcome == "ok"
    failed = by_id[without.account_id]
    assert failed.outcome == "fallback" and failed.trace is None
    assert "could not be rendered for this account" in failed.note
    assert failed.draft.drafter == "template drafter (fallback: prompt template failed)"
    assert len(srv.requests) == 1  # nothing was sent for the account it failed on
    assert not report.summary.cancelled


def test_an_edit_moves_the_route_with_the_hold(book, srv) -> None:
    con, wf, pv = book
    automated = pv.fired[pv.fired["route"] == "automated"]["account_id"].astype(str).iloc[0]
    report = draft_workflow(con, wf, pv, llm(srv), account_ids=[automated])
    names = report_names(con)

    def edit(body: str) -> dict[str, Any]:
        save_edit(con, report.run_id, automated, "S", body, edited_by="ana",
                  policy=wf.output_policy, names=names)  # fmt: skip
        return load_drafts(con, report.run_id).iloc[0].to_dict()

    name = report.results[0].packet.account_name
    row = edit(f"Note on {name}: we can offer 30% off.")
    assert (row["route"], row["held"], row["packet_route"]) == ("human", True, "automated")
    row = edit(f"Note on {name}: plan a call next week.")
    assert (row["route"], row["held"]) == ("automated", False)


def test_an_openai_compatible_server_never_gets_the_openai_key(book, srv, monkeypatch) -> None:
    con, wf, pv = book
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    draft_workflow(con, wf, pv, llm(srv, api_key=None), limit=1)
    assert len(srv.requests) == 1
    assert all("sk-from-the-environment" not in h for h in srv.auth_headers)


def test_sessions_starting_runs_at_once_get_distinct_ids(tmp_path) -> None:
    import datetime
    import threading

    from workbench.drafting.store import start_run

    con = connect(Workspace(tmp_path / "ws"))
    ids: list[int] = []
    errors: list[str] = []

    def session() -> None:
        cur = con.cursor()  # as each Streamlit rerun takes its own cursor
        for _ in range(50):
            try:
                ids.append(
                    start_run(
                        cur,
                        workflow_name="w",
                        workflow_version=1,
                        as_of=datetime.date(2026, 1, 1),
                        action_type="alert",
                        drafter="d",
                        accounts=1,
                    )  # fmt: skip
                )
            except Exception as exc:  # the assertion below names it
                errors.append(repr(exc))

    threads = [threading.Thread(target=session) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    con.close()
    assert errors == [] and sorted(ids) == list(range(1, 201))
