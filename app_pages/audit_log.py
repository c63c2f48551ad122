"""Audit log: every import, version, run, draft, review, mode change and export, hash-chained."""

import streamlit as st

from workbench import audit, ui
from workbench.ui import audit_view as view

ctx = ui.bootstrap()
st.title("Audit log")
st.markdown(
    "Everything that changed the workspace or left it, in order: imports, workflow versions, "
    "runs, drafts, reviews, mode changes, overrides and exports. Each entry carries the hash "
    "of the one before, so an entry edited, removed or moved afterwards shows here."
)

with ui.user_errors():
    status = st.container()
    with st.expander("Check against a head kept elsewhere"):
        anchor = view.anchor_input()
    result = audit.verify(ctx.con, anchor)
    with status:
        view.chain_status(result, anchor)
    if result.ok and result.entries == 0:
        st.info(view.EMPTY, icon=":material/receipt_long:")
        st.stop()

    st.subheader("Entries")
    chosen = view.filters(ctx)
    df = audit.entries(ctx.con, **chosen.kwargs())
    if df.empty:
        st.info("No entry matches these filters.", icon=":material/filter_alt_off:")
        st.stop()
    view.table(df, result)

    st.subheader("One entry")
    view.entry(df, result)

    st.subheader("Export")
    view.export(ctx, chosen, len(df))
