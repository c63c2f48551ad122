"""Settings: which model drafts (or the template drafter), and the prompt templates."""

import streamlit as st

from workbench import ui

ctx = ui.bootstrap()
st.title("Model & prompts")
st.info("Being built.")
