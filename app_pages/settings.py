"""Model & prompts: which model drafts (or the template drafter), and the prompt templates."""

import streamlit as st

from workbench import ui
from workbench.ui import llm_settings, prompt_editor

ctx = ui.bootstrap()
st.title("Model & prompts")
st.markdown(
    "Drafts are written by the **template drafter** (offline, no LLM) until you choose a model. "
    "Any provider litellm supports works: OpenAI, Anthropic, Azure OpenAI, Ollama on this "
    "machine, or any OpenAI-compatible server. Nothing is sent anywhere until you draft."
)

st.subheader("Model")
with ui.user_errors():
    active = llm_settings.active_panel()
    llm_settings.settings_form(active)

st.subheader("Prompt templates")
with ui.user_errors():
    prompt_editor.prompt_templates(ctx)
