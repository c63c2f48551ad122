"""Drafts: what the workflow's action would say for each account it fires on (never sent)."""

import streamlit as st

from workbench import ui

ctx = ui.bootstrap()
st.title("Drafts")
st.info("Being built.")
