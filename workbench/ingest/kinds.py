"""Dataset kinds and their canonical columns.

Each kind is one table in the workspace. A canonical column has a type, whether
it is required, and the header names exports commonly use for it (Gainsight,
Salesforce, HubSpot, Zendesk, Intercom, Totango, ChurnZero). Columns a file has
beyond these are kept as extra columns, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.errors import NotFound

ColumnType = Literal["text", "integer", "number", "date", "timestamp", "boolean", "category"]


@dataclass(frozen=True)
class Column:
    """A canonical column of a dataset kind.

    Attributes:
        name: Canonical column name in the workspace table.
        type: How values are parsed; ``category`` is text checked for spelling variants.
        required: Whether an import without it is blocked.
        synonyms: Header names that mean this column (matched case- and punctuation-insensitively).
        description: One line shown in the mapping editor.
    """

    name: str
    type: ColumnType
    required: bool = False
    synonyms: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class DatasetKind:
    """A kind of export the workbench understands.

    Attributes:
        name: Kind name, also the table name in the workspace.
        label: Human label.
        columns: Canonical columns in display order.
        key: Columns that together must be unique per row (empty: no key).
        description: What a file of this kind holds.
    """

    name: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise NotFound(f"Kind '{self.name}' has no column '{name}'.")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


_ACCOUNT_ID = (
    "account id",
    "accountid",
    "account",
    "customer id",
    "customerid",
    "company id",
    "org id",
    "organization id",
    "sfdc account id",
    "salesforce account id",
    "gsid",
    "account number",
    "client id",
)

ACCOUNTS = DatasetKind(
    name="accounts",
    label="Accounts",
    description="One row per customer account: the book of business.",
    key=("account_id",),
    columns=(
        Column("account_id", "text", True, _ACCOUNT_ID, "Unique account identifier"),
        Column(
            "account_name",
            "text",
            False,
            (
                "account name",
                "name",
                "customer name",
                "company name",
                "organization name",
                "company",
                "customer",
                "organization",
                "client",
            ),
            "Display name",
        ),
        Column(
            "segment",
            "category",
            False,
            ("segment", "tier", "customer tier", "customer segment", "account tier", "size"),
            "SMB / Mid-Market / Enterprise",
        ),
        Column(
            "arr",
            "number",
            False,
            (
                "arr",
                "annual recurring revenue",
                "arr usd",
                "contract value",
                "acv",
                "annual contract value",
                "mrr x12",
            ),
            "Annual recurring revenue",
        ),
        Column(
            "csm_owner",
            "category",
            False,
            ("csm", "csm owner", "csm name", "owner", "account owner", "customer success manager"),
            "Assigned CSM",
        ),
        Column(
            "renewal_date",
            "date",
            False,
            ("renewal date", "renewal", "contract end date", "contract end", "next renewal"),
            "Next renewal date",
        ),
        Column(
            "industry",
            "category",
            False,
            ("industry", "vertical", "sector"),
            "Industry",
        ),
        Column(
            "region",
            "category",
            False,
            ("region", "geo", "territory", "country"),
            "Region or territory",
        ),
        Column(
            "start_date",
            "date",
            False,
            ("customer since", "start date", "contract start", "created date", "signup date"),
            "Customer since",
        ),
        Column(
            "seats",
            "integer",
            False,
            ("seats", "licenses", "licensed seats", "purchased seats"),
            "Licensed seats",
        ),
    ),
)

USAGE = DatasetKind(
    name="usage",
    label="Product usage",
    description="Usage metrics per account per day or week.",
    key=("account_id", "date"),
    columns=(
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "date",
            "date",
            True,
            (
                "date",
                "week",
                "week start",
                "week of",
                "period",
                "day",
                "usage date",
                "snapshot date",
            ),
            "Day or week start",
        ),
        Column(
            "active_users",
            "integer",
            False,
            ("active users", "wau", "dau", "mau", "weekly active users", "users active"),
            "Active users in the period",
        ),
        Column(
            "logins",
            "integer",
            False,
            ("logins", "sessions", "login count", "session count"),
            "Logins or sessions",
        ),
        Column(
            "feature_events",
            "integer",
            False,
            ("events", "feature events", "feature usage", "key events", "actions"),
            "Key feature events",
        ),
    ),
)

TICKETS = DatasetKind(
    name="tickets",
    label="Support tickets",
    description="Support tickets (Zendesk, Intercom, Salesforce Service Cloud).",
    key=("ticket_id",),
    columns=(
        Column(
            "ticket_id",
            "text",
            True,
            ("ticket id", "ticket", "id", "case id", "case number", "ticket number"),
            "Ticket identifier",
        ),
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "opened_at",
            "timestamp",
            True,
            ("opened", "created", "created at", "opened at", "date opened", "created date"),
            "When the ticket was opened",
        ),
        Column(
            "closed_at",
            "timestamp",
            False,
            ("closed", "closed at", "solved at", "resolved at", "date closed", "solved"),
            "When it was closed (empty if open)",
        ),
        Column("priority", "category", False, ("priority", "severity", "urgency"), "P1..P4"),
        Column(
            "status",
            "category",
            False,
            ("status", "state", "ticket status"),
            "open, pending, solved...",
        ),
        Column(
            "csat",
            "number",
            False,
            ("csat", "satisfaction", "satisfaction score", "csat score", "rating"),
            "CSAT for the ticket (1-5)",
        ),
        Column(
            "subject",
            "text",
            False,
            ("subject", "title", "summary"),
            "Ticket subject",
        ),
        Column(
            "description",
            "text",
            False,
            ("description", "body", "text", "comment", "details"),
            "Ticket text",
        ),
    ),
)

SURVEYS = DatasetKind(
    name="surveys",
    label="NPS / CSAT surveys",
    description="Survey responses with score and comment.",
    key=("response_id",),
    columns=(
        Column(
            "response_id",
            "text",
            False,
            ("response id", "response", "survey response id", "id"),
            "Response identifier",
        ),
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "responded_at",
            "date",
            True,
            ("date", "responded at", "response date", "submitted", "submitted at", "survey date"),
            "When the response was given",
        ),
        Column(
            "survey_type",
            "category",
            False,
            ("survey type", "type", "survey"),
            "NPS or CSAT",
        ),
        Column(
            "score",
            "number",
            True,
            ("score", "nps", "nps score", "rating", "likelihood to recommend", "csat"),
            "0-10 for NPS, 1-5 for CSAT",
        ),
        Column(
            "comment",
            "text",
            False,
            ("comment", "comments", "feedback", "verbatim", "reason", "why"),
            "Free-text comment",
        ),
        Column(
            "contact_email",
            "text",
            False,
            ("email", "contact email", "respondent email", "respondent"),
            "Who answered",
        ),
    ),
)

OUTCOMES = DatasetKind(
    name="outcomes",
    label="Renewal outcomes",
    description="Historical renewals: renewed or churned, and expansion.",
    key=("account_id", "renewal_date"),
    columns=(
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "renewal_date",
            "date",
            True,
            ("renewal date", "renewal", "close date", "contract end date", "date"),
            "Renewal date",
        ),
        Column(
            "outcome",
            "category",
            True,
            ("outcome", "result", "status", "renewal status", "stage", "renewed"),
            "renewed / churned / downgraded",
        ),
        Column(
            "arr_before",
            "number",
            False,
            ("arr before", "prior arr", "previous arr", "starting arr"),
            "ARR before renewal",
        ),
        Column(
            "arr_after",
            "number",
            False,
            ("arr after", "new arr", "renewed arr", "ending arr"),
            "ARR after renewal",
        ),
        Column(
            "expansion_arr",
            "number",
            False,
            ("expansion", "expansion arr", "upsell", "upsell arr", "net expansion"),
            "Expansion ARR",
        ),
        Column(
            "churn_reason",
            "text",
            False,
            ("churn reason", "reason", "loss reason"),
            "Why it churned",
        ),
    ),
)

ACTIVITY = DatasetKind(
    name="activity",
    label="CSM activity",
    description="Calls, meetings, emails and QBRs logged by CSMs.",
    key=(),
    columns=(
        Column(
            "activity_id",
            "text",
            False,
            ("activity id", "id", "task id", "event id"),
            "Activity identifier",
        ),
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "date",
            "date",
            True,
            ("date", "activity date", "completed", "completed date", "due date", "timestamp"),
            "When it happened",
        ),
        Column(
            "activity_type",
            "category",
            False,
            ("type", "activity type", "task type", "event type", "channel"),
            "call, meeting, email, QBR...",
        ),
        Column(
            "owner",
            "category",
            False,
            ("owner", "csm", "assigned to", "user", "logged by"),
            "Who did it",
        ),
        Column("notes", "text", False, ("notes", "description", "subject", "summary"), "Notes"),
    ),
)

METRICS = DatasetKind(
    name="metrics",
    label="Outcome metrics",
    description=(
        "Any numeric or yes/no outcome per account (time to first response, CSAT, "
        "expansion...), wide: one column per metric."
    ),
    # No key: a wide file may repeat an account (one row per measurement) and
    # measured_at is optional, so there is nothing every file can be unique on.
    key=(),
    columns=(
        Column("account_id", "text", True, _ACCOUNT_ID, "Account identifier"),
        Column(
            "measured_at",
            "date",
            False,
            (
                "measured at",
                "measured on",
                "measurement date",
                "date",
                "as of",
                "as of date",
                "snapshot date",
                "period end",
            ),
            "When the outcome was measured (a row without it counts in any window)",
        ),
    ),
)

KINDS: dict[str, DatasetKind] = {
    k.name: k for k in (ACCOUNTS, USAGE, TICKETS, SURVEYS, OUTCOMES, ACTIVITY, METRICS)
}


def get_kind(name: str) -> DatasetKind:
    """Return the kind called ``name``.

    Raises:
        NotFound: with the list of kinds when the name is unknown.
    """
    try:
        return KINDS[name]
    except KeyError:
        raise NotFound(
            f"Unknown dataset kind '{name}'.",
            f"Use one of: {', '.join(KINDS)}.",
        ) from None
