"""Route x who x the request's state: the object's state decides as much as the role does.

An unsubmitted draft is its applicants' working paper: the committee and the hub admin must not
read it (they may once it is submitted). Co-applicants see a request only once it is approved.
The table below is written independently of ``phta.governance.authz``; every cell is checked
over real HTTP.
"""

from __future__ import annotations

import httpx
import pytest

from phta.governance import accounts, coapplicants, projects, review
from phta.governance.roles import Role
from phta.store import open_database
from tests.governance_support import PASSWORD, complete_request, make_principal, make_user, sign_in

STATES = ("draft", "submitted", "in_review", "approved", "withdrawn_draft", "withdrawn_submitted")
WHO = ("owner", "coapplicant", "other_researcher", "committee", "hub_admin")
EVERY_STATE = frozenset(STATES)
SUBMITTED = frozenset({"submitted", "in_review", "approved", "withdrawn_submitted"})

# route -> who -> the states in which they may see it (every other state: 403)
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "/projects/{id}": {
        "owner": EVERY_STATE, "coapplicant": frozenset({"approved"}), "other_researcher": frozenset(),
        "committee": SUBMITTED, "hub_admin": SUBMITTED,
    },
    "/api/v1/projects/{id}": {
        "owner": EVERY_STATE, "coapplicant": frozenset({"approved"}), "other_researcher": frozenset(),
        "committee": SUBMITTED, "hub_admin": SUBMITTED,
    },
    "/projects/{id}/edit": {
        "owner": EVERY_STATE, "coapplicant": frozenset({"approved"}), "other_researcher": frozenset(),
        "committee": frozenset(), "hub_admin": frozenset(),
    },
    "/review/{id}": {
        "owner": frozenset(), "coapplicant": frozenset(), "other_researcher": frozenset(),
        "committee": SUBMITTED, "hub_admin": frozenset(),
    },
}


def _projects_in_every_state(settings) -> dict[str, int]:
    db = open_database(settings)
    owner = make_principal(db, "owner@test.example", Role.RESEARCHER)
    lay = make_principal(db, "lay@test.example", Role.COMMITTEE_MEMBER, lay=True)
    expert = make_principal(db, "expert@test.example", Role.COMMITTEE_MEMBER)
    ids: dict[str, int] = {}
    for state in STATES:
        pid = projects.create_draft(db, owner, complete_request(f"Request that is {state}"))
        coapplicants.add(db, owner, pid, "coapplicant@test.example")
        if state in SUBMITTED:
            projects.save(db, owner, pid, complete_request(f"Request that is {state}"), submit=True)
        if state in ("in_review", "approved"):
            review.record_review(db, lay, pid, "approve")
        if state == "approved":
            assert review.record_review(db, expert, pid, "approve") == "approved"
        if state.startswith("withdrawn"):
            projects.withdraw(db, owner, pid)
        ids[state] = pid
    return ids


@pytest.fixture
def people_and_projects(settings):
    db = open_database(settings)
    accounts.create_user(db, email="coapplicant@test.example", password=PASSWORD, roles=[Role.INNOVATOR])
    accounts.create_user(db, email="other@test.example", password=PASSWORD, roles=[Role.RESEARCHER])
    make_user(settings, "committee_member", email="committee@test.example")
    make_user(settings, "hub_admin", email="admin@test.example")
    emails = {"owner": "owner@test.example", "coapplicant": "coapplicant@test.example",
              "other_researcher": "other@test.example", "committee": "committee@test.example",
              "hub_admin": "admin@test.example"}
    return emails, _projects_in_every_state(settings)


def test_every_route_for_every_state_and_caller(live_server, people_and_projects):
    emails, ids = people_and_projects
    failures = []
    for who in WHO:
        with httpx.Client(base_url=live_server.url) as client:
            assert sign_in(client, emails[who]).status_code == 303
            for route, table in EXPECTED.items():
                for state, pid in ids.items():
                    r = client.get(route.replace("{id}", str(pid)))
                    allowed = state in table[who]
                    if allowed and r.status_code != 200:
                        failures.append(f"{who} GET {route} ({state}): expected 200, got {r.status_code}")
                    if not allowed and r.status_code != 403:
                        failures.append(f"{who} GET {route} ({state}): expected 403, got {r.status_code}")
                    if not allowed and f"Request that is {state}" in r.text:
                        failures.append(f"{who} GET {route} ({state}): the title leaked in the refusal")
    assert not failures, "\n".join(failures)
