"""Review: run the workflow in its mode, then approve, edit or reject what it proposes."""

import streamlit as st

from workbench import ui
from workbench.ui import review_queue as queue
from workbench.ui import review_run as run
from workbench.ui.review_sheet import render_sheet_panel
from workbench.ui.workflow_state import require_workflow, workflow_of
from workbench.ui.workflow_view import require_accounts

ctx = ui.bootstrap()
st.title("Review")
st.markdown(
    "Run the workflow and review what it proposes. In **shadow mode** every proposed action "
    "comes here first: approve it, edit the draft, or reject it with a reason. The approval "
    "rate of these reviews decides, on **Approval & gate**, whether the workflow may act on "
    "its own. Nothing is sent from here."
)

with ui.user_errors():
    require_accounts(ctx, "review")
    version = require_workflow(ctx)
    wf = workflow_of(version)
    reviewer = run.name_input("rv:name")
    mode = run.mode_banner(ctx, wf)
    run.start_shadow(ctx, wf, version, mode, reviewer)
    run.run_controls(ctx, wf, version, mode, reviewer)
    runs = run.runs_so_far(ctx, wf, mode)

    st.subheader("Review queue")
    pending = queue.render(ctx, wf, version, reviewer, len(runs))

    with st.expander("Review in a spreadsheet", icon=":material/table_view:"):
        render_sheet_panel(ctx, wf, version.version, reviewer, pending)
