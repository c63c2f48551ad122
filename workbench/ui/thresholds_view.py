"""The Thresholds page's parts: the condition and range pickers, the figures and charts at
the picked threshold, the suggestion, precision and recall, and saving a new threshold.

The slider redraws everything below it on each move, so the parts here read only cached
results (``explore_cache``): the sweep, the labelled sweep and the charts' Vega-Lite specs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from workbench.errors import WorkbenchError
from workbench.ui import explore_cache as cache
from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash
from workbench.ui.explore_cache import LabelledSweep, SweepChoice, SweepView
from workbench.ui.workflow_state import author_input, workflow_of
from workbench.workflow.edit import replace_condition
from workbench.workflow.store import WorkflowVersion, save_version
from workbench.workflow.sweep import MAX_POINTS

CID = "thresholds:cid"  # the condition picker
CID_FOR = "thresholds:cid_for"  # the workflow content the picker was set up for
CHOSEN = "thresholds:chosen"  # the condition id last picked (the picker stores sentences)
PICK_FOR = "thresholds:pick_for"  # (condition, range, version) the slider was set up for
ROUTES = ("automated", "human", "manager")
ROUTE_COLORS = alt.Scale(domain=list(ROUTES), range=["#4c78a8", "#f58518", "#e45756"])


def _decimals(step: float) -> int:
    return 0 if float(step).is_integer() else max(0, -math.floor(math.log10(step)) + 1)


def _nearest(frame: pd.DataFrame, picked: float) -> int:
    """The position of the row of ``frame`` whose threshold is nearest ``picked``."""
    return int((frame["threshold"] - picked).abs().to_numpy().argmin())


@dataclass(frozen=True)
class Axis:
    """The thresholds a sweep covers: the slider's ends and step, and the condition's unit.

    Attributes:
        lo: The lowest threshold swept.
        hi: The highest threshold swept.
        step: The slider's step (1 when the sweep has a single threshold).
        unit: The unit in brackets with a leading space (`` (days)``), or empty.
    """

    lo: float
    hi: float
    step: float
    unit: str

    @classmethod
    def of(cls, sweep: SweepView, step: float, unit: str) -> Axis:
        """The axis of ``sweep``, swept by ``step``, for a condition in ``unit``."""
        frame = sweep.frame
        lo, hi = float(frame["threshold"].min()), float(frame["threshold"].max())
        return cls(lo, hi, step if len(frame) > 1 else 1.0, f" ({unit})" if unit else "")

    @property
    def format(self) -> str:
        """The slider's number format: as many decimals as the step needs."""
        return f"%.{_decimals(self.step)}f"

    def snap(self, value: float) -> float:
        """``value`` moved into the range and onto the nearest step."""
        n = round((min(max(value, self.lo), self.hi) - self.lo) / self.step)
        return round(min(self.lo + n * self.step, self.hi), _decimals(self.step) + 2)

    def x(self) -> alt.X:
        """The charts' shared threshold axis, exactly over the range swept."""
        return alt.X("threshold:Q", title=f"Threshold{self.unit}").scale(
            domain=[self.lo, self.hi], nice=False
        )


@dataclass(frozen=True)
class Picked:
    """The swept threshold nearest the slider, its counts and its sentence.

    Attributes:
        row: The sweep's row there (threshold, accounts, arr and one count per route).
        sentence: The condition in words at that threshold.
        moved: Whether the slider is away from the workflow's current threshold.
    """

    row: pd.Series
    sentence: str
    moved: bool

    @classmethod
    def of(cls, choice: SweepChoice, sweep: SweepView, picked: float) -> Picked:
        """Where the slider value ``picked`` falls on ``sweep``."""
        at = _nearest(sweep.frame, picked)
        moved = abs(picked - choice.threshold) > 1e-9
        return cls(sweep.frame.iloc[at], sweep.sentences[at], moved)


def sweepable(ctx: Context, version: WorkflowVersion) -> dict[str, SweepChoice]:
    """The workflow's sweepable conditions by id; an empty dict shows why there is none."""
    choices = {c.id: c for c in cache.sweep_choices(ctx, version)}
    if not choices:
        st.info(
            f"“{version.name}” has no condition with a numeric threshold (a number compared "
            "with lt/le/gt/ge, within_days, a usage change or a count) to sweep.",
            icon=":material/tune:",
        )
        st.page_link("app_pages/workflow.py", label="Edit the workflow", icon=":material/edit:")
    return choices


def condition_picker(version: WorkflowVersion, choices: dict[str, SweepChoice]) -> SweepChoice:
    """The "Condition to move" picker; keeps the condition picked across versions."""
    if st.session_state.get(CID_FOR) != version.sha256:
        # The picker shows sentences, and a new version changes them ("below 55"): choose
        # again by id before the picker exists, so it shows the new sentence.
        st.session_state[CID_FOR] = version.sha256
        chosen = st.session_state.get(CHOSEN)
        st.session_state[CID] = chosen if chosen in choices else next(iter(choices))
    cid = cast(
        str,
        st.selectbox(
            "Condition to move",
            list(choices),
            format_func=lambda c: choices[c].sentence,
            key=CID,
            persist_state="session",
        ),
    )
    st.session_state[CHOSEN] = cid
    return choices[cid]


def range_inputs(choice: SweepChoice) -> tuple[float, float, float]:
    """The range to sweep (start, stop, step), in an expander that shows the default.

    Raises:
        WorkbenchError: An empty range, or more than ``MAX_POINTS`` thresholds.
    """
    unit = f" ({choice.unit})" if choice.unit else ""
    suffix = f"{choice.id}:{choice.start:g}:{choice.stop:g}:{choice.step:g}"
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
    return start, stop, step


def start_pick(key: str, choice: SweepChoice, axis: Axis, version: WorkflowVersion) -> None:
    """Put the slider ``key`` at the current threshold for a new condition, range or version.

    Call it before the slider exists: Streamlit forbids setting a widget's state after it.
    """
    setup = (choice.id, axis.lo, axis.hi, axis.step, version.sha256)
    if st.session_state.get(PICK_FOR) != setup or key not in st.session_state:
        st.session_state[PICK_FOR] = setup
        st.session_state[key] = axis.snap(choice.threshold)


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


def figures(choice: SweepChoice, sweep: SweepView, pick: Picked) -> None:
    """The condition at the picked threshold and its counts, with their change vs current."""
    row, now = pick.row, sweep.current
    now_text = f"now: {choice.sentence}" if pick.moved else "the workflow's current threshold"
    st.markdown(f"**{pick.sentence}** ({now_text})")
    m = st.columns(5)
    _metric(m[0], "Accounts firing", row["accounts"], now["accounts"], pick.moved)
    for col, route in zip(m[1:4], ROUTES, strict=True):
        _metric(col, route.capitalize(), row[route], now[route], pick.moved)
    _metric(m[4], "ARR covered", row["arr"], now["arr"], pick.moved, money=True)


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


def _routes_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart | alt.FacetChart:
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


def _arr_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart | alt.FacetChart:
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


def _pr_chart(frame: pd.DataFrame, x: alt.X) -> alt.LayerChart | alt.FacetChart:
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


def charts(choice: SweepChoice, sweep: SweepView, axis: Axis, picked: float) -> None:
    """Accounts by route and their ARR over the sweep, with the current and picked lines.

    The specs are built once per sweep; a slider move only adds the two rules.
    """
    frame = sweep.frame
    left, right = st.columns(2)
    with left:
        st.caption("Accounts firing, by route")
        spec = cache.chart_spec(f"routes|{sweep.key}", lambda: _routes_chart(frame, axis.x()))
        st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
    with right:
        st.caption("ARR of the firing accounts")
        spec = cache.chart_spec(f"arr|{sweep.key}", lambda: _arr_chart(frame, axis.x()))
        st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
    st.caption(
        f"As of {sweep.as_of:%d %b %Y}. Dashed line: the workflow's current threshold "
        f"({choice.threshold:g}); solid line: the one picked above."
    )


def _use(key: str, threshold: float) -> None:
    st.session_state[key] = threshold  # a callback runs before the slider exists


def suggestion(key: str, sweep: SweepView, axis: Axis) -> None:
    """The suggested threshold in words, and a button that moves the slider ``key`` to it."""
    tip = sweep.suggestion
    with st.container(border=True):
        st.markdown(tip.sentence)
        if tip.threshold is not None:
            st.button(
                "Use this threshold",
                on_click=_use,
                args=(key, axis.snap(tip.threshold)),
                key="thresholds:use_suggestion",
                icon=":material/arrow_downward:",
            )


def catching_churn(
    labelled: LabelledSweep | None, choice: SweepChoice, axis: Axis, picked: float
) -> None:
    """Precision and recall at the picked threshold and over the sweep, or what to import."""
    if labelled is None:
        st.info(
            "Import renewal outcomes (account id, renewal date, outcome) on the **Data** "
            "page to see the precision and recall of each threshold.",
            icon=":material/insights:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        return
    pr = labelled.frame
    prow = pr.iloc[_nearest(pr, picked)]
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
    spec = cache.chart_spec(f"pr|{labelled.key}", lambda: _pr_chart(pr, axis.x()))
    st.vega_lite_chart(_with_rules(spec, choice.threshold, picked), width="stretch")
    days = labelled.dates
    st.caption(
        f"Pooled over {len(days)} monthly as-of dates of the last year "
        f"({days[0]:%d %b %Y} to {days[-1]:%d %b %Y}); churn within "
        f"{labelled.label_days} days. Precision counts each flagged account once per "
        "date; recall counts each churn once, caught if flagged on any date before it."
    )


def apply(
    ctx: Context, version: WorkflowVersion, choice: SweepChoice, sweep: SweepView, pick: Picked
) -> None:
    """A form that saves the workflow with the picked threshold as a new version."""
    if not pick.moved:
        st.caption(
            "The picked threshold is the workflow's current one. Move the slider (or use the "
            "suggestion) to save a different one as a new version."
        )
        return
    st.markdown(f"“{choice.sentence}” → **“{pick.sentence}”**")
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
    if not submitted:
        return
    if not confirm:
        st.warning("Tick the box to confirm the new version.", icon=":material/check_box:")
        return
    threshold = float(pick.row["threshold"])
    new_wf = replace_condition(
        workflow_of(version), choice.id, sweep.target.with_threshold(threshold)
    )
    saved = save_version(ctx.con, new_wf, author, reason, ctx.workspace)
    if saved.version == version.version:
        st.info("The workflow already has this threshold; nothing was saved.")
    else:
        flash(f"Saved v{saved.version}: {pick.sentence}")
        st.session_state.pop(PICK_FOR, None)
        st.rerun()
