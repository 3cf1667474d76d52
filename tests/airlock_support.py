"""Helpers for airlock tests: an approved project, files to release, API calls over real HTTP."""

from __future__ import annotations

import httpx

from phta.governance import projects, review
from phta.governance.principal import principal_for
from phta.store import open_database
from phta.store.models import User
from tests.governance_support import complete_request, csrf_token, make_user

SAFE_CSV = b"age \\ sex,F,M,Total\n0-39,40,50,90\n40-59,40,45,85\nTotal,80,95,175\n"
SMALL_CELL_CSV = b"age \\ sex,F,M,Total\n0-39,3,50,53\n40-59,40,45,85\nTotal,43,95,138\n"
SCRIPT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="1" height="1"/></svg>'
CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'


def principal(settings, email):
    db = open_database(settings)
    with db.session() as session:
        user = session.query(User).filter_by(email=email).one()
        return principal_for(user)


def approved_project(settings, researcher_email: str, title: str = "Airlock test project") -> int:
    """A project of ``researcher_email`` approved by two committee members (one lay), grant active."""
    db = open_database(settings)
    tag = "".join(ch for ch in title.lower() if ch.isalnum())[:12]
    expert = make_user(settings, "committee_member", email=f"expert-{tag}@hub.example", organisation="PHTA Hub")
    lay = make_user(settings, "committee_member", email=f"lay-{tag}@public.example", lay_member=True)
    applicant = principal(settings, researcher_email)
    answers = complete_request(title)
    pid = projects.create_draft(db, applicant, answers)
    projects.save(db, applicant, pid, answers, submit=True)
    review.record_review(db, principal(settings, expert), pid, "approve")
    review.record_review(db, principal(settings, lay), pid, "approve")
    assert projects.get(db, pid).grant_active
    return pid


def token(client: httpx.Client) -> dict:
    return {"X-CSRF-Token": csrf_token(client, "/account")}


def submit(client: httpx.Client, project_id: int, files: list[tuple[str, bytes, str]], node: str = "uhb",
           title: str = "Readmissions by age and sex") -> httpx.Response:
    return client.post(
        "/api/v1/outputs", headers=token(client),
        data={"project_id": str(project_id), "node": node, "title": title,
              "description": "Counts of readmitted people", "population": "Adults with heart failure, 2020-2025",
              "controls": "Threshold 10, rounded to 5", "what_it_shows": [shows for _n, _d, shows in files]},
        files=[("files", (name, data)) for name, data, _shows in files],
    )


def resubmit(client: httpx.Client, request_id: int, files: list[tuple[str, bytes, str]]) -> httpx.Response:
    return client.post(
        f"/api/v1/outputs/{request_id}/resubmit", headers=token(client),
        data={"title": "Readmissions by age and sex (v2)", "description": "Counts, small cells merged",
              "population": "Adults with heart failure, 2020-2025", "controls": "Threshold 10, rounded to 5",
              "what_it_shows": [shows for _n, _d, shows in files]},
        files=[("files", (name, data)) for name, data, _shows in files],
    )


def decide(client: httpx.Client, request_id: int, decision: str, comment: str = "",
           path: str = "reviews") -> httpx.Response:
    return client.post(f"/api/v1/outputs/{request_id}/{path}", headers=token(client),
                       json={"decision": decision, "comment": comment})
