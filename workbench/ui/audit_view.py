"""The Audit log page's parts: the chain's status, filters, the entries, one entry, export.

Everything shown comes from ``workbench.audit`` (``verify``, ``entries``, ``export_bytes``),
the same calls as ``workbench audit verify`` and ``workbench audit show``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from workbench import audit
from workbench.errors import WorkbenchError
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import XLSX_MIME, download_button
from workbench.ui.errors import show_error

KIND_WORDS = {
    "import": "Imports and deletions",
    "workflow_version": "Workflow versions",
    "run": "Runs",
    "draft": "Draft runs",
    "review": "Reviews",
    "mode_change": "Mode changes",
    "export": "Exports",
    "override": "Overrides",
    "rollback": "Rollbacks",
    "other": "Other",
}
EMPTY = (
    "Nothing logged yet: imports, workflow versions, runs and reviews appear here as they happen."
)
ANYONE = "(anyone)"
MAX_SHOWN = 2000  # rows in the table; the export holds every entry that matches
MAX_PROBLEMS = 50
_DETAIL_WIDTH = 160


@dataclass(frozen=True)
class Filters:
    """What the table shows: as ``audit.entries`` takes it."""

    kind: tuple[str, ...] = ()
    actor: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``audit.entries`` and ``audit.export_bytes``."""
        return {
            "kind": list(self.kind) or None,
            "actor": self.actor,
            "since": self.since,
            "until": self.until,
            "text": self.text,
        }

    @property
    def any(self) -> bool:
        return any(v for v in self.kwargs().values())


def anchor_input() -> audit.Head | None:
    """An optional head kept elsewhere (``SEQ:HASH``); a malformed one is explained, not used."""
    text = st.text_input(
        "Anchor: a head noted earlier (SEQ:HASH)",
        key="audit:anchor",
        placeholder="for example 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        help="Paste a head shown here (or by `workbench audit verify`) and kept somewhere "
        "else, like the monthly pack or a ticket. The entry written as that number must still "
        "carry that hash, which also shows a log rewritten with recomputed hashes.",
    ).strip()
    if not text:
        return None
    try:
        return audit.Head.parse(text)
    except WorkbenchError as exc:
        show_error(exc)
        return None


def chain_status(result: audit.VerifyResult, anchor: audit.Head | None) -> None:
    """Green with the head when intact; red naming every problem and where it is."""
    n = f"{result.entries:,} {'entry' if result.entries == 1 else 'entries'}"
    if result.ok:
        head = result.head or audit.Head(0, audit.GENESIS)
        text = f"**{n}, chain intact**, head `{head.seq}:{head.hash[:16]}…`"
        if anchor is not None and anchor.seq:
            text += f". It still carries the anchor `{anchor.seq}:{anchor.hash[:16]}…`."
        st.success(text, icon=":material/verified:")
        st.caption(
            "Keep this head somewhere else (the monthly pack, a ticket) and paste it as the "
            "anchor later: a log rewritten with recomputed hashes no longer carries it."
        )
        st.code(str(head), language=None)
        return
    lines = [f"- {p.what[:1].upper()}{p.what[1:]}" for p in result.problems[:MAX_PROBLEMS]]
    if len(result.problems) > MAX_PROBLEMS:
        lines.append(f"- … and {len(result.problems) - MAX_PROBLEMS:,} more")
    st.error(
        f"**{result.sentence()}**\n\n" + "\n".join(lines),
        icon=":material/gpp_bad:",
    )
    st.caption(
        "An entry changed, removed or moved after it was written breaks the chain where it "
        "happened. `workbench audit verify` lists the same problems."
    )


def filters(ctx: Context) -> Filters:
    """The kind, who, date and text filters."""
    actors = sorted(set(audit.entries(ctx.con)["actor"]), key=str.lower)
    c1, c2 = st.columns([3, 2])
    kinds = c1.multiselect(
        "Kinds",
        list(audit.KINDS),
        format_func=lambda k: KIND_WORDS.get(k, k),
        placeholder="All kinds",
        key="audit:kinds",
    )
    who = c2.selectbox("Who", [ANYONE, *actors], key="audit:actor")
    c3, c4, c5 = st.columns([1, 1, 3])
    since = c3.date_input("From (UTC)", value=None, key="audit:since")
    until = c4.date_input("To (UTC)", value=None, key="audit:until")
    text = c5.text_input(
        "Search", key="audit:text", placeholder="words in the subject or the detail"
    ).strip()
    return Filters(
        tuple(kinds),
        None if who == ANYONE else who,
        since if isinstance(since, date) else None,
        until if isinstance(until, date) else None,
        text or None,
    )


def readable(detail: str) -> str:
    """An entry's detail JSON as ``key: value · key: value`` (the stored text if it is not JSON)."""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(data, dict):
        return detail
    parts = []
    for key, value in data.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {shown}")
    return " · ".join(parts)


def kind_word(kind: str) -> str:
    """One entry's kind in words (``workflow version``)."""
    return kind.replace("_", " ")


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 1] + "…"


def table(df: pd.DataFrame, result: audit.VerifyResult) -> None:
    """The entries newest first, the detail readable, broken entries flagged."""
    flagged = {p.seq for p in result.problems if p.seq is not None}
    shown = df.sort_values("seq", ascending=False).head(MAX_SHOWN)
    frame = pd.DataFrame(
        {
            "seq": shown["seq"],
            "chain": ["⚠ broken" if s in flagged else "" for s in shown["seq"]],
            "recorded (UTC)": shown["recorded_at"],
            "who": shown["actor"],
            "kind": shown["kind"].map(kind_word),
            "subject": shown["subject"],
            "detail": shown["detail"].map(lambda d: _short(readable(d))),
        }
    )
    if not flagged:
        frame = frame.drop(columns="chain")
    more = f" (the newest {MAX_SHOWN:,} shown; the export holds all)" if len(df) > MAX_SHOWN else ""
    st.caption(f"{len(df):,} {'entry' if len(df) == 1 else 'entries'}, newest first{more}.")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 460),
        column_config={
            "seq": st.column_config.NumberColumn("#", format="%d", width="small"),
            "chain": st.column_config.TextColumn(width="small"),
            "recorded (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "detail": st.column_config.TextColumn(width="large"),
        },
        key="audit:table",
    )


def entry(df: pd.DataFrame, result: audit.VerifyResult) -> None:
    """One entry in full: who, when, what, the detail as JSON, its hashes and any problem."""
    newest = df.sort_values("seq", ascending=False).head(MAX_SHOWN)
    by_seq = {int(r["seq"]): r for r in newest.to_dict("records")}
    seq = st.selectbox(
        "Entry",
        list(by_seq),
        format_func=lambda s: f"#{s} · {kind_word(by_seq[s]['kind'])} · {by_seq[s]['subject']}",
        key="audit:entry",
    )
    if seq is None:
        return
    row = by_seq[int(seq)]
    st.markdown(
        f"**#{row['seq']}** · {kind_word(row['kind'])} by **{row['actor']}** "
        f"at {row['recorded_at']:%Y-%m-%d %H:%M:%S} UTC  \n{row['subject']}"
    )
    for p in result.problems:
        if p.seq == row["seq"]:
            st.error(p.what, icon=":material/gpp_bad:")
    try:
        st.json(json.loads(row["detail"]))
    except ValueError:
        st.code(row["detail"], language=None)
    st.code(f"hash      {row['hash']}\nprev_hash {row['prev_hash']}", language=None)


def export(ctx: Context, chosen: Filters, rows: int) -> None:
    """The entries that match, as CSV or a workbook with the chain's status (logged)."""
    st.caption(
        "The workbook's about sheet carries the chain's status, its head and the filters; "
        "text cells are written as text, so no cell runs as a formula."
    )
    if not st.toggle("Prepare the export", key="audit:prep"):
        return
    extra = {"filters": {k: v for k, v in chosen.kwargs().items() if v}}
    row = st.container(horizontal=True)
    stamp = f"{date.today():%Y%m%d}"
    for fmt, mime in (("csv", "text/csv"), ("xlsx", XLSX_MIME)):
        download_button(
            f":material/download: {fmt.upper()}",
            audit.export_bytes(ctx.con, fmt, **chosen.kwargs()),  # type: ignore[arg-type]
            f"audit-log-{stamp}.{fmt}",
            mime,
            ctx=ctx,
            what="audit log",
            rows=rows,
            extra=extra,
            key=f"audit:dl-{fmt}",
            where=row,
        )
