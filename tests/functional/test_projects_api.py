"""The data access request lifecycle through the JSON API, over real HTTP: drafts with field
errors, submission, feedback and resubmission, the committee's decision rule, conditions,
co-applicants, withdrawal; CSRF for cookie sessions and the ``projects`` scope for tokens."""

from __future__ import annotations

from contextlib import ExitStack

import httpx

from tests.governance_support import (
    complete_request,
    csrf_token,
    make_user,
    register_nodes,
    sign_in,
)


def _session(live_server, email: str) -> httpx.Client:
    """A signed-in browser-like client that sends the CSRF header on every call (close it)."""
    client = httpx.Client(base_url=live_server.url)
    r = sign_in(client, email)
    assert r.status_code == 303, r.text
    client.headers["X-CSRF-Token"] = csrf_token(client)
    return client


def _token_client(live_server, session: httpx.Client, scopes: list[str]) -> httpx.Client:
    r = session.post("/api/v1/tokens", json={"name": "api test", "scopes": scopes})
    assert r.status_code == 201, r.text
    return httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {r.json()['token']}"})


def _fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}


def test_the_whole_request_lifecycle_through_the_api(live_server, settings):
    register_nodes(settings)
    lead = make_user(settings, "researcher", organisation="University of Birmingham")
    co = make_user(settings, "innovator", email="ines@medtech.example", organisation="Midlands MedTech Ltd")
    make_user(settings, "committee_member", email="lay@public.example", lay_member=True)
    make_user(settings, "committee_member", email="expert@hub.example", organisation="PHTA Hub")
    make_user(settings, "committee_member", email="colleague@uni.example", organisation="University of Birmingham")
    with ExitStack() as clients:
        a, c, lay_session, expert, colleague = (
            _session(live_server, email) for email in
            (lead, co, "lay@public.example", "expert@hub.example", "colleague@uni.example"))
        for client in (a, c, lay_session, expert, colleague):
            clients.callback(client.close)
        # a cookie session without the CSRF header is refused; with it the draft is created
        no_csrf = httpx.post(f"{live_server.url}/api/v1/projects", json={"answers": {}}, cookies=a.cookies)
        assert no_csrf.status_code == 403 and "did not come from this site" in no_csrf.json()["detail"]
        r = a.post("/api/v1/projects", json={"answers": {"title": "Readmissions", "nodes": ["uhb"]}})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert r.json()["state"] == "draft" and r.json()["answers"]["nodes"] == ["uhb"]
        # field errors name the field, in FastAPI's validation shape
        bad = _fields(a.put(f"/api/v1/projects/{pid}", json={"answers": {
            "title": "x" * 301, "tre_only": "yes please", "colour": "blue"}}))
        assert set(bad) == {"tre_only", "colour"}  # JSON types are checked before anything is saved
        assert "at most 300" in _fields(a.put(f"/api/v1/projects/{pid}", json={"answers": {"title": "x" * 301}}))["title"]
        missing = _fields(a.post(f"/api/v1/projects/{pid}/submit"))
        assert {"lay_summary", "tre_only", "task_types", "duration_months"} <= set(missing)
        assert a.get(f"/api/v1/projects/{pid}").json()["state"] == "draft"
        answers = complete_request("Readmissions") | {"tre_only": True, "pseudonymised": True}
        assert a.put(f"/api/v1/projects/{pid}", json={"answers": answers}).json()["answers"]["tre_only"] is True
        # the co-applicant is named while the request is a draft; they see nothing yet
        # (an address that is no researcher's account is named just the same: no account oracle)
        assert a.post(f"/api/v1/projects/{pid}/coapplicants", json={"email": "lay@public.example"}).status_code == 200
        r = a.post(f"/api/v1/projects/{pid}/coapplicants", json={"email": co})
        named = r.json()["coapplicants"]
        assert [(x["email"], x["name"], x["account"]) for x in named] == [
            ("lay@public.example", None, None), (co, None, None)]
        r = a.delete(f"/api/v1/projects/{pid}/coapplicants/{named[0]['id']}")
        assert [x["email"] for x in r.json()["coapplicants"]] == [co]
        assert a.post(f"/api/v1/projects/{pid}/resubmit").status_code == 409  # a draft is submitted, not resubmitted
        assert a.post(f"/api/v1/projects/{pid}/submit").json()["state"] == "submitted"
        assert c.get(f"/api/v1/projects/{pid}").status_code == 403 and c.get("/api/v1/projects").json() == []
        # the committee: CSRF session for one member, a token with the projects scope for another
        lay = _token_client(live_server, lay_session, ["projects"])
        narrow = _token_client(live_server, lay_session, ["account:read"])
        clients.callback(lay.close)
        clients.callback(narrow.close)
        assert narrow.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "approve"}).status_code == 403
        assert colleague.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "approve"}).status_code == 403
        assert "decision" in _fields(lay.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "maybe"}))
        assert "comment" in _fields(lay.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "request_feedback"}))
        r = lay.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "request_feedback", "comment": "Say more"})
        assert r.json()["state"] == "feedback_requested"
        assert a.post(f"/api/v1/projects/{pid}/submit").status_code == 409
        r = a.post(f"/api/v1/projects/{pid}/resubmit", json={"answers": answers | {"linkage": "none"}})
        assert r.json()["state"] == "resubmitted" and r.json()["round"] == 2
        # the decision rule: a lay member and another member, unanimous; conditions recorded
        r = lay.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "approve_with_conditions",
                                                              "conditions": "No linkage"})
        assert r.json()["state"] == "in_review"
        assert expert.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "approve"}).json()["state"] == \
            "approved_with_conditions"
        assert expert.post(f"/api/v1/projects/{pid}/reviews", json={"decision": "approve"}).status_code == 409
        # once approved the co-applicant sees it; only the lead accepts the conditions
        seen = c.get(f"/api/v1/projects/{pid}").json()
        assert seen["conditions"] == "No linkage" and not seen["grant_active"]
        assert [p["id"] for p in c.get("/api/v1/projects").json()] == [pid]
        assert c.post(f"/api/v1/projects/{pid}/acknowledge").status_code == 403
        r = a.post(f"/api/v1/projects/{pid}/acknowledge")
        assert r.json()["grant_active"] and r.json()["conditions_acknowledged_at"]
        assert a.post(f"/api/v1/projects/{pid}/withdraw").status_code == 409  # already decided
        history = [h["to"] for h in a.get(f"/api/v1/projects/{pid}").json()["history"]]
        assert history == ["draft", "submitted", "in_review", "feedback_requested", "resubmitted", "in_review",
                           "approved_with_conditions"]
        # removing the co-applicant ends their access
        assert seen["coapplicants"][0]["account"] is True  # approved: now it may be told
        r = a.delete(f"/api/v1/projects/{pid}/coapplicants/{seen['coapplicants'][0]['id']}")
        assert r.status_code == 200 and r.json()["coapplicants"] == []
        assert c.get(f"/api/v1/projects/{pid}").status_code == 403
        # a second request, withdrawn; a third, rejected
        other = a.post("/api/v1/projects", json={"answers": answers}).json()["id"]
        assert a.post(f"/api/v1/projects/{other}/submit").json()["state"] == "submitted"
        assert c.post(f"/api/v1/projects/{other}/withdraw").status_code == 403
        assert a.post(f"/api/v1/projects/{other}/withdraw").json()["state"] == "withdrawn"
        third = a.post("/api/v1/projects", json={"answers": answers}).json()["id"]
        a.post(f"/api/v1/projects/{third}/submit")
        r = expert.post(f"/api/v1/projects/{third}/reviews", json={"decision": "reject", "comment": "No benefit"})
        assert r.json()["state"] == "rejected"
        assert a.get("/api/v1/projects/999999").status_code == 404


def test_api_tokens_with_the_projects_scope_drive_a_draft_without_csrf(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher")
    with ExitStack() as clients:
        session = _session(live_server, owner)
        token = _token_client(live_server, session, ["projects"])
        narrow = _token_client(live_server, session, ["account:read"])
        for client in (session, token, narrow):
            clients.callback(client.close)
        r = token.post("/api/v1/projects", json={"answers": complete_request() | {"tre_only": True,
                                                                                 "pseudonymised": True}})
        assert r.status_code == 201
        assert token.post(f"/api/v1/projects/{r.json()['id']}/submit").json()["state"] == "submitted"
        assert narrow.post("/api/v1/projects", json={"answers": {}}).status_code == 403
