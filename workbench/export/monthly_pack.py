"""The monthly review pack as a workbook and as one printable HTML page.

Both are written from the same ``MonthlyPack`` (``workbench.review.governance``). In the
workbook numbers are numbers, rates are numbers shown as percentages, moments are Excel
dates, every sheet has a bold, frozen header, and text a spreadsheet would run as a formula
is neutralised. The HTML page is self-contained (no scripts, no external files), escapes
every value and prints on A4.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from workbench.export.tabular import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    FLOAT_FORMAT,
    excel_value,
)
from workbench.review.governance import Figure, MonthlyPack
from workbench.review.pack_tables import PERCENT_COLUMNS

PERCENT_FORMAT = "0.0%"
SHEETS = (
    "Summary", "Policy", "Policy YAML", "Mode changes", "Runs", "Approval",
    "Rejection reasons", "Gate history", "Rejected samples", "Outbox", "Outcomes", "Audit",
    "Rollback plan",
)  # fmt: skip
_BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="7F7F7F")
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_WIDE = 60


# --- cells -----------------------------------------------------------------------------


def _as_dates(df: pd.DataFrame) -> set[str]:
    """Datetime columns whose values are all at midnight: DuckDB DATEs read by pandas."""
    out = set()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c].dtype):
            present = df[c].dropna()
            if len(present) and (present == present.dt.normalize()).all():
                out.add(str(c))
    return out


def _style(cell: Any, percent: bool = False, as_dates: bool = False) -> None:
    value = cell.value
    if isinstance(value, bool):
        return
    if isinstance(value, float) and percent:
        cell.number_format = PERCENT_FORMAT
    elif isinstance(value, float):
        cell.number_format = FLOAT_FORMAT
    elif isinstance(value, datetime):
        cell.number_format = DATE_FORMAT if as_dates else DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT


def _width(values: Iterable[Any]) -> float:
    longest = 0
    for v in values:
        if v is None:
            continue
        text = f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else str(v)
        longest = max(longest, max((len(line) for line in text.splitlines()), default=0))
    return float(min(max(longest + 2, 8), _WIDE))


def _header(ws: Worksheet, headers: Sequence[str]) -> None:
    ws.append([excel_value(h) for h in headers])
    for cell in ws[1]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    ws.freeze_panes = "A2"


def _fit(ws: Worksheet) -> None:
    for index, column in enumerate(ws.iter_cols(), start=1):
        letter = get_column_letter(index)
        width = _width(c.value for c in column)
        ws.column_dimensions[letter].width = width
        for c in column[1:]:
            c.alignment = _WRAP if width >= _WIDE else _TOP


def _note(ws: Worksheet, text: str | None) -> None:
    if text:
        ws.append([excel_value(text)])
        ws.cell(ws.max_row, 1).font = _NOTE


def _table(wb: Workbook, title: str, df: pd.DataFrame, note: str | None = None) -> Worksheet:
    """A sheet holding ``df`` with typed cells; when empty, the note says what is missing."""
    ws = wb.create_sheet(title)
    headers = [str(c) for c in df.columns]
    _header(ws, headers)
    dates = _as_dates(df)
    for row in df.itertuples(index=False):
        ws.append([excel_value(v) for v in row])
        for cell, column in zip(ws[ws.max_row], headers, strict=False):
            _style(cell, column in PERCENT_COLUMNS, column in dates)
    if headers and len(df):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(df) + 1}"
    if df.empty:
        _note(ws, note or "Nothing here for this month.")
    _fit(ws)
    return ws


def _pairs(ws: Worksheet, rows: Iterable[Figure]) -> None:
    """Label/value rows (after a header) with typed, formatted values."""
    for f in rows:
        ws.append([excel_value(f.label), excel_value(f.value)])
        _style(ws.cell(ws.max_row, 2), f.percent)
        ws.cell(ws.max_row, 1).font = _BOLD


# --- sheets ----------------------------------------------------------------------------


def _summary(ws: Worksheet, pack: MonthlyPack) -> None:
    ws.title = "Summary"
    _header(ws, ["item", "value"])
    _pairs(ws, pack.summary())
    ws.append([])
    _pairs(ws, (Figure("What to do next", step) for step in pack.next_steps))
    if pack.notes:
        ws.append([])
        _pairs(ws, (Figure(f"Note: {k}", v) for k, v in pack.notes.items()))
    _fit(ws)


def policy_frame(pack: MonthlyPack) -> pd.DataFrame:
    """The policy in words, one sentence a row."""
    return pd.DataFrame(
        {
            "part": pd.Series([p for p, _ in pack.policy_words], dtype="str"),
            "in words": pd.Series([t for _, t in pack.policy_words], dtype="str"),
        }
    )


def yaml_frame(pack: MonthlyPack) -> pd.DataFrame:
    """The saved YAML, one line a row (so the workbook shows it as written)."""
    lines = pack.version.yaml.splitlines() if pack.version is not None else []
    return pd.DataFrame(
        {
            "line": pd.Series(range(1, len(lines) + 1), dtype="int64"),
            "yaml": pd.Series(lines, dtype="str"),
        }
    )


def _audit(ws: Worksheet, pack: MonthlyPack) -> None:
    a = pack.audit
    _header(ws, ["item", "value"])
    _pairs(
        ws,
        (
            Figure("Status", a.sentence()),
            Figure("Intact", a.ok),
            Figure("Entries", a.entries),
            Figure("Head (SEQ:HASH)", "(missing)" if a.head is None else str(a.head)),
            Figure(
                "Keep the head",
                "Note the head elsewhere (this pack, a ticket); `workbench audit verify "
                "--anchor SEQ:HASH` later shows a history rewritten up to it.",
            ),
        ),
    )
    if a.problems:
        ws.append([])
        ws.append([excel_value("entry"), excel_value("problem")])
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
        for p in a.problems:
            ws.append([p.seq, excel_value(p.what)])
    _fit(ws)


def _rollback(ws: Worksheet, pack: MonthlyPack) -> None:
    plan = pack.rollback
    _header(ws, ["item", "value"])
    _pairs(
        ws,
        (
            Figure("Workflow", pack.workflow_name or "(none saved yet)"),
            Figure("Current version", plan.current),
            Figure("Roll back to", plan.target if plan.target is not None else "none"),
            Figure("Why", plan.why),
            *(Figure(f"Step {i}", s) for i, s in enumerate(plan.steps, start=1)),
        ),
    )
    if plan.choices:
        ws.append([])
        ws.append([excel_value("version"), excel_value("saved (by: reason)")])
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
        for number, label in plan.choices:
            ws.append([number, excel_value(label)])
    _fit(ws)


def monthly_pack_xlsx(pack: MonthlyPack) -> bytes:
    """The pack as a workbook with the sheets in ``SHEETS``.

    Args:
        pack: ``governance.build_pack(...)``.

    Returns:
        The XLSX file's bytes.
    """
    wb = Workbook()
    first = wb.active
    assert first is not None
    _summary(first, pack)
    n = pack.notes.get
    _table(wb, "Policy", policy_frame(pack), n("policy", "No policy in words."))
    _table(wb, "Policy YAML", yaml_frame(pack), n("workflow"))
    _table(wb, "Mode changes", pack.mode_changes, n("mode", f"No mode changes in {pack.month}."))
    _table(wb, "Runs", pack.runs, n("runs"))
    _table(wb, "Approval", pack.approval, n("approval"))
    _table(wb, "Rejection reasons", pack.reasons, n("approval"))
    _table(wb, "Gate history", pack.gate_history, n("gate"))
    _table(wb, "Rejected samples", pack.rejected, n("rejected"))
    _table(wb, "Outbox", pack.outbox, n("outbox"))
    _table(wb, "Outcomes", pack.outcomes, n("outcomes"))
    _audit(wb.create_sheet("Audit"), pack)
    _rollback(wb.create_sheet("Rollback plan"), pack)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1f2328; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #ddebf7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.gate { font-size: 1.1em; font-weight: 600; padding: 0.5em 0.8em; border-radius: 4px;
        background: #f6f8fa; border-left: 4px solid #888; }
.gate.pass { border-left-color: #1a7f37; } .gate.fail { border-left-color: #cf222e; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
.note { color: #57606a; font-style: italic; }
pre { background: #f6f8fa; padding: 0.8em; white-space: pre-wrap; font-size: 0.85em; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, .gate { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
}
"""


def html_value(value: Any, percent: bool = False) -> str:
    """A value as escaped text: rates as percentages, moments to the minute."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return f"{value * 100:.1f}%" if percent else f"{value:,.2f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, pd.Timestamp | datetime):
        text = f"{value:%Y-%m-%d %H:%M}"
        return html.escape(text[:10] if text.endswith("00:00") else text)
    if isinstance(value, date):
        return value.isoformat()
    return html.escape(str(value))


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _html_table(df: pd.DataFrame, note: str | None = None) -> str:
    if df.empty:
        return f'<p class="note">{html.escape(note or "Nothing here for this month.")}</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for column, v in zip(df.columns, row, strict=True):
            cls = ' class="num"' if _numeric(v) else ""
            cells.append(f"<td{cls}>{html_value(v, str(column) in PERCENT_COLUMNS)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_pairs(rows: Iterable[Figure]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(f.label)}</th>"
        f"<td{' class=num' if _numeric(f.value) else ''}>{html_value(f.value, f.percent)}</td></tr>"
        for f in rows
    )
    return f"<table><tbody>{body}</tbody></table>"


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def monthly_pack_html(pack: MonthlyPack) -> str:
    """The pack as one printable, self-contained HTML page (no scripts, no external files)."""
    n = pack.notes.get
    gate_class = "pass" if pack.gate is not None and pack.gate.passes else "fail"
    a = pack.audit
    audit_line = (
        f'<p class="ok">{html.escape(a.sentence())}</p>'
        if a.ok
        else f'<p class="bad">{html.escape(a.sentence())} Open the Audit log page to see where.</p>'
    )
    steps = "".join(f"<li>{html.escape(s)}</li>" for s in pack.next_steps)
    plan = pack.rollback
    yaml_text = pack.version.yaml if pack.version is not None else ""
    title = f"Monthly review {pack.month}: {pack.workflow_name or 'no workflow yet'}"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {html_value(pack.generated_at)}; data version '
        f"{html.escape(pack.data_version)}.</p>",
        f'<p class="gate {gate_class}">Gate now: {html.escape(pack.gate_sentence)}</p>',
        f"<h2>What to do next</h2><ol>{steps}</ol>" if steps else "",
        _section("Summary", _html_pairs(pack.summary())),
        _section(
            "Policy",
            _html_table(policy_frame(pack), n("policy")),
            f"<pre>{html.escape(yaml_text)}</pre>" if yaml_text else "",
        ),
        _section("Mode changes", _html_table(pack.mode_changes, n("mode", "No mode changes."))),
        _section("Runs", _html_table(pack.runs, n("runs"))),
        _section("Approval", _html_table(pack.approval, n("approval"))),
        _section("Rejection reasons", _html_table(pack.reasons, n("approval"))),
        _section("Gate history", _html_table(pack.gate_history, n("gate"))),
        _section(
            f"Rejected samples ({pack.rejected_total} rejected in the month)",
            _html_table(pack.rejected, n("rejected")),
        ),
        _section("Outbox", _html_table(pack.outbox, n("outbox"))),
        _section("Outcomes so far", _html_table(pack.outcomes, n("outcomes"))),
        _section(
            "Audit chain",
            audit_line,
            _html_pairs([Figure("Head (SEQ:HASH)", str(a.head) if a.head else "(missing)")]),
            _html_table(pack.audit_problems) if not a.ok else "",
        ),
        _section(
            "Rollback plan",
            f"<p>{html.escape(plan.why)}</p>",
            "<ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in plan.steps) + "</ol>",
        ),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
