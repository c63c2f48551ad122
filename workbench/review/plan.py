"""Which of the accounts a run fires on become new proposed actions, across runs.

A run proposes an action for each firing account, in priority order, unless:

* **control**: the account is in the experiment's control arm: no intervention at all;

* **duplicate**: the same action was already proposed in this window (its
  idempotency key, from workflow name and version, account, action type and
  the window's first day, exists): running twice adds nothing;
* **cooldown**: the account had an action (not rejected) within the
  workflow's ``cooldown_days`` before the run date, from any version;
* **run cap**: the run's window already holds ``max_actions_per_run`` actions
  (earlier runs in the same window count, so re-running the same run adds nothing);
* **CSM weekly cap**: the assignee already has ``max_per_csm_per_week``
  actions (not rejected) in the run's week, counting earlier runs.

Pure: it takes the fired rows and the earlier actions as frames and returns
what to add and what was skipped, with the reason in words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import pandas as pd

from workbench.workflow.model import Workflow

SkipReason = Literal["control", "duplicate", "cooldown", "run_cap", "csm_week_cap"]
SKIP_WORDS: dict[SkipReason, str] = {
    "control": "held out as control (no intervention)",
    "duplicate": "already proposed in this window (the same run again adds nothing)",
    "cooldown": "acted on within the cooldown",
    "run_cap": "over the cap of actions per run",
    "csm_week_cap": "the assignee's weekly cap is reached",
}
HISTORY_COLUMNS = ("action_key", "account_id", "as_of", "assignee", "status")


def window_start(as_of: date, days: int = 7) -> date:
    """The first day of the run's window: the Monday of its week for weekly windows."""
    if days == 7:
        return as_of - timedelta(days=as_of.weekday())
    epoch = date(1970, 1, 5)  # a Monday
    return epoch + timedelta(days=((as_of - epoch).days // days) * days)


def action_key(
    workflow: str, version: int | None, account_id: str, action_type: str, window: date
) -> str:
    """The idempotency key of one proposed action."""
    text = "\x1f".join([workflow, str(version), account_id, action_type, window.isoformat()])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Plan:
    """New actions (fired rows plus ``action_key``) and the skipped ones with their reason."""

    proposed: pd.DataFrame
    skipped: pd.DataFrame
    window: date

    def sentence(self) -> str:
        n = len(self.proposed)
        text = f"{n:,} new action{'s' if n != 1 else ''} proposed"
        if len(self.skipped):
            counts = self.skipped["reason"].value_counts()
            parts = [f"{int(counts[r]):,} {SKIP_WORDS[r]}" for r in SKIP_WORDS if r in counts]
            text += "; skipped: " + "; ".join(parts)
        return text + "."


def plan_actions(
    fired: pd.DataFrame,
    history: pd.DataFrame,
    wf: Workflow,
    version: int | None,
    as_of: date,
    window_days: int = 7,
    arms: Mapping[str, str] | None = None,
) -> Plan:
    """New actions for ``fired`` (priority order) given the earlier ``history``.

    Args:
        fired: The preview's fired rows: ``account_id`` and ``assignee`` at least.
        history: Earlier actions of this workflow, with ``HISTORY_COLUMNS``.
        wf: The workflow (its action type and guardrails).
        version: The workflow version the run uses.
        as_of: The run date.
        arms: The experiment arm of each eligible account (control accounts on the automated
            route are skipped; escalated ones still go to a person).
    """
    g = wf.guardrails
    window = window_start(as_of, window_days)
    week = window_start(as_of, 7)
    hist = history if len(history) else pd.DataFrame(columns=list(HISTORY_COLUMNS))
    live = hist[hist["status"] != "rejected"]
    known = set(hist["action_key"])
    since = as_of - timedelta(days=g.cooldown_days)
    days: list[date] = [pd.Timestamp(d).date() for d in live["as_of"]]
    accounts = [str(a) for a in live["account_id"]]
    assignees = [None if pd.isna(a) else str(a) for a in live["assignee"]]
    cooling = {a for a, d in zip(accounts, days, strict=True) if since <= d <= as_of}
    per_csm: dict[str, int] = {}
    for who, d in zip(assignees, days, strict=True):
        if who is not None and week <= d < week + timedelta(days=7):
            per_csm[who] = per_csm.get(who, 0) + 1
    # The cap per run counts what this window already proposed: re-running adds nothing.
    already = sum(window <= d < window + timedelta(days=window_days) for d in days)

    keep: list[int] = []
    keys: list[str] = []
    skipped: list[dict[str, object]] = []
    for i, row in enumerate(fired.to_dict("records")):
        acc = str(row["account_id"])
        key = action_key(wf.name, version, acc, wf.action.type, window)
        assignee = row.get("assignee")
        who = None if assignee is None or pd.isna(assignee) else str(assignee)
        reason: SkipReason | None = None
        # Control holds back the automated action only: an escalation still reaches a person.
        automated = str(row.get("route") or "automated") == "automated"
        if arms is not None and automated and arms.get(acc) == "control":
            reason = "control"
        elif key in known:
            reason = "duplicate"
        elif acc in cooling:
            reason = "cooldown"
        elif already + len(keep) >= g.max_actions_per_run:
            reason = "run_cap"
        elif who is not None and per_csm.get(who, 0) >= g.max_per_csm_per_week:
            reason = "csm_week_cap"
        if reason is not None:
            skipped.append({"account_id": acc, "reason": reason, "why": SKIP_WORDS[reason]})
            continue
        keep.append(i)
        keys.append(key)
        if who is not None:
            per_csm[who] = per_csm.get(who, 0) + 1
    proposed = fired.iloc[keep].copy()
    proposed.insert(0, "action_key", keys)
    return Plan(
        proposed.reset_index(drop=True),
        pd.DataFrame(skipped, columns=["account_id", "reason", "why"]),
        window,
    )
