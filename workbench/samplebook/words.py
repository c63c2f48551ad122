"""Word lists and text templates: names, ticket texts, NPS comments, CSM notes, reasons."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
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
INDUSTRIES = {
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
PREFIXES = _words(
    "Acme Apex Arbor Argent Aster Atlas Aurora Beacon Birch Bluebird Bright Brook Cascade Cedar "
    "Clearwater Cobalt Copper Coral Crest Crown Cypress Delta Driftwood Eagle Echo Ember Evergreen "
    "Falcon Fern Fjord Forge Granite Greenfield Harbor Hawk Helix Horizon Indigo Ironwood Juniper "
    "Keystone Lakeside Lantern Legacy Linden Lumen Maple Meridian Mesa Metro Northwind Nova Oakridge "
    "Onyx Orbit Pacific Peak Pinecrest Pioneer Polaris Prairie Quartz Radiant Raven Redwood Ridge "
    "Riverbend Rockport Sable Sage Sierra Silverline Skyline Slate Solstice Spruce Stonegate Summit "
    "Sunrise Swift Terra Tidewater Timber Trueline Union Valley Vantage Vector Verde Vista Westbrook "
    "Willow Zenith"
)
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
LEGAL = (("", "", " Inc.", " LLC", " Corp."), ("", " Ltd", " GmbH", " BV", " SAS", " AB"),
          ("", " Pty Ltd", " Pte Ltd", " KK"), ("", " S.A.", " Ltda."))  # fmt: skip
FIRST = _words(
    "James Mary Ahmed Mei Carlos Fatima Liam Emma Noah Olivia Raj Ana Yuki Lucas Chen Amara Ethan "
    "Zoe Mateo Ingrid Omar Leila Kenji Grace Samuel Nina Victor Elena Kwame Sara Felix Maya Arjun "
    "Laura Hugo Nadia Pedro Alice Tariq Julia Oscar Rosa Ivan Hana Daniel Claire Musa Sofia Erik Lina"
)
LAST = _words(
    "Smith Johnson Nguyen Garcia Muller Rossi Tanaka Silva Kowalski Brown Singh Haddad Dubois Jensen "
    "Okoye Martin Lopez Schmidt Wang Ali Novak Costa Fischer Murphy Chen Larsen Ibrahim Moreau Kim "
    "Andersen Petrov Santos Ward Becker Sato Reyes Hughes Nakamura Mensah Bauer Clarke Ortiz Weiss"
)
ROLES = ("Admin", "Champion", "End User", "Executive Sponsor", "Team Lead")
DEPTS = ("sales", "support", "finance", "operations", "marketing", "customer success")
FEATURES = ("workflow builder", "dashboards", "scheduled reports", "Salesforce integration",
             "audit log", "mobile app", "API")  # fmt: skip

# (product area, priority-1 capable, subjects, descriptions)
TICKET_TOPICS: tuple[tuple[str, bool, tuple[str, ...], tuple[str, ...]], ...] = (
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
IDPS = ("Okta", "Azure AD", "Google Workspace", "OneLogin")
INTEGRATIONS = ("Salesforce", "HubSpot", "Slack", "Jira", "NetSuite", "Snowflake")
BROWSERS = ("Chrome 129", "Edge 128", "Safari 17", "Firefox 131")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

NPS_PROMOTER = (
    "Great product, our team uses it every day.", "Support is fast and friendly.",
    "Saves us hours every week on reporting.", "Easy to roll out; onboarding was excellent.",
    "Our CSM is fantastic, always one step ahead.", "Reliable, and the Salesforce integration just works.",
    "Love the dashboards and the new workflow builder.", "Does exactly what we need, no fuss.",
)  # fmt: skip
NPS_PASSIVE = (
    "Good overall, but reporting could be more flexible.", "Solid tool; pricing is getting steep for us.",
    "Works fine. Would like better mobile support.", "Decent, although the UI feels dated in places.",
    "Useful, but it took a while to get the team on board.", "Mostly good. Exports are clunky.",
)  # fmt: skip
NPS_DETRACTOR = (
    "Dashboards are painfully slow, and support takes days to respond.",
    "We've had outages this quarter. Hard to trust it for month-end.",
    "The HubSpot sync keeps breaking and we lose data.", "Too expensive for what we actually use.",
    "Missing basic features like custom fields on reports.",
    "Since our champion left nobody owns the tool; adoption has dropped.",
    "SSO issues every other week, our users are frustrated.",
    "Support tickets sit in \"pending\" forever.",
    "Hard to use, most of my team went back to spreadsheets.",
)  # fmt: skip
NOTES = {
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
RISK_NOTES = (
    "Usage is dropping; {contact} says the team is stretched. Proposed re-onboarding.",
    "Follow-up on escalated ticket; customer frustrated with response times.",
    "Champion {contact} is leaving; need a new sponsor.",
    "Customer asked about contract terms and notice period.",
)
CHURN_REASONS = ("Low adoption", "Champion left", "Poor support experience",
                  "Product gaps (missing integrations)", "Moved to competitor", "Budget cuts",
                  "Company acquired")  # fmt: skip
DOWNGRADE_REASONS = ("Seat reduction after layoffs", "Moved to a lower plan", "Budget cuts",
                      "Consolidated teams")  # fmt: skip
