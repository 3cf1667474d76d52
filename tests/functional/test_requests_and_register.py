"""Data access requests and the register over real HTTP: ownership, downloads, no sign-in needed."""

from __future__ import annotations

import csv
import io
import re

import httpx

from phta.governance import review
from phta.governance.principal import Principal
from phta.store import open_database
from tests.governance_support import (
    complete_request,
    csrf_token,
    make_user,
    register_nodes,
    sign_in,
)


def _submit(client: httpx.Client, answers: dict) -> int:
    token = csrf_token(client, "/projects/new")
    r = client.post("/projects/new", data=answers | {"action": "submit", "csrf_token": token})
    assert r.status_code == 303, r.text
    return int(re.search(r"/projects/(\d+)", r.headers["location"]).group(1))


def test_applicants_see_only_their_own_requests(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher", organisation="Uni A")
    other = make_user(settings, "innovator", email="other@example.org", organisation="Company B")
    with httpx.Client(base_url=live_server.url) as a:
        sign_in(a, owner)
        pid = _submit(a, complete_request())
        assert a.get(f"/projects/{pid}").status_code == 200
        mine = a.get("/api/v1/projects").json()
        assert [(p["id"], p["state"]) for p in mine] == [(pid, "submitted")]
        assert a.get(f"/api/v1/projects/{pid}").json()["answers"]["nodes"] == ["uhb", "swbh"]
    with httpx.Client(base_url=live_server.url) as b:
        sign_in(b, other)
        assert b.get(f"/projects/{pid}").status_code == 403
        assert b.get(f"/api/v1/projects/{pid}").status_code == 403
        assert b.get("/api/v1/projects").json() == []
        assert b.get(f"/projects/{pid}/edit").status_code == 403
        r = b.post(f"/projects/{pid}/withdraw", data={"csrf_token": csrf_token(b)})
        assert r.status_code == 403


def test_validation_messages_sit_next_to_their_fields(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher")
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, owner)
        token = csrf_token(client, "/projects/new")
        r = client.post("/projects/new", data={"title": "Only a title", "common_law": "s251", "action": "submit",
                                               "csrf_token": token})
        assert r.status_code == 400
        assert 'id="err-s251_reference"' in r.text and 'aria-describedby="err-s251_reference"' in r.text
        assert "Section 251 (CAG) reference: required" in r.text


def test_the_form_records_a_section_251_exemption_from_the_national_opt_out(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher", organisation="Uni A")
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, owner)
        form = client.get("/projects/new").text
        assert '<option value="s251_exempt"' in form and 'name="opt_out_exemption"' in form
        token = csrf_token(client, "/projects/new")
        r = client.post("/projects/new", data=complete_request() | {
            "common_law": "s251_exempt", "action": "submit", "csrf_token": token})
        assert r.status_code == 400 and 'id="err-opt_out_exemption"' in r.text
        pid = _submit(client, complete_request() | {"common_law": "s251_exempt",
                                                     "opt_out_exemption": "Approval letter, condition 3"})
        got = client.get(f"/api/v1/projects/{pid}").json()
    assert got["legal_basis"] == {"article6": "6(1)(e)", "article9": "9(2)(j)", "common_law": "s251_exempt",
                                  "cag_reference": "CAG 21/CAG/0001", "national_opt_out_exempt": True,
                                  "national_opt_out_exemption": "Approval letter, condition 3"}
    assert got["opt_outs"].startswith("National data opt-out not applied (the section 251 approval exempts")


def test_register_is_public_in_html_json_and_csv(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher", organisation="Uni A")
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, owner)
        pid = _submit(client, complete_request("Readmissions study"))
    db = open_database(settings)
    make_user(settings, "committee_member", email="lay@example.org", lay_member=True)
    make_user(settings, "committee_member", email="expert@example.org", organisation="Hub")
    from phta.governance.accounts import list_users

    ids = {u.email: u.id for u in list_users(db)}
    for email, lay in (("lay@example.org", True), ("expert@example.org", False)):
        review.record_review(db, Principal(ids[email], email, email, frozenset({"committee_member"}), lay_member=lay),
                             pid, "approve")
    with httpx.Client(base_url=live_server.url) as anonymous:
        html = anonymous.get("/register")
        assert html.status_code == 200 and "Readmissions study" in html.text and "Audit checkpoint" in html.text
        data = anonymous.get("/register.json").json()
        assert [d["title"] for d in data] == ["Readmissions study"] and data[0]["organisation"] == "Uni A"
        rows = list(csv.DictReader(io.StringIO(anonymous.get("/register.csv").text)))
        assert rows[0]["nodes"] == "uhb; swbh" and rows[0]["project_id"] == str(pid)
        assert anonymous.get(f"/register/{pid}").status_code == 200
        assert anonymous.get(f"/register/{pid + 1}").status_code == 404
        assert anonymous.get("/api/v1/audit/head").json()["seq"] >= 1


def test_api_tokens_need_the_projects_scope(live_server, settings):
    register_nodes(settings)
    owner = make_user(settings, "researcher")
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, owner)
        header = {"X-CSRF-Token": csrf_token(client, "/account")}
        with_scope = client.post("/api/v1/tokens", headers=header, json={"name": "a", "scopes": ["projects"]}).json()["token"]
        without = client.post("/api/v1/tokens", headers=header, json={"name": "b", "scopes": ["account:read"]}).json()["token"]
    with httpx.Client(base_url=live_server.url) as api:
        assert api.get("/api/v1/projects", headers={"Authorization": f"Bearer {with_scope}"}).status_code == 200
        refused = api.get("/api/v1/projects", headers={"Authorization": f"Bearer {without}"})
        assert refused.status_code == 403 and "'projects' scope" in refused.json()["detail"]


def test_coapplicants_are_named_on_the_project_page_and_see_it_once_approved(live_server, settings):
    register_nodes(settings)
    lead = make_user(settings, "researcher", organisation="Uni A")
    co = make_user(settings, "innovator", email="co@medtech.example", organisation="MedTech B")
    db = open_database(settings)
    with httpx.Client(base_url=live_server.url) as a, httpx.Client(base_url=live_server.url) as c:
        sign_in(a, lead)
        sign_in(c, co)
        token = csrf_token(a, "/projects/new")
        r = a.post("/projects/new", data=complete_request() | {"action": "save", "csrf_token": token})
        pid = int(re.search(r"/projects/(\d+)", r.headers["location"]).group(1))
        bad = a.post(f"/projects/{pid}/coapplicants", data={"email": "not-an-address", "csrf_token": token})
        assert bad.status_code == 400 and 'id="err-coapplicant-email"' in bad.text
        # an address with no account is named exactly like one with an account (no account oracle)
        unknown = a.post(f"/projects/{pid}/coapplicants", data={"email": "nobody@x.example", "csrf_token": token})
        r = a.post(f"/projects/{pid}/coapplicants", data={"email": co, "csrf_token": token})
        assert unknown.status_code == r.status_code == 303
        page = a.get(f"/projects/{pid}").text
        assert co in page and "nobody@x.example" in page and "no researcher or innovator account" not in page
        entry = {x["email"]: x["id"] for x in a.get(f"/api/v1/projects/{pid}").json()["coapplicants"]}
        a.post(f"/projects/{pid}/coapplicants/{entry['nobody@x.example']}/remove", data={"csrf_token": token})
        a.post(f"/projects/{pid}/edit", data=complete_request() | {"action": "submit", "csrf_token": token})
        assert c.get(f"/projects/{pid}").status_code == 403  # not before approval
        from phta.governance.accounts import list_users

        make_user(settings, "committee_member", email="lay@example.org", lay_member=True)
        make_user(settings, "committee_member", email="expert@example.org", organisation="Hub")
        ids = {u.email: u.id for u in list_users(db)}
        for email, lay in (("lay@example.org", True), ("expert@example.org", False)):
            review.record_review(db, Principal(ids[email], email, email, frozenset({"committee_member"}),
                                               lay_member=lay), pid, "approve")
        page = c.get(f"/projects/{pid}")
        assert page.status_code == 200 and "Remove" not in page.text  # sees it; cannot manage it
        assert f"/projects/{pid}" in c.get("/projects").text
        r = a.post(f"/projects/{pid}/coapplicants/{entry[co]}/remove", data={"csrf_token": token})
        assert r.status_code == 303
        assert c.get(f"/projects/{pid}").status_code == 403
