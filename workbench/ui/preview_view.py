"""The Preview page's parts: figures, guardrails, charts, the firing table, "why", changes."""

from __future__ import annotations

import json
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from workbench.export.preview_book import preview_csv, preview_xlsx
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import csv_and_xlsx
from workbench.ui.workflow_state import (
    Evaluated,
    account_names,
    compiled,
    since_refresh,
    versus_previous,
)
from workbench.workflow.conditions import show
from workbench.workflow.describe import ROUTE_WORDS
from workbench.workflow.health import breakdown_frame
from workbench.workflow.model import Workflow
from workbench.workflow.preview import ROUTES, Preview, margin
from workbench.workflow.store import WorkflowVersion

ROUTE_COLOURS = {"automated": "#2e9e5b", "human": "#4c78a8", "manager": "#f58518"}
_ROUTE_SCALE = alt.Scale(domain=list(ROUTES), range=[ROUTE_COLOURS[r] for r in ROUTES])

FIRED_COLUMNS = {
    "account_name": st.column_config.TextColumn("Account", pinned=True),
    "account_id": st.column_config.TextColumn("ID"),
    "segment": st.column_config.TextColumn("Segment"),
    "csm_owner": st.column_config.TextColumn("Owner"),
    "arr": st.column_config.NumberColumn("ARR", format="dollar"),
    "renewal_date": st.column_config.DateColumn("Renews", format="D MMM YYYY"),
    "health_score": st.column_config.ProgressColumn(
        "Health", min_value=0, max_value=100, format="%.1f"
    ),
    "route": st.column_config.TextColumn("Route"),
    "route_rule": st.column_config.TextColumn("Escalated by"),
    "assignee": st.column_config.TextColumn("Assigned to"),
    "priority": st.column_config.NumberColumn("Priority", help="1 = handled first (lowest health)"),
    "within_cap": st.column_config.CheckboxColumn("Within cap", help="Inside the cap per run"),
    "reasons": st.column_config.TextColumn("Reasons", width="large"),
}


def headline(pv: Preview, version: WorkflowVersion, latest: date) -> None:
    """The headline sentence and the figures under it."""
    st.markdown(f"#### {pv.headline()}")
    note = (
        ""
        if pv.as_of == latest
        else " Earlier date: only rows dated before it count; segment, owner and other "
        "account columns are as they are now."
    )
    st.caption(f"{version.name} v{version.version} (saved by {version.author}).{note}")
    routes = pv.by_route.set_index("route")["accounts"].to_dict() if len(pv.by_route) else {}
    cols = st.columns(6)
    cols[0].metric("Fires on", f"{len(pv.fired):,}", help="Accounts in scope that match")
    cols[1].metric("In scope", f"{pv.eligible:,}", help=f"Of {pv.accounts:,} active accounts")
    cols[2].metric("ARR covered", _money(pv.arr_covered), help=f"${pv.arr_covered:,.0f}")
    for col, route in zip(cols[3:], ROUTES, strict=True):
        col.metric(route.capitalize(), f"{int(routes.get(route, 0)):,}", help=ROUTE_WORDS[route])


def _money(value: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.{1 if abs(value) >= 10 * size else 2}f}{unit}"
    return f"${value:,.0f}"


def caps(pv: Preview) -> None:
    """Each guardrail against this run, green when kept and amber when not."""
    st.markdown("##### Guardrails")
    lines = []
    for c in pv.caps:
        mark = ":green[:material/check_circle:]" if c.ok else ":orange[:material/warning:]"
        text = c.sentence if c.ok else f":orange[{c.sentence}]"
        lines.append(f"{mark} **{c.name}**: {text}")
    st.markdown("  \n".join(lines))


def charts(pv: Preview) -> None:
    """Accounts by route and segment; load per person against the per-CSM cap."""
    if pv.fired.empty:
        return
    left, right = st.columns(2)
    with left:
        st.markdown("##### Accounts by route")
        st.altair_chart(
            alt.Chart(pv.by_route)
            .mark_bar()
            .encode(
                x=alt.X("accounts:Q", title="Accounts"),
                y=alt.Y(
                    "route:N", sort=list(ROUTES), title=None, axis=alt.Axis(labelOverlap=False)
                ),
                color=alt.Color("route:N", scale=_ROUTE_SCALE, legend=None),
                tooltip=["route", "accounts", alt.Tooltip("arr:Q", title="ARR", format="$,.0f")],
            )
            .properties(height=alt.Step(30)),
            width="stretch",
        )
    with right:
        st.markdown("##### Accounts by segment")
        st.altair_chart(
            alt.Chart(pv.by_segment)
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X("accounts:Q", title="Accounts"),
                y=alt.Y("segment:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
                tooltip=["segment", "accounts", alt.Tooltip("arr:Q", title="ARR", format="$,.0f")],
            )
            .properties(height=alt.Step(30)),
            width="stretch",
        )
    load = pv.load.assign(
        status=pv.load["over"].map({True: "over the cap", False: "within the cap"})
    )
    cap = int(load["cap"].max())
    st.markdown(f"##### Load per person this week (cap {cap} per CSM)")
    bars = (
        alt.Chart(load)
        .mark_bar()
        .encode(
            x=alt.X(
                "tasks:Q",
                title="Tasks",
                scale=alt.Scale(domain=[0, max(cap, int(load["tasks"].max())) + 1]),
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y("person:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=["within the cap", "over the cap"], range=["#4c78a8", "#d62728"]
                ),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["person", "tasks", "automated", "escalated", "cap"],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"cap": [cap]}))
        .mark_rule(color="#d62728", strokeDash=[4, 3], size=2)
        .encode(x="cap:Q", tooltip=[alt.Tooltip("cap:Q", title="Cap per CSM per week")])
    )
    st.altair_chart(
        (bars + rule).properties(height=alt.Step(26)),
        width="stretch",
    )
    st.caption(
        "Automated actions go to the CSMs named in the action; escalated ones land on the "
        "account's owner. The dashed line is the per-CSM weekly cap."
    )


def fired_table(pv: Preview) -> None:
    """The firing accounts with route, who gets them and why."""
    if pv.fired.empty:
        st.info("The workflow fires on no account on this date.", icon=":material/info:")
        return
    order = [c for c in FIRED_COLUMNS if c in pv.fired.columns]
    st.dataframe(
        pv.fired,
        column_order=order,
        column_config=FIRED_COLUMNS,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(pv.fired), 420),
        key="pv:fired",
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _downloads(
    _pv: Preview,
    _version: WorkflowVersion,
    root: str,
    data_version: str,
    sha: str,
    as_of: date,
    number: int,
) -> tuple[bytes, bytes]:
    xlsx = preview_xlsx(
        _pv,
        workflow_name=_version.name,
        version=_version.version,
        data_version=data_version,
        workspace=root,
        workflow_yaml=_version.yaml,
    )
    return preview_csv(_pv), xlsx


def downloads(ctx: Context, ev: Evaluated, version: WorkflowVersion) -> None:
    """The firing set as CSV and XLSX (with the SQL, parameters and versions)."""
    pv = ev.preview
    csv, xlsx = _downloads(
        pv, version, str(ctx.workspace.root), ev.data_version, ev.sha, pv.as_of, version.version
    )
    stem = f"firing-v{version.version}-{pv.as_of}"
    csv_and_xlsx(
        ctx,
        stem,
        csv,
        xlsx,
        what=f"firing set of {version.name} v{version.version} as of {pv.as_of}",
        rows=len(pv.fired),
        keys=("pv:csv", "pv:xlsx"),
        xlsx_help="Includes an 'about' sheet: workflow version, as-of date, data version, SQL "
        "and parameters, so the result can be reproduced.",
    )


def _label(ev: Evaluated, account_id: str) -> str:
    row = ev.row(account_id) or {}
    name = row.get("account_name")
    score = row.get("health_score")
    who = f"{name} ({account_id})" if isinstance(name, str) and name else account_id
    return f"{who} · health {show(score)}"


def why(ev: Evaluated, wf: Workflow) -> None:
    """Pick an account: its health breakdown and the reasons it fires (or nearly does)."""
    pv = ev.preview
    fired = [str(a) for a in pv.fired["account_id"]] if len(pv.fired) else []
    near = (
        [str(a) for a in pv.near_misses["account_id"] if str(a) not in fired]
        if len(pv.near_misses)
        else []
    )
    options = list(dict.fromkeys(fired + near))
    if not options:
        st.caption("No account fires or nearly fires, so there is nothing to explain yet.")
        return
    key = "pv:account"
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)  # the firing set changed: choose again
    chosen = st.selectbox(
        "Account",
        options,
        format_func=lambda a: ("" if a in fired else "near miss · ") + _label(ev, a),
        key=key,
        help="The accounts the workflow fires on (lowest health first), then the near misses.",
    )
    row = ev.row(chosen)
    if row is None:
        return
    name = row.get("account_name") if isinstance(row.get("account_name"), str) else chosen
    st.markdown(f"##### Why is {name} {show(row.get('health_score'))}?")
    frame = breakdown_frame(wf.health, row)
    left, right = st.columns([2, 3])
    with left:
        st.altair_chart(
            alt.Chart(frame)
            .mark_bar()
            .encode(
                x=alt.X("points:Q", title="Points towards the score"),
                y=alt.Y(
                    "input:N",
                    sort="-x",
                    title=None,
                    axis=alt.Axis(labelOverlap=False, labelLimit=220),
                ),
                color=alt.value("#4c78a8"),
                tooltip=["input", "value", "score (0-100)", "weight used", "points"],
            )
            .properties(height=alt.Step(30)),
            width="stretch",
        )
    with right:
        st.dataframe(frame, hide_index=True, width="stretch")
    st.caption(
        "Each input scores 0-100 and counts with its weight; the points add up to the score. "
        "'weight used' differs from 'weight' when an input is missing and left out."
    )
    st.markdown("**Reasons**")
    if chosen in fired:
        text = str(pv.fired.loc[pv.fired["account_id"].astype(str) == chosen, "reasons"].iloc[0])
        st.markdown("\n".join(f"- {part}" for part in text.split(" · ")))
    else:
        misses = pv.near_misses[pv.near_misses["account_id"].astype(str) == chosen]
        st.markdown(
            "\n".join(
                f"- Not yet: {r} (missed by {m})" for r, m in misses[["reason", "missed by"]].values
            )
        )


NEAR_COLUMNS = {
    "account_name": st.column_config.TextColumn("Account", pinned=True),
    "account_id": st.column_config.TextColumn("ID"),
    "segment": st.column_config.TextColumn("Segment"),
    "csm_owner": st.column_config.TextColumn("Owner"),
    "arr": st.column_config.NumberColumn("ARR", format="dollar"),
    "health_score": st.column_config.NumberColumn("Health", format="%.1f"),
    "reason": st.column_config.TextColumn("Condition, but actual value", width="large"),
    "missed by": st.column_config.TextColumn("Missed by"),
}


def near_misses(ctx: Context, ev: Evaluated, wf: Workflow) -> None:
    """In-scope accounts one numeric condition short, with how near counts as near."""
    pv = ev.preview
    margins = "; ".join(
        f"{c.sentence}: within {show(margin(c))}{' days' if c.unit == 'days' else ''}"
        for c in compiled(ctx, wf).sweepable
    )
    st.caption(
        "Accounts in scope for which every other condition holds and one numeric condition "
        f"misses by a small margin ({margins}). Closest first; up to 200 per condition."
    )
    if pv.near_misses.empty:
        st.caption("No near misses on this date.")
        return
    order = [c for c in NEAR_COLUMNS if c in pv.near_misses.columns]
    st.dataframe(
        pv.near_misses,
        column_order=order,
        column_config=NEAR_COLUMNS,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(pv.near_misses), 320),
        key="pv:near",
    )


def _listing(ev: Evaluated, title: str, ids: list[str]) -> None:
    if not ids:
        return
    with st.expander(f"{title} ({len(ids)})"):
        st.markdown("\n".join(f"- {n}" for n in account_names(ev, ids)))


def changes(
    ctx: Context, ev: Evaluated, version: WorkflowVersion, wf: Workflow, latest: date
) -> None:
    """Against the previous version on the same data, and against the previous data."""
    st.markdown("**Compared with the previous version**")
    vc = versus_previous(ctx, version, ev)
    if vc.previous is None:
        st.caption(
            f"This is v{version.version}, the first version: after you save another on the "
            "Workflow page, this shows which accounts it adds and removes."
        )
    elif vc.problem is not None or vc.diff is None:
        problem = vc.problem.message if vc.problem else "it could not be evaluated"
        st.caption(f"v{vc.previous.version} cannot run on this data: {problem}")
    else:
        st.markdown(f"{vc.diff.sentence()} Same data, same date: only the workflow changed.")
        _listing(ev, "Added", vc.diff.added)
        _listing(ev, "Removed", vc.diff.removed)
    st.markdown("**Compared with the previous data refresh**")
    if ev.preview.as_of != latest:
        st.caption(
            f"Shown for the latest date ({latest}) only: pick it above to compare with the "
            "preview on the data before the last import."
        )
        return
    diff = since_refresh(ctx, wf, ev)
    if diff is None:
        st.caption(
            "No preview on earlier data yet — after your next import this shows what changed."
        )
        return
    st.markdown(diff.sentence())
    _listing(ev, "New since then", diff.added)
    _listing(ev, "No longer firing", diff.removed)


def sql(pv: Preview) -> None:
    """The statement behind the preview, with its parameters."""
    st.caption(
        "One parameterised DuckDB statement computes every figure on this page; values travel "
        "only as parameters."
    )
    st.code(pv.sql, language="sql")
    st.code(json.dumps(pv.params, default=str, indent=1), language="json")
