"""The Workflow page's version history: the list, a comparison of two versions, restore."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash
from workbench.ui.workflow_state import AUTHOR, workflow_of
from workbench.workflow import store
from workbench.workflow.store import WorkflowVersion, change_summary, diff_versions


def versions_section(ctx: Context, version: WorkflowVersion) -> None:
    """The version history, a comparison of two versions, and restore with confirmation."""
    versions = store.list_versions(ctx.con, version.name)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "version": f"v{v.version}",
                    "saved at": v.saved_at,
                    "author": v.author,
                    "reason": v.reason,
                }
                for v in versions
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"saved at": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")},
        key="wf:history",
    )
    if len(versions) < 2:
        st.caption("Save a second version to compare versions and restore older ones.")
        return
    numbers = [v.version for v in versions]  # newest first
    by_number = {v.version: v for v in versions}
    st.markdown("##### Compare two versions")
    c1, c2 = st.columns(2)
    a = c1.selectbox(
        "From", numbers, index=1, format_func=lambda n: f"v{n}", key=f"wf:cmp-a:{version.version}"
    )
    b = c2.selectbox(
        "To", numbers, index=0, format_func=lambda n: f"v{n}", key=f"wf:cmp-b:{version.version}"
    )
    va, vb = by_number[a], by_number[b]
    changes = change_summary(workflow_of(va), workflow_of(vb))
    if changes:
        st.markdown(
            f"**v{a} → v{b}**, {len(changes)} change{'s' if len(changes) != 1 else ''}:\n"
            + "\n".join(f"- `{c}`" for c in changes)
        )
        with st.expander("Line by line (unified diff of the normalised YAML)"):
            st.code(diff_versions(va, vb), language="diff")
    else:
        st.caption(f"v{a} and v{b} have the same content.")
    restore_section(ctx, version, [n for n in numbers if n != version.version])


def restore_section(ctx: Context, version: WorkflowVersion, older: list[int]) -> None:
    """Save an older version's content as the next version, after confirmation."""
    st.markdown("##### Restore an older version")
    st.caption(
        "Restoring never rewrites history: the old content is saved as "
        f"v{version.version + 1}, with your name and reason."
    )
    done = f"wf:restored:{version.version}"
    sure_key = f"wf:restore-sure:{version.version}"
    if st.session_state.pop(done, False):
        st.session_state[sure_key] = False  # untick before the checkbox exists
    c1, c2 = st.columns([1, 3])
    n = c1.selectbox(
        "Version", older, format_func=lambda v: f"v{v}", key=f"wf:restore-v:{version.version}"
    )
    reason = c2.text_input(
        "Reason for restoring",
        key=f"wf:restore-reason:{version.version}",
        placeholder="e.g. Back to 60: 55 sent too many accounts to the team",
    )
    sure = st.checkbox(
        f"Save v{n}'s content as v{version.version + 1} (the current v{version.version} "
        "stays in the history)",
        key=sure_key,
    )
    if st.button(
        f"Restore v{n}", disabled=not sure, key=f"wf:restore:{version.version}", type="primary"
    ):
        author = str(st.session_state.get(AUTHOR, "")).strip()
        if not author:
            st.error(
                "Say who you are (Your name, on the Edit tab) before restoring.",
                icon=":material/warning:",
            )
            return
        saved = store.restore_version(ctx.con, version.name, n, author, reason, ctx.workspace)
        st.session_state[done] = True
        if saved.version == version.version:
            flash(f"No change: v{n} has the same content as v{version.version}.")
        else:
            flash(f"Restored v{n} as {saved.name} v{saved.version}")
        st.rerun()
