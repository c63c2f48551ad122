"""Seeded generator of the sample book of business.

Every account has a latent risk per contract year. The risk drives what the
exports show (a usage decline that starts months before the renewal, more and
more severe tickets, lower NPS, a CSM who stopped calling) and, through a
logistic model, whether the account churned at its last renewal. Signals are
dated before the renewal they foreshadow, so a backtest "as of renewal minus
90 days" can see them.

Only ``random.Random(seed)`` and ``numpy.random.default_rng(seed)`` are used,
so the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

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


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
_SEG_P = (0.60, 0.28, 0.12)
_SEG_ARR = ((13_000, 0.55, 5_000, 40_000), (85_000, 0.45, 40_000, 200_000),
            (420_000, 0.55, 200_000, 1_500_000))  # (median, sigma, low, high)  # fmt: skip
_SEG_PRICE = ((450, 900), (350, 700), (250, 550))  # per seat per year
_SEG_SHIFT = (0.2, 0.0, -0.3)  # latent risk offset: SMB churns more
_SEG_PLANS = (("Starter", "Growth"), ("Growth", "Business"), ("Enterprise",))
_SEG_TICKETS = (0.032, 0.072, 0.16)  # tickets per week at neutral risk
_SEG_TOUCHES = (0.07, 0.18, 0.38)  # unscheduled CSM touches per week
_SEG_CONTACTS = (2, 3, 5)
_SEG_NPS = (0.28, 0.35, 0.5)  # chance an account answers a wave
CSMS = (
    (
        "Priya Raman",
        "Marcus Bell",
        "Sofia Alvarez",
        "Tom Okafor",
        "Hannah Lindqvist",
        "Diego Moreno",
    ),
    ("Aisha Khan", "Ben Carter", "Lena Fischer", "Ravi Patel", "Chloe Dubois"),
    ("Daniel Kim", "Olivia Grant", "Jonas Weber"),
)
_INDUSTRIES = {
    "Software": "Software Labs Systems Digital Cloud Data Analytics Technologies",
    "Financial Services": "Capital Financial Partners Lending Insurance Payments Wealth",
    "Healthcare": "Health Medical Care Clinics Diagnostics Therapeutics Dental",
    "Manufacturing": "Manufacturing Industries Components Fabrication Machining Plastics Metals",
    "Retail": "Retail Outfitters Market Goods Supply Brands Home",
    "Education": "Learning Academy Education Schools Tutoring College",
    "Logistics": "Logistics Freight Shipping Transport Fleet Cargo",
    "Media": "Media Studios Publishing Creative Broadcasting Pictures",
    "Professional Services": "Consulting Advisors Legal Group Associates Accounting",
    "Telecommunications": "Telecom Networks Communications Wireless Fiber",
    "Energy": "Energy Power Solar Utilities Renewables",
    "Hospitality": "Hotels Hospitality Travel Resorts Kitchens",
}
_INDUSTRY_P = (0.18, 0.12, 0.11, 0.11, 0.09, 0.07, 0.07, 0.06, 0.08, 0.04, 0.04, 0.03)
_PREFIXES = _words(
    "Acme Apex Arbor Argent Aster Atlas Aurora Beacon Birch Bluebird Bright Brook Cascade Cedar "
    "Clearwater Cobalt Copper Coral Crest Crown Cypress Delta Driftwood Eagle Echo Ember Evergreen "
    "Falcon Fern Fjord Forge Granite Greenfield Harbor Hawk Helix Horizon Indigo Ironwood Juniper "
    "Keystone Lakeside Lantern Legacy Linden Lumen Maple Meridian Mesa Metro Northwind Nova Oakridge "
    "Onyx Orbit Pacific Peak Pinecrest Pioneer Polaris Prairie Quartz Radiant Raven Redwood Ridge "
    "Riverbend Rockport Sable Sage Sierra Silverline Skyline Slate Solstice Spruce Stonegate Summit "
    "Sunrise Swift Terra Tidewater Timber Trueline Union Valley Vantage Vector Verde Vista Westbrook "
    "Willow Zenith"
)
_REGIONS = ("North America", "EMEA", "APAC", "LATAM")
_REGION_P = (0.5, 0.3, 0.12, 0.08)
_LEGAL = (("", "", " Inc.", " LLC", " Corp."), ("", " Ltd", " GmbH", " BV", " SAS", " AB"),
          ("", " Pty Ltd", " Pte Ltd", " KK"), ("", " S.A.", " Ltda."))  # fmt: skip
_FIRST = _words(
    "James Mary Ahmed Mei Carlos Fatima Liam Emma Noah Olivia Raj Ana Yuki Lucas Chen Amara Ethan "
    "Zoe Mateo Ingrid Omar Leila Kenji Grace Samuel Nina Victor Elena Kwame Sara Felix Maya Arjun "
    "Laura Hugo Nadia Pedro Alice Tariq Julia Oscar Rosa Ivan Hana Daniel Claire Musa Sofia Erik Lina"
)
_LAST = _words(
    "Smith Johnson Nguyen Garcia Muller Rossi Tanaka Silva Kowalski Brown Singh Haddad Dubois Jensen "
    "Okoye Martin Lopez Schmidt Wang Ali Novak Costa Fischer Murphy Chen Larsen Ibrahim Moreau Kim "
    "Andersen Petrov Santos Ward Becker Sato Reyes Hughes Nakamura Mensah Bauer Clarke Ortiz Weiss"
)
_ROLES = ("Admin", "Champion", "End User", "Executive Sponsor", "Team Lead")
_DEPTS = ("sales", "support", "finance", "operations", "marketing", "customer success")
_FEATURES = ("workflow builder", "dashboards", "scheduled reports", "Salesforce integration",
             "audit log", "mobile app", "API")  # fmt: skip

# (product area, priority-1 capable, subjects, descriptions)
_TICKET_TOPICS: tuple[tuple[str, bool, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Authentication", True,
     ("Users can't log in with SSO", "SSO login loop after IdP change", "Password reset emails not arriving"),
     ("Since this morning several users are sent back to the login page after signing in with {idp}. Nothing changed on our side, can you check?",
      "Hi team,\n\nAfter we rotated the SAML certificate in {idp}, nobody can sign in. The error says \"Invalid SAML response\".\n\nThis blocks {n} people, please treat as urgent.",
      "Password reset emails never arrive for {first}, or for two other users. Checked spam, nothing there.")),
    ("Integrations", True,
     ("{integration} sync failing", "Duplicate records after {integration} sync", "{integration} integration stopped syncing"),
     ("The {integration} sync has failed since {weekday}. Last good run was {n} days ago, and the log only says \"timeout\".",
      "We see duplicate contacts after the nightly {integration} sync, about {m} records so far.\nSteps:\n1. Run the sync manually\n2. Open the Contacts list\n3. Filter on \"created today\"",
      "Fields mapped to {integration} come through empty since the last release, so our reps work from stale data.")),
    ("Reporting", False,
     ("Dashboards very slow to load", "Report times out", "Numbers on dashboard don't match export"),
     ("Dashboards take 30+ seconds to load for the {dept} team. It was fine last month. Browser: {browser}.",
      "The \"Monthly summary\" report times out whenever we pick more than 90 days. We need it for the board pack, so any workaround helps.",
      "The total on the dashboard says {m}, the CSV export says {n}. Which one is right?")),
    ("Billing", False,
     ("Question about our invoice", "Wrong number of seats billed", "Update billing contact"),
     ("Our latest invoice shows {m} seats, but we only have {n} active users. Can you check the seat count, and send a corrected invoice?",
      "Please update the billing contact to our new finance lead, and add our PO number to future invoices.",
      "We were charged twice this month, see invoice attached. Please refund the duplicate.")),
    ("Data export", False,
     ("CSV export missing columns", "Need a full data export"),
     ("When exporting to CSV, the \"Owner\" and \"Region\" columns are empty, even though they show in the app.",
      "Our legal team asked for a full export of our data, including attachments. What is the process, and how long does it take?")),
    ("Workflows", True,
     ("Error when saving a workflow", "Notifications sent twice", "Automation stopped running"),
     ("Getting \"Something went wrong (code 500)\" when saving a workflow with more than {n} steps. Happens every time.",
      "Users get every notification twice since the last release. Example: task assigned to {first} at 10:02, emails at 10:02 and 10:03.",
      "Our escalation automation has not fired since {weekday}, so {m} cases were never routed.\n\nWe rely on this for SLAs. Please advise ASAP.")),
    ("API", False,
     ("Question about API rate limits", "API returns 401 with a valid token"),
     ("Our nightly job hits the API rate limit ({m} requests/min). Can it be raised, or should we batch differently?",
      "Calls to /v2/records return 401 although the token is valid and was created by an admin, {first}.")),
    ("Platform", True,
     ("App not loading", "Platform down?", "Very slow since this morning"),
     ("Nobody on our team can load the app, we get a blank page. Is there an outage? This affects the whole {dept} team.",
      "Everything is extremely slow since about 9am, pages take a minute or time out. Status page says all green?")),
    ("Onboarding", False,
     ("Training for new team", "How do I set up user roles?", "Bulk import users"),
     ("We're adding {n} people in {dept} next month. Can we schedule a training, and is there a recorded version?",
      "How can team leads edit their own team's dashboards, but not anyone else's?",
      "We want to bulk import {m} users from a spreadsheet. Is there a template?")),
    ("Feature request", False,
     ("Feature request: custom fields on reports", "Request: Slack notifications"),
     ("It would help a lot if scheduled reports could include custom fields. Today we export, edit in Excel, and resend every week.",
      "Could alerts go to a Slack channel instead of email? Our {dept} team lives in Slack.")),
)  # fmt: skip
_IDPS = ("Okta", "Azure AD", "Google Workspace", "OneLogin")
_INTEGRATIONS = ("Salesforce", "HubSpot", "Slack", "Jira", "NetSuite", "Snowflake")
_BROWSERS = ("Chrome 129", "Edge 128", "Safari 17", "Firefox 131")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

_NPS_PROMOTER = (
    "Great product, our team uses it every day.", "Support is fast and friendly.",
    "Saves us hours every week on reporting.", "Easy to roll out; onboarding was excellent.",
    "Our CSM is fantastic, always one step ahead.", "Reliable, and the Salesforce integration just works.",
    "Love the dashboards and the new workflow builder.", "Does exactly what we need, no fuss.",
)  # fmt: skip
_NPS_PASSIVE = (
    "Good overall, but reporting could be more flexible.", "Solid tool; pricing is getting steep for us.",
    "Works fine. Would like better mobile support.", "Decent, although the UI feels dated in places.",
    "Useful, but it took a while to get the team on board.", "Mostly good. Exports are clunky.",
)  # fmt: skip
_NPS_DETRACTOR = (
    "Dashboards are painfully slow, and support takes days to respond.",
    "We've had outages this quarter. Hard to trust it for month-end.",
    "The HubSpot sync keeps breaking and we lose data.", "Too expensive for what we actually use.",
    "Missing basic features like custom fields on reports.",
    "Since our champion left nobody owns the tool; adoption has dropped.",
    "SSO issues every other week, our users are frustrated.",
    "Support tickets sit in \"pending\" forever.",
    "Hard to use, most of my team went back to spreadsheets.",
)  # fmt: skip
_NOTES = {
    "Email": ("Sent follow-up on open questions from last call.", "Shared release notes and the {feature} guide.",
              "Checked in on open tickets, offered a call.", "Sent usage summary for last month."),
    "Call": ("Check-in call with {contact}; no blockers.", "Discussed adoption in the {dept} team; agreed next steps.",
             "Walked {contact} through the {feature}."),
    "Meeting": ("Training session for {n} new users.", "Workshop on the {feature} with the admin team.",
                "Onsite visit; met the {dept} team."),
    "QBR": ("QBR: reviewed usage, goals for next quarter and open tickets.",
            "QBR with {contact}; healthy, exploring expansion to {dept}."),
    "EBR": ("EBR with executive sponsor; renewal and roadmap discussed.",),
}  # fmt: skip
_RISK_NOTES = (
    "Usage is dropping; {contact} says the team is stretched. Proposed re-onboarding.",
    "Follow-up on escalated ticket; customer frustrated with response times.",
    "Champion {contact} is leaving; need a new sponsor.",
    "Customer asked about contract terms and notice period.",
)
_CHURN_REASONS = ("Low adoption", "Champion left", "Poor support experience",
                  "Product gaps (missing integrations)", "Moved to competitor", "Budget cuts",
                  "Company acquired")  # fmt: skip
_DOWNGRADE_REASONS = ("Seat reduction after layoffs", "Moved to a lower plan", "Budget cuts",
                      "Consolidated teams")  # fmt: skip


@dataclass
class _Period:
    """One contract year: its risk and the episodes that risk set off."""

    end: int  # renewal day (ordinal)
    risk: float
    decline_onset: int | None = None
    decline_rate: float = 0.0
    neglect_from: int | None = None


@dataclass
class _Account:
    id: str
    name: str
    slug: str
    segment: int
    industry: str
    region: str
    csm: str
    plan: str
    start: int
    renewal_next: int
    renewal_prev: int | None
    arr: int  # contract ARR of the earliest contract year in view
    seats: int
    adoption: float
    prev: _Period | None
    next: _Period
    contacts: list[tuple[str, str, str]]
    outcome: str | None = None
    arr_after: int = 0
    seats_after: int = 0
    reason: str = ""
    usage_params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def end(self, as_of: int) -> int:
        """First day without data: the churn date, or the export date."""
        return self.renewal_prev if self.outcome == "Churned" and self.renewal_prev else as_of


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _b62(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        out = digits[r] + out
    return out


def _round_to(x: float, step: int) -> int:
    return int(round(x / step) * step)


def _period(rng: np.random.Generator, end: int, risk: float) -> _Period:
    p = _Period(end=end, risk=risk)
    if rng.random() < _sigmoid(-2.0 + 1.8 * risk):
        p.decline_onset = end - int(rng.integers(110, 231))
        p.decline_rate = float(rng.uniform(0.06, 0.14))
    if rng.random() < _sigmoid(-2.2 + 1.3 * risk):
        p.neglect_from = end - int(rng.integers(150, 301))
    return p


def _make_accounts(
    rng: np.random.Generator, rnd: random.Random, n: int, as_of: date
) -> list[_Account]:
    industries = list(_INDUSTRIES)
    used: set[str] = set()
    accounts = []
    for i in range(1, n + 1):
        seg = int(rng.choice(3, p=_SEG_P))
        industry = industries[int(rng.choice(len(industries), p=_INDUSTRY_P))]
        region_i = int(rng.choice(4, p=_REGION_P))
        words = _words(_INDUSTRIES[industry])
        base = f"{rnd.choice(_PREFIXES)} {rnd.choice(words)}"
        for _ in range(200):
            if base not in used:
                break
            base = f"{rnd.choice(_PREFIXES)} {rnd.choice(words)}"
        else:
            base = f"{rnd.choice(_PREFIXES)} {rnd.choice(_PREFIXES)} {rnd.choice(words)}"
            while base in used:
                base = f"{base} {i}"
        used.add(base)
        median, sigma, low, high = _SEG_ARR[seg]
        arr = float(np.clip(median * math.exp(sigma * rng.normal()), low, high))
        arr_i = _round_to(arr, 100 if seg == 0 else 1000)
        seats = max(3, round(arr_i / rng.uniform(*_SEG_PRICE[seg])))
        tenure = int(rng.choice(7, p=(0.25, 0.25, 0.17, 0.12, 0.09, 0.07, 0.05))) + 1
        renewal = as_of + timedelta(days=int(rng.integers(1, 366)))
        base_risk = rng.normal()
        risks = [_SEG_SHIFT[seg] + 0.75 * base_risk + 0.66 * rng.normal() for _ in range(2)]
        prev_end = _years_before(renewal, 1).toordinal()
        prev = _period(rng, prev_end, risks[0]) if tenure > 1 else None
        nxt = _period(rng, renewal.toordinal(), risks[1] + (0.2 if tenure == 1 else 0.0))
        names: list[tuple[str, str, str]] = []
        while len(names) < _SEG_CONTACTS[seg]:
            first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
            if all(first != f or last != la for f, la, _ in names):
                names.append((first, last, _ROLES[len(names) % len(_ROLES)]))
        accounts.append(
            _Account(
                id=f"ACC-{i:05d}",
                name=base + rnd.choice(_LEGAL[region_i]),
                slug=re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-"),
                segment=seg,
                industry=industry,
                region=_REGIONS[region_i],
                csm=rnd.choice(CSMS[seg]),
                plan=rnd.choice(_SEG_PLANS[seg]),
                start=_years_before(renewal, tenure).toordinal(),
                renewal_next=renewal.toordinal(),
                renewal_prev=prev_end if tenure > 1 else None,
                arr=arr_i,
                seats=seats,
                adoption=float(np.clip(0.72 - 0.08 * base_risk + rng.normal(0, 0.1), 0.2, 0.97)),
                prev=prev,
                next=nxt,
                contacts=names,
                usage_params=(
                    float(rng.uniform(2.5, 6.0)),  # logins per active user per week
                    float(rng.uniform(4.0, 15.0)),  # feature events per login
                    float(rng.uniform(0.2, 1.5)),  # storage GB per seat
                    float(rng.normal(0.05, 0.08)),  # yearly usage trend
                ),
            )
        )
    return accounts


def _decide_outcomes(
    rng: np.random.Generator, rnd: random.Random, accounts: list[_Account]
) -> None:
    for a in accounts:
        a.arr_after, a.seats_after = a.arr, a.seats
        if a.prev is None:
            continue
        z = a.prev.risk
        if rng.random() < _sigmoid(-2.85 + 1.5 * z):
            a.outcome, a.arr_after, a.seats_after = "Churned", 0, 0
            weights = [
                1 + 4 * (a.prev.decline_onset is not None),
                0.5 + 3 * (a.prev.neglect_from is not None),
                0.5 + max(z, 0),
                1 + max(z, 0),
                1.0,
                1.0,
                0.4,
            ]
            a.reason = rnd.choices(_CHURN_REASONS, weights)[0]
        elif rng.random() < _sigmoid(-2.6 + 0.7 * z):
            ratio = float(rng.uniform(0.5, 0.85))
            a.outcome = "Downgraded"
            a.arr_after = _round_to(a.arr * ratio, 10)
            a.seats_after = max(1, round(a.seats * ratio))
            a.reason = rnd.choice(_DOWNGRADE_REASONS)
        else:
            a.outcome = "Renewed"
            if rng.random() < _sigmoid(-1.0 - 0.8 * z):
                growth = float(rng.uniform(0.08, 0.6))
                a.seats_after = round(a.seats * (1 + growth))
            else:
                growth = float(rng.choice([0.0, rng.uniform(0.03, 0.07)]))
            growth = min(growth, max(0.0, _SEG_ARR[a.segment][3] / a.arr - 1))  # stay in segment
            a.arr_after = _round_to(a.arr * (1 + growth), 10)


def _decline(p: _Period | None, t: np.ndarray) -> np.ndarray:
    if p is None or p.decline_onset is None:
        return np.ones_like(t, dtype=float)
    weeks = np.maximum(t - p.decline_onset, 0) / 7.0
    return np.maximum(np.exp(-p.decline_rate * weeks), 0.05)


def _state(a: _Account, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usage multiplier, seats, risk and whether the CSM is absent, at days ``t``."""
    nxt = _decline(a.next, t)
    seats = np.full(t.shape, float(a.seats_after))
    risk = np.full(t.shape, a.next.risk)
    nf = a.next.neglect_from
    neglect = (t >= nf) if nf is not None else np.zeros(t.shape, dtype=bool)
    if a.prev is not None and a.renewal_prev is not None:
        in_prev = t <= a.renewal_prev
        m_end = float(_decline(a.prev, np.array([a.renewal_prev]))[0])
        recovery = np.minimum(1.0, m_end + (1 - m_end) * (t - a.renewal_prev) / 42.0)
        mult = np.where(in_prev, _decline(a.prev, t), recovery * nxt)
        seats = np.where(in_prev, float(a.seats), seats)
        risk = np.where(in_prev, a.prev.risk, risk)
        if a.prev.neglect_from is not None:  # the next period's neglect starts after r_prev
            neglect = neglect | (in_prev & (t >= a.prev.neglect_from))
    else:
        mult = nxt
    ramp = np.clip(0.25 + 0.75 * (t - a.start) / 56.0, 0.25, 1.0)
    return mult * ramp, seats, risk, neglect


def _neglected(a: _Account, day: int) -> bool:
    """Whether the CSM had stopped touching the account by ``day`` (scalar ``_state``)."""
    p = a.prev if a.prev is not None and a.renewal_prev and day <= a.renewal_prev else a.next
    return p.neglect_from is not None and day >= p.neglect_from


def _season(days: np.ndarray, industry: str) -> np.ndarray:
    idx = pd.DatetimeIndex(pd.to_datetime(days - date(1970, 1, 1).toordinal(), unit="D"))
    month, day = np.asarray(idx.month), np.asarray(idx.day)
    s = np.where(((month == 12) & (day >= 22)) | ((month == 1) & (day <= 2)), 0.55, 1.0)
    if industry == "Education":
        s = s * np.where((month == 7) | ((month == 8) & (day <= 20)), 0.6, 1.0)
    return s


def _usage(
    rng: np.random.Generator, accounts: list[_Account], weeks: np.ndarray, as_of: int
) -> dict:
    cols: dict[str, list] = {h: [] for h in HEADERS["usage"]}
    for a in accounts:
        w = weeks[(weeks >= a.start - 6) & (weeks < a.end(as_of))]
        if len(w) == 0:
            continue
        mid = w + 3
        mult, seats, _, _ = _state(a, mid)
        lpu, epl, gb_per_seat, trend = a.usage_params
        level = seats * a.adoption * mult * _season(mid, a.industry)
        level *= np.exp(trend * (mid - weeks[0]) / 365.0 + rng.normal(0, 0.08, len(w)))
        users = np.rint(level).astype(np.int64)
        logins = rng.poisson(users * lpu)
        events = rng.poisson(logins * epl)
        age = np.clip((mid - a.start) / 365.0, 0, None)
        storage = np.round(seats * gb_per_seat * (0.3 + 0.7 * np.minimum(age, 1) + 0.1 * age), 1)
        cols["Account ID"] += [a.id] * len(w)
        cols["Week Start"] += list(w)
        cols["Active Users"] += list(users)
        cols["Logins"] += list(logins)
        cols["Feature Events"] += list(events)
        cols["Storage GB"] += list(storage)
    return cols


def _context(rnd: random.Random, a: _Account) -> dict[str, object]:
    """Values for the placeholders of one ticket or note, so subject and text agree."""
    n = rnd.randint(3, 40)
    return {
        "idp": rnd.choice(_IDPS),
        "integration": rnd.choice(_INTEGRATIONS),
        "browser": rnd.choice(_BROWSERS),
        "weekday": rnd.choice(_WEEKDAYS),
        "n": n,
        "m": n + rnd.randint(5, 400),
        "dept": rnd.choice(_DEPTS),
        "first": rnd.choice(a.contacts)[0],
        "contact": rnd.choice(a.contacts)[0],
        "feature": rnd.choice(_FEATURES),
    }


def _tickets(
    rng: np.random.Generator, rnd: random.Random, accounts: list[_Account], h0: int, as_of: int
) -> list[tuple]:
    rows: list[tuple] = []
    p1_topics = [t for t in _TICKET_TOPICS if t[1]]
    export = datetime.fromordinal(as_of)
    weeks = np.arange(h0, as_of, 7)
    for a in accounts:
        mult, _, risk, _ = _state(a, weeks + 3)
        dec = mult < 0.85  # a usage decline (or onboarding) brings tickets
        lam = _SEG_TICKETS[a.segment] * np.exp(0.5 * risk) * (1 + 1.5 * dec)
        for wk, count, z, d in zip(weeks, rng.poisson(lam), risk, dec, strict=True):
            for _ in range(int(count)):
                day = int(wk) + rnd.choices(range(7), (1, 1, 1, 1, 1, 0.3, 0.3))[0]
                if day < a.start or day >= a.end(as_of):
                    continue
                created = datetime.fromordinal(day) + timedelta(
                    hours=rnd.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17, 19)),
                    minutes=rnd.randrange(60),
                    seconds=rnd.randrange(60),
                )
                p1 = _sigmoid(-3.9 + 0.8 * z + 1.0 * d)
                prio = int(rng.choice(4, p=(p1, *((1 - p1) * np.array((0.2, 0.45, 0.35))))))
                topic = rnd.choice(p1_topics if prio == 0 else _TICKET_TOPICS)
                hours = float(np.exp(rng.normal(math.log((6, 24, 60, 120)[prio]), 1.0)))
                if prio == 0 and rng.random() < 0.15:  # stuck escalations
                    hours = float(rng.uniform(240, 960))
                solved: datetime | None = created + timedelta(hours=hours)
                if solved is None or solved >= export:
                    solved, status = None, rnd.choices(("open", "pending"), (0.65, 0.35))[0]
                else:  # Zendesk closes solved tickets after four days
                    status = "closed" if solved + timedelta(days=4) < export else "solved"
                csat = None
                if solved is not None and rng.random() < 0.4:
                    mu = 4.4 - 0.5 * z - 0.5 * (prio == 0) - 0.3 * (hours > 168)
                    csat = int(np.clip(round(rng.normal(mu, 0.8)), 1, 5))
                channel = rnd.choices(
                    ("Email", "Web", "Chat", "Phone"), (45, 30, 15, 10 + 30 * (prio == 0))
                )[0]
                ctx = _context(rnd, a)
                subject = rnd.choice(topic[2]).format_map(ctx)
                text = rnd.choice(topic[3]).format_map(ctx)
                rows.append(
                    (
                        created,
                        a.id,
                        created,
                        solved,
                        f"P{prio + 1}",
                        status,
                        csat,
                        subject,
                        text,
                        channel,
                        topic[0],
                    )
                )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(str(48213 + i), *r[1:]) for i, r in enumerate(rows)]


def _surveys(
    rng: np.random.Generator, rnd: random.Random, accounts: list[_Account], h0: int, as_of: int
) -> list[tuple]:
    waves = [
        date(y, m, 10).toordinal()
        for y in range(date.fromordinal(h0).year, date.fromordinal(as_of).year + 1)
        for m in (1, 4, 7, 10)
    ]
    waves = [w for w in waves if h0 <= w < as_of]
    rows: list[tuple] = []
    used: set[str] = set()
    for a in accounts:
        for wave in waves:
            if not (a.start <= wave < a.end(as_of)) or rng.random() >= _SEG_NPS[a.segment]:
                continue
            k = 1 + int(rng.integers(0, (1, 2, 3)[a.segment]))
            for first, last, role in rnd.sample(a.contacts, min(k, len(a.contacts))):
                day = wave + min(20, int(rng.exponential(4)))
                if day >= a.end(as_of):
                    continue
                mult, _, risk, neglect = (float(x[0]) for x in _state(a, np.array([day])))
                mu = 8.5 - 1.3 * risk - 3.5 * (1 - min(mult, 1.0)) - 0.5 * neglect
                score = int(np.clip(round(rng.normal(mu, 1.5)), 0, 10))
                pool, p_comment = (
                    (_NPS_DETRACTOR, 0.8)
                    if score <= 6
                    else (_NPS_PASSIVE, 0.5)
                    if score <= 8
                    else (_NPS_PROMOTER, 0.45)
                )
                comment = rnd.choice(pool) if rnd.random() < p_comment else None
                rid = "R_" + "".join(
                    rnd.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=15)
                )
                while rid in used:
                    rid += rnd.choice("0123456789")
                used.add(rid)
                email = f"{first}.{last}@{a.slug}.example".lower()
                rows.append((rid, a.id, day, "NPS", score, comment, email, role))
    rows.sort(key=lambda r: (r[2], r[1], r[6]))
    return rows


def _activity(
    rng: np.random.Generator, rnd: random.Random, accounts: list[_Account], h0: int, as_of: int
) -> list[tuple]:
    rows: list[tuple] = []
    weeks = np.arange(h0, as_of, 7)
    durations = {
        "Email": None,
        "Call": (15, 45),
        "Meeting": (30, 60),
        "QBR": (60, 60),
        "EBR": (60, 90),
    }
    for a in accounts:
        end = a.end(as_of)
        events: list[tuple[int, str, str | None]] = []  # (day, type, fixed note)
        mult, _, risk, neglect = _state(a, weeks + 3)
        lam = _SEG_TOUCHES[a.segment] * np.where(neglect, 0.0, np.where(mult < 0.85, 1.3, 1.0))
        for wk, count, m, z in zip(weeks, rng.poisson(lam), mult, risk, strict=True):
            for _ in range(int(count)):
                kind = rnd.choices(("Email", "Call", "Meeting"), (50, 30, 20))[0]
                risky = (m < 0.85 or z > 1.2) and rnd.random() < 0.5
                note = rnd.choice(_RISK_NOTES if risky else _NOTES[kind]).format_map(
                    _context(rnd, a)
                )
                events.append((int(wk) + rnd.randrange(5), kind, note))
        every = (0, 182, 91)[a.segment]
        if every:
            day = a.start + int(rng.integers(20, every))
            while day < end:
                events.append((day, "QBR", None))
                day += every + int(rng.integers(-10, 11))
        for r in (a.renewal_prev, a.renewal_next):
            if r is None:
                continue
            if a.segment == 2:
                events.append((r - int(rng.integers(90, 121)), "EBR", None))
            kickoff = "Renewal kickoff: confirmed stakeholders and timeline."
            events.append(
                (r - int(rng.integers(45, 76)), "Call" if a.segment else "Email", kickoff)
            )
        for day, kind, fixed in events:
            if max(a.start, h0) <= day < end and not _neglected(a, day):
                note = fixed or rnd.choice(_NOTES[kind]).format_map(_context(rnd, a))
                span = durations[kind]
                minutes = (
                    None if span is None else 5 * (int(rng.integers(span[0], span[1] + 1)) // 5)
                )
                rows.append((day, a.id, kind, a.csm, note, minutes))
        if a.outcome == "Churned" and a.renewal_prev is not None and rng.random() < 0.6:
            note = "Customer confirmed they will not renew; agreed offboarding and data export."
            rows.append((a.renewal_prev - int(rng.integers(5, 25)), a.id, "Call", a.csm, note, 30))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[4]))
    return [(f"00T5g{_b62(1_000_000 + i, 10)}", r[1], r[0], *r[2:]) for i, r in enumerate(rows)]


def _health(rng: np.random.Generator, a: _Account, as_of: int) -> int | None:
    if a.outcome == "Churned":
        return None
    mult, _, risk, neglect = (float(x[0]) for x in _state(a, np.array([as_of])))
    x = 1.3 - 1.0 * risk - 3.0 * (1 - min(mult, 1.0)) - 0.6 * neglect + rng.normal(0, 0.3)
    return int(np.clip(round(100 * _sigmoid(x)), 1, 100))


def _dates(days: list[int] | np.ndarray) -> pd.Series:
    arr = np.asarray(days, dtype=np.int64) - date(1970, 1, 1).toordinal()
    return pd.Series(arr.astype("datetime64[D]").astype("datetime64[s]"))


def generate_book(
    seed: int = SEED, n_accounts: int = 2000, as_of: date = AS_OF
) -> dict[str, pd.DataFrame]:
    """Generate the sample book of business.

    Args:
        seed: Seed for all random draws; the same seed gives identical frames.
        n_accounts: Number of accounts in the book.
        as_of: The export date ("today" of the sample); data ends the day before.

    Returns:
        One frame per dataset kind (accounts, usage, tickets, surveys, outcomes,
        activity) whose columns are the export-style headers in ``HEADERS``.
        Accounts that churned at their last renewal stay in ``accounts`` with
        status "Churned", ARR and seats 0 and the churn date as renewal date;
        their usage, tickets, surveys and activity stop at the churn date.
    """
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    accounts = _make_accounts(rng, rnd, n_accounts, as_of)
    _decide_outcomes(rng, rnd, accounts)
    day_before = as_of - timedelta(days=7)
    last_week = (day_before - timedelta(days=day_before.weekday())).toordinal()
    weeks = np.arange(last_week - 7 * (USAGE_WEEKS - 1), last_week + 1, 7)
    h0, today = int(weeks[0]), as_of.toordinal()

    acc = pd.DataFrame(
        {
            "Account ID": [a.id for a in accounts],
            "Account Name": [a.name for a in accounts],
            "Segment": [SEGMENTS[a.segment] for a in accounts],
            "ARR (USD)": [a.arr_after for a in accounts],
            "CSM Owner": [a.csm for a in accounts],
            "Renewal Date": _dates(
                [
                    a.renewal_prev if a.outcome == "Churned" and a.renewal_prev else a.renewal_next
                    for a in accounts
                ]
            ),
            "Industry": [a.industry for a in accounts],
            "Region": [a.region for a in accounts],
            "Customer Since": _dates([a.start for a in accounts]),
            "Seats": [a.seats_after for a in accounts],
            "Plan": [a.plan for a in accounts],
            "Health Score (Gainsight)": pd.array(
                [_health(rng, a, today) for a in accounts], "Int64"
            ),
            "Account Status": ["Churned" if a.outcome == "Churned" else "Active" for a in accounts],
        }
    )
    usage = pd.DataFrame(_usage(rng, accounts, weeks, today))
    usage["Week Start"] = _dates(usage["Week Start"].to_numpy(dtype=np.int64))

    tickets = pd.DataFrame(
        _tickets(rng, rnd, accounts, h0, today), columns=list(HEADERS["tickets"])
    )
    for col in TIMESTAMP_HEADERS:
        tickets[col] = pd.to_datetime(tickets[col]).astype("datetime64[s]")
    tickets["CSAT"] = tickets["CSAT"].astype("Int64")

    surveys = pd.DataFrame(
        _surveys(rng, rnd, accounts, h0, today), columns=list(HEADERS["surveys"])
    )
    surveys["Response Date"] = _dates(surveys["Response Date"].to_numpy(dtype=np.int64))

    act = pd.DataFrame(_activity(rng, rnd, accounts, h0, today), columns=list(HEADERS["activity"]))
    act["Activity Date"] = _dates(act["Activity Date"].to_numpy(dtype=np.int64))
    act["Duration (min)"] = act["Duration (min)"].astype("Int64")

    hist = sorted(
        (a for a in accounts if a.outcome is not None and a.renewal_prev is not None),
        key=lambda a: (a.renewal_prev, a.id),
    )
    out = pd.DataFrame(
        {
            "Account ID": [a.id for a in hist],
            "Renewal Date": [a.renewal_prev for a in hist],
            "Outcome": [a.outcome for a in hist],
            "ARR Before": [a.arr for a in hist],
            "ARR After": [a.arr_after for a in hist],
            "Expansion ARR": [max(0, a.arr_after - a.arr) for a in hist],
            "Churn Reason": [a.reason or None for a in hist],
            "Opportunity ID": [f"0065g{_b62(2_000_000 + i, 10)}" for i in range(len(hist))],
        }
    )
    out["Renewal Date"] = _dates(out["Renewal Date"].to_numpy(dtype=np.int64))
    return {
        "accounts": acc,
        "usage": usage,
        "tickets": tickets,
        "surveys": surveys,
        "outcomes": out,
        "activity": act,
    }


def _csv_bytes(df: pd.DataFrame) -> bytes:
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            fmt = "%Y-%m-%d %H:%M:%S" if col in TIMESTAMP_HEADERS else "%Y-%m-%d"
            df[col] = df[col].dt.strftime(fmt)
    return df.to_csv(index=False, lineterminator="\n", na_rep="").encode("utf-8")


def _xlsx_bytes(df: pd.DataFrame, as_of: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Accounts"
    ws.cell(1, 1, f"Book of business — exported {as_of.isoformat()}").font = Font(
        bold=True, size=13
    )
    for j, header in enumerate(df.columns, start=1):
        ws.cell(3, j, header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = max(12, len(header) + 2)
    ws.column_dimensions["B"].width = 30
    for i, row in enumerate(df.itertuples(index=False), start=4):
        for j, (header, value) in enumerate(zip(df.columns, row, strict=True), start=1):
            if pd.isna(value):
                continue
            if isinstance(value, pd.Timestamp):
                cell = ws.cell(i, j, value.date())
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, np.integer | int):
                cell = ws.cell(i, j, int(value))
                cell.number_format = "#,##0" if header == "ARR (USD)" else "0"
            else:
                ws.cell(i, j, value)
    ws.freeze_panes = "A4"
    ws.auto_filter.ref = f"A3:{get_column_letter(len(df.columns))}{len(df) + 3}"
    stamp = datetime(as_of.year, as_of.month, as_of.day, 6, 0, 0)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.lastModifiedBy = "Bounded sample generator"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    # openpyxl stamps each zip member with the wall clock; pin it so bytes repeat.
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, src.read(info.filename))
    return fixed.getvalue()


def write_sample(
    out_dir: Path, seed: int = SEED, n_accounts: int = 2000, as_of: date = AS_OF
) -> list[Path]:
    """Write the sample files and ``manifest.json`` into ``out_dir``.

    Args:
        out_dir: Folder to write into (created if missing).
        seed: Seed passed to ``generate_book``.
        n_accounts: Number of accounts.
        as_of: The export date.

    Returns:
        The paths written, in import order, ``manifest.json`` last.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = generate_book(seed, n_accounts, as_of)
    paths = []
    for spec in FILES:
        path = out_dir / spec.file
        df = book[spec.kind]
        path.write_bytes(_xlsx_bytes(df, as_of) if spec.sheet else _csv_bytes(df))
        paths.append(path)
    manifest = [
        {"file": f.file, "kind": f.kind, "sheet": f.sheet, "description": f.description}
        for f in FILES
    ]
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths.append(path)
    return paths
