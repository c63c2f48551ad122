"""Review (placeholder while it is being built)."""

import streamlit as st

from workbench import ui

ctx = ui.bootstrap()
st.title("Review")
st.info("This page is being built.")
