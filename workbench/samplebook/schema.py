"""What the sample looks like from outside: seed, export date, files and their headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SEED = 42
AS_OF = date(2026, 11, 1)
# 82 weeks, not 52: a backtest of the earliest historical renewal (as_of - 365
# days) looks at 16 weeks before renewal - 90 days, which reaches back ~572 days.
USAGE_WEEKS = 82

HEADERS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "Account ID", "Account Name", "Segment", "ARR (USD)", "CSM Owner", "Renewal Date",
        "Industry", "Region", "Customer Since", "Seats",
        "Plan", "Health Score (Gainsight)", "Account Status",
    ),
    "usage": ("Account ID", "Week Start", "Active Users", "Logins", "Feature Events", "Storage GB"),
    "tickets": (
        "Ticket ID", "Account ID", "Created At", "Solved At", "Priority", "Status", "CSAT",
        "Subject", "Description", "Channel", "Product Area",
    ),
    "surveys": (
        "Response ID", "Account ID", "Response Date", "Survey Type", "Score", "Comment",
        "Respondent Email", "Respondent Role",
    ),
    "activity": (
        "Activity ID", "Account ID", "Activity Date", "Activity Type", "Owner", "Notes",
        "Duration (min)",
    ),
    "outcomes": (
        "Account ID", "Renewal Date", "Outcome", "ARR Before", "ARR After", "Expansion ARR",
        "Churn Reason", "Opportunity ID",
    ),
}  # fmt: skip
EXTRA_HEADERS: dict[str, tuple[str, ...]] = {
    "accounts": ("Plan", "Health Score (Gainsight)", "Account Status"),
    "usage": ("Storage GB",),
    "tickets": ("Channel", "Product Area"),
    "surveys": ("Respondent Role",),
    "activity": ("Duration (min)",),
    "outcomes": ("Opportunity ID",),
}
TIMESTAMP_HEADERS = ("Created At", "Solved At")


@dataclass(frozen=True)
class SampleFile:
    """One file of the sample, in import order."""

    file: str
    kind: str
    sheet: str | None
    description: str


FILES: tuple[SampleFile, ...] = (
    SampleFile("accounts.xlsx", "accounts", "Accounts",
               "Book of business: one row per account (title row above the header on row 3)."),
    SampleFile("usage.csv", "usage", None,
               f"Weekly product usage per account, {USAGE_WEEKS} complete weeks up to the export."),
    SampleFile("tickets.csv", "tickets", None,
               "Support tickets (Zendesk-style); descriptions hold commas, quotes and newlines."),
    SampleFile("nps_responses.csv", "surveys", None,
               "Quarterly relationship NPS responses with comments."),
    SampleFile("csm_activity.csv", "activity", None,
               "Calls, meetings, emails, QBRs and EBRs logged by CSMs."),
    SampleFile("renewal_outcomes.csv", "outcomes", None,
               "Renewals in the 12 months before the export: renewed, downgraded or churned."),
)  # fmt: skip
