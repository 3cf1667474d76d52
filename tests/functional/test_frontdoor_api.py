"""The front door's JSON API over real HTTP: every state change of an enquiry and a case, with
the permissions of each side (attack tests beside their harmless controls)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import timedelta

import httpx
import pytest

from tests.frontdoor_support import ENQUIRY, client_for, install
from tests.governance_support import csrf_token


@pytest.fixture
def door(live_server, settings):
    clock = install(live_server, settings)
    innovator = client_for(live_server, settings, "innovator", organisation="Acme Diagnostics")
    other = client_for(live_server, settings, "innovator", email="other-innovator@test.example")
    manager = client_for(live_server, settings, "account_manager")
    yield clock, innovator, other, manager
    for c in (innovator, other, manager):
        c.close()


def _enquire(client: httpx.Client, **changes) -> dict:
    r = client.post("/api/v1/enquiries", json=ENQUIRY | changes)
    assert r.status_code == 201, r.text
    return r.json()


def test_an_enquiry_is_triaged_with_reasons_and_gets_a_named_contact(door):
    _, innovator, _, _ = door
    case = _enquire(innovator)
    assert case["status"] == "triaged"
    assert case["pathway"] == "evaluation"
    assert case["account_manager"]  # the innovator sees a named contact
    reasons = case["suggestions"]["assets"]["rwe-test-evaluation-centre"]
    assert reasons and "evaluate" in reasons[0].lower()
    assert case["first_response_due"] == "2026-12-09"  # 2 working days after Monday 7 December
    assert [c["id"] for c in innovator.get("/api/v1/enquiries").json()] == [case["id"]]


def test_a_bad_enquiry_names_each_field(door):
    _, innovator, _, _ = door
    r = innovator.post("/api/v1/enquiries", json={"organisation": "", "stage": "seed", "sector": "x",
                                                  "needs": ["teleport"], "text": 5})
    assert r.status_code == 400
    assert set(r.json()["problems"]) == {"organisation", "stage", "sector", "needs", "text"}
    assert innovator.post("/api/v1/enquiries", content=b"not json",
                          headers={"content-type": "application/json"}).status_code == 400


def test_the_case_moves_through_its_states(door):
    _, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    r = manager.post(f"/api/v1/cases/{case_id}/pick-up")
    assert r.status_code == 200 and r.json()["status"] == "engaged"
    assert manager.post(f"/api/v1/cases/{case_id}/status", json={"status": "triaged"}).status_code == 400
    r = manager.post(f"/api/v1/cases/{case_id}/status", json={"status": "in_progress"})
    assert r.json()["status"] == "in_progress"
    r = manager.post(f"/api/v1/cases/{case_id}/status", json={"status": "closed"})
    assert r.status_code == 400 and "outcome" in r.json()["detail"]
    r = manager.post(f"/api/v1/cases/{case_id}/status", json={"status": "closed", "outcome": "referred"})
    assert r.json()["status"] == "closed" and r.json()["outcome"] == "referred"
    assert manager.post(f"/api/v1/cases/{case_id}/messages", json={"body": "hello"}).status_code == 400
    history = manager.get(f"/api/v1/cases/{case_id}").json()["history"]
    assert [h["to"] for h in history if h["from"] != h["to"]] == ["new", "triaged", "engaged", "in_progress", "closed"]


def test_messages_both_ways_and_the_first_response_stops_the_clock(door):
    clock, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    assert innovator.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Any news?"}).status_code == 201
    assert manager.get(f"/api/v1/cases/{case_id}").json()["first_response_at"] is None
    clock.now += timedelta(days=1)
    r = manager.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Yes: let's talk on Tuesday."})
    assert r.status_code == 201 and r.json()["first_response_at"]
    seen = innovator.get(f"/api/v1/cases/{case_id}").json()["messages"]
    assert [(m["from_hub"], m["body"]) for m in seen] == [(False, "Any news?"), (True, "Yes: let's talk on Tuesday.")]
    assert manager.post(f"/api/v1/cases/{case_id}/messages", json={"body": "  "}).status_code == 400


def test_tasks_and_documents(door):
    _, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    r = manager.post(f"/api/v1/cases/{case_id}/tasks", json={"title": "Send the evaluation guide", "due_on": "2026-12-10"})
    assert r.status_code == 201
    task_id = r.json()["created"]
    assert manager.post(f"/api/v1/cases/{case_id}/tasks", json={"title": "x", "due_on": "soon"}).status_code == 400
    assert manager.post(f"/api/v1/cases/{case_id}/tasks/{task_id}/done").status_code == 200
    assert manager.post(f"/api/v1/cases/{case_id}/tasks/{task_id}/done").status_code == 400
    assert manager.post(f"/api/v1/cases/{case_id}/tasks/999999/done").status_code == 404
    body = b"%PDF-1.4 protocol"
    r = innovator.post(f"/api/v1/cases/{case_id}/documents",
                       json={"file_name": "../../protocol.pdf", "content_base64": base64.b64encode(body).decode()})
    assert r.status_code == 201
    doc = manager.get(f"/api/v1/cases/{case_id}").json()["documents"][0]
    assert doc["file_name"] == "protocol.pdf"  # no path survives
    got = manager.get(f"/cases/{case_id}/documents/{doc['id']}")
    assert got.content == body and got.headers["content-type"] == "application/octet-stream"
    assert innovator.post(f"/api/v1/cases/{case_id}/documents",
                          json={"file_name": "a.txt", "content_base64": "%%%"}).status_code == 400
    r = innovator.post(f"/api/v1/cases/{case_id}/documents",
                       json={"file_name": 'протокол "v2".pdf', "content_base64": base64.b64encode(b"x").decode()})
    doc_id = r.json()["created"]
    got = innovator.get(f"/cases/{case_id}/documents/{doc_id}")
    assert got.status_code == 200 and "filename*=UTF-8''%D0%BF" in got.headers["content-disposition"]


def test_governance_steps_open_prefilled_and_the_enquirer_sees_them(door):
    _, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    for kind in ("feasibility", "access_request", "evaluation"):
        assert manager.post(f"/api/v1/cases/{case_id}/links", json={"kind": kind}).status_code == 201
    assert manager.post(f"/api/v1/cases/{case_id}/links", json={"kind": "grant_myself"}).status_code == 400
    links = {link["kind"]: link["url"] for link in innovator.get(f"/api/v1/cases/{case_id}").json()["links"]}
    assert links["feasibility"] == f"/feasibility?from_case={case_id}"
    assert "task_types=evaluation" in links["evaluation"] and "Acme+Diagnostics" in links["evaluation"]
    assert not any("X-rays" in url or "chest" in url for url in links.values())  # free text stays out of URLs
    form = innovator.get(links["access_request"])
    assert form.status_code == 200 and f"front door case {case_id}" in form.text  # the form is pre-filled
    page = innovator.get(f"/cases/{case_id}").text
    assert "Data access request (pre-filled)" in page and "evaluation lands separately" in page


def test_an_enquirer_cannot_see_or_work_anothers_case(door):
    _, innovator, other, manager = door
    case_id = _enquire(innovator)["id"]
    assert other.get(f"/api/v1/cases/{case_id}").status_code == 403
    assert other.get(f"/cases/{case_id}").status_code == 403
    assert other.post(f"/api/v1/cases/{case_id}/messages", json={"body": "hi"}).status_code == 403
    assert other.get("/api/v1/enquiries").json() == []
    # ... and the enquirer cannot manage even their own case
    assert innovator.post(f"/api/v1/cases/{case_id}/pick-up").status_code == 403
    assert innovator.post(f"/api/v1/cases/{case_id}/status", json={"status": "closed", "outcome": "project"}).status_code == 403
    assert innovator.post(f"/api/v1/cases/{case_id}/links", json={"kind": "access_request"}).status_code == 403
    assert innovator.get("/api/v1/cases").status_code == 403
    # control: the account manager and the enquirer themselves can
    assert manager.get(f"/api/v1/cases/{case_id}").status_code == 200
    assert innovator.get(f"/api/v1/cases/{case_id}").status_code == 200


def test_a_form_post_without_the_csrf_token_is_refused(door, live_server):
    _, innovator, _, _ = door
    case_id = _enquire(innovator)["id"]
    token = innovator.headers.pop("X-CSRF-Token")
    assert innovator.post(f"/api/v1/cases/{case_id}/messages", json={"body": "forged"}).status_code == 403
    innovator.headers["X-CSRF-Token"] = token
    assert innovator.post(f"/api/v1/cases/{case_id}/messages", json={"body": "real"}).status_code == 201


def test_assignment_is_by_pathway_then_load(live_server, settings):
    install(live_server, settings)
    innovator = client_for(live_server, settings, "innovator")
    first = client_for(live_server, settings, "account_manager", email="am1@test.example", name="Ann First")
    client_for(live_server, settings, "account_manager", email="am2@test.example", name="Bob Second").close()
    names = [_enquire(innovator)["account_manager"] for _ in range(4)]
    assert sorted(names) == ["Ann First", "Ann First", "Bob Second", "Bob Second"]  # the load is shared
    assert first.post("/api/v1/cases/1/assign", json={"manager_user_id": 1}).status_code == 400  # not an AM
    innovator.close()
    first.close()


def test_overdue_first_response_and_nudges_follow_working_days(door):
    clock, innovator, _, manager = door
    clock.now = clock.now.replace(month=12, day=23)  # Wednesday 23 December 2026
    case_id = _enquire(innovator)["id"]
    case = manager.get(f"/api/v1/cases/{case_id}").json()
    assert case["first_response_due"] == "2026-12-29"  # 24th, then 25th, 28th bank holidays; 29th the 2nd day
    clock.now = clock.now.replace(day=29)
    assert not manager.get(f"/api/v1/cases/{case_id}").json()["first_response_overdue"]
    clock.now = clock.now.replace(day=30)
    queue = {c["id"]: c for c in manager.get("/api/v1/cases").json()}
    assert queue[case_id]["first_response_overdue"]
    clock.now = clock.now.replace(year=2027, month=1, day=8)
    assert manager.get(f"/api/v1/cases/{case_id}").json()["needs_nudge"]


def test_triage_rules_are_edited_as_data_by_the_hub_admin(door, live_server, settings):
    _, innovator, _, manager = door
    admin = client_for(live_server, settings, "hub_admin")
    source = admin.get("/api/v1/frontdoor/triage-rules").json()["source"]
    bad = source.replace("pathway: evaluation", "pathway: evalution", 1)
    r = admin.put("/api/v1/frontdoor/triage-rules", json={"source": bad})
    assert r.status_code == 400 and "rule 1 ('Evaluate a product')" in r.json()["detail"] and "evalution" in r.json()["detail"]
    r = admin.put("/api/v1/frontdoor/triage-rules", json={"source": "- name: x\n  when: {needs_any: [evaluate]}\n  suggest: !!python/object/apply:os.system [echo]\n  why: y"})
    assert r.status_code == 400  # YAML tags that would build objects are refused, not run
    assert manager.put("/api/v1/frontdoor/triage-rules", json={"source": source}).status_code == 403
    new = ("- name: Everything to growth\n  when: {needs_any: [evaluate]}\n"
           "  suggest: {pathway: growth, partners: [investment-fund]}\n  why: Testing.\n")
    assert admin.put("/api/v1/frontdoor/triage-rules", json={"source": new}).json() == {"rules": 1}
    case = _enquire(innovator)
    assert case["pathway"] == "growth" and case["suggestions"]["partners"] == {"investment-fund": ["Everything to growth: Testing."]}
    admin.close()


def test_dashboard_and_csv_export_neutralise_formulas(door, live_server, settings):
    _, innovator, _, manager = door
    _enquire(innovator, organisation="=HYPERLINK(\"http://evil.example\",\"x\")")
    _enquire(innovator, organisation="@SUM(A1)", sector="ai")
    d = manager.get("/api/v1/frontdoor/dashboard").json()
    assert d["total"] == 2 and d["by_sector"] == {"ai": 1, "diagnostics": 1}
    rows = list(csv.DictReader(io.StringIO(manager.get("/operator/enquiries.csv").text)))
    assert [r["organisation"][:2] for r in rows] == ["'=", "'@"]
    assert innovator.get("/operator/enquiries.csv").status_code == 403
    page = manager.get("/operator").text
    assert "<svg" in page and "Enquiries by pathway" in page


def test_conversion_counts_a_project_drafted_after_an_access_request_was_opened(door):
    _, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    assert manager.get("/api/v1/frontdoor/dashboard").json()["converted_to_projects"] == 0
    manager.post(f"/api/v1/cases/{case_id}/links", json={"kind": "access_request"})
    r = innovator.post("/api/v1/projects", json={"title": "From the front door"})
    assert r.status_code in (200, 201), r.text
    assert manager.get("/api/v1/frontdoor/dashboard").json()["converted_to_projects"] == 1


def test_challenge_responses_need_sign_in_and_an_open_challenge(door, live_server):
    clock, innovator, _, _ = door
    with httpx.Client(base_url=live_server.url) as anonymous:
        token = csrf_token(anonymous)
        assert anonymous.post("/api/v1/challenges/1/responses", json={}, headers={"X-CSRF-Token": token}).status_code == 401
    ok = {"responder_kind": "company", "summary": "We have a deterioration model."}
    assert innovator.post("/api/v1/challenges/1/responses", json=ok).status_code == 201
    assert innovator.post("/api/v1/challenges/1/responses", json=ok | {"responder_kind": "wizard"}).status_code == 400
    clock.now = clock.now.replace(year=2027, month=3, day=2)  # the day after it closed
    assert innovator.post("/api/v1/challenges/1/responses", json=ok).status_code == 404


def test_the_hub_admin_decides_who_takes_which_pathway(live_server, settings):
    install(live_server, settings)
    admin = client_for(live_server, settings, "hub_admin")
    innovator = client_for(live_server, settings, "innovator")
    ann = client_for(live_server, settings, "account_manager", email="am1@test.example", name="Ann First")
    client_for(live_server, settings, "account_manager", email="am2@test.example", name="Bob Second").close()
    bob_id = next(m["user_id"] for m in admin.get("/api/v1/frontdoor/managers").json() if m["name"] == "Bob Second")
    assert admin.put(f"/api/v1/frontdoor/managers/{bob_id}", json={"pathways": ["evaluation"]}).status_code == 200
    assert [_enquire(innovator)["account_manager"] for _ in range(3)] == ["Bob Second"] * 3  # only Bob takes it
    assert _enquire(innovator, needs=["funding"])["account_manager"] == "Ann First"  # nobody takes growth: anyone
    r = admin.put(f"/api/v1/frontdoor/managers/{bob_id}", json={"pathways": ["nowhere"]})
    assert r.status_code == 400 and "nowhere" in r.json()["detail"]
    assert admin.put("/api/v1/frontdoor/managers/1", json={"pathways": []}).status_code == 400  # not an AM
    assert ann.put(f"/api/v1/frontdoor/managers/{bob_id}", json={"pathways": []}).status_code == 403
    page = admin.post(f"/operator/managers/{bob_id}", data={"pathways": ["trials", "data"],
                                                            "csrf_token": admin.headers["X-CSRF-Token"]})
    assert page.status_code == 303
    assert {m["name"]: m["pathways"] for m in admin.get("/api/v1/frontdoor/managers").json()}["Bob Second"] == ["data", "trials"]
    for c in (admin, innovator, ann):
        c.close()


def test_case_pages_change_state_through_forms_and_explain_refusals(door):
    _, innovator, _, manager = door
    case_id = _enquire(innovator)["id"]
    token = manager.headers["X-CSRF-Token"]
    assert manager.post(f"/cases/{case_id}/pick-up", data={"csrf_token": token}).status_code == 303
    r = manager.post(f"/cases/{case_id}/status", data={"status": "new", "csrf_token": token})
    assert r.status_code == 400 and "cannot move from engaged to new" in r.text
    assert manager.post(f"/cases/{case_id}/tasks", data={"title": "Call them", "csrf_token": token}).status_code == 303
    r = manager.post(f"/cases/{case_id}/links", data={"kind": "feasibility", "condition": "abc", "csrf_token": token})
    assert r.status_code == 400 and "condition" in r.text
    r = innovator.post(f"/cases/{case_id}/documents", files={"file": ("notes.txt", b"hello")},
                       data={"csrf_token": innovator.headers["X-CSRF-Token"]})
    assert r.status_code == 303
    assert innovator.post(f"/cases/{case_id}/status", data={"status": "closed", "outcome": "project",
                                                            "csrf_token": innovator.headers["X-CSRF-Token"]}).status_code == 403
    assert manager.post(f"/cases/{case_id}/status", data={"status": "closed", "outcome": "resolved",
                                                          "csrf_token": token}).status_code == 303
    page = innovator.get(f"/cases/{case_id}").text
    assert "Closed" in page and "Question answered" in page and "notes.txt" in page
    assert "Pick up this case" not in page  # the enquirer gets no hub controls


def test_nhs_teams_post_challenges_and_only_the_poster_and_the_hub_see_responses(live_server, settings):
    clock = install(live_server, settings)
    team = client_for(live_server, settings, "data_custodian", organisation="City Hospital")
    other_team = client_for(live_server, settings, "data_custodian", email="other-custodian@test.example")
    admin = client_for(live_server, settings, "hub_admin")
    student = client_for(live_server, settings, "public")
    r = team.post("/api/v1/challenges", json={"title": "Fewer falls on wards", "kind": "clinical",
                                              "summary": "Ideas to prevent falls.", "posted_by": "Elderly care, City Hospital",
                                              "closes_on": "2026-12-01"})
    assert r.status_code == 400 and set(r.json()["problems"]) == {"closes_on"}  # in the past
    r = team.post("/api/v1/challenges", json={"title": "Fewer falls on wards", "kind": "clinical",
                                              "summary": "Ideas to prevent falls.", "posted_by": "Elderly care, City Hospital",
                                              "closes_on": "2027-01-31"})
    challenge_id = r.json()["id"]
    assert "Fewer falls on wards" in httpx.get(f"{live_server.url}/challenges").text
    assert student.post(f"/api/v1/challenges/{challenge_id}/responses",
                        json={"responder_kind": "student", "summary": "A sensor mat."}).status_code == 201
    assert team.get(f"/api/v1/challenges/{challenge_id}/responses").json()[0]["summary"] == "A sensor mat."
    assert admin.get(f"/api/v1/challenges/{challenge_id}/responses").status_code == 200
    assert other_team.get(f"/api/v1/challenges/{challenge_id}/responses").status_code == 403
    assert student.get(f"/api/v1/challenges/{challenge_id}/responses").status_code == 403
    assert "A sensor mat." in team.get(f"/challenges/{challenge_id}").text
    assert "A sensor mat." not in other_team.get(f"/challenges/{challenge_id}").text
    assert "A sensor mat." not in httpx.get(f"{live_server.url}/challenges/{challenge_id}").text
    assert student.post("/api/v1/challenges", json={"title": "x"}).status_code == 403
    clock.now = clock.now.replace(year=2027, month=2, day=1)
    assert "Fewer falls on wards" not in httpx.get(f"{live_server.url}/challenges").text
    for c in (team, other_team, admin, student):
        c.close()


def test_api_tokens_need_the_frontdoor_scope(door, live_server):
    _, innovator, _, _ = door
    tokens = {}
    for name, scopes in (("narrow", ["account:read"]), ("door", ["frontdoor"])):
        r = innovator.post("/api/v1/tokens", json={"name": name, "scopes": scopes})
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {tokens['narrow']}"}) as narrow:
        assert narrow.post("/api/v1/enquiries", json=ENQUIRY).status_code == 403
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {tokens['door']}"}) as door_token:
        r = door_token.post("/api/v1/enquiries", json=ENQUIRY)  # no CSRF header needed with a token
        assert r.status_code == 201
        assert door_token.post(f"/api/v1/cases/{r.json()['id']}/messages", json={"body": "via the API"}).status_code == 201
