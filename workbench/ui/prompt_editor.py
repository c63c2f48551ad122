"""The prompt templates: edit, validate against a real packet, save as a version, reset, history.

A template is checked by rendering it against the context packet of the first
account the current workflow fires on (as of the data's latest date); without
one it is only compiled. The expander shows exactly what a model would receive
for that account with the text in the editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import duckdb
import pandas as pd
import streamlit as st

from workbench.drafting.packet import ContextPacket
from workbench.drafting.prompts import (
    NAMES,
    SYSTEM,
    PromptSet,
    content_hash,
    default_text,
    history,
    messages_text,
    prompt_set,
    render_messages,
    save_text,
    saved_text,
    validate_text,
)
from workbench.drafting.run import select_packets
from workbench.errors import WorkflowInvalid
from workbench.storage.history import data_version
from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash, user_errors
from workbench.ui.workflow_state import (
    author_input,
    current_workflow,
    evaluated,
    has_accounts,
    latest_as_of,
    workflow_of,
)
from workbench.workflow.model import Action, ActionType, Workflow
from workbench.workflow.preview import Preview, workflow_sha

_NAME = "pe:name"
_DONE = "pe:done"  # set after a save or reset: re-initialise the editor, untick the box
_WORDS = {
    SYSTEM: "System prompt (shared by every action)",
    "assign_csm": "assign_csm: assignment note to the CSM",
    "draft_email": "draft_email: email to the customer",
    "risk_brief": "risk_brief: brief for the CS team",
    "crm_update": "crm_update: CRM field update with a note",
    "alert": "alert: channel alert",
}


@dataclass(frozen=True)
class Sample:
    """The first fired account's packet, with the workflow it was built for."""

    workflow: Workflow
    label: str
    packet: ContextPacket | None
    why_none: str = ""


@st.cache_data(max_entries=8, show_spinner="Building the first fired account's context packet…")
def _first_packet(
    _con: duckdb.DuckDBPyConnection,
    _wf: Workflow,
    _pv: Preview,
    root: str,
    version: str,
    sha: str,
    as_of: date,
) -> ContextPacket | None:
    packets = select_packets(_con, _wf, _pv, limit=1)
    return packets[0] if packets else None


def sample(ctx: Context) -> Sample | None:
    """The current workflow and the first fired account's packet (None without a workflow)."""
    version = current_workflow(ctx)
    if version is None:
        return None
    wf = workflow_of(version)
    label = f"{version.name} v{version.version}"
    if not has_accounts(ctx):
        return Sample(wf, label, None, "the workspace has no accounts table")
    as_of = latest_as_of(ctx)
    try:
        pv = evaluated(ctx, wf, as_of).preview
    except WorkflowInvalid:
        return Sample(wf, label, None, f"{label} does not run on this workspace's data")
    packet = _first_packet(
        ctx.con, wf, pv, str(ctx.workspace.root), data_version(ctx.con), workflow_sha(wf), as_of
    )
    if packet is None:
        return Sample(wf, label, None, f"{label} fires on no account as of {as_of}")
    return Sample(wf, label, packet)


def action_for(wf: Workflow, name: str) -> Action:
    """The action a template renders with: the workflow's, as the type the template is for."""
    if name in (SYSTEM, wf.action.type):
        return wf.action
    return wf.action.model_copy(update={"type": name})


def prompt_templates(ctx: Context) -> None:
    """Pick a template, edit it, see its version and rendering, save, reset, browse history."""
    found = sample(ctx)
    default = found.workflow.action.type if found else SYSTEM
    if st.session_state.get(_NAME) not in NAMES:
        st.session_state[_NAME] = default
    name: str = st.selectbox(
        "Template",
        list(NAMES),
        format_func=lambda n: _WORDS.get(n, n),
        key=_NAME,
        help="The system prompt goes with every action; each action type has its own template. "
        + (f"The current workflow's action is {default}." if found else ""),
    )
    saved = saved_text(ctx.con, name)
    done = st.session_state.pop(_DONE, None)
    gen = st.session_state.get(f"pe:gen:{name}", 0) + (1 if done == name else 0)
    st.session_state[f"pe:gen:{name}"] = gen
    if done == name:
        st.session_state[f"pe:reset-sure:{name}"] = False
    text = st.text_area(
        "Template text (Jinja2)",
        value=saved,
        height=340,
        key=f"pe:text:{name}:{gen}",
        help="Use packet.<field> (account_name, csm_owner, renewal_text, …), packet_text (the "
        "whole packet as text), action.<field> and policy.<field>. A name the packet lacks is an "
        "error, never a blank.",
    )
    _version_line(ctx, name, text, saved, found)
    if found is None:
        st.caption("No workflow yet, so saving only checks that the template compiles.")
    elif found.packet is None:
        st.caption(f"Saving only checks that the template compiles: {found.why_none}.")
    else:
        st.caption(
            f"Saving renders the template against {_account(found.packet)}'s context packet "
            f"({found.label}) first."
        )
    with st.columns([1, 2])[0]:
        author = author_input("Your name (optional)", key="pe:author")
    if st.button("Save as a new version", type="primary", key="pe:save"):
        with user_errors():
            _save(ctx, name, text, author, found)
    _reset(ctx, name, saved)
    _rendered(ctx, name, text, found)
    _history(ctx, name, saved)


def _account(packet: ContextPacket) -> str:
    return f"{packet.account_name} ({packet.account_id})"


def _version_line(ctx: Context, name: str, text: str, saved: str, found: Sample | None) -> None:
    is_default = text == default_text(name)
    if text == saved:
        state = "the saved text" + (" (the default)" if is_default else "")
    else:
        state = f"unsaved edit; the saved text is version `{content_hash(saved)}`"
    line = f"Version `{content_hash(text)}`: {state}."
    if found is not None:
        action: ActionType = found.workflow.action.type
        line += (
            f" Drafts with the model record prompt version `{prompt_set(ctx.con, action).version}` "
            f"(system + {action}, as saved)."
        )
    st.caption(line)


def _save(ctx: Context, name: str, text: str, author: str, found: Sample | None) -> None:
    if found is not None and found.packet is not None:
        validate_text(name, text, found.packet, action_for(found.workflow, name))
    saved = save_text(ctx.con, name, text, saved_by=author or "workbench")
    if saved is None:
        st.info("No change: this is the saved text already.", icon=":material/info:")
        return
    st.session_state[_DONE] = name
    flash(f"Saved {name} version {saved.version}.")
    st.rerun()


def _reset(ctx: Context, name: str, saved: str) -> None:
    default = default_text(name)
    if saved == default:
        return
    sure = st.checkbox(
        f"Replace the saved {name} text with the default (the current text stays in the history)",
        key=f"pe:reset-sure:{name}",
    )
    if st.button("Reset to default", disabled=not sure, key=f"pe:reset:{name}"):
        with user_errors():
            done = save_text(ctx.con, name, default, saved_by="reset to default")
            st.session_state[_DONE] = name
            flash(f"Reset {name} to the default (version {done.version if done else ''}).")
            st.rerun()


def _rendered(ctx: Context, name: str, text: str, found: Sample | None) -> None:
    if found is None or found.packet is None:
        return
    wf = found.workflow
    packet = found.packet
    action_type = wf.action.type if name == SYSTEM else cast(ActionType, name)
    system = text if name == SYSTEM else saved_text(ctx.con, SYSTEM)
    user = saved_text(ctx.con, action_type) if name == SYSTEM else text
    with st.expander(f"Rendered prompt for {_account(packet)}"):
        st.caption(
            f"Exactly what a model receives for this account with the text in the editor "
            f"(system + {action_type}), before redaction, as of {found.label}'s preview."
        )
        with user_errors():
            messages = render_messages(
                PromptSet(action_type, system, user),
                packet,
                action_for(wf, action_type),
                wf.output_policy,
            )
            st.code(messages_text(messages), language=None, wrap_lines=True)


def _history(ctx: Context, name: str, saved: str) -> None:
    st.markdown("##### Versions")
    versions = history(ctx.con, name)
    if not versions:
        st.caption(f"{name} has not been edited: the default text is in use.")
        return
    default = default_text(name)
    frame = pd.DataFrame(
        [
            {
                "version": v.version,
                "saved at": v.saved_at,
                "saved by": v.saved_by,
                "in use": i == 0,
                "default text": v.text == default,
            }
            for i, v in enumerate(versions)
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    with st.expander("Text of a version"):
        pick = st.selectbox(
            "Version",
            range(len(versions)),
            format_func=lambda i: f"{versions[i].version} ({versions[i].saved_at:%Y-%m-%d %H:%M})",
            key=f"pe:hist:{name}",
        )
        st.code(versions[pick].text, language=None, wrap_lines=True)
