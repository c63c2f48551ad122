"""Printable, self-contained HTML pages shared by the monthly pack and the experiment report.

One stylesheet, inline (no scripts, no external files), A4 print rules; every value is
escaped; rates show as percentages and moments to the minute.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from workbench.export.sheets import Labelled

CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1f2328; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #ddebf7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.gate { font-size: 1.1em; font-weight: 600; padding: 0.5em 0.8em; border-radius: 4px;
        background: #f6f8fa; border-left: 4px solid #888; }
.gate.pass { border-left-color: #1a7f37; } .gate.fail { border-left-color: #cf222e; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
.note { color: #57606a; font-style: italic; }
.alarm { font-size: 1.15em; font-weight: 700; color: #82071e; background: #ffebe9;
         border: 3px solid #cf222e; padding: 0.6em 0.9em; margin: 0.8em 0; }
.guard { padding: 0.5em 0.9em; margin: 0.8em 0; border-radius: 4px; border-left: 6px solid #888;
         background: #f6f8fa; }
.guard.breach { border-left-color: #cf222e; background: #ffebe9; }
.guard.clear { border-left-color: #1a7f37; background: #dafbe1; }
pre { background: #f6f8fa; padding: 0.8em; white-space: pre-wrap; font-size: 0.85em; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .gate, .alarm, .guard { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
}
"""

Render = Callable[[int, str, Any], str]
"""(row position, column name, value) -> the cell's escaped text."""


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


def numeric(value: Any) -> bool:
    """A number (not a flag): right-aligned in a table."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def html_table(
    df: pd.DataFrame,
    note: str | None = None,
    *,
    percent: Collection[str] = (),
    render: Render | None = None,
) -> str:
    """A table of ``df`` (or ``note`` when it has no rows); ``render`` formats each cell."""
    if df.empty:
        return f'<p class="note">{html.escape(note or "Nothing here for this month.")}</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        cells = []
        for column, v in zip(df.columns, row, strict=True):
            cls = ' class="num"' if numeric(v) else ""
            text = render(i, str(column), v) if render else html_value(v, column in percent)
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_pairs(rows: Iterable[Labelled]) -> str:
    """Label/value rows as a two-column table."""
    body = "".join(
        f"<tr><th>{html.escape(f.label)}</th>"
        f"<td{' class=num' if numeric(f.value) else ''}>{html_value(f.value, f.percent)}</td></tr>"
        for f in rows
    )
    return f"<table><tbody>{body}</tbody></table>"


def section(title: str, *parts: str, level: int = 2) -> str:
    """A titled section."""
    return f"<section><h{level}>{html.escape(title)}</h{level}>{''.join(parts)}</section>"


def bullets(items: Iterable[str]) -> str:
    """An escaped bulleted list ("" when there is nothing to list)."""
    body = "".join(f"<li>{html.escape(s)}</li>" for s in items)
    return f"<ul>{body}</ul>" if body else ""


def document(title: str, body: str) -> str:
    """A whole page: the title, the stylesheet inline and ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
