"""The Workflow page's parts: header, the workflow in words, the YAML editor, versions, facts."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pandas as pd
import streamlit as st

from workbench.errors import WorkflowInvalid
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import download_button
from workbench.ui.errors import flash
from workbench.ui.workflow_state import (
    Evaluated,
    author_input,
    available_facts,
    compiled,
    evaluated,
    has_accounts,
    select_workflow,
    workflow_of,
)
from workbench.workflow import store
from workbench.workflow.describe import ROUTE_WORDS, InWords, Line, describe
from workbench.workflow.loader import parse_workflow, workflow_json_schema
from workbench.workflow.model import Workflow
from workbench.workflow.store import WorkflowVersion, change_summary

ROUTE_COLOURS = {"automated": "green", "human": "blue", "manager": "orange"}
EDITOR_LABEL = "Workflow YAML"
# YAML is indentation: the editor needs a fixed-width font (Streamlit has no option for it).
_MONOSPACE = (
    f'<style>textarea[aria-label="{EDITOR_LABEL}"] '
    '{font-family: "Source Code Pro", ui-monospace, monospace; font-size: 0.85rem;}</style>'
)


def header(ctx: Context, version: WorkflowVersion) -> None:
    """Name, version, who saved it, when and why; a picker when several workflows exist."""
    names = store.workflow_names(ctx.con)
    if len(names) > 1:
        chosen = st.selectbox(
            "Workflow",
            names,
            index=names.index(version.name),
            help="Each name has its own version history.",
            key=f"wf:pick:{version.name}",
        )
        if chosen != version.name:
            select_workflow(chosen)
            st.rerun()
    st.subheader(f"{version.name} · v{version.version}")
    st.caption(
        f"Saved {version.saved_at:%d %b %Y %H:%M} by **{version.author}** · Why: {version.reason}"
    )


def require_accounts(ctx: Context, purpose: str) -> None:
    """Stop the page, pointing to Data, when there is no accounts table to ``purpose``."""
    if has_accounts(ctx):
        return
    st.info(
        f"There is no `accounts` table yet, so there is nothing to {purpose}. Import an "
        "accounts export on the **Data** page (or reset to the sample book there).",
        icon=":material/upload_file:",
    )
    st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
    st.stop()


def as_of_input(latest: date, key: str, help: str) -> date:
    """The as-of date picker: at most ``latest`` (the day after the newest data), its default."""
    as_of = st.columns([1, 3])[0].date_input(
        "As of",
        value=latest,
        max_value=latest,
        key=f"{key}:{latest}",
        format="YYYY-MM-DD",
        help=help,
    )
    return as_of if isinstance(as_of, date) else latest  # a cleared input means the default


def evaluate_or_stop(
    ctx: Context, version: WorkflowVersion, wf: Workflow, as_of: date
) -> Evaluated:
    """The workflow evaluated as of ``as_of``, or the page stops with what to fix."""
    try:
        return evaluated(ctx, wf, as_of)
    except WorkflowInvalid as exc:
        st.warning(
            f"{version.name} v{version.version} does not run on this workspace's data.",
            icon=":material/warning:",
        )
        show_invalid(exc)
        st.page_link("app_pages/workflow.py", label="Fix it on Workflow", icon=":material/edit:")
        st.stop()


def show_invalid(exc: WorkflowInvalid) -> None:
    """Every problem of an invalid workflow as a list, with the YAML line when there is one."""
    first, _, rest = exc.message.partition("\n")
    body = f"**{first}**"
    if exc.problems and not (len(exc.problems) == 1 and exc.problems[0] in first):
        body += "\n\n" + "\n".join(f"- {_problem(p)}" for p in exc.problems)
    if exc.hint:
        body += f"\n\n**What to do:** {exc.hint}"
    st.error(body, icon=":material/warning:")
    snippet = rest if not exc.problems or "|" in rest else ""
    if snippet.strip():
        st.code(snippet.strip("\n"), language=None)


def _problem(text: str) -> str:
    path, sep, reason = text.partition(": ")
    return f"`{path}`: {reason}" if sep else text


def _lines_md(lines: tuple[Line, ...] | list[Line]) -> str:
    return "\n".join(f"{'    ' * ln.depth}- {ln.text}" for ln in lines)


def in_words(ctx: Context, version: WorkflowVersion) -> Workflow | None:
    """The saved workflow in words, compiled against this workspace; None when it does not compile."""
    wf = workflow_of(version)
    if wf.description.strip():
        st.markdown(f"_{wf.description.strip()}_")
    if not has_accounts(ctx):
        st.info(
            "The workspace has no accounts table yet, so the workflow cannot be read against "
            "your data. Import accounts on the Data page to see it in words.",
            icon=":material/upload_file:",
        )
        st.page_link("app_pages/data.py", label="Go to Data", icon=":material/upload_file:")
        return None
    try:
        words = describe(compiled(ctx, wf))
    except WorkflowInvalid as exc:
        st.warning(
            f"v{version.version} does not fit this workspace's data, so it cannot run as saved.",
            icon=":material/warning:",
        )
        show_invalid(exc)
        return None
    _render_words(words)
    return wf


def _render_words(w: InWords) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("##### When")
        st.markdown(w.trigger)
        st.markdown("##### Which accounts")
        if w.scope:
            st.markdown(
                "In scope when all of these hold:\n" + _lines_md([Line(0, s) for s in w.scope])
            )
        else:
            st.markdown("Every active account is in scope.")
        st.markdown("It fires on an account in scope when:\n" + _lines_md(w.conditions))
        st.markdown("##### Who handles it (escalation, first match wins)")
        if w.escalation:
            for r in w.escalation:
                colour = ROUTE_COLOURS.get(r.route, "gray")
                st.markdown(
                    f"{r.position}. **{r.name}** → :{colour}[**{r.route}**] "
                    f"({ROUTE_WORDS.get(r.route, r.route)}), when:\n"
                    + "\n".join(f"{'    ' * (ln.depth + 1)}- {ln.text}" for ln in r.when)
                )
            st.markdown(
                ":green[**Everything else → automated**] (the action below runs without a "
                "person deciding)."
            )
        else:
            st.markdown("No escalation rules: every firing account goes to automation.")
    with right:
        st.markdown("##### Action")
        st.markdown(w.action)
        if w.action_params:
            st.markdown("\n".join(f"- {k.replace('_', ' ')}: **{v}**" for k, v in w.action_params))
        st.markdown("##### Guardrails")
        st.markdown("\n".join(f"- {g}" for g in w.guardrails))
        st.markdown("##### What drafts may say")
        st.markdown("\n".join(f"- {g}" for g in w.output_policy))
        st.markdown("##### Autonomy gate")
        st.markdown("\n".join(f"- {g}" for g in w.autonomy))
    st.markdown("##### Health score (0-100)")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "input": h.label,
                    "fact": h.fact,
                    "weight": h.weight,
                    "how it is scored": h.normalisation,
                    "what it is": h.description,
                }
                for h in w.health
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "weight": st.column_config.NumberColumn(format="%g%%"),
            "how it is scored": st.column_config.TextColumn(width="large"),
            "what it is": st.column_config.TextColumn(width="large"),
        },
    )
    st.markdown(f"**Missing values:** {w.missing}")


def _editor_key(version: WorkflowVersion) -> str:
    digest = hashlib.sha1(version.name.encode()).hexdigest()[:8]
    return f"wf:yaml:{digest}:v{version.version}"


def _discard(key: str) -> None:
    st.session_state.pop(key, None)


def validate_text(ctx: Context, text: str) -> Workflow:
    """Parse the YAML and compile it against the workspace (when there are accounts).

    Raises:
        WorkflowInvalid: with every problem found.
    """
    wf = parse_workflow(text, "The workflow")
    if has_accounts(ctx):
        compiled(ctx, wf)
    return wf


def editor(ctx: Context, version: WorkflowVersion) -> None:
    """The YAML editor with Validate and Save as new version."""
    key = _editor_key(version)
    st.caption(
        "Edit the YAML and save it as a new version; the saved versions stay in the history. "
        "**Validate** checks the shape and every fact name against this workspace."
    )
    st.html(_MONOSPACE)
    text = st.text_area(
        EDITOR_LABEL,
        value=version.yaml,
        height=560,
        key=key,
        help="Conditions name facts (see the list of facts below). Ctrl+Enter applies the edit.",
    )
    edited = text != version.yaml
    if edited:
        st.caption(f":orange[Unsaved edits] (the editor started from v{version.version}).")
    c1, c2 = st.columns(2)
    with c1:
        author = author_input()
    with c2:
        reason = st.text_input(
            "Reason for this change",
            key=f"wf:reason:{key}",
            placeholder="e.g. Threshold 55 after the Q3 review",
            help="Required: the history says why each version exists.",
        )
    row = st.container(horizontal=True)
    validate = row.button(":material/check: Validate", key="wf:validate")
    save = row.button(":material/save: Save as new version", type="primary", key="wf:save")
    row.button(
        "Discard edits", key="wf:discard", on_click=_discard, args=(key,), disabled=not edited
    )
    if not (validate or save):
        return
    try:
        wf = validate_text(ctx, text or "")
    except WorkflowInvalid as exc:
        show_invalid(exc)
        if save:
            st.caption("Nothing was saved: fix the problems above first.")
        return
    old = workflow_of(version)
    changes = change_summary(old, wf) if wf.name == version.name else []
    if validate:
        if not has_accounts(ctx):
            st.success(
                "The YAML is a valid workflow. Fact names are checked once the workspace has "
                "an accounts table.",
                icon=":material/check_circle:",
            )
        else:
            st.success(
                "Valid: every field fits and every fact exists.", icon=":material/check_circle:"
            )
        _changes(version, wf, changes)
        return
    if not author:
        st.error("Say who you are (Your name) before saving.", icon=":material/warning:")
        return
    if not reason.strip():
        st.error(
            "A version needs a reason: say why it changed in a few words.",
            icon=":material/warning:",
        )
        return
    saved = store.save_version(ctx.con, text or "", author, reason, ctx.workspace)
    select_workflow(saved.name)
    if saved.name == version.name and saved.version == version.version:
        flash(f"No change: the text is the same workflow as v{version.version}.")
    else:
        flash(f"Saved {saved.name} v{saved.version}")
    st.rerun()


def _changes(version: WorkflowVersion, wf: Workflow, changes: list[str]) -> None:
    if wf.name != version.name:
        st.info(
            f"The name changed to **{wf.name}**: saving starts a new workflow with its own "
            f"history (v1); '{version.name}' keeps its versions.",
            icon=":material/info:",
        )
    elif changes:
        st.markdown(f"Compared with v{version.version}:\n" + "\n".join(f"- `{c}`" for c in changes))
    else:
        st.caption(f"Same content as v{version.version} (saving would change nothing).")


def facts_list(ctx: Context) -> None:
    """The facts conditions can use, with type, source and description."""
    facts = available_facts(ctx)
    if not facts:
        st.caption("No facts yet: import an accounts file on the Data page.")
        return
    st.caption(
        "Conditions and health inputs name these facts (`fact: days_since_touch`). They are "
        "computed per account as of the preview date from the tables in this workspace."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"fact": f.name, "type": f.type, "source": f.source, "description": f.description}
                for f in facts
            ]
        ),
        hide_index=True,
        width="stretch",
        height=360,
    )


def downloads(ctx: Context, version: WorkflowVersion) -> None:
    """The current YAML (its download is logged) and the JSON schema (no workspace data)."""
    row = st.container(horizontal=True)
    download_button(
        f":material/download: v{version.version} YAML",
        version.yaml,
        f"{store.slug(version.name)}-v{version.version}.yaml",
        "application/yaml",
        ctx=ctx,
        what=f"workflow {version.name} v{version.version}",
        key="wf:dl-yaml",
        where=row,
    )
    row.download_button(
        ":material/download: JSON schema",
        json.dumps(workflow_json_schema(), indent=2),
        "workflow.schema.json",
        "application/json",
        on_click="ignore",
        key="wf:dl-schema",
        help="For editors that check YAML against a schema (VS Code, JetBrains).",
    )
