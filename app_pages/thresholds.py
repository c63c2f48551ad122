"""Thresholds: move one numeric condition and see how many accounts, how much ARR, which routes."""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from workbench import ui
from workbench.errors import WorkbenchError
from workbench.ui import explore_cache as cache
from workbench.ui.errors import flash
from workbench.ui.workflow_state import author_input, require_workflow, workflow_of
from workbench.workflow.edit import replace_condition
from workbench.workflow.store import save_version
from workbench.workflow.sweep import MAX_POINTS

PICK = "threshold_pick"  # the slider; a benchmark moves it by this key
CID = "thresholds:cid"  # the condition picker
CID_FOR = "thresholds:cid_for"  # the workflow content the picker was set up for
CHOSEN = "thresholds:chosen"  # the condition id last picked (the picker stores sentences)
PICK_FOR = "thresholds:pick_for"  # (condition, range, version) the slider was set up for
ROUTES = ("automated", "human", "manager")
ROUTE_COLORS = alt.Scale(domain=list(ROUTES), range=["#4c78a8", "#f58518", "#e45756"])

ctx = ui.bootstrap()
st.title("Thresholds")
st.markdown(
    "Move one numeric condition of the workflow and see what it would do on today's data: "
    "how many accounts fire, how much ARR they hold, and which route each takes. Where renewal "
    "outcomes exist, precision and recall show how well each threshold would have caught churn."
)


def _decimals(step: float) -> int:
    return 0 if float(step).is_integer() else max(0, -math.floor(math.log10(step)) + 1)


def _snap(value: float, start: float, stop: float, step: float) -> float:
    n = round((min(max(value, start), stop) - start) / step)
    return round(min(start + n * step, stop), _decimals(step) + 2)


def _use(threshold: float) -> None:
    st.session_state[PICK] = threshold  # a callback runs before the slider exists


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _metric(
    col: DeltaGenerator, label: str, now: float, before: float, moved: bool, money: bool = False
) -> None:
    """A count at the picked threshold; once the slider has moved, its change vs current."""
    d = now - before
    value = _money(now) if money else f"{int(now):,}"
    if not moved:
        col.metric(label, value)
        return
    size = _money(abs(d)) if money else f"{abs(d):,.0f}"
    delta = "0" if abs(d) < 1e-9 else f"{'+' if d > 0 else '-'}{size}"
    col.metric(label, value, delta, delta_color="off", delta_description="vs current")


def _with_rules(spec: dict[str, Any], current: float, picked: float) -> dict[str, Any]:
    """A stored layered spec plus the two rules: dashed at the current threshold, solid at
    the picked one (only these change when the slider moves)."""

    def rule(value: float, which: str, **mark: Any) -> dict[str, Any]:
        return {
            "data": {"values": [{"threshold": value, "which": which}]},
            "mark": {"type": "rule", "clip": True, **mark},
            "encoding": {
                "x": {"field": "threshold", "type": "quantitative"},
                "tooltip": [
                    {"field": "which", "type": "nominal"},
                    {"field": "threshold", "type": "quantitative", "format": ",g"},
                ],
            },
        }

    rules = [
        rule(current, "current", color="#555", strokeDash=[5, 4]),
        rule(picked, "picked", color="#111", strokeWidth=2),
    ]
    return {**spec, "layer": [*spec["layer"], *rules]}


def _routes_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart:
    routes = frame[["threshold", *ROUTES]].melt(
        id_vars="threshold", value_vars=list(ROUTES), var_name="route", value_name="accounts"
    )
    area = (
        alt.Chart(routes)
        .mark_area(opacity=0.8, interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("accounts:Q", stack=True, title="Accounts"),
            color=alt.Color("route:N", scale=ROUTE_COLORS, title="Route"),
            tooltip=["threshold:Q", "route:N", "accounts:Q"],
        )
    )
    return alt.layer(area).properties(height=260)


def _arr_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart:
    line = (
        alt.Chart(frame[["threshold", "arr"]])
        .mark_line(interpolate="step-after", color="#4c78a8")
        .encode(
            x=x,
            y=alt.Y("arr:Q", title="ARR", axis=alt.Axis(format="$~s")),
            tooltip=["threshold:Q", alt.Tooltip("arr:Q", format="$,.0f")],
        )
    )
    return alt.layer(line).properties(height=260)


def _pr_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart:
    lines = (
        alt.Chart(frame[["threshold", "precision", "recall"]])
        .transform_fold(["precision", "recall"], as_=["measure", "value"])
        .mark_line(interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%")).scale(domain=[0, 1]),
            color=alt.Color("measure:N", title=None).scale(
                domain=["precision", "recall"], range=["#e45756", "#4c78a8"]
            ),
            tooltip=["threshold:Q", "measure:N", alt.Tooltip("value:Q", format=".1%")],
        )
    )
    return alt.layer(lines).properties(height=240)


with ui.user_errors():
    version = require_workflow(ctx)
    choices = {c.id: c for c in cache.sweep_choices(ctx, version)}
    if not choices:
        st.info(
            f"“{version.name}” has no condition with a numeric threshold (a number compared "
            "with lt/le/gt/ge, within_days, a usage change or a count) to sweep.",
            icon=":material/tune:",
        )
        st.page_link("app_pages/workflow.py", label="Edit the workflow", icon=":material/edit:")
        st.stop()
    st.caption(f"Workflow “{version.name}” v{version.version}. Counts are for today's data.")

    if st.session_state.get(CID_FOR) != version.sha256:
        # The picker shows sentences, and a new version changes them ("below 55"): choose
        # again by id before the picker exists, so it shows the new sentence.
        st.session_state[CID_FOR] = version.sha256
        chosen = st.session_state.get(CHOSEN)
        st.session_state[CID] = chosen if chosen in choices else next(iter(choices))
    cid = st.selectbox(
        "Condition to move",
        list(choices),
        format_func=lambda c: choices[c].sentence,
        key=CID,
        persist_state="session",
    )
    st.session_state[CHOSEN] = cid
    choice = choices[cid]
    unit = f" ({choice.unit})" if choice.unit else ""
    suffix = f"{cid}:{choice.start:g}:{choice.stop:g}:{choice.step:g}"
    with st.expander(f"Range swept: {choice.start:g} to {choice.stop:g} by {choice.step:g}"):
        c1, c2, c3 = st.columns(3)
        start = c1.number_input(f"From{unit}", value=choice.start, key=f"thresholds:from:{suffix}")
        stop = c2.number_input(f"To{unit}", value=choice.stop, key=f"thresholds:to:{suffix}")
        step = c3.number_input(
            "Step", value=choice.step, min_value=1e-6, format="%g", key=f"thresholds:step:{suffix}"
        )
        st.caption(f"At most {MAX_POINTS} thresholds: (to − from) / step + 1.")
    if step <= 0 or stop <= start or (stop - start) / step + 1 > MAX_POINTS + 1e-9:
        raise WorkbenchError(
            f"The range {start:g} to {stop:g} by {step:g} is empty or has more than "
            f"{MAX_POINTS} thresholds.",
            "Open the range above: the end must be above the start, and a wider step "
            "gives fewer thresholds.",
        )

    view = cache.current_sweep(ctx, version, cid, start, stop, step)
    frame = view.frame
    lo, hi = float(frame["threshold"].min()), float(frame["threshold"].max())
    grid_step = step if len(frame) > 1 else 1.0

    setup = (cid, lo, hi, grid_step, version.sha256)
    if st.session_state.get(PICK_FOR) != setup or PICK not in st.session_state:
        # A new condition, range or version: start from the current threshold. Set before
        # the slider exists (Streamlit forbids setting a widget's state after it).
        st.session_state[PICK_FOR] = setup
        st.session_state[PICK] = _snap(choice.threshold, lo, hi, grid_step)
    picked = st.slider(
        f"Threshold{unit}",
        min_value=lo,
        max_value=hi,
        step=grid_step,
        format=f"%.{_decimals(grid_step)}f",
        key=PICK,
        persist_state="session",
        help=f"The workflow's current threshold is {choice.threshold:g} (the dashed line).",
    )
    at = int((frame["threshold"] - picked).abs().to_numpy().argmin())
    row = frame.iloc[at]
    now = view.current
    sentence = view.sentences[at]

    moved = abs(picked - choice.threshold) > 1e-9
    now_text = f"now: {choice.sentence}" if moved else "the workflow's current threshold"
    st.markdown(f"**{sentence}** ({now_text})")
    m = st.columns(5)
    _metric(m[0], "Accounts firing", row["accounts"], now["accounts"], moved)
    for col, route in zip(m[1:4], ROUTES, strict=True):
        _metric(col, route.capitalize(), row[route], now[route], moved)
    _metric(m[4], "ARR covered", row["arr"], now["arr"], moved, money=True)

    x = alt.X("threshold:Q", title=f"Threshold{unit}").scale(domain=[lo, hi], nice=False)
    left, right = st.columns(2)
    with left:
        st.caption("Accounts firing, by route")
        spec = cache.chart_spec(f"routes|{view.key}", lambda: _routes_chart(frame, x))
        st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
    with right:
        st.caption("ARR of the firing accounts")
        spec = cache.chart_spec(f"arr|{view.key}", lambda: _arr_chart(frame, x))
        st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
    st.caption(
        f"As of {view.as_of:%d %b %Y}. Dashed line: the workflow's current threshold "
        f"({choice.threshold:g}); solid line: the one picked above."
    )

    st.subheader("Suggested threshold")
    tip = view.suggestion
    with st.container(border=True):
        st.markdown(tip.sentence)
        if tip.threshold is not None:
            st.button(
                "Use this threshold",
                on_click=_use,
                args=(_snap(tip.threshold, lo, hi, grid_step),),
                key="thresholds:use_suggestion",
                icon=":material/arrow_downward:",
            )

    st.subheader("Catching churn")
    with ui.user_errors():
        labelled = cache.labelled_sweep(ctx, version, cid, start, stop, step)
        if labelled is None:
            st.info(
                "Import renewal outcomes (account id, renewal date, outcome) on the **Data** "
                "page to see the precision and recall of each threshold.",
                icon=":material/insights:",
            )
            st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        else:
            pr = labelled.frame
            prow = pr.iloc[int((pr["threshold"] - picked).abs().to_numpy().argmin())]
            c1, c2, c3 = st.columns(3)
            c1.metric(
                "Precision at the picked threshold",
                "n/a" if pd.isna(prow["precision"]) else f"{prow['precision']:.0%}",
                help="Of the (account, date) pairs flagged, the share that churned within "
                f"{labelled.label_days} days.",
            )
            c2.metric(
                "Recall at the picked threshold",
                "n/a" if pd.isna(prow["recall"]) else f"{prow['recall']:.0%}",
                help="Of the churn events, the share flagged on at least one as-of date before "
                "them (as on the Backtest page).",
            )
            c3.metric("Churners caught", f"{int(prow['caught']):,} of {int(prow['churners']):,}")
            spec = cache.chart_spec(f"pr|{labelled.key}", lambda: _pr_chart(pr, x))
            st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
            days = labelled.dates
            st.caption(
                f"Pooled over {len(days)} monthly as-of dates of the last year "
                f"({days[0]:%d %b %Y} to {days[-1]:%d %b %Y}); churn within "
                f"{labelled.label_days} days. Precision counts each flagged account once per "
                "date; recall counts each churn once, caught if flagged on any date before it."
            )

    st.subheader("Apply this threshold")
    if not moved:
        st.caption(
            "The picked threshold is the workflow's current one. Move the slider (or use the "
            "suggestion) to save a different one as a new version."
        )
    else:
        st.markdown(f"“{choice.sentence}” → **“{sentence}”**")
        with st.form("thresholds:apply"):
            c1, c2 = st.columns([1, 2])
            with c1:
                author = author_input()
            reason = c2.text_input(
                "Reason",
                key="thresholds:reason",
                placeholder="e.g. Threshold after reviewing the sweep with the CS team",
            )
            confirm = st.checkbox(
                f"Save “{version.name}” as a new version (now v{version.version})",
                key="thresholds:confirm",
            )
            submitted = st.form_submit_button("Save new version", type="primary")
        if submitted:
            if not confirm:
                st.warning("Tick the box to confirm the new version.", icon=":material/check_box:")
            else:
                new_wf = replace_condition(
                    workflow_of(version), cid, view.target.with_threshold(float(row["threshold"]))
                )
                saved = save_version(ctx.con, new_wf, author, reason, ctx.workspace)
                if saved.version == version.version:
                    st.info("The workflow already has this threshold; nothing was saved.")
                else:
                    flash(f"Saved v{saved.version}: {sentence}")
                    st.session_state.pop(PICK_FOR, None)
                    st.rerun()
