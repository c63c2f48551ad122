"""What the Drafts page shows, without Streamlit: runs, totals, the table, one draft, its prompt."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd
import pytest

from workbench.drafting import store
from workbench.drafting.checks import CheckResult
from workbench.drafting.prompt_view import prompt_view
from workbench.drafting.run import account_names, draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.drafting.template import DRAFTER
from workbench.drafting.view_model import (
    check_label,
    drafts_table,
    find_draft,
    first_failing,
    outcome_counts,
    run_totals,
    runs,
    trace_of,
)
from workbench.ingest.sample import reset_to_sample
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview


class Interrupted(BaseException):
    """What Streamlit raises inside a progress update when the user clicks Stop."""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A sample-book workspace of its own: these tests save runs and edits."""
    con = connect(Workspace(tmp_path_factory.mktemp("drafts") / "ws"))
    reset_to_sample(con)
    wf = parse_workflow(default_workflow_text())
    pv = preview(con, wf, default_as_of(con))
    yield con, wf, pv
    con.close()


def _run(ws, **kw) -> int:
    con, wf, pv = ws
    return draft_workflow(con, wf, pv, LLMSettings(), workflow_version=1, **kw).run_id


def _info(con, run_id):
    return next(r for r in runs(con) if r.run_id == run_id)


def test_a_finished_template_run_reads_as_finished(ws):
    con, _, pv = ws
    run_id = _run(ws)
    run = _info(con, run_id)
    n = len(pv.fired)
    assert (run.accounts, run.drafted, run.workflow_version) == (n, n, 1)
    assert run.as_of == pv.as_of and run.uses_template and run.drafter == DRAFTER
    assert not run.stopped_early
    assert run.status().startswith(f"Drafted {n} of {n} accounts")
    assert run.label().startswith(f"Run {run_id} · ")
    assert f"{n} of {n} drafted" in run.label()
    assert runs(con)[0].run_id == max(r.run_id for r in runs(con))  # newest first


def test_a_run_interrupted_midway_keeps_its_drafts_and_says_it_stopped(ws):
    con, _, pv = ws

    def interrupt(result, done, total):
        if done == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        _run(ws, on_result=interrupt)
    run = runs(con)[0]
    # The interruption is recorded: the run is marked stopped, with what it had drafted.
    assert run.finished_at is not None and run.cancelled and run.stopped_early
    assert "Drafted 3 of" in run.note
    assert run.drafted == 3 and len(store.load_drafts(con, run.run_id)) == 3
    assert run.status().startswith(
        f"Run {run.run_id} was stopped before it finished: 3 of {len(pv.fired)} accounts"
    )
    assert run.label().endswith("· stopped early")


def test_totals_count_outcomes_held_and_people_from_the_stored_drafts(ws):
    con, _, pv = ws
    run_id = _run(ws)
    drafts = store.load_drafts(con, run_id)
    totals = run_totals(_info(con, run_id), drafts, store.load_traces(con, run_id))
    n = len(pv.fired)
    assert (totals.accounts, totals.drafted, totals.by_outcome) == (n, n, {"template": n})
    assert totals.held == int(drafts["held"].sum())
    assert totals.needs_human == int(drafts["needs_human"].sum())
    assert (totals.requests, totals.tokens_in, totals.edited) == (0, 0, 0)
    assert totals.p50_ms is None and totals.cost_usd is None
    figures = dict(totals.figures())
    assert figures["Drafted"] == n and figures["Latency p50 (ms)"] == "no model calls"


def test_totals_read_tokens_cost_and_latency_from_the_traces(ws):
    con, _, _ = ws
    run_id = _run(ws, limit=4)
    traces = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "outcome": ["ok", "repaired", "cached", "failed"],
            "requests": [1, 2, 0, 0],
            "attempts": [1, 2, 0, 1],
            "tokens_in": [100, 250, 0, 0],
            "tokens_out": [40, 90, 0, 0],
            "cost_usd": [0.001, 0.002, 0.0, None],
            "latency_ms": [200.0, 400.0, 0.0, 1000.0],
        }
    )
    t = run_totals(_info(con, run_id), store.load_drafts(con, run_id), traces)
    assert (t.requests, t.tokens_in, t.tokens_out) == (4, 350, 130)
    assert t.cost_usd == pytest.approx(0.003)
    # Latency of the answered calls only; the failed one's tries count as requests.
    assert t.p50_ms == pytest.approx(300.0)
    assert t.p95_ms == pytest.approx(390.0)
    assert (t.cached, t.failed) == (1, 1)


def test_outcome_counts_follow_the_engines_order():
    df = pd.DataFrame({"outcome": ["template", "ok", "abstained", "ok", "cached"]})
    assert list(outcome_counts(df).items()) == [
        ("ok", 2),
        ("cached", 1),
        ("template", 1),
        ("abstained", 1),
    ]
    assert outcome_counts(df.iloc[0:0]) == {}


@pytest.mark.parametrize(
    ("checks", "outcome", "expected"),
    [
        ([CheckResult("a", True, "fine")], "ok", ""),
        ([CheckResult("a", True, "fine"), CheckResult("b", False, "bad"),
          CheckResult("c", False, "worse")], "ok", "bad"),
        ([], "abstained", "no draft (abstained)"),
    ],
)  # fmt: skip
def test_first_failing(checks, outcome, expected):
    assert first_failing(checks, outcome) == expected


def test_check_labels_cover_known_and_unknown_names():
    assert check_label("no_discount_offer") == "Offers no discount or credit"
    assert check_label("tone_check") == "Tone check"


def test_the_table_has_one_row_per_draft_with_its_first_failing_check(ws):
    con, wf, pv = ws
    run_id = _run(ws)
    acc, name = str(pv.fired["account_id"].iloc[1]), str(pv.fired["account_name"].iloc[1])
    store.save_edit(
        con,
        run_id,
        acc,
        f"Renewal for {name}",
        f"{name}: we can waive the fee.",
        edited_by="Dana",
        policy=wf.output_policy,
        names=account_names(con),
    )
    table = drafts_table(store.load_drafts(con, run_id))
    assert list(table.columns) == [
        "account_name",
        "account_id",
        "route",
        "outcome",
        "held",
        "needs_human",
        "edited",
        "first_failing",
    ]
    assert list(table["account_id"]) == [str(a) for a in pv.fired["account_id"]]
    assert table["held"].iloc[1] and table["edited"].iloc[1]
    assert table["first_failing"].iloc[1].startswith("The draft offers a discount")
    held = table[table["held"]]
    assert (held["first_failing"] != "").all()
    assert (table.loc[~table["held"], "first_failing"] == "").all()
    assert drafts_table(store.load_drafts(con, run_id).iloc[0:0]).empty


def test_an_edit_is_kept_beside_the_original_and_re_checked(ws):
    con, wf, _ = ws
    run_id = _run(ws, limit=2)
    drafts = store.load_drafts(con, run_id)
    acc = str(drafts["account_id"].iloc[0])
    before = find_draft(drafts, acc)
    assert before is not None and not before.edited and before.current_body == before.body
    body = f"{before.body}\n\nWe can offer a 20% discount on the renewal."
    store.save_edit(
        con,
        run_id,
        acc,
        "New subject",
        body,
        edited_by="Dana",
        policy=wf.output_policy,
        names=account_names(con),
    )
    drafts = store.load_drafts(con, run_id)
    after = find_draft(drafts, acc)
    assert after is not None and after.edited and after.edited_by == "Dana"
    assert isinstance(after.edited_at, datetime)
    assert (after.subject, after.body) == (before.subject, before.body)
    assert (after.current_subject, after.current_body) == ("New subject", body)
    assert after.held and [c.name for c in after.failing] == ["no_discount_offer"]
    assert after.held_reason().startswith("Held: ")
    assert drafts_table(drafts)["edited"].tolist() == [True, False]
    assert run_totals(_info(con, run_id), drafts, store.load_traces(con, run_id)).edited == 1
    assert find_draft(drafts, "nobody") is None


def test_the_prompt_is_rebuilt_from_todays_packet_with_the_template_drafter(ws):
    con, wf, pv = ws
    run_id = _run(ws, limit=1)
    d = find_draft(store.load_drafts(con, run_id), str(pv.fired["account_id"].iloc[0]))
    assert d is not None
    view = prompt_view(con, wf, pv, LLMSettings(), d)
    assert view.label == "would be sent"
    assert view.text is not None and view.text.startswith("[system]")
    assert d.packet_text in view.text  # the packet is embedded as the user sees it
    assert "sends nothing" in view.note and "changed" not in view.note

    moved = prompt_view(con, wf, pv, LLMSettings(), replace(d, packet_hash="0" * 64))
    assert "packet has changed" in moved.note

    gone = prompt_view(con, wf, pv, LLMSettings(), replace(d, account_id="NOT-FIRING"))
    assert gone.text is None and "no longer fires" in gone.note


def test_a_cloud_model_would_be_sent_a_redacted_prompt(ws):
    con, wf, pv = ws
    run_id = _run(ws, limit=1)
    d = find_draft(store.load_drafts(con, run_id), str(pv.fired["account_id"].iloc[0]))
    assert d is not None and "CONTACTS:" in d.packet_text
    emails = d.packet_text.split("CONTACTS: ")[1].split(", ")
    view = prompt_view(con, wf, pv, LLMSettings(model="openai/gpt-4o-mini"), d)
    assert view.label == "would be sent (redacted)"
    assert view.text is not None and "<EMAIL_1>" in view.text
    assert not any(e in view.text for e in emails)
    assert "openai/gpt-4o-mini would be sent" in view.note


def test_a_stored_trace_shows_what_was_sent(ws):
    con, wf, pv = ws
    run_id = _run(ws, limit=1)
    d = find_draft(store.load_drafts(con, run_id), str(pv.fired["account_id"].iloc[0]))
    assert d is not None
    traces = pd.DataFrame(
        {
            "account_id": [d.account_id],
            "model": ["openai/gpt-4o-mini"],
            "outcome": ["ok"],
            "tokens_in": [812],
            "tokens_out": [140],
            "latency_ms": [930.0],
            "attempts": [1],
            "error": [None],
            "redacted": [True],
            "sent": ["[system]\nHello <NAME_1>"],
        }
    )
    trace = trace_of(traces, d.account_id)
    assert trace is not None and trace_of(traces, "other") is None
    view = prompt_view(con, wf, pv, LLMSettings(), d, trace)
    assert (view.label, view.text) == ("sent (redacted)", "[system]\nHello <NAME_1>")
    assert "812 tokens in, 140 out, 930 ms" in view.note
    # A cached answer has no sent text: the prompt is rebuilt and the note says why.
    cached = {**trace, "outcome": "cached", "sent": ""}
    rebuilt = prompt_view(con, wf, pv, LLMSettings(), d, cached)
    assert rebuilt.label == "would be sent" and "answer cache" in rebuilt.note
    assert trace_of(traces.iloc[0:0], d.account_id) is None
    # A fallback whose request never left (breaker open): shown, but not as sent.
    unsent = {**trace, "outcome": "failed", "attempts": 0, "error": "The breaker is open."}
    view = prompt_view(con, wf, pv, LLMSettings(), d, unsent)
    assert view.label == "not sent (redacted)"
    assert view.note == "This prompt did not leave the machine: The breaker is open."
