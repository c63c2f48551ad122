"""Backtest: replay the workflow as of past dates and measure it against the churn that followed."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from workbench import ui
from workbench.ui import explore_cache as cache
from workbench.ui.workflow_state import require_workflow

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LAST = "backtest:last"  # the inputs of the last run, to show its result again

ctx = ui.bootstrap()
st.title("Backtest")
st.markdown(
    "Replay the workflow as of past dates, as if it had run then, and compare what it flagged "
    "with the renewals that churned afterwards: how many churners it would have caught, how "
    "early, how often a flag was right, and how much work it would have created."
)


def _pct(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:.{digits}%}"


def _num(x: float | None, fmt: str = ",.0f", unit: str = "") -> str:
    return "n/a" if x is None else f"{x:{fmt}}{unit}"


with ui.user_errors():
    version = require_workflow(ctx)
    if not cache.has_outcomes(ctx):
        st.info(
            "**No renewal outcomes yet.** A backtest needs to know which accounts renewed and "
            "which churned. Import a renewal outcomes export on the **Data** page, one row per "
            "renewal with the **account id**, the **renewal date** and the **outcome** (renewed "
            "or churned; ARR at renewal helps too). The sample book includes one.",
            icon=":material/history:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()

    defaults = cache.default_backtest_dates(ctx)
    last: cache.BacktestInputs | None = st.session_state.get(LAST)
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
        last = cache.BacktestInputs(
            version.sha256,
            start,
            end,
            "week" if every == "week" else "month",
            int(label_days),
        )
        st.session_state[LAST] = last
    if last is None:
        st.caption("Choose the dates and click **Run backtest**.")
        st.stop()
    if last.sha != version.sha256:
        st.info(
            f"“{version.name}” changed since the last run (now v{version.version}). "
            "Click **Run backtest** to replay the current version.",
            icon=":material/update:",
        )
        st.stop()

    result = cache.backtest(ctx, version, last)
    st.subheader(f"“{version.name}” v{version.version}")
    with st.container(border=True):
        st.markdown(result.sentence())

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

    per_date = result.per_date
    events = result.events
    deciles = result.lift_by_decile
    left, mid, right = st.columns(3)
    with left:
        st.caption("Per run: flagged, churners ahead, caught")
        long = per_date.melt(
            id_vars="as_of",
            value_vars=["fired", "churners_ahead", "caught"],
            var_name="measure",
            value_name="accounts",
        )
        long["measure"] = long["measure"].map(
            {"fired": "flagged", "churners_ahead": "churners ahead", "caught": "caught"}
        )
        st.altair_chart(
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("yearmonthdate(as_of):O", title=None, axis=alt.Axis(format="%d %b %y")),
                xOffset=alt.XOffset("measure:N", sort=["flagged", "churners ahead", "caught"]),
                y=alt.Y("accounts:Q", title="Accounts"),
                color=alt.Color(
                    "measure:N",
                    title=None,
                    sort=["flagged", "churners ahead", "caught"],
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=[alt.Tooltip("as_of:T", title="run"), "measure:N", "accounts:Q"],
            )
            .properties(height=260),
            width="stretch",
        )
    with mid:
        st.caption("Lead time of the churners caught")
        caught = events[events["caught"].astype(bool)] if len(events) else events
        if len(caught):
            leads = pd.DataFrame({"lead_time_days": caught["lead_time_days"].astype(float)})
            st.altair_chart(
                alt.Chart(leads)
                .mark_bar()
                .encode(
                    x=alt.X("lead_time_days:Q", bin=alt.Bin(maxbins=15), title="Days before churn"),
                    y=alt.Y("count():Q", title="Churners"),
                    tooltip=[alt.Tooltip("count():Q", title="churners")],
                )
                .properties(height=260),
                width="stretch",
            )
        else:
            st.info("No churner was flagged before it churned.", icon=":material/timer_off:")
    with right:
        st.caption("Churn lift by health decile (1 = lowest health)")
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
        st.altair_chart(alt.layer(bars, one).properties(height=260), width="stretch")

    st.subheader("Details")
    t1, t2, t3 = st.tabs(["Per run", "Churn events", "Lift by decile"])
    with t1:
        st.dataframe(
            per_date,
            hide_index=True,
            width="stretch",
            column_config={
                "as_of": st.column_config.DateColumn("run", format="YYYY-MM-DD"),
                "precision": st.column_config.NumberColumn(format="percent"),
                "recall": st.column_config.NumberColumn(format="percent"),
            },
        )
    with t2:
        st.dataframe(
            events,
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
            deciles,
            hide_index=True,
            width="stretch",
            column_config={
                "churn_rate": st.column_config.NumberColumn(format="percent"),
                "lift": st.column_config.NumberColumn(format="%.2f"),
                "health_min": st.column_config.NumberColumn(format="%.1f"),
                "health_max": st.column_config.NumberColumn(format="%.1f"),
            },
        )

    st.download_button(
        "Download the backtest (XLSX)",
        cache.backtest_xlsx(ctx, version, last, result),
        f"backtest-{version.name.lower().replace(' ', '-')}-v{version.version}.xlsx",
        XLSX_MIME,
        on_click="ignore",
        icon=":material/download:",
        key="backtest:download",
    )
    with st.expander("The SQL behind these figures"):
        st.code(result.sql, language="sql")
