"""Audit log (placeholder while it is being built)."""

import streamlit as st

from workbench import ui

ctx = ui.bootstrap()
st.title("Audit log")
st.info("This page is being built.")
