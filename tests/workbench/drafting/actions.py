"""One workflow action of each type, shared by the drafting tests."""

from workbench.workflow.model import Action

ACTIONS = {
    "assign_csm": Action(type="assign_csm", strategy="round_robin", csms=["Daniel Kim"]),
    "draft_email": Action(type="draft_email", template="renewal_checkin"),
    "risk_brief": Action(type="risk_brief"),
    "crm_update": Action(type="crm_update", field="Risk_Flag__c", value="High"),
    "alert": Action(type="alert", channel="#cs-risk"),
}
