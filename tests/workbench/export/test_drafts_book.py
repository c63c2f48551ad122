"""The drafts export: originals beside edits, every check, the model calls, and a summary."""

from __future__ import annotations

from io import BytesIO

import pandas as pd
import pytest
from openpyxl import load_workbook

from workbench.drafting import store
from workbench.drafting.run import account_names, draft_workflow
from workbench.drafting.settings import LLMSettings
from workbench.drafting.view_model import runs
from workbench.export.drafts_book import (
    DRAFT_COLUMNS,
    NEVER_SENT,
    checks_frame,
    drafts_csv,
    drafts_frame,
    drafts_xlsx,
)
from workbench.ingest.sample import reset_to_sample
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A template run on the sample book with two edits: one starts like a formula, one is held."""
    con = connect(Workspace(tmp_path_factory.mktemp("drafts-book") / "ws"))
    reset_to_sample(con)
    wf = parse_workflow(default_workflow_text())
    pv = preview(con, wf, default_as_of(con))
    report = draft_workflow(con, wf, pv, LLMSettings(), workflow_version=1)
    first = report.results[0].packet
    store.save_edit(
        con,
        report.run_id,
        first.account_id,
        '=HYPERLINK("http://x")',
        f"Note on {first.account_name}: a short note.",
        edited_by="Dana",
        policy=wf.output_policy,
        names=account_names(con),
    )
    second = report.results[1].packet
    store.save_edit(
        con,
        report.run_id,
        second.account_id,
        f"Renewal for {second.account_name}",
        f"{second.account_name} could have a 20% discount.",
        edited_by="Dana",
        policy=wf.output_policy,
        names=account_names(con),
    )
    info = runs(con)[0]
    drafts = store.load_drafts(con, report.run_id)
    yield info, drafts, store.load_traces(con, report.run_id)
    con.close()


def _traces(drafts: pd.DataFrame) -> pd.DataFrame:
    acc = str(drafts["account_id"].iloc[2])
    return pd.DataFrame(
        {
            "account_id": [acc],
            "model": ["openai/gpt-4o-mini"],
            "template_version": ["abc123"],
            "packet_hash": ["f" * 64],
            "outcome": ["repaired"],
            "tokens_in": [812],
            "tokens_out": [140],
            "cost_usd": [0.0012],
            "latency_ms": [930.5],
            "attempts": [2],
            "requests": [2],
            "error": [None],
            "redacted": [True],
            "sent": ["[system]\nWrite to <NAME_1>"],
            "received": ["{}"],
            "traced_at": [pd.Timestamp("2026-11-01 09:00")],
        }
    )


def _book(data: bytes):
    return load_workbook(BytesIO(data))


def test_the_drafts_frame_puts_each_original_beside_its_edit(run):
    info, drafts, _ = run
    df = drafts_frame(drafts)
    assert list(df.columns) == [h for h, _ in DRAFT_COLUMNS]
    cols = list(df.columns)
    assert cols.index("edited subject") == cols.index("original subject") + 1
    assert cols.index("edited body") == cols.index("original body") + 1
    assert len(df) == info.drafted and list(df["rank"]) == list(range(1, len(df) + 1))
    first = df.iloc[0]
    assert first["edited by"] == "Dana" and first["edited subject"].startswith("=HYPERLINK")
    assert first["original subject"] == drafts["subject"].iloc[0]
    assert pd.isna(df["edited body"].iloc[2])
    assert df["checks"].str.contains("pass placeholders: ").all()
    held = df[df["held"]]
    assert df["held"].iloc[1] and "discount" in df["first failing check"].iloc[1]
    assert (held["first failing check"] != "").all()
    assert set(df["drafter"]) == {info.drafter}
    assert drafts_frame(drafts.iloc[0:0]).empty


def test_checks_frame_has_one_row_per_draft_and_check(run):
    _, drafts, _ = run
    df = checks_frame(drafts)
    assert len(df) == 8 * len(drafts)
    assert df["on edited text"].sum() == 16  # two edited drafts, 8 checks each
    held = set(drafts.loc[drafts["held"], "account_id"].astype(str))
    assert str(drafts["account_id"].iloc[1]) in held
    assert set(df.loc[~df["ok"], "account_id"]) == held


def test_csv_is_the_drafts_sheet_with_formulas_neutralised(run):
    _, drafts, _ = run
    text = drafts_csv(drafts).decode("utf-8-sig")
    header = text.split("\r\n")[0]
    assert header.startswith("rank,account_id,account,route,outcome,held")
    assert "'=HYPERLINK" in text


def test_the_workbook_has_summary_drafts_checks_and_traces(run):
    info, drafts, _ = run
    traces = _traces(drafts)
    wb = _book(drafts_xlsx(info, drafts, traces, {"data version": "dv-1"}))
    assert wb.sheetnames == ["Summary", "Drafts", "Checks", "Traces"]

    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Sent"] == NEVER_SENT
    assert summary["Workflow"] == info.workflow_name and summary["Workflow version"] == "v1"
    assert summary["Drafter"] == "template drafter (no LLM configured)"
    assert summary["Drafted"] == info.drafted and summary["Edited"] == 2
    assert summary["Outcome: template"] == info.drafted
    assert summary["Model requests"] == 2 and summary["Tokens in"] == 812
    assert summary["Latency p50 (ms)"] == 930
    assert summary["data version"] == "dv-1"
    assert summary["Finished"] != "" and "stopped" not in str(summary["Finished"])

    ws = wb["Drafts"]
    header = [c.value for c in ws[1]]
    assert header == [h for h, _ in DRAFT_COLUMNS]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:W{len(drafts) + 1}"
    assert ws.max_row == len(drafts) + 1
    row = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert row["edited subject"] == '\'=HYPERLINK("http://x")'  # never run as a formula
    assert row["edited by"] == "Dana" and row["rank"] == 1
    held = header.index("held") + 1
    assert ws.cell(3, held).value is True  # the discount edit
    assert ws.cell(3, 1).fill.start_color.rgb.endswith("FCE4D6")
    assert not ws.cell(2, held).value and ws.cell(2, 1).fill.fill_type is None
    assert ws.cell(2, header.index("original body") + 1).alignment.wrap_text

    assert wb["Checks"].max_row == 8 * len(drafts) + 1
    trace_rows = list(wb["Traces"].iter_rows(values_only=True))
    assert trace_rows[0][:4] == ("account_id", "model", "template_version", "outcome")
    assert trace_rows[1][1] == "openai/gpt-4o-mini" and "<NAME_1>" in trace_rows[1][-2]


def test_a_template_run_has_an_empty_traces_sheet_and_a_stopped_run_says_so(run):
    info, drafts, traces = run
    assert traces.empty
    stopped = type(info)(**{**info.__dict__, "finished_at": None})
    wb = _book(drafts_xlsx(stopped, drafts.head(3), traces))
    assert wb["Traces"].max_row == 1
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Finished"].startswith("not finished: stopped early")
    assert "stopped before it finished" in summary["Draft run"]
    assert summary["Drafted"] == 3
