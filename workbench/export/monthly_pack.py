"""The monthly review pack as a workbook and as one printable HTML page.

Both are written from the same ``MonthlyPack`` (``workbench.review.governance``). In the
workbook numbers are numbers, rates are numbers shown as percentages, moments are Excel
dates, every sheet has a bold, frozen header, and text a spreadsheet would run as a formula
is neutralised. The HTML page is self-contained (no scripts, no external files), escapes
every value and prints on A4. The experiment's sheets ("Experiment", "Exp comparisons", ...)
and section come from ``export.experiment_report``; the sheet and page helpers are shared
with it (``export.sheets``, ``export.html_page``).
"""

from __future__ import annotations

import html
from io import BytesIO

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from workbench.export.experiment_report import (
    PACK_SHEETS,
    experiment_section_html,
    experiment_sheets,
)
from workbench.export.html_page import (
    document,
    html_pairs,
    html_table,
    html_value,
    section,
)
from workbench.export.sheets import (
    BOLD,
    PERCENT_FORMAT,
    fit,
    header,
    pairs,
    percent_columns,
    table,
)
from workbench.export.tabular import excel_value
from workbench.review.governance import Figure, MonthlyPack
from workbench.review.pack_tables import PERCENT_COLUMNS

__all__ = [
    "PERCENT_FORMAT",
    "SHEETS",
    "html_value",
    "monthly_pack_html",
    "monthly_pack_xlsx",
    "policy_frame",
    "yaml_frame",
]

SHEETS = (
    "Summary", "Policy", "Policy YAML", "Mode changes", "Runs", "Approval",
    "Rejection reasons", "Gate history", "Rejected samples", "Outbox", "Outcomes",
    *PACK_SHEETS, "Audit", "Rollback plan",
)  # fmt: skip
_RATES = percent_columns(PERCENT_COLUMNS)


def _table(wb: Workbook, title: str, df: pd.DataFrame, missing: str | None = None) -> Worksheet:
    return table(wb, title, df, missing, formats=_RATES)


# --- sheets ----------------------------------------------------------------------------


def _summary(ws: Worksheet, pack: MonthlyPack) -> None:
    ws.title = "Summary"
    header(ws, ["item", "value"])
    pairs(ws, pack.summary())
    ws.append([])
    pairs(ws, (Figure("What to do next", step) for step in pack.next_steps))
    if pack.notes:
        ws.append([])
        pairs(ws, (Figure(f"Note: {k}", v) for k, v in pack.notes.items()))
    fit(ws)


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
    header(ws, ["item", "value"])
    pairs(
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
            cell.font = BOLD
        for p in a.problems:
            ws.append([p.seq, excel_value(p.what)])
    fit(ws)


def _rollback(ws: Worksheet, pack: MonthlyPack) -> None:
    plan = pack.rollback
    header(ws, ["item", "value"])
    pairs(
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
            cell.font = BOLD
        for number, label in plan.choices:
            ws.append([number, excel_value(label)])
    fit(ws)


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
    experiment_sheets(wb, pack.experiment, titles=PACK_SHEETS, missing=n("experiment"))
    _audit(wb.create_sheet("Audit"), pack)
    _rollback(wb.create_sheet("Rollback plan"), pack)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- HTML ---------------------------------------------------------------------------------


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
        section("Summary", html_pairs(pack.summary())),
        section(
            "Policy",
            html_table(policy_frame(pack), n("policy"), percent=PERCENT_COLUMNS),
            f"<pre>{html.escape(yaml_text)}</pre>" if yaml_text else "",
        ),
        section(
            "Mode changes",
            html_table(pack.mode_changes, n("mode", "No mode changes."), percent=PERCENT_COLUMNS),
        ),
        section("Runs", html_table(pack.runs, n("runs"), percent=PERCENT_COLUMNS)),
        section("Approval", html_table(pack.approval, n("approval"), percent=PERCENT_COLUMNS)),
        section(
            "Rejection reasons", html_table(pack.reasons, n("approval"), percent=PERCENT_COLUMNS)
        ),
        section("Gate history", html_table(pack.gate_history, n("gate"), percent=PERCENT_COLUMNS)),
        section(
            f"Rejected samples ({pack.rejected_total} rejected in the month)",
            html_table(pack.rejected, n("rejected"), percent=PERCENT_COLUMNS),
        ),
        section("Outbox", html_table(pack.outbox, n("outbox"), percent=PERCENT_COLUMNS)),
        section(
            "Outcomes so far", html_table(pack.outcomes, n("outcomes"), percent=PERCENT_COLUMNS)
        ),
        experiment_section_html(pack.experiment, missing=n("experiment")),
        section(
            "Audit chain",
            audit_line,
            html_pairs([Figure("Head (SEQ:HASH)", str(a.head) if a.head else "(missing)")]),
            html_table(pack.audit_problems) if not a.ok else "",
        ),
        section(
            "Rollback plan",
            f"<p>{html.escape(plan.why)}</p>",
            "<ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in plan.steps) + "</ol>",
        ),
    ]
    return document(title, "".join(parts))
