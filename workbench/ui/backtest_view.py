"""The Backtest page's parts: the run form, the figures, the charts, the detail tables and
the workbook download."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from workbench.ui import explore_cache as cache
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import XLSX_MIME, download_button
from workbench.ui.explore_cache import BacktestInputs
from workbench.workflow.backtest import BacktestResult
from workbench.workflow.store import WorkflowVersion

LAST = "backtest:last"  # the inputs of the last run, to show its result again
MEASURES = ["flagged", "churners ahead", "caught"]


def _pct(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:.{digits}%}"


def _num(x: float | None, fmt: str = ",.0f", unit: str = "") -> str:
    return "n/a" if x is None else f"{x:{fmt}}{unit}"


def no_outcomes() -> None:
    """What a backtest needs, when the workspace has no renewal outcomes."""
    st.info(
        "**No renewal outcomes yet.** A backtest needs to know which accounts renewed and "
        "which churned. Import a renewal outcomes export on the **Data** page, one row per "
        "renewal with the **account id**, the **renewal date** and the **outcome** (renewed "
        "or churned; ARR at renewal helps too). The sample book includes one.",
        icon=":material/history:",
    )
    st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")


def inputs_form(ctx: Context, version: WorkflowVersion) -> BacktestInputs | None:
    """The run form; the inputs of this run or the last one, None before the first run.

    Raises:
        WorkbenchError: No renewal outcomes, or no default run date.
    """
    defaults = cache.default_backtest_dates(ctx)
    last: BacktestInputs | None = st.session_state.get(LAST)
    with st.form("backtest:inputs", border=True):
        c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
        start = c1.date_input(
            "From", value=last.start if last else defaults[0], key="backtest:start"
        )
        end = c2.date_input("To", value=last.end if last else defaults[-1], key="backtest:end")
        every = c3.radio(
            "Run every",
            ["month", "week"],
            index=0 if last is None or last.every == "month" else 1,
            horizontal=True,
            key="backtest:every",
        )
        label_days = c4.number_input(
            "Churn within (days)",
            min_value=1,
            max_value=730,
            value=last.label_days if last else cache.LABEL_DAYS,
            step=15,
            key="backtest:label_days",
            help="A run is right about an account that churns within this many days after it.",
        )
        st.caption(
            f"Defaults: monthly runs from {defaults[0]:%d %b %Y} to {defaults[-1]:%d %b %Y}, the "
            "last year whose churn labels are complete. Runs fall on the 1st of each month or "
            "on Mondays."
        )
        run = st.form_submit_button("Run backtest", type="primary", icon=":material/play_arrow:")
    if run:
        assert isinstance(start, date) and isinstance(end, date)
        last = BacktestInputs(
            version.sha256,
            start,
            end,
            "week" if every == "week" else "month",
            int(label_days),
        )
        st.session_state[LAST] = last
    return last


def figures(result: BacktestResult) -> None:
    """Recall against the random rule, precision against the base rate, lead time, load, AUC."""
    m = st.columns(5)
    m[0].metric(
        "Recall",
        _pct(result.recall),
        None
        if result.lift is None
        else f"{result.lift:.1f}× random ({_pct(result.random_recall, 1)})",
        delta_color="off",
        delta_arrow="off",
        help="Churners flagged at some run before they churned, of all churners. The random "
        "rule fires on as many eligible accounts per run, chosen at random.",
    )
    m[1].metric(
        "Precision",
        _pct(result.precision),
        None if result.base_rate is None else f"base rate {_pct(result.base_rate, 1)}",
        delta_color="off",
        delta_arrow="off",
        help=f"Flags followed by churn within {result.label_days} days, of all flags. The base "
        "rate is the same share among all eligible accounts.",
    )
    m[2].metric(
        "Median lead time",
        _num(result.median_lead_days, ".0f", " days"),
        help="Days from the first flag to the churn, for the churners caught.",
    )
    m[3].metric(
        "Actions per week",
        _num(result.actions_per_week, ".1f"),
        help=f"New actions the runs would have created (the {result.cooldown_days}-day "
        "cooldown applied), per week spanned.",
    )
    m[4].metric(
        "Health score AUC",
        _num(result.auc, ".2f"),
        help="The chance that a churner scores lower than a renewing account (0.5 = no "
        "better than chance, 1 = perfect).",
    )


def _per_run_chart(per_date: pd.DataFrame) -> alt.Chart:
    long = per_date.melt(
        id_vars="as_of",
        value_vars=["fired", "churners_ahead", "caught"],
        var_name="measure",
        value_name="accounts",
    )
    long["measure"] = long["measure"].map(
        {"fired": "flagged", "churners_ahead": "churners ahead", "caught": "caught"}
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("yearmonthdate(as_of):O", title=None, axis=alt.Axis(format="%d %b %y")),
            xOffset=alt.XOffset("measure:N", sort=MEASURES),
            y=alt.Y("accounts:Q", title="Accounts"),
            color=alt.Color(
                "measure:N",
                title=None,
                sort=MEASURES,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[alt.Tooltip("as_of:T", title="run"), "measure:N", "accounts:Q"],
        )
        .properties(height=260)
    )


def _lead_chart(caught: pd.DataFrame) -> alt.Chart:
    leads = pd.DataFrame({"lead_time_days": caught["lead_time_days"].astype(float)})
    return (
        alt.Chart(leads)
        .mark_bar()
        .encode(
            x=alt.X("lead_time_days:Q", bin=alt.Bin(maxbins=15), title="Days before churn"),
            y=alt.Y("count():Q", title="Churners", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[alt.Tooltip("count():Q", title="churners")],
        )
        .properties(height=260)
    )


def _decile_chart(deciles: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    bars = (
        alt.Chart(deciles)
        .mark_bar()
        .encode(
            x=alt.X("decile:O", title="Health decile"),
            y=alt.Y("lift:Q", title="Lift"),
            color=alt.condition("datum.lift >= 1", alt.value("#e45756"), alt.value("#4c78a8")),
            tooltip=[
                "decile:O",
                alt.Tooltip("lift:Q", format=".2f"),
                alt.Tooltip("churn_rate:Q", format=".1%"),
                "churners:Q",
                "rows:Q",
                alt.Tooltip("health_min:Q", format=".0f"),
                alt.Tooltip("health_max:Q", format=".0f"),
            ],
        )
    )
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 3]).encode(y="y:Q")
    return alt.layer(bars, one).properties(height=260)


def charts(result: BacktestResult) -> None:
    """Per run flagged/churners/caught, the lead times of the churners caught, lift by decile."""
    events = result.events
    left, mid, right = st.columns(3)
    with left:
        st.caption("Per run: flagged, churners ahead, caught")
        st.altair_chart(_per_run_chart(result.per_date), width="stretch")
    with mid:
        st.caption("Lead time of the churners caught")
        caught = events[events["caught"].astype(bool)] if len(events) else events
        if len(caught):
            st.altair_chart(_lead_chart(caught), width="stretch")
        else:
            st.info("No churner was flagged before it churned.", icon=":material/timer_off:")
    with right:
        st.caption("Churn lift by health decile (1 = lowest health)")
        st.altair_chart(_decile_chart(result.lift_by_decile), width="stretch")


def details(result: BacktestResult) -> None:
    """The tables behind the charts, one tab each: per run, churn events, lift by decile."""
    t1, t2, t3 = st.tabs(["Per run", "Churn events", "Lift by decile"])
    with t1:
        st.dataframe(
            result.per_date,
            hide_index=True,
            width="stretch",
            column_config={
                "as_of": st.column_config.DateColumn("run", format="YYYY-MM-DD"),
                "eligible": st.column_config.NumberColumn("in scope"),
                "fired_automated": st.column_config.NumberColumn("automated"),
                "fired_human": st.column_config.NumberColumn("human"),
                "fired_manager": st.column_config.NumberColumn("manager"),
                "new_actions": st.column_config.NumberColumn("new actions"),
                "churners_ahead": st.column_config.NumberColumn("churners ahead"),
                "precision": st.column_config.NumberColumn(format="percent"),
                "recall": st.column_config.NumberColumn(format="percent"),
            },
        )
    with t2:
        st.dataframe(
            result.events,
            hide_index=True,
            width="stretch",
            column_config={
                "churn_date": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "first_eligible": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "first_flagged": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "arr": st.column_config.NumberColumn(format="dollar"),
                "caught": st.column_config.CheckboxColumn(),
                "random_catch_prob": st.column_config.NumberColumn(
                    "random rule catch", format="percent"
                ),
            },
        )
        st.caption(
            f"{result.caught} of {result.events_total} churn events caught. Lead time: days "
            "from the first flag to the churn."
        )
    with t3:
        st.dataframe(
            result.lift_by_decile,
            hide_index=True,
            width="stretch",
            column_config={
                "churn_rate": st.column_config.NumberColumn(format="percent"),
                "lift": st.column_config.NumberColumn(format="%.2f"),
                "health_min": st.column_config.NumberColumn(format="%.1f"),
                "health_max": st.column_config.NumberColumn(format="%.1f"),
            },
        )


def download(
    ctx: Context, version: WorkflowVersion, inputs: BacktestInputs, result: BacktestResult
) -> None:
    """The backtest workbook (XLSX) as a download."""
    download_button(
        "Download the backtest (XLSX)",
        cache.backtest_xlsx(ctx, version, inputs, result),
        f"backtest-{version.name.lower().replace(' ', '-')}-v{version.version}.xlsx",
        XLSX_MIME,
        ctx=ctx,
        what=f"backtest of {version.name} v{version.version}",
        rows=len(result.per_date),
        icon=":material/download:",
        key="backtest:download",
    )
