"""Overview: the book of business at a glance, and where to go next."""

import altair as alt
import streamlit as st

from workbench import ui
from workbench.book import book_summary

ctx = ui.bootstrap()
st.title("Bounded workbench")
st.markdown(
    "Design **one bounded agentic workflow** for Customer Success and prove it before anyone "
    "builds production automation. Start with your data: the workspace below holds the sample "
    "book of business until you import your own exports on the **Data** page."
)

with ui.user_errors():
    summary = book_summary(ctx.con)
    if summary is None:
        st.info(
            "There is no `accounts` table yet. Import an accounts export on the **Data** page, "
            "or reset the workspace to the sample book there.",
            icon=":material/upload_file:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()

    st.caption(
        f"Figures as of {summary.as_of:%d %b %Y}: the day after the latest dated row in the "
        "data, the same date the workflow pages use."
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Accounts", f"{summary.accounts:,}")
    c2.metric("Total ARR", f"${summary.total_arr:,.0f}")
    c3.metric("Renewing in 90 days", f"{summary.renewing_90d:,}")
    c4.metric("ARR renewing in 90 days", f"${summary.renewing_90d_arr:,.0f}")

    left, right = st.columns(2)
    with left:
        st.subheader("ARR by segment")
        st.altair_chart(
            alt.Chart(summary.arr_by_segment)
            .mark_bar()
            .encode(
                x=alt.X("arr:Q", title="ARR", axis=alt.Axis(format="$~s")),
                y=alt.Y("segment:N", sort="-x", title=None),
                tooltip=[
                    "segment",
                    alt.Tooltip("accounts:Q", format=","),
                    alt.Tooltip("arr:Q", format="$,.0f"),
                ],
            )
            .properties(height=280),
            width="stretch",
        )
    with right:
        st.subheader("Renewals in the next 12 months")
        st.altair_chart(
            alt.Chart(summary.renewals_by_month)
            .mark_bar()
            .encode(
                x=alt.X("month:T", title=None, timeUnit="yearmonth"),
                y=alt.Y("sum(arr):Q", title="ARR renewing", axis=alt.Axis(format="$~s")),
                color=alt.Color("segment:N", title="Segment"),
                tooltip=["month:T", "segment", "accounts:Q", alt.Tooltip("arr:Q", format="$,.0f")],
            ),
            width="stretch",
        )
    left, right = st.columns(2)
    if summary.usage_by_week is not None:
        with left:
            st.subheader("Weekly active users, whole book")
            st.altair_chart(
                alt.Chart(summary.usage_by_week)
                .mark_line(point=False)
                .encode(
                    x=alt.X("week:T", title=None),
                    y=alt.Y("active_users:Q", title="Active users"),
                    tooltip=["week:T", alt.Tooltip("active_users:Q", format=",")],
                ),
                width="stretch",
            )
    if summary.open_tickets_by_priority is not None:
        with right:
            st.subheader("Open tickets by priority")
            st.altair_chart(
                alt.Chart(summary.open_tickets_by_priority)
                .mark_bar()
                .encode(
                    x=alt.X("priority:N", title=None),
                    y=alt.Y("open_tickets:Q", title="Open tickets"),
                    tooltip=["priority", "open_tickets"],
                ),
                width="stretch",
            )

st.divider()
st.markdown(
    "**Next steps.** Import your own exports on **Data** (CSV or XLSX from Gainsight, Salesforce, "
    "Zendesk, HubSpot…), then explore them with SQL on **Notebook**."
)
