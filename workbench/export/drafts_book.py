"""A draft run as CSV or as a workbook: Summary, Drafts, Checks and Traces.

The Drafts sheet puts each original beside its edit (subject, then body), with
the outcome, the checks, the drafter and the template version; the Summary
sheet holds the run's figures and what identifies it (workflow and version,
as-of date, drafter, data version), and says that nothing was sent. Text that
a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from io import BytesIO
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from workbench.drafting.store import checks_of
from workbench.drafting.view_model import RunInfo, first_failing, records, run_totals
from workbench.export.tabular import excel_value, to_csv_bytes

NEVER_SENT = "Drafts only: nothing in this workbook was sent to anyone."
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_HELD_FILL = PatternFill(fill_type="solid", start_color="FCE4D6", end_color="FCE4D6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")

# (export header, source) for the Drafts sheet; a source is a wb.drafts column.
DRAFT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "position"),
    ("account_id", "account_id"),
    ("account", "account_name"),
    ("route", "route"),
    ("outcome", "outcome"),
    ("held", "held"),
    ("needs a person", "needs_human"),
    ("first failing check", "first_failing"),
    ("checks", "checks_text"),
    ("original subject", "subject"),
    ("edited subject", "edited_subject"),
    ("original body", "body"),
    ("edited body", "edited_body"),
    ("edited by", "edited_by"),
    ("edited at", "edited_at"),
    ("summary", "summary"),
    ("rationale", "rationale"),
    ("confidence", "confidence"),
    ("drafter", "drafter"),
    ("template version", "template_version"),
    ("note", "note"),
    ("packet hash", "packet_hash"),
    ("context packet", "packet_text"),
)
_WIDE = {"original body", "edited body", "context packet", "rationale", "checks", "note"}
TRACE_COLUMNS = (
    "account_id",
    "model",
    "template_version",
    "outcome",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_ms",
    "attempts",
    "requests",
    "error",
    "redacted",
    "packet_hash",
    "traced_at",
    "sent",
    "received",
)


def _checks_text(row: Mapping[str, Any]) -> str:
    return "\n".join(
        f"{'pass' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in checks_of(dict(row))
    )


def drafts_frame(drafts: pd.DataFrame) -> pd.DataFrame:
    """The run's drafts for export: originals beside edits, checks in words, 1-based rank."""
    headers = [h for h, _ in DRAFT_COLUMNS]
    if drafts.empty:
        return pd.DataFrame(columns=headers)
    rows = records(drafts)
    derived = {
        "position": [int(r["position"]) + 1 for r in rows],
        "first_failing": [first_failing(checks_of(r), str(r["outcome"])) for r in rows],
        "checks_text": [_checks_text(r) for r in rows],
    }
    data = {h: derived[src] if src in derived else drafts[src].tolist() for h, src in DRAFT_COLUMNS}
    out = pd.DataFrame(data, columns=headers)
    out["edited at"] = pd.to_datetime(out["edited at"])
    return out


def checks_frame(drafts: pd.DataFrame) -> pd.DataFrame:
    """One row per draft and check: account, check, pass/fail and the detail."""
    rows = [
        {
            "account_id": str(r["account_id"]),
            "account": str(r["account_name"]),
            "check": c.name,
            "ok": c.ok,
            "detail": c.detail,
            "on edited text": not pd.isna(r["edited_at"]),
        }
        for r in records(drafts)
        for c in checks_of(r)
    ]
    return pd.DataFrame(
        rows, columns=["account_id", "account", "check", "ok", "detail", "on edited text"]
    )


def traces_frame(traces: pd.DataFrame) -> pd.DataFrame:
    """The run's model calls (what was sent, redacted when redaction was on)."""
    cols = [c for c in TRACE_COLUMNS if c in traces.columns]
    return traces[cols].reset_index(drop=True) if len(traces) else pd.DataFrame(columns=cols)


def drafts_csv(drafts: pd.DataFrame) -> bytes:
    """The drafts sheet as CSV (UTF-8 with BOM, neutralised text)."""
    return to_csv_bytes(drafts_frame(drafts))


def _width(values: list[Any], header: str, cap: int) -> float:
    longest = len(header)
    for v in values:
        if v is None:
            continue
        text = v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v)
        longest = max(longest, max((len(line) for line in text.splitlines()), default=0))
    return float(min(max(longest + 2, 8), cap))


def _table_sheet(
    wb: Workbook, title: str, df: pd.DataFrame, held: list[bool] | None = None
) -> Worksheet:
    """A sheet with a bold, filled, frozen header, an autofilter and fitted columns."""
    ws = wb.create_sheet(title)
    headers = [str(c) for c in df.columns]
    ws.append([excel_value(h) for h in headers])
    for cell in ws[1]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    for row in df.itertuples(index=False):
        ws.append([excel_value(v) for v in row])
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(df) + 1}"
    for i, header in enumerate(headers, start=1):
        letter = get_column_letter(i)
        cells = [c for (c,) in ws.iter_rows(min_row=2, min_col=i, max_col=i)]
        wide = header in _WIDE or header in ("sent", "received")
        ws.column_dimensions[letter].width = _width([c.value for c in cells], header, 60)
        for c in cells:
            if isinstance(c.value, datetime):
                c.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(c.value, float):
                c.number_format = "0.00" if header == "confidence" else "#,##0.00"
            c.alignment = _WRAP if wide else _TOP
    if held is not None and "held" in headers:
        col = headers.index("held") + 1
        for r, is_held in enumerate(held, start=2):
            if is_held:
                for c in ws[r][: max(col, 3)]:
                    c.fill = _HELD_FILL
    return ws


def _summary_sheet(
    ws: Worksheet, run: RunInfo, drafts: pd.DataFrame, traces: pd.DataFrame, meta: Mapping[str, str]
) -> None:
    totals = run_totals(run, drafts, traces)
    finished = (
        f"{run.finished_at:%Y-%m-%d %H:%M:%S}"
        if run.finished_at
        else "not finished: stopped early, the drafts made are kept"
    )
    rows: list[list[Any]] = [
        ["Draft run", run.status()],
        ["Sent", NEVER_SENT],
        [],
        ["Run", run.run_id],
        ["Workflow", run.workflow_name],
        ["Workflow version", "" if run.workflow_version is None else f"v{run.workflow_version}"],
        ["As of", run.as_of],
        ["Action", run.action_type],
        ["Drafter", run.drafter],
        ["Template versions", ", ".join(sorted(set(drafts["template_version"].astype(str))))],
        ["Started", run.started_at],
        ["Finished", finished],
        [],
        *[[label, value] for label, value in totals.figures()],
    ]
    if meta:
        rows.append([])
        rows += [[k, v] for k, v in meta.items()]
    rows += [[], ["Exported at", datetime.now().replace(microsecond=0)]]
    for row in rows:
        ws.append([excel_value(v) for v in row])
    for name, value in ws.iter_rows(min_col=1, max_col=2):
        name.font = _BOLD
        value.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
        if isinstance(value.value, datetime):
            value.number_format = "yyyy-mm-dd hh:mm"
        elif hasattr(value.value, "isoformat"):
            value.number_format = "yyyy-mm-dd"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100


def drafts_xlsx(
    run: RunInfo,
    drafts: pd.DataFrame,
    traces: pd.DataFrame,
    meta: Mapping[str, str] | None = None,
) -> bytes:
    """The run as a workbook: Summary, Drafts (originals beside edits), Checks, Traces.

    Args:
        run: The run (``view_model.runs``).
        drafts: ``store.load_drafts`` for the run.
        traces: ``store.load_traces`` for the run (empty for the template drafter).
        meta: Extra key/value pairs for the Summary sheet (data version, workspace, ...).

    Returns:
        The XLSX file's bytes.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    _summary_sheet(ws, run, drafts, traces, meta or {})
    frame = drafts_frame(drafts)
    _table_sheet(wb, "Drafts", frame, held=[bool(h) for h in frame["held"]])
    _table_sheet(wb, "Checks", checks_frame(drafts))
    _table_sheet(wb, "Traces", traces_frame(traces))
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
