"""The current workflow and its cached evaluations, shared by the workflow pages.

Pages call ``require_workflow(ctx)`` (or ``current_workflow(ctx)``) for the saved
version they work on, and ``evaluated(ctx, version, as_of)`` for a preview. Cache
keys are the workspace, its data version (it changes with every import), the
workflow's content hash and the as-of date, so a rerun of a page does not evaluate
the workflow again, and an import or a new version does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd
import streamlit as st

from workbench.errors import WorkflowInvalid
from workbench.storage.history import data_version
from workbench.storage.sql import Params
from workbench.ui.bootstrap import Context
from workbench.ui.errors import flash, user_errors
from workbench.workflow import store
from workbench.workflow.compiler import Compiled, compile_workflow, evaluation
from workbench.workflow.facts import Fact, build_facts, default_as_of, table_columns
from workbench.workflow.loader import parse_workflow
from workbench.workflow.model import Workflow
from workbench.workflow.preview import (
    FiredDiff,
    Preview,
    build_preview,
    diff_fired,
    diff_since_refresh,
    record_snapshot,
    workflow_sha,
)
from workbench.workflow.store import WorkflowVersion

SELECTED_NAME = "wf:name"
"""Session key: the workflow name the user works on (else the most recently saved one)."""
AUTHOR = "wf:author"
"""Session key: who saves versions, remembered across pages for the session."""


def current_workflow(ctx: Context) -> WorkflowVersion | None:
    """The latest saved version of the chosen workflow (else of the newest one), or None."""
    name = st.session_state.get(SELECTED_NAME)
    found = store.latest(ctx.con, name) if isinstance(name, str) else None
    return found or store.latest(ctx.con)


def require_workflow(ctx: Context) -> WorkflowVersion:
    """The current workflow; without one, offer the playbook example and stop the page."""
    found = current_workflow(ctx)
    if found is not None:
        return found
    st.info(
        "**No workflow yet.** A workflow says which accounts it acts on, why, on which route "
        "and within which limits. Start from the playbook example (assign a senior CSM when "
        "health drops below 60 and the renewal is within 90 days), then adapt it on the "
        "**Workflow** page.",
        icon=":material/rule_settings:",
    )
    if st.button("Start from the playbook example", type="primary", key="wf:install-default"):
        with user_errors():
            saved = store.install_default(ctx.con, ctx.workspace)
            if saved is not None:
                st.session_state[SELECTED_NAME] = saved.name
                flash(f"Saved {saved.name} v{saved.version}")
            st.rerun()
    st.stop()


def select_workflow(name: str) -> None:
    """Work on ``name`` from now on (after saving or restoring a version of it)."""
    st.session_state[SELECTED_NAME] = name


def author_input(label: str = "Your name", key: str = "wf:author-input") -> str:
    """A text input for the author of a version, remembered for the session across pages."""
    value = st.text_input(
        label,
        value=st.session_state.get(AUTHOR, ""),
        key=key,
        help="Stored with the version, so the history says who changed what.",
    )
    st.session_state[AUTHOR] = value
    return value.strip()


def actor_name() -> str:
    """Who to name in the audit log for this session: the name given, else ``local user``."""
    return str(st.session_state.get(AUTHOR, "")).strip() or "local user"


@st.cache_data(max_entries=64, show_spinner=False)
def _parsed(text: str, source: str) -> Workflow:
    return parse_workflow(text, source)


def workflow_of(version: WorkflowVersion) -> Workflow:
    """The parsed workflow of a saved version (parsed once per content)."""
    return _parsed(version.yaml, f"{version.name} v{version.version}")


def has_accounts(ctx: Context) -> bool:
    """Whether the workspace has an accounts table with account ids (something to evaluate)."""
    return "account_id" in table_columns(ctx.con).get("accounts", {})


@st.cache_data(max_entries=16, show_spinner=False)
def _latest_as_of(_con: duckdb.DuckDBPyConnection, root: str, version: str) -> date:
    return default_as_of(_con)


def latest_as_of(ctx: Context) -> date:
    """The default as-of date: the day after the newest dated row in the workspace."""
    return _latest_as_of(ctx.con, str(ctx.workspace.root), data_version(ctx.con))


@st.cache_data(max_entries=16, show_spinner=False)
def _facts(_con: duckdb.DuckDBPyConnection, root: str, version: str) -> tuple[Fact, ...]:
    facts = build_facts(_con, Params()).facts
    if not facts:
        return ()
    return (
        *facts,
        Fact("health_score", "number", "workflow", "Health score 0-100 (this workflow's)"),
    )


def available_facts(ctx: Context) -> tuple[Fact, ...]:
    """The facts conditions and health inputs can use in this workspace (empty without accounts)."""
    return _facts(ctx.con, str(ctx.workspace.root), data_version(ctx.con))


@st.cache_data(max_entries=32, show_spinner=False)
def _compiled(
    _con: duckdb.DuckDBPyConnection, _wf: Workflow, root: str, version: str, sha: str, as_of: date
) -> Compiled:
    return compile_workflow(_con, _wf, as_of)


def compiled(ctx: Context, wf: Workflow) -> Compiled:
    """``wf`` compiled against the workspace (sentences, SQL).

    Raises:
        WorkflowInvalid: a condition or health input names a fact the workspace lacks.
    """
    as_of = latest_as_of(ctx)
    return _compiled(
        ctx.con, wf, str(ctx.workspace.root), data_version(ctx.con), workflow_sha(wf), as_of
    )


@dataclass(frozen=True)
class Evaluated:
    """A preview with the evaluation rows behind it (facts and per-input health scores).

    ``rows`` has one row per active account, so "why is this account 42?" works for
    any account, not only those the workflow fires on.
    """

    preview: Preview
    rows: pd.DataFrame
    data_version: str
    sha: str

    def row(self, account_id: str) -> dict[str, object] | None:
        """The evaluation row of one account, or None."""
        hit = self.rows[self.rows["account_id"].astype(str) == str(account_id)]
        return None if hit.empty else {str(k): v for k, v in hit.iloc[0].items()}


@st.cache_data(max_entries=24, show_spinner="Evaluating the workflow on every account…")
def _evaluate(
    _con: duckdb.DuckDBPyConnection, _wf: Workflow, root: str, version: str, sha: str, as_of: date
) -> Evaluated:
    with evaluation(_con, _wf, as_of) as ev:
        return Evaluated(build_preview(ev), ev.frame(), version, sha)


def evaluated(ctx: Context, wf: Workflow, as_of: date) -> Evaluated:
    """The preview of ``wf`` as of a date, from the cache when data and workflow are unchanged.

    Raises:
        WorkflowInvalid: the workflow does not compile against this workspace.
    """
    sha = workflow_sha(wf)
    return _evaluate(ctx.con, wf, str(ctx.workspace.root), data_version(ctx.con), sha, as_of)


@st.cache_data(max_entries=24, show_spinner=False)
def _refresh_diff(
    _con: duckdb.DuckDBPyConnection,
    _wf: Workflow,
    _pv: Preview,
    root: str,
    version: str,
    sha: str,
    as_of: date,
) -> FiredDiff | None:
    diff = diff_since_refresh(_con, _wf, version, _pv)
    record_snapshot(_con, _wf, version, _pv)
    return diff


def since_refresh(ctx: Context, wf: Workflow, ev: Evaluated) -> FiredDiff | None:
    """What changed since the preview on the previous data; records this preview once per key."""
    return _refresh_diff(
        ctx.con, wf, ev.preview, str(ctx.workspace.root), ev.data_version, ev.sha, ev.preview.as_of
    )


@dataclass(frozen=True)
class VersionChange:
    """The firing set compared with the previous saved version on the same data."""

    previous: WorkflowVersion | None
    diff: FiredDiff | None
    problem: WorkflowInvalid | None = None


def previous_version(ctx: Context, version: WorkflowVersion) -> WorkflowVersion | None:
    """The version saved before ``version`` (same workflow name), or None for a v1."""
    older = [v for v in store.list_versions(ctx.con, version.name) if v.version < version.version]
    return max(older, key=lambda v: v.version) if older else None


def versus_previous(ctx: Context, version: WorkflowVersion, ev: Evaluated) -> VersionChange:
    """Evaluate the previous version on the same data and date, and compare the firing sets."""
    prev = previous_version(ctx, version)
    if prev is None:
        return VersionChange(None, None)
    try:
        before = evaluated(ctx, workflow_of(prev), ev.preview.as_of)
    except WorkflowInvalid as exc:
        return VersionChange(prev, None, exc)
    against = f"the previous version (v{prev.version})"
    return VersionChange(prev, diff_fired(ev.preview.fired_ids, before.preview.fired_ids, against))


def account_names(ev: Evaluated, ids: list[str]) -> list[str]:
    """``Name (id)`` for account ids, in the order given (the id alone when unnamed)."""
    rows = ev.rows
    if "account_name" not in rows.columns:
        return list(ids)
    names = dict(zip(rows["account_id"].astype(str), rows["account_name"], strict=True))
    out = []
    for i in ids:
        name = names.get(str(i))
        out.append(f"{name} ({i})" if isinstance(name, str) and name else str(i))
    return out
