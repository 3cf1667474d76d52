"""Demo data for the airlock: node ``XT001`` (the demo region's Birmingham trust) requires its custodian's sign-off, and one request
from the demo project waits in the output checkers' queue (a table with a small cell, so the
review screen has a failing cell to show, and a chart)."""

from __future__ import annotations

from sqlalchemy import select

from phta.execution.airlock import Upload, airlock_policy, submit
from phta.governance import airlock
from phta.governance.demo_users import DEMO_PROJECT_TITLE, demo_email
from phta.governance.principal import principal_for
from phta.store import Database
from phta.store.models import OutputRequest, Project, User

DEMO_NODE = "XT001"  # the demo region's Birmingham hospital trust (phta synth site code)
DEMO_CUSTODIAN_ORGANISATION = "University Hospitals Birmingham"
DEMO_REQUEST_TITLE = "30-day readmissions by age band and sex (demo)"
DEMO_TABLE = (b"age band \\ sex,Female,Male,Total\n18-49,6,24,30\n50-69,48,61,109\n70+,95,88,183\n"
              b"Total,149,173,322\n")
DEMO_CHART = (b'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" role="img">'
              b"<title>Readmissions by age band</title>"
              b'<rect x="10" y="90" width="60" height="20" fill="#1d4f91"/>'
              b'<rect x="90" y="50" width="60" height="60" fill="#1d4f91"/>'
              b'<rect x="170" y="10" width="60" height="100" fill="#1d4f91"/></svg>')


def seed_demo_airlock(database: Database, policy_spec: str | None = None) -> list[str]:
    """``policy_spec``: the deployment's disclosure policy (``Settings.disclosure_policy``)."""
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
        user = session.scalar(select(User).where(User.email == demo_email("researcher")))
        researcher = principal_for(user) if user else None
    if project_id is None or researcher is None:
        return [*lines, "Airlock demo request: skipped (no demo project)"]
    request_id = submit(database, researcher, project_id, DEMO_NODE, {
        "title": DEMO_REQUEST_TITLE,
        "description": "Table 1 and Figure 1 of the readmissions paper.",
        "population": "Adults with heart failure discharged from UHB, 2020-2025",
        "controls": "Counts of distinct people; no rounding yet (the checkers will see the small cell).",
    }, [Upload("table1-readmissions.csv", DEMO_TABLE, "People readmitted within 30 days, by age band and sex"),
        Upload("figure1-readmissions.svg", DEMO_CHART, "Readmissions by age band, as a bar chart")],
        policy_spec=policy_spec)
    return [*lines, f"Airlock demo request {request_id}: waiting for two output checkers (/checking)"]
