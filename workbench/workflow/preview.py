"""Preview: which accounts the workflow would fire on today, why, on which route, and the load.

Everything here is read from an ``Evaluation`` (one temp table per call), so the
page, the CLI and the tests show the same figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from workbench.storage.sql import quote_ident
from workbench.workflow.compiler import Compiled, Evaluation, evaluation, pass_col, value_col
from workbench.workflow.conditions import CompiledCondition, describe_value, show
from workbench.workflow.model import Change, Compare, Count, WithinDays, Workflow

ROUTES = ("automated", "human", "manager")
# Automated accounts left when every round-robin CSM's week is full (escalations count too).
UNASSIGNED = "(no CSM slot this week)"
_SHOWN = (
    "account_id",
    "account_name",
    "segment",
    "csm_owner",
    "arr",
    "renewal_date",
    "health_score",
    "route",
    "route_rule",
)


@dataclass(frozen=True)
class CapCheck:
    """A guardrail compared with what the run would do."""

    name: str
    limit: float
    value: float
    ok: bool
    sentence: str


@dataclass(frozen=True)
class Preview:
    """What the workflow would do as of a date.

    Attributes:
        as_of: The as-of date.
        accounts: Active accounts evaluated.
        eligible: Accounts in scope.
        fired: One row per firing account: who, route, reasons, priority and assignee.
        by_route / by_segment / by_owner: Accounts and ARR per group.
        load: Tasks per person against the weekly cap, overloads flagged.
        caps: Guardrails against this run.
        near_misses: In-scope accounts one condition short, and how far.
        sql / params: The statement that produced it.
    """

    as_of: date
    accounts: int
    eligible: int
    fired: pd.DataFrame
    by_route: pd.DataFrame
    by_segment: pd.DataFrame
    by_owner: pd.DataFrame
    load: pd.DataFrame
    caps: tuple[CapCheck, ...]
    near_misses: pd.DataFrame
    sql: str
    params: dict[str, object]

    @property
    def arr_covered(self) -> float:
        return float(self.fired["arr"].sum()) if len(self.fired) else 0.0

    @property
    def fired_ids(self) -> list[str]:
        return sorted(self.fired["account_id"].astype(str))

    def headline(self) -> str:
        n = len(self.fired)
        if not n:
            return f"As of {self.as_of}, the workflow fires on no account ({self.eligible:,} in scope)."
        counts = self.by_route.set_index("route")["accounts"].to_dict()
        parts = [f"{int(counts[r])} {r}" for r in ROUTES if counts.get(r)]
        return (
            f"As of {self.as_of}, the workflow fires on {n:,} of {self.eligible:,} accounts in scope "
            f"({', '.join(parts)}), covering ${self.arr_covered:,.0f} ARR."
        )


def _reason_texts(compiled: Compiled, rows: pd.DataFrame) -> list[str]:
    # Only the columns reasons read: turning every column into dicts dominates on big books.
    wanted = [value_col(c.id) for c in compiled.leaves()] + ["route", "route_rule"]
    out = []
    for row in rows[[c for c in wanted if c in rows.columns]].to_dict("records"):
        parts = [c.reason(row.get(value_col(c.id))) for c in compiled.conditions]
        if isinstance(row.get("route_rule"), str):
            rule = next(r for r in compiled.escalation if r.rule.name == row["route_rule"])
            why = "; ".join(leaf.reason(row.get(value_col(leaf.id))) for leaf in rule.leaves)
            parts.append(f"to {row['route']}: {rule.rule.name} ({why})")
        out.append(" · ".join(parts))
    return out


def weekly_capacity(wf: Workflow) -> tuple[int, str]:
    """Actions a run may create in a week, and how that figure comes about."""
    g, a = wf.guardrails, wf.action
    if a.type == "assign_csm" and a.strategy == "round_robin" and a.csms:
        per = min(a.capacity_per_week or g.max_per_csm_per_week, g.max_per_csm_per_week)
        team = len(a.csms) * per
        if team < g.max_actions_per_run:
            return team, f"{len(a.csms)} CSMs × {per} a week"
    return g.max_actions_per_run, "the cap per run"


def _assign(wf: Workflow, fired: pd.DataFrame) -> pd.Series:
    """Who each action lands on: the assigned CSM for automated ones, else the account's owner."""
    a, g = wf.action, wf.guardrails
    owner = fired.get("csm_owner", pd.Series([None] * len(fired), index=fired.index))
    who = owner.astype(object).where(owner.notna(), "(no owner)")
    auto = fired["route"] == "automated"
    if a.type == "assign_csm" and a.strategy == "round_robin" and a.csms:
        per = min(a.capacity_per_week or g.max_per_csm_per_week, g.max_per_csm_per_week)
        # Escalations on a round-robin CSM's own accounts use up their week first.
        already = who[~auto].value_counts().to_dict()
        left = {c: max(0, per - int(already.get(c, 0))) for c in a.csms}
        slots: list[str] = []
        while any(left.values()):
            for c in a.csms:
                if left[c]:
                    slots.append(c)
                    left[c] -= 1
        idx = fired.index[auto]
        names = slots + [UNASSIGNED] * max(0, len(idx) - len(slots))
        who.loc[idx] = names[: len(idx)]
    elif a.type == "assign_csm" and a.strategy == "by_segment" and a.by_segment:
        seg = fired.get("segment", pd.Series([None] * len(fired), index=fired.index))
        mapped = seg.map(a.by_segment)
        who.loc[auto] = mapped[auto].where(mapped[auto].notna(), who[auto])
    return who


def _group(fired: pd.DataFrame, by: str) -> pd.DataFrame:
    if by not in fired.columns or fired.empty:
        return pd.DataFrame({by: [], "accounts": [], "arr": []})
    key = fired[by].astype(object).where(fired[by].notna(), "(none)")
    out = (
        fired.assign(_k=key)
        .groupby("_k", sort=False)
        .agg(accounts=("account_id", "size"), arr=("arr", "sum"))
        .reset_index()
        .rename(columns={"_k": by})
    )
    return out.sort_values(["accounts", "arr"], ascending=False, ignore_index=True)


def gap_sql(c: CompiledCondition, v: str, t: str = "$t") -> str | None:
    """SQL of how far a failing value is from passing (in the threshold's unit), or None.

    ``t`` is the placeholder of the threshold parameter.
    """
    cond = c.condition
    if c.threshold is None:
        return None
    if isinstance(cond, Compare):
        return {
            "lt": f"{v} - {t}",
            "le": f"{v} - {t}",
            "gt": f"{t} - {v}",
            "ge": f"{t} - {v}",
        }.get(cond.op)
    if isinstance(cond, WithinDays):
        return f"{v} - {t}"
    if isinstance(cond, Change):
        return f"{v} + {t}" if cond.direction == "down" else f"{t} - {v}"
    if isinstance(cond, Count):
        return f"{t} - {v}"
    return None


def margin(c: CompiledCondition) -> float:
    """How close counts as "near": 10% of the threshold (at least 1), a week, 5 points, one."""
    t = abs(c.threshold or 0.0)
    cond = c.condition
    if isinstance(cond, WithinDays):
        return max(7.0, round(t * 0.25))
    if isinstance(cond, Change):
        return max(5.0, t * 0.25)
    if isinstance(cond, Count):
        return 1.0
    return max(1.0, t * 0.1)


def near_misses(ev: Evaluation, limit: int = 200) -> pd.DataFrame:
    """In-scope accounts that miss by one numeric condition, within ``margin`` of its threshold."""
    compiled, parts = ev.compiled, []
    values: list[dict[str, object]] = []
    for c in compiled.sweepable:
        gap = gap_sql(c, quote_ident(value_col(c.id)))
        if gap is None:
            continue
        fires_if = compiled.fires_sql(_passed_except(c.id))
        v = quote_ident(value_col(c.id))
        cols = [
            "account_id",
            "$cid AS condition",
            f"({gap})::DOUBLE AS gap",
            f"{v} AS value",
            "arr",
            "health_score",
            *(
                quote_ident(x)
                for x in ("account_name", "segment", "csm_owner")
                if compiled.facts.fact(x)
            ),
        ]
        parts.append(
            f"SELECT {', '.join(cols)} FROM {ev.table} "
            f"WHERE in_scope AND NOT fires AND NOT {quote_ident(pass_col(c.id))} "
            f"AND {fires_if} AND {v} IS NOT NULL AND ({gap}) BETWEEN 0 AND $margin "
            "ORDER BY gap, arr DESC LIMIT $limit"
        )
        values.append({"cid": c.id, "t": c.threshold, "margin": margin(c), "limit": limit})
    if not parts:
        return pd.DataFrame()
    frames = [ev.con.execute(p, v).df() for p, v in zip(parts, values, strict=True)]
    df = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    if df.empty:
        return df
    by_id = {c.id: c for c in compiled.conditions}
    df["missed by"] = [
        f"{show(g)}{' days' if isinstance(by_id[k].condition, WithinDays) else ''}"
        for k, g in zip(df["condition"], df["gap"], strict=True)
    ]
    df["reason"] = [
        f"{by_id[k].sentence}, but {describe_value(by_id[k].condition, v)}"
        for k, v in zip(df["condition"], df["value"], strict=True)
    ]
    df = df.drop(columns=["value"])
    return df.sort_values(["gap", "arr"], ascending=[True, False], ignore_index=True)


def _passed_except(cid: str) -> Callable[[CompiledCondition], str]:
    """Leaf SQL for "as if condition ``cid`` passed": true for it, its decision for the rest."""

    def leaf(c: CompiledCondition) -> str:
        return "true" if c.id == cid else quote_ident(pass_col(c.id))

    return leaf


def build_preview(ev: Evaluation) -> Preview:
    """Summarise an evaluation (first as-of date) into a preview."""
    compiled, wf = ev.compiled, ev.compiled.workflow
    as_of = ev.as_of[0]
    counts = ev.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE in_scope) FROM {ev.table} WHERE as_of = $d",
        {"d": as_of},
    ).fetchall()[0]
    fired = ev.frame("fires AND as_of = $d", {"d": as_of})
    if len(fired):
        fired = fired.sort_values(
            ["health_score", "arr"], ascending=[True, False], ignore_index=True
        )
    cap = wf.guardrails.max_actions_per_run
    fired["priority"] = range(1, len(fired) + 1)
    fired["within_cap"] = fired["priority"] <= cap
    fired["assignee"] = _assign(wf, fired) if len(fired) else pd.Series(dtype=object)
    fired["reasons"] = _reason_texts(compiled, fired) if len(fired) else pd.Series(dtype=object)
    keep = [c for c in _SHOWN if c in fired.columns] + [
        "assignee",
        "priority",
        "within_cap",
        "reasons",
    ]
    extra = [value_col(c.id) for c in compiled.conditions]
    fired = fired[keep + [c for c in extra if c in fired.columns]]

    by_route = _group(fired, "route")
    load = _load(wf, fired)
    capacity, why = weekly_capacity(wf)
    n = len(fired)
    unassigned = int((fired["assignee"] == UNASSIGNED).sum()) if n else 0
    auto = int((fired["route"] == "automated").sum()) if n else 0
    caps = [
        CapCheck(
            "Actions per run",
            cap,
            n,
            n <= cap,
            f"{n} actions against a cap of {cap} per run"
            + ("" if n <= cap else f": the {n - cap} lowest-priority wait for the next run"),
        ),
        CapCheck(
            "Automated capacity",
            capacity,
            auto,
            auto <= capacity and not unassigned,
            f"{auto} automated actions against a weekly capacity of {capacity} ({why})"
            + (
                f"; {unassigned} get no CSM slot this week because escalations on the "
                "round-robin CSMs' own accounts fill their weeks first"
                if unassigned
                else ""
            ),
        ),
    ]
    over = load[load["over"] & (load["person"] != UNASSIGNED)] if len(load) else load
    caps.append(
        CapCheck(
            "Per CSM per week",
            wf.guardrails.max_per_csm_per_week,
            float(load["tasks"].max()) if len(load) else 0.0,
            over.empty,
            f"No one gets more than {wf.guardrails.max_per_csm_per_week} tasks"
            if over.empty
            else f"{len(over)} overloaded: "
            + ", ".join(f"{r.person} ({r.tasks})" for r in over.itertuples()),
        )
    )
    alloc = wf.experiment.allocation
    hold = round(auto * alloc.control / 100)
    caps.append(
        CapCheck(
            "Control holdout",
            alloc.control,
            hold,
            True,
            f"{alloc.control:g}% of automated accounts are held out as control, no "
            f"intervention (about {hold} of {auto}); {alloc.csm:g}% go to a CSM as usual and "
            f"{alloc.ai:g}% get the automated action, balanced within segment and ARR band",
        )
    )
    caps.append(
        CapCheck(
            "Cooldown",
            wf.guardrails.cooldown_days,
            0,
            True,
            f"An account is acted on at most once every {wf.guardrails.cooldown_days} days "
            "(stored with the workflow; applied once runs are recorded)",
        )
    )
    return Preview(
        as_of=as_of,
        accounts=int(counts[0]),
        eligible=int(counts[1]),
        fired=fired,
        by_route=by_route,
        by_segment=_group(fired, "segment"),
        by_owner=_group(fired, "csm_owner"),
        load=load,
        caps=tuple(caps),
        near_misses=near_misses(ev),
        sql=compiled.sql,
        params=compiled.params,
    )


def _load(wf: Workflow, fired: pd.DataFrame) -> pd.DataFrame:
    cols = ["person", "tasks", "automated", "escalated", "cap", "over"]
    if fired.empty:
        return pd.DataFrame({c: [] for c in cols})
    cap = wf.guardrails.max_per_csm_per_week
    g = fired.assign(auto=fired["route"] == "automated").groupby("assignee", sort=False)
    load = g.agg(tasks=("account_id", "size"), automated=("auto", "sum")).reset_index()
    load = load.rename(columns={"assignee": "person"})
    load["escalated"] = load["tasks"] - load["automated"]
    load["cap"] = cap
    load["over"] = (load["tasks"] > cap) | (load["person"] == UNASSIGNED)
    return load[cols].sort_values("tasks", ascending=False, ignore_index=True)


def preview(con: duckdb.DuckDBPyConnection, wf: Workflow, as_of: date) -> Preview:
    """Evaluate ``wf`` as of a date and summarise it."""
    with evaluation(con, wf, as_of) as ev:
        return build_preview(ev)


@dataclass(frozen=True)
class FiredDiff:
    """Accounts added and removed between two firing sets."""

    added: list[str]
    removed: list[str]
    against: str

    def sentence(self) -> str:
        if not self.added and not self.removed:
            return f"Same accounts as {self.against}."
        return f"+{len(self.added)} accounts, -{len(self.removed)} compared with {self.against}."


def diff_fired(now: list[str], before: list[str], against: str) -> FiredDiff:
    """What changed between two firing sets."""
    a, b = set(now), set(before)
    return FiredDiff(sorted(a - b), sorted(b - a), against)


def workflow_sha(wf: Workflow) -> str:
    """Content hash of a workflow (its normalised JSON)."""
    return hashlib.sha256(wf.model_dump_json().encode()).hexdigest()


def record_snapshot(
    con: duckdb.DuckDBPyConnection, wf: Workflow, data_version: str, pv: Preview
) -> None:
    """Remember which accounts this workflow fired on for this data (idempotent)."""
    con.execute(
        "INSERT INTO wb.preview_snapshots VALUES ($n, $s, $dv, $d, $t, $f) ON CONFLICT DO NOTHING",
        {
            "n": wf.name,
            "s": workflow_sha(wf),
            "dv": data_version,
            "d": pv.as_of,
            "t": datetime.now().replace(microsecond=0),
            "f": pv.fired_ids,
        },
    )


def diff_since_refresh(
    con: duckdb.DuckDBPyConnection, wf: Workflow, data_version: str, pv: Preview
) -> FiredDiff | None:
    """Compare with the latest snapshot of the same workflow on other data (record and compare
    at the data's default as-of date: a refresh usually moves it)."""
    rows = con.execute(
        "SELECT fired, taken_at, as_of FROM wb.preview_snapshots WHERE workflow_name = $n "
        "AND workflow_sha256 = $s AND data_version <> $dv ORDER BY taken_at DESC LIMIT 1",
        {"n": wf.name, "s": workflow_sha(wf), "dv": data_version},
    ).fetchall()
    if not rows:
        return None
    fired, taken, as_of = rows[0]
    return diff_fired(
        pv.fired_ids,
        list(fired),
        f"the previous data (previewed {taken:%Y-%m-%d %H:%M}, as of {as_of})",
    )


def summary_rows(pv: Preview) -> list[dict[str, Any]]:
    """Headline figures as label/value rows (for exports)."""
    return [
        {"figure": "As of", "value": str(pv.as_of)},
        {"figure": "Active accounts", "value": pv.accounts},
        {"figure": "In scope", "value": pv.eligible},
        {"figure": "Fires on", "value": len(pv.fired)},
        {"figure": "ARR covered", "value": pv.arr_covered},
        *({"figure": c.name, "value": c.sentence} for c in pv.caps),
    ]
