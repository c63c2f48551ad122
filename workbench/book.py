"""A summary of the book of business for the overview page (and `workbench tables`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from workbench.workflow.facts import default_as_of, table_columns


@dataclass(frozen=True)
class BookSummary:
    """Headline figures and small frames for charts; None where a table is missing."""

    as_of: date
    accounts: int
    total_arr: float
    renewing_90d: int
    renewing_90d_arr: float
    arr_by_segment: pd.DataFrame
    renewals_by_month: pd.DataFrame
    usage_by_week: pd.DataFrame | None
    open_tickets_by_priority: pd.DataFrame | None


def book_summary(con: duckdb.DuckDBPyConnection) -> BookSummary | None:
    """Headline figures, or None when there is no accounts table with the needed columns."""
    cols = table_columns(con)

    def has(table: str, *columns: str) -> bool:
        return set(columns) <= cols.get(table, {}).keys()

    if not has("accounts", "account_id", "segment", "arr", "renewal_date"):
        return None
    as_of = default_as_of(con)
    head = con.execute(
        "SELECT count(*), coalesce(sum(arr), 0), "
        "count(*) FILTER (WHERE renewal_date BETWEEN ? AND ? + INTERVAL 90 DAY), "
        "coalesce(sum(arr) FILTER (WHERE renewal_date BETWEEN ? AND ? + INTERVAL 90 DAY), 0) "
        "FROM accounts",
        [as_of, as_of, as_of, as_of],
    ).fetchall()[0]
    by_segment = con.execute(
        "SELECT coalesce(segment, '(none)') AS segment, count(*) AS accounts, sum(arr) AS arr "
        "FROM accounts GROUP BY 1 ORDER BY arr DESC"
    ).df()
    renewals = con.execute(
        "SELECT date_trunc('month', renewal_date)::DATE AS month, coalesce(segment, '(none)') AS segment, "
        "count(*) AS accounts, sum(arr) AS arr FROM accounts "
        "WHERE renewal_date BETWEEN ? AND ? + INTERVAL 365 DAY GROUP BY ALL ORDER BY 1",
        [as_of, as_of],
    ).df()
    usage = None
    if has("usage", "date", "active_users"):
        usage = con.execute(
            "SELECT date AS week, sum(active_users) AS active_users FROM usage GROUP BY 1 ORDER BY 1"
        ).df()
    tickets = None
    if has("tickets", "priority", "closed_at"):
        tickets = con.execute(
            "SELECT coalesce(priority, '(none)') AS priority, count(*) AS open_tickets FROM tickets "
            "WHERE closed_at IS NULL GROUP BY 1 ORDER BY 1"
        ).df()
    return BookSummary(
        as_of=as_of,
        accounts=int(head[0]),
        total_arr=float(head[1]),
        renewing_90d=int(head[2]),
        renewing_90d_arr=float(head[3]),
        arr_by_segment=by_segment,
        renewals_by_month=renewals,
        usage_by_week=usage,
        open_tickets_by_priority=tickets,
    )
