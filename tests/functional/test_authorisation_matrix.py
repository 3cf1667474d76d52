"""Every route of the app x every role (and anonymous): allowed, or 401/403 — as the table says.

The routes come from ``create_app(...).routes``; a route missing from ``EXPECTED`` fails the
test, so a new endpoint cannot ship without someone deciding who may use it. The table is
written here, independently of ``phta.governance.authz.ACTIONS``, so a mistake in either shows.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from phta.governance.roles import ALL_ROLES
from tests.governance_support import csrf_token, make_user, sign_in

ANYONE = "anyone"
SIGNED_IN = frozenset(ALL_ROLES)
ADMINS = frozenset({"hub_admin", "account_manager"})
APPLICANTS = frozenset({"researcher", "innovator"})
COMMITTEE = frozenset({"committee_member"})
CHECKERS = frozenset({"output_checker", "output_checking_lead"})  # the lead decides escalated requests
CUSTODIANS = frozenset({"data_custodian"})
ENQUIRERS = frozenset({"innovator", "researcher", "public"})  # the front door's enquirers

EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/"): ANYONE,
    ("GET", "/health"): ANYONE,
    ("GET", "/opt-out"): ANYONE,
    ("GET", "/privacy"): ANYONE,
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/docs"): ANYONE,
    ("GET", "/static/api-docs"): ANYONE,
    ("GET", "/static"): ANYONE,
    ("GET", "/sign-in"): ANYONE,
    ("POST", "/sign-in"): ANYONE,
    ("GET", "/sign-in/totp"): ANYONE,
    ("POST", "/sign-in/totp"): ANYONE,
    ("GET", "/sign-in/enrol-totp"): ANYONE,
    ("POST", "/sign-in/enrol-totp"): ANYONE,
    ("POST", "/sign-out"): ANYONE,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/tokens"): SIGNED_IN,
    ("POST", "/account/tokens/{token_id}/revoke"): SIGNED_IN,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/budget"): SIGNED_IN,
    ("GET", "/api/v1/budget"): SIGNED_IN,
    ("GET", "/api/v1/tokens"): SIGNED_IN,
    ("POST", "/api/v1/tokens"): SIGNED_IN,
    ("DELETE", "/api/v1/tokens/{token_id}"): SIGNED_IN,
    ("GET", "/api/v1/users"): ADMINS,
    ("GET", "/api/v1/audit/verify"): frozenset({"hub_admin"}),
    ("GET", "/api/v1/audit/head"): ANYONE,
    ("GET", "/projects"): APPLICANTS,
    ("GET", "/projects/new"): APPLICANTS,
    ("POST", "/projects/new"): APPLICANTS,
    ("GET", "/projects/{project_id}/edit"): APPLICANTS,
    ("POST", "/projects/{project_id}/edit"): APPLICANTS,
    ("GET", "/projects/{project_id}"): APPLICANTS | COMMITTEE | {"hub_admin"},
    ("POST", "/projects/{project_id}/withdraw"): APPLICANTS,
    ("POST", "/projects/{project_id}/acknowledge"): APPLICANTS,
    ("POST", "/projects/{project_id}/coapplicants"): APPLICANTS,
    ("POST", "/projects/{project_id}/coapplicants/{coapplicant_id}/remove"): APPLICANTS,
    ("GET", "/api/v1/projects"): APPLICANTS,
    ("GET", "/api/v1/projects/{project_id}"): APPLICANTS | COMMITTEE | {"hub_admin"},
    ("POST", "/api/v1/projects"): APPLICANTS,
    ("PUT", "/api/v1/projects/{project_id}"): APPLICANTS,
    ("POST", "/api/v1/projects/{project_id}/submit"): APPLICANTS,
    ("POST", "/api/v1/projects/{project_id}/resubmit"): APPLICANTS,
    ("POST", "/api/v1/projects/{project_id}/withdraw"): APPLICANTS,
    ("POST", "/api/v1/projects/{project_id}/acknowledge"): APPLICANTS,
    ("POST", "/api/v1/projects/{project_id}/reviews"): COMMITTEE,
    ("POST", "/api/v1/projects/{project_id}/coapplicants"): APPLICANTS,
    ("DELETE", "/api/v1/projects/{project_id}/coapplicants/{coapplicant_id}"): APPLICANTS,
    ("GET", "/concepts"): ANYONE,  # the vocabulary is reference data
    ("GET", "/api/v1/concepts"): ANYONE,
    ("GET", "/concepts/{concept_id}"): ANYONE,
    ("GET", "/api/v1/concepts/{concept_id}"): ANYONE,
    ("POST", "/concepts/{concept_id}/persons"): APPLICANTS,  # person counts are patient data
    ("POST", "/api/v1/concepts/{concept_id}/persons"): APPLICANTS,
    ("GET", "/concept-sets"): ANYONE,
    ("POST", "/concept-sets"): ANYONE,
    ("POST", "/api/v1/concept-sets/resolve"): ANYONE,
    ("GET", "/feasibility"): APPLICANTS,
    ("POST", "/feasibility"): APPLICANTS,
    ("POST", "/api/v1/feasibility"): APPLICANTS,
    ("GET", "/feasibility/atlas"): APPLICANTS,
    ("POST", "/feasibility/atlas"): APPLICANTS,
    ("POST", "/api/v1/feasibility/atlas"): APPLICANTS,
    ("GET", "/review"): COMMITTEE,
    ("GET", "/review/{project_id}"): COMMITTEE,
    ("POST", "/review/{project_id}"): COMMITTEE,
    ("GET", "/outputs"): APPLICANTS,
    ("GET", "/outputs/new"): APPLICANTS,
    ("POST", "/outputs/new"): APPLICANTS,
    ("GET", "/outputs/{request_id}"): APPLICANTS,
    ("POST", "/outputs/{request_id}/resubmit"): APPLICANTS,
    ("GET", "/outputs/{request_id}/files/{file_id}"): APPLICANTS | CHECKERS | CUSTODIANS,
    ("GET", "/checking"): CHECKERS,
    ("GET", "/checking/{request_id}"): CHECKERS,
    ("POST", "/checking/{request_id}"): CHECKERS,
    ("GET", "/signoff"): CUSTODIANS,
    ("GET", "/signoff/{request_id}"): CUSTODIANS,
    ("POST", "/signoff/{request_id}"): CUSTODIANS,
    ("GET", "/api/v1/outputs"): APPLICANTS,
    ("POST", "/api/v1/outputs"): APPLICANTS,
    ("GET", "/api/v1/outputs/queue"): CHECKERS,
    ("GET", "/api/v1/outputs/{request_id}"): APPLICANTS | CHECKERS | CUSTODIANS,
    ("POST", "/api/v1/outputs/{request_id}/resubmit"): APPLICANTS,
    ("POST", "/api/v1/outputs/{request_id}/reviews"): CHECKERS,
    ("POST", "/api/v1/outputs/{request_id}/signoff"): CUSTODIANS,
    ("GET", "/api/v1/outputs/{request_id}/files/{file_id}"): APPLICANTS | CHECKERS | CUSTODIANS,
    ("GET", "/register"): ANYONE,
    ("GET", "/register.json"): ANYONE,
    ("GET", "/register.csv"): ANYONE,
    ("GET", "/register/{project_id}"): ANYONE,
    # the front door and the regional portal
    ("GET", "/showcase"): ANYONE,
    ("GET", "/api/v1/showcase"): ANYONE,
    ("GET", "/assets"): ANYONE,
    ("GET", "/api/v1/assets"): ANYONE,
    ("GET", "/opportunities"): ANYONE,
    ("GET", "/challenges"): ANYONE,
    ("GET", "/challenges/{challenge_id}"): ANYONE,
    ("POST", "/challenges/{challenge_id}/responses"): SIGNED_IN,
    ("POST", "/api/v1/challenges/{challenge_id}/responses"): SIGNED_IN,
    ("GET", "/challenges/new"): CUSTODIANS | {"hub_admin"},
    ("POST", "/challenges/new"): CUSTODIANS | {"hub_admin"},
    ("POST", "/api/v1/challenges"): CUSTODIANS | {"hub_admin"},
    ("GET", "/api/v1/challenges/{challenge_id}/responses"): CUSTODIANS | {"hub_admin"},
    ("GET", "/events"): ANYONE,
    ("GET", "/events.ics"): ANYONE,
    ("GET", "/enquire"): ENQUIRERS,
    ("POST", "/enquire"): ENQUIRERS,
    ("GET", "/enquiries"): ENQUIRERS,
    ("POST", "/api/v1/enquiries"): ENQUIRERS,
    ("GET", "/api/v1/enquiries"): ENQUIRERS,
    ("GET", "/cases/{case_id}"): ENQUIRERS | ADMINS,
    ("POST", "/cases/{case_id}/messages"): ENQUIRERS | ADMINS,
    ("POST", "/cases/{case_id}/documents"): ENQUIRERS | ADMINS,
    ("GET", "/cases/{case_id}/documents/{document_id}"): ENQUIRERS | ADMINS,
    ("GET", "/api/v1/cases/{case_id}"): ENQUIRERS | ADMINS,
    ("POST", "/api/v1/cases/{case_id}/messages"): ENQUIRERS | ADMINS,
    ("POST", "/api/v1/cases/{case_id}/documents"): ENQUIRERS | ADMINS,
    ("GET", "/cases"): ADMINS,
    ("POST", "/cases/{case_id}/pick-up"): ADMINS,
    ("POST", "/cases/{case_id}/status"): ADMINS,
    ("POST", "/cases/{case_id}/tasks"): ADMINS,
    ("POST", "/cases/{case_id}/tasks/{task_id}/done"): ADMINS,
    ("POST", "/cases/{case_id}/links"): ADMINS,
    ("GET", "/api/v1/cases"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/pick-up"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/assign"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/status"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/tasks"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/tasks/{task_id}/done"): ADMINS,
    ("POST", "/api/v1/cases/{case_id}/links"): ADMINS,
    ("GET", "/operator"): ADMINS,
    ("GET", "/operator/enquiries.csv"): ADMINS,
    ("GET", "/api/v1/frontdoor/dashboard"): ADMINS,
    ("GET", "/operator/triage-rules"): frozenset({"hub_admin"}),
    ("POST", "/operator/triage-rules"): frozenset({"hub_admin"}),
    ("GET", "/api/v1/frontdoor/triage-rules"): frozenset({"hub_admin"}),
    ("PUT", "/api/v1/frontdoor/triage-rules"): frozenset({"hub_admin"}),
    ("POST", "/operator/managers/{user_id}"): frozenset({"hub_admin"}),
    ("GET", "/api/v1/frontdoor/managers"): frozenset({"hub_admin"}),
    ("PUT", "/api/v1/frontdoor/managers/{user_id}"): frozenset({"hub_admin"}),
    ("GET", "/library"): ANYONE,
    ("GET", "/api/v1/library"): ANYONE,
    ("GET", "/library/datasets/{dataset_id}"): ANYONE,
    ("GET", "/api/v1/library/datasets/{dataset_id}"): ANYONE,
    ("GET", "/library/datasets/{dataset_id}/hdruk.json"): ANYONE,
    ("GET", "/library/datasets/{dataset_id}/dcat.jsonld"): ANYONE,
    ("GET", "/library/collections"): ANYONE,
    ("GET", "/api/v1/library/collections"): ANYONE,
    ("POST", "/api/v1/library/collections"): frozenset({"hub_admin"}),
    ("GET", "/library/datasets/{dataset_id}/edit"): CUSTODIANS | {"hub_admin"},
    ("POST", "/library/datasets/{dataset_id}/edit"): CUSTODIANS | {"hub_admin"},
    ("POST", "/library/datasets/{dataset_id}/profile"): CUSTODIANS | {"hub_admin"},
    ("POST", "/api/v1/library/datasets/{dataset_id}/profile"): CUSTODIANS | {"hub_admin"},
    ("POST", "/api/v1/library/datasets"): CUSTODIANS | {"hub_admin"},
    ("PUT", "/api/v1/library/datasets/{dataset_id}"): CUSTODIANS | {"hub_admin"},
    ("GET", "/library/stores/{node}"): CUSTODIANS | {"hub_admin"},
    ("GET", "/api/v1/library/stores/{node}"): CUSTODIANS | {"hub_admin"},
    # Nodes authenticate by signature (phta.federation), not as users: anyone reaches the route,
    # and an unsigned or wrongly signed message is refused there (tests/integration/test_federation_*).
    ("GET", "/api/v1/federation/hub-key"): ANYONE,
    ("POST", "/api/v1/federation/nodes"): ANYONE,
    ("GET", "/api/v1/federation/tasks"): ANYONE,
    ("POST", "/api/v1/federation/results"): ANYONE,
    ("POST", "/api/v1/federation/requests"): APPLICANTS,
    ("GET", "/api/v1/federation/requests/{request_id}"): APPLICANTS,
    ("GET", "/network"): SIGNED_IN,
    ("GET", "/metrics"): ANYONE,
    # GA4GH Beacon v2: open to anyone; granularity (boolean or counts) follows the sign-in
    ("GET", "/beacon"): ANYONE,
    ("GET", "/api/beacon/v2"): ANYONE,
    ("GET", "/api/beacon/v2/"): ANYONE,
    ("GET", "/api/beacon/v2/info"): ANYONE,
    ("GET", "/api/beacon/v2/service-info"): ANYONE,
    ("GET", "/api/beacon/v2/configuration"): ANYONE,
    ("GET", "/api/beacon/v2/map"): ANYONE,
    ("GET", "/api/beacon/v2/entry_types"): ANYONE,
    ("GET", "/api/beacon/v2/filtering_terms"): ANYONE,
    ("GET", "/api/beacon/v2/g_variants"): ANYONE,
    ("POST", "/api/beacon/v2/g_variants"): ANYONE,
    ("GET", "/api/beacon/v2/individuals"): ANYONE,
    ("POST", "/api/beacon/v2/individuals"): ANYONE,
}

PATH_VALUES = {"{token_id}": "999999", "{project_id}": "999999", "{request_id}": "999999", "{file_id}": "999999",
               "{user_id}": "999999", "{coapplicant_id}": "999999",
               "{challenge_id}": "999999", "{case_id}": "999999", "{document_id}": "999999",
               "{task_id}": "999999", "{concept_id}": "999999",
               "{dataset_id}": "999999", "{node}": "no-such-node"}


def app_endpoints(app) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers and mounts."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, Mount):
            found.append(("GET", context.path))
        else:
            for method in sorted((context.methods or set()) - {"HEAD"}):
                found.append((method, context.path))
    assert found, "no routes found: has FastAPI changed how it exposes them?"
    return found


def concrete(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return "/static/phta.css" if path == "/static" else path


def test_every_route_is_in_the_expectations_table(live_server):
    endpoints = app_endpoints(live_server.server.config.app)
    missing = [e for e in endpoints if e not in EXPECTED]
    assert not missing, f"routes with no authorisation expectation (add them to EXPECTED): {missing}"
    stale = [e for e in EXPECTED if e not in endpoints]
    assert not stale, f"EXPECTED lists routes the app no longer has: {stale}"


def _walk(client: httpx.Client, who: str | None, endpoints) -> list[str]:
    failures = []
    # Signing out ends the session the rest of the walk depends on, so it goes last.
    for method, path in sorted(endpoints, key=lambda e: e == ("POST", "/sign-out")):
        allowed_roles = EXPECTED[(method, path)]
        allowed = allowed_roles == ANYONE or (who is not None and who in allowed_roles)
        token = csrf_token(client)
        r = client.request(method, concrete(path), headers={"X-CSRF-Token": token},
                           data={"csrf_token": token} if method == "POST" and not path.startswith("/api/") else None)
        if allowed and r.status_code in (401, 403):
            failures.append(f"{who or 'anonymous'} {method} {path}: expected allowed, got {r.status_code}")
        if not allowed:
            expected = 401 if who is None else 403
            if r.status_code != expected:
                failures.append(f"{who or 'anonymous'} {method} {path}: expected {expected}, got {r.status_code}")
    return failures


@pytest.mark.parametrize("role", [None, *sorted(ALL_ROLES)])
def test_every_endpoint_for_every_role(live_server, settings, role):
    endpoints = app_endpoints(live_server.server.config.app)
    with httpx.Client(base_url=live_server.url) as client:
        if role is not None:
            email = make_user(settings, role)
            r = sign_in(client, email)
            assert r.status_code == 303 and r.headers["location"] == "/account", r.text
        failures = _walk(client, role, endpoints)
    assert not failures, "\n".join(failures)
