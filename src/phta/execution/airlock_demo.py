"""Demo data for the airlock: node ``XT001`` (the demo region's Birmingham trust) requires its
custodian's sign-off, one request from the demo project waits in the output checkers' queue (a
table with a cell of 6, so the review screen has a failing cell and a protected version to show,
and a chart), and a second request shows a disagreement that escalated to the output-checking
lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from phta.execution.airlock import Upload, airlock_policy, submit
from phta.governance import airlock, airlock_review
from phta.governance.demo_users import DEMO_PROJECT_TITLE, demo_email
from phta.governance.principal import principal_for
from phta.governance.working_days import working_days
from phta.store import Database
from phta.store.models import OutputRequest, OutputRequestEvent, Project, User

DEMO_NODE = "XT001"  # the demo region's Birmingham hospital trust (phta synth site code)
DEMO_CUSTODIAN_ORGANISATION = "University Hospitals Birmingham"
DEMO_REQUEST_TITLE = "30-day readmissions by age band and sex (demo)"
DEMO_ESCALATED_TITLE = "Length of stay by age band (demo: the checkers disagreed)"
DEMO_TABLE = (b"age band \\ sex,Female,Male,Total\n18-49,6,24,30\n50-69,48,61,109\n70+,95,88,183\n"
              b"Total,149,173,322\n")
DEMO_LONG_TABLE = b"age_band,stay,n_patients\n18-49,under 7 days,40\n18-49,7 days or more,25\n" \
                  b"50-69,under 7 days,65\n50-69,7 days or more,45\n"
DEMO_CHART = (b'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" role="img">'
              b"<title>Readmissions by age band</title>"
              b'<rect x="10" y="90" width="60" height="20" fill="#1d4f91"/>'
              b'<rect x="90" y="50" width="60" height="60" fill="#1d4f91"/>'
              b'<rect x="170" y="10" width="60" height="100" fill="#1d4f91"/></svg>')
CONTEXT = {
    "description": "Table 1 and Figure 1 of the readmissions paper.",
    "population": "Adults with heart failure discharged from UHB, 2020-2025",
    "controls": "Counts of distinct people; no rounding yet (the checkers will see the small cell).",
}


def _principal(database: Database, local: str):
    with database.session() as session:
        user = session.scalar(select(User).where(User.email == demo_email(local)))
        return principal_for(user) if user else None


def seed_demo_airlock(database: Database, policy_spec: str | None = None, escalation_days: int = 5) -> list[str]:
    """``policy_spec``: the deployment's disclosure policy (``Settings.disclosure_policy``);
    ``escalation_days``: ``Settings.airlock_escalation_days``."""
    setting = airlock.node_setting(database, DEMO_NODE)
    if not setting.custodian_signoff:
        airlock.set_node_setting(database, DEMO_NODE, custodian_signoff=True,
                                 custodian_organisation=DEMO_CUSTODIAN_ORGANISATION, actor="demo")
    policy = airlock_policy(policy_spec, DEMO_NODE)
    lines = [f"Airlock: node {DEMO_NODE} requires its custodian's sign-off ({DEMO_CUSTODIAN_ORGANISATION})",
             f"Airlock: tables are checked under disclosure policy {policy.name!r} for node {DEMO_NODE} "
             f"(sha256 {policy.sha256[:12]}; a policy file in PHTA_DISCLOSURE_POLICY replaces it)"]
    with database.session() as session:
        if session.scalar(select(OutputRequest.id).where(OutputRequest.title == DEMO_REQUEST_TITLE)) is not None:
            return [*lines, "Airlock demo request: already waiting (/checking)"]
        project_id = session.scalar(select(Project.id).where(Project.title == DEMO_PROJECT_TITLE))
    researcher = _principal(database, "researcher")
    if project_id is None or researcher is None:
        return [*lines, "Airlock demo request: skipped (no demo project)"]
    request_id = submit(database, researcher, project_id, DEMO_NODE, {"title": DEMO_REQUEST_TITLE, **CONTEXT},
                        [Upload("table1-readmissions.csv", DEMO_TABLE,
                                "People readmitted within 30 days, by age band and sex"),
                         Upload("figure1-readmissions.svg", DEMO_CHART, "Readmissions by age band, as a bar chart")],
                        policy_spec=policy_spec)
    lines.append(f"Airlock demo request {request_id}: waiting for two output checkers (/checking); the table's "
                 "cell of 6 fails, so they can approve only its protected version; then the UHB custodian signs off")
    return [*lines, _seed_escalated(database, researcher, project_id, policy_spec, escalation_days)]


def _seed_escalated(database: Database, researcher, project_id: int, policy_spec: str | None,
                    escalation_days: int) -> str:
    """A request the demo checkers disagreed on ``escalation_days`` working days ago: escalated to
    the output-checking lead (the disagreement is back-dated; this is demo data)."""
    checker, checker_2 = _principal(database, "checker"), _principal(database, "checker-2")
    if checker is None or checker_2 is None:
        return "Airlock escalation demo: skipped (no demo checkers)"
    request_id = submit(database, researcher, project_id, DEMO_NODE, {"title": DEMO_ESCALATED_TITLE, **CONTEXT},
                        [Upload("table2-length-of-stay.csv", DEMO_LONG_TABLE, "Length of stay by age band")],
                        policy_spec=policy_spec)
    airlock_review.record_check(database, checker, request_id, "approve_protected", "Counts are large enough")
    airlock_review.record_check(database, checker_2, request_id, "return", "Split the stay at 3 days as well")
    now = datetime.now(UTC)
    since = now
    while working_days(since, now) < escalation_days:
        since -= timedelta(days=1)
    with database.session() as session:
        for event in session.scalars(select(OutputRequestEvent).where(OutputRequestEvent.request_id == request_id)):
            event.at = min(event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC), since)
    airlock_review.escalate_overdue(database, after_working_days=escalation_days, now=now)
    return (f"Airlock demo request {request_id}: the checkers disagreed {escalation_days} working days ago, so it is "
            "escalated to the output-checking lead (checking-lead@demo.phta.example)")
