"""The backtest: replay a workflow as of past dates and measure it against churn.

One evaluation materialises a row per (account, run date) with ``fires``, the
route and ``churn_date`` (the first churned renewal within ``label_days`` of the
run). From it come per-run counts, one row per churn event (was it flagged, how
early), pooled precision and recall, the exact expected recall of a random rule
that fires on as many eligible accounts per run, lift of the health score by
decile, and the health score's AUC (Mann-Whitney, average ranks for ties).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.workflow.compiler import Compiled, evaluation
from workbench.workflow.facts import default_as_of, table_columns
from workbench.workflow.model import Workflow

Every = Literal["week", "month"]
Progress = Callable[[float, str], None]

MONTH_DAYS = 365.25 / 12
ROUTES = ("automated", "human", "manager")
_NO_OUTCOMES_HINT = (
    "Import renewal outcomes (kind outcomes: account_id, renewal_date, outcome) on the Data "
    "page, or reset to the sample book."
)


def _month_start(d: date, back: int = 0) -> date:
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def has_outcomes(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the workspace has renewal outcomes a backtest can use."""
    cols = table_columns(con).get("outcomes", {})
    return {"account_id", "renewal_date", "outcome"} <= cols.keys()


def _outcome_range(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    if not has_outcomes(con):
        return None
    row = con.execute("SELECT min(renewal_date)::DATE, max(renewal_date)::DATE FROM outcomes")
    first, last = row.fetchall()[0]
    return None if first is None else (first, last)


def backtest_dates(
    con: duckdb.DuckDBPyConnection,
    start: date | None = None,
    end: date | None = None,
    every: Every = "month",
    label_days: int = 90,
) -> list[date]:
    """The run dates of a backtest: firsts of months or Mondays from ``start`` to ``end``.

    Args:
        con: Workspace connection.
        start: First possible run date. Default: the first of the month 12 months before
            ``default_as_of`` (the day after the latest data), but not before the month of
            the earliest renewal outcome.
        end: Last possible run date. Default: ``default_as_of - label_days``, the latest date
            whose churn labels are complete. A later ``end`` is allowed; its labels are partial.
        every: ``month`` (runs on the 1st) or ``week`` (runs on Mondays).
        label_days: How far ahead a run looks for churn.

    Raises:
        WorkbenchError: No renewal outcomes, ``start`` after ``end``, or no run date in between.
    """
    span = _outcome_range(con)
    if span is None:
        raise WorkbenchError(
            "There are no renewal outcomes to backtest against.", _NO_OUTCOMES_HINT
        )
    as_of = default_as_of(con)
    if start is None:
        start = max(_month_start(as_of, 12), _month_start(span[0]))
    if end is None:
        end = as_of - timedelta(days=label_days)
    if start > end:
        complete = as_of - timedelta(days=label_days)
        raise WorkbenchError(
            f"The backtest starts on {start} but ends on {end}.",
            f"Choose a start on or before the end. Churn labels are complete up to {complete} "
            f"(the data ends {as_of - timedelta(days=1)}; a run looks {label_days} days ahead).",
        )
    days: list[date] = []
    if every == "week":
        d = start + timedelta(days=(7 - start.weekday()) % 7)
        while d <= end:
            days.append(d)
            d += timedelta(days=7)
    else:
        d = start if start.day == 1 else _month_start(start, -1)
        while d <= end:
            days.append(d)
            d = _month_start(d, -1)
    if not days:
        what = "Monday" if every == "week" else "first of a month"
        raise WorkbenchError(
            f"No {what} falls between {start} and {end}, so there is no run to replay.",
            "Widen the range, or step by week instead of by month.",
        )
    return days


def rank_auc(
    risk: Sequence[float] | np.ndarray, positive: Sequence[bool] | np.ndarray
) -> float | None:
    """AUC of a risk score: the chance a random positive outranks a random negative.

    Mann-Whitney: rank all scores ascending with average ranks for ties, then
    ``AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`` where ``R_pos`` sums the
    positives' ranks. A tie between a positive and a negative counts one half.

    Returns:
        The AUC, or None when one of the classes is empty.
    """
    y = np.asarray(positive, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(np.asarray(risk, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def _step_days(dates: Sequence[date]) -> float:
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)]
    if not gaps or all(g == 7 for g in gaps):
        return 7.0
    if all(28 <= g <= 31 for g in gaps):
        return MONTH_DAYS
    return float(median(gaps))


@dataclass(frozen=True)
class BacktestResult:
    """A workflow replayed as of past dates and measured against churn.

    Attributes:
        workflow_name: The workflow's name.
        dates: The run dates, ascending.
        label_days: A run counts churn on or after its date and before date + label_days.
        cooldown_days: The workflow's cooldown, used for ``new_actions``.
        per_date: One row per run: as_of, eligible (in scope), fired, fired_automated,
            fired_human, fired_manager, new_actions (fired and no action for the account
            in the previous cooldown_days), churners_ahead, caught, precision, recall.
        events: One row per churn event with an eligible run before it: account_id,
            churn_date, segment, arr (at first_flagged, else at first_eligible),
            first_eligible, runs (eligible runs before it), first_flagged (NaT if never),
            lead_time_days, caught, random_catch_prob.
        lift_by_decile: decile (1 = lowest health), rows, churners, churn_rate, lift,
            health_min, health_max; pooled over in-scope (account, run) rows with a score.
        events_total: Churn events.
        caught: Events flagged at some eligible run before them.
        recall: caught / events_total.
        precision: Fired rows with a churn within label_days / fired rows.
        base_rate: Eligible rows with a churn within label_days / eligible rows.
        median_lead_days: Median days from first flag to churn, caught events.
        mean_lead_days: Mean of the same.
        new_actions: Actions the runs would have created (sum over runs).
        weeks: Weeks the runs span: (last - first) / 7 plus one step.
        actions_per_week: new_actions / weeks.
        caught_arr: ARR of the caught churners.
        random_recall: Exact expected recall of a rule that fires on as many eligible
            accounts per run, chosen at random.
        lift: recall / random_recall.
        auc: The health score's AUC for churn within label_days (lower = riskier).
        sql: The evaluated statement (for reproducing the numbers).
    """

    workflow_name: str
    dates: tuple[date, ...]
    label_days: int
    cooldown_days: int
    per_date: pd.DataFrame
    events: pd.DataFrame
    lift_by_decile: pd.DataFrame
    events_total: int
    caught: int
    recall: float | None
    precision: float | None
    base_rate: float | None
    median_lead_days: float | None
    mean_lead_days: float | None
    new_actions: int
    weeks: float
    actions_per_week: float
    caught_arr: float
    random_recall: float | None
    lift: float | None
    auc: float | None
    sql: str
    current_state: tuple[str, ...] = ()
    max_actions_per_run: int | None = None
    labels_complete_until: date | None = None

    @property
    def warnings(self) -> list[str]:
        """What makes the figures less trustworthy, in words (empty when nothing does)."""
        out = []
        if self.current_state:
            names = ", ".join(f"`{n}`" for n in self.current_state)
            out.append(
                f"This workflow uses {names}, taken as it is today, not as it was on each past "
                "date: the backtest can see the future through it (an account status of "
                "'Churned' gives churn away). Treat its figures as an upper bound."
            )
        cap = self.max_actions_per_run
        if cap is not None and len(self.per_date):
            over = self.per_date[self.per_date["fired"] > cap]
            if len(over):
                peak = int(over["fired"].max())
                out.append(
                    f"{len(over)} of {len(self.per_date)} runs fire on more accounts than the "
                    f"cap of {cap} per run (up to {peak}); a real run would defer the rest, "
                    "so the volume here is higher than production would see."
                )
        cut = self.labels_complete_until
        if cut is not None:
            late = [d for d in self.dates if d > cut]
            if late:
                out.append(
                    f"{len(late)} run(s) after {cut} cannot see a full {self.label_days} days of "
                    "renewals yet: churn after the data ends is unknown, so their precision "
                    "and recall read low."
                )
        return out

    @property
    def warning(self) -> str | None:
        """All warnings in one paragraph, or None."""
        return " ".join(self.warnings) or None

    @property
    def cadence(self) -> str:
        """``weekly``, ``monthly`` or empty, from the spacing of the dates."""
        if len(self.dates) < 2:
            return ""
        return {7.0: "weekly", MONTH_DAYS: "monthly"}.get(_step_days(self.dates), "")

    def sentence(self) -> str:
        """The headline in words: recall, lead time, the random rule, precision, volume."""
        n = len(self.dates)
        runs = f"{n} {self.cadence + ' ' if self.cadence else ''}run{'s' if n != 1 else ''}"
        if not self.events_total:
            head = (
                f"Over {runs} no eligible account churned within {self.label_days} days of a run, "
                "so recall cannot be measured."
            )
        else:
            head = (
                f"Over {runs} the workflow would have flagged {self.caught} of "
                f"{self.events_total} churners ({_pct(self.recall)})"
            )
            if self.median_lead_days is not None:
                head += f" a median {self.median_lead_days:.0f} days before they churned"
            head += (
                f"; a random rule flagging as many accounts each run would catch about "
                f"{_pct(self.random_recall)}."
            )
        if self.precision is None:
            tail = " It flagged no account."
        else:
            tail = (
                f" {_pct(self.precision)} of flags were followed by churn within {self.label_days} "
                f"days (base rate {_pct(self.base_rate)}); about {self.actions_per_week:.1f} "
                "new actions a week."
            )
        return head + tail

    def figures(self) -> list[tuple[str, Any]]:
        """The summary figures as (label, value) pairs, in reading order."""
        return [
            ("Runs", len(self.dates)),
            ("Churn events", self.events_total),
            ("Caught", self.caught),
            ("Recall", self.recall),
            ("Random-rule recall", self.random_recall),
            ("Lift over random", self.lift),
            ("Precision", self.precision),
            ("Base churn rate", self.base_rate),
            ("Median lead time (days)", self.median_lead_days),
            ("Mean lead time (days)", self.mean_lead_days),
            ("New actions", self.new_actions),
            ("Weeks spanned", self.weeks),
            ("Actions per week", self.actions_per_week),
            ("ARR of caught churners", self.caught_arr),
            ("Health score AUC", self.auc),
        ]


def _new_actions(rows: list[tuple[str, date]], cooldown_days: int) -> Counter[date]:
    """Actions a run creates: fired, and no action for the account in the cooldown before."""
    last: dict[str, date] = {}
    out: Counter[date] = Counter()
    for account, day in rows:
        prev = last.get(account)
        if prev is None or (day - prev).days >= cooldown_days:
            last[account] = day
            out[day] += 1
    return out


def _per_date(
    con: duckdb.DuckDBPyConnection, table: str, dates: list[date], cooldown_days: int
) -> pd.DataFrame:
    routes = ", ".join(f"count(*) FILTER (WHERE fires AND route = ?) AS fired_{r}" for r in ROUTES)
    df = con.execute(
        "SELECT as_of::DATE AS as_of, count(*) FILTER (WHERE in_scope) AS eligible, "
        f"count(*) FILTER (WHERE fires) AS fired, {routes}, "
        "count(*) FILTER (WHERE in_scope AND churn_date IS NOT NULL) AS churners_ahead, "
        "count(*) FILTER (WHERE fires AND churn_date IS NOT NULL) AS caught "
        f"FROM {table} GROUP BY ALL",
        list(ROUTES),
    ).df()
    fired = con.execute(
        f"SELECT account_id, as_of::DATE FROM {table} WHERE fires ORDER BY as_of, account_id"
    ).fetchall()
    df["as_of"] = pd.to_datetime(df["as_of"])
    df = df.set_index("as_of").reindex(pd.to_datetime(dates), fill_value=0)
    df.index.name = "as_of"
    df = df.astype("int64").reset_index()
    new = _new_actions(fired, cooldown_days)
    df.insert(6, "new_actions", [new.get(d, 0) for d in dates])
    df["precision"] = [_ratio(c, f) for c, f in zip(df["caught"], df["fired"], strict=True)]
    df["recall"] = [_ratio(c, n) for c, n in zip(df["caught"], df["churners_ahead"], strict=True)]
    df[["precision", "recall"]] = df[["precision", "recall"]].astype("float64")
    return df


def _events(
    con: duckdb.DuckDBPyConnection, table: str, per_date: pd.DataFrame, has_segment: bool
) -> pd.DataFrame:
    segment = "segment::VARCHAR" if has_segment else "NULL::VARCHAR"
    rows = con.execute(
        f"SELECT account_id, churn_date::DATE AS churn_date, as_of::DATE AS as_of, "
        f"coalesce(fires, false) AS fires, arr::DOUBLE AS arr, {segment} AS segment "
        f"FROM {table} WHERE in_scope AND churn_date IS NOT NULL"
    ).df()
    columns = [
        "account_id", "churn_date", "segment", "arr", "first_eligible", "runs",
        "first_flagged", "lead_time_days", "caught", "random_catch_prob",
    ]  # fmt: skip
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for c in ("churn_date", "as_of"):
        rows[c] = pd.to_datetime(rows[c])
    rate = per_date.set_index("as_of")
    share = (rate["fired"] / rate["eligible"].where(rate["eligible"] > 0)).fillna(0.0)
    rows["miss"] = 1.0 - rows["as_of"].map(share)
    key = ["account_id", "churn_date"]
    grouped = rows.groupby(key)
    out = grouped.agg(
        first_eligible=("as_of", "min"), runs=("as_of", "size"), miss=("miss", "prod")
    )
    flagged = rows[rows["fires"]].groupby(key)["as_of"].min().rename("first_flagged")
    # ARR and segment where the workflow first flagged the event, else at its first run.
    rep = rows.sort_values([*key, "fires", "as_of"], ascending=[True, True, False, True])
    rep = rep.drop_duplicates(key).set_index(key)[["segment", "arr"]]
    out = out.join(flagged).join(rep).reset_index()
    out["caught"] = out["first_flagged"].notna()
    out["lead_time_days"] = (out["churn_date"] - out["first_flagged"]).dt.days.astype("Int64")
    out["random_catch_prob"] = 1.0 - out["miss"]
    out = out.sort_values(["churn_date", "account_id"], ignore_index=True)
    return out[columns]


def _deciles(con: duckdb.DuckDBPyConnection, table: str) -> tuple[pd.DataFrame, float | None]:
    scored = f"FROM {table} WHERE in_scope AND health_score IS NOT NULL"
    df = con.execute(
        "SELECT decile, count(*) AS rows, count(*) FILTER (WHERE churned) AS churners, "
        "min(health_score)::DOUBLE AS health_min, max(health_score)::DOUBLE AS health_max "
        "FROM (SELECT health_score, churn_date IS NOT NULL AS churned, "
        "ntile(10) OVER (ORDER BY health_score, account_id, as_of) AS decile "
        f"{scored}) GROUP BY decile ORDER BY decile"
    ).df()
    df = df.astype({"decile": "int64", "rows": "int64", "churners": "int64"})
    overall = _ratio(float(df["churners"].sum()), float(df["rows"].sum()))
    df.insert(3, "churn_rate", df["churners"] / df["rows"])
    df.insert(4, "lift", df["churn_rate"] / overall if overall else np.nan)
    pairs = con.execute(
        f"SELECT health_score::DOUBLE AS health, churn_date IS NOT NULL AS churned {scored}"
    ).fetchnumpy()
    health = np.asarray(pairs["health"], dtype=float)
    churned = np.asarray(pairs["churned"], dtype=bool)
    return df, rank_auc(-health, churned)


# Account facts a backtest may use safely: computed as of each date, or descriptors
# that rarely change (segment, owner, industry, region, start date).
AS_OF_SAFE = ("account_id", "as_of", "arr", "renewal_date", "days_to_renewal", "tenure_days") + (
    "account_name",
    "segment",
    "csm_owner",
    "industry",
    "region",
    "start_date",
)


def current_state_facts(compiled: Compiled) -> tuple[str, ...]:
    """Account columns the workflow reads that are taken as they are now (not as of a date)."""
    used = {leaf.condition.fact for leaf in compiled.leaves() if hasattr(leaf.condition, "fact")}
    used |= {inp.fact for inp in compiled.workflow.health.inputs}
    out = []
    for name in sorted(used):
        f = compiled.facts.fact(name)
        if f is not None and f.source == "accounts" and name not in AS_OF_SAFE:
            out.append(name)
    return tuple(out)


def run_backtest(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    dates: Sequence[date],
    label_days: int = 90,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay ``wf`` as of each date and measure it against the churn that followed.

    Args:
        con: Workspace connection (a temporary table lives on it during the call).
        wf: The workflow.
        dates: Run dates (see ``backtest_dates``); sorted and deduplicated here.
        label_days: A run is right about an account that churns on or after the run date
            and before run date + label_days.
        progress: Called with (fraction done, message) at the start, after the
            evaluation and at the end.

    Raises:
        WorkbenchError: No dates, label_days below 1, or no renewal outcomes.
        WorkflowInvalid: The workflow does not fit the workspace.
    """
    days = sorted(set(dates))
    if not days:
        raise WorkbenchError("The backtest has no run dates.", "Pick a start and an end date.")
    if label_days < 1:
        raise WorkbenchError(
            f"label_days is {label_days}.", "Look at least one day ahead for churn (90 is usual)."
        )
    if _outcome_range(con) is None:
        raise WorkbenchError(
            "There are no renewal outcomes to backtest against.", _NO_OUTCOMES_HINT
        )
    say = progress or (lambda _f, _m: None)
    say(0.0, f"Evaluating the workflow as of {len(days)} dates")
    cooldown = wf.guardrails.cooldown_days
    with evaluation(con, wf, days, label_days=label_days) as ev:
        table = ev.table
        say(0.6, "Evaluated; measuring against churn")
        cols = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()}
        per_date = _per_date(con, table, days, cooldown)
        events = _events(con, table, per_date, "segment" in cols)
        deciles, auc = _deciles(con, table)
        sql = ev.compiled.sql
        current = current_state_facts(ev.compiled)
    fired = int(per_date["fired"].sum())
    caught_rows = int(per_date["caught"].sum())
    n_events = len(events)
    caught = events[events["caught"].astype(bool)] if n_events else events
    leads = [float(x) for x in caught["lead_time_days"]] if len(caught) else []
    recall = _ratio(len(caught), n_events)
    random_recall = float(events["random_catch_prob"].mean()) if n_events else None
    new_actions = int(per_date["new_actions"].sum())
    weeks = ((days[-1] - days[0]).days + _step_days(days)) / 7
    result = BacktestResult(
        workflow_name=wf.name,
        dates=tuple(days),
        label_days=label_days,
        cooldown_days=cooldown,
        per_date=per_date,
        events=events,
        lift_by_decile=deciles,
        events_total=n_events,
        caught=len(caught),
        recall=recall,
        precision=_ratio(caught_rows, fired),
        base_rate=_ratio(
            float(per_date["churners_ahead"].sum()), float(per_date["eligible"].sum())
        ),
        median_lead_days=float(median(leads)) if leads else None,
        mean_lead_days=float(np.mean(leads)) if leads else None,
        new_actions=new_actions,
        weeks=weeks,
        actions_per_week=new_actions / weeks,
        caught_arr=float(caught["arr"].fillna(0).sum()) if len(caught) else 0.0,
        random_recall=random_recall,
        lift=_ratio(recall, random_recall) if recall is not None and random_recall else None,
        auc=auc,
        sql=sql,
        current_state=current,
        max_actions_per_run=wf.guardrails.max_actions_per_run,
        labels_complete_until=default_as_of(con) - timedelta(days=label_days),
    )
    say(1.0, "Backtest done")
    return result


# --- workbook -----------------------------------------------------------------------------
