"""The data access request over real HTTP: nodes and datasets are chosen from what exists (and
the server refuses anything else, by page and by API), and the HDR UK form's approvals, funding
and commercial questions are asked, checked and shown to the committee."""

from __future__ import annotations

import html
import re

import httpx

from tests.governance_support import (
    complete_request,
    csrf_token,
    make_user,
    register_nodes,
    sign_in,
)


def _post(client: httpx.Client, answers: dict, action: str = "submit") -> httpx.Response:
    return client.post("/projects/new", data=answers | {"action": action, "csrf_token": csrf_token(client, "/projects/new")})


def test_nodes_are_offered_from_the_region_and_the_registered_nodes(region_server, region_settings):
    register_nodes(region_settings, "uhb")
    with httpx.Client(base_url=region_server.url, timeout=60) as client:
        sign_in(client, make_user(region_settings, "researcher"))
        form = client.get("/projects/new").text
    boxes = re.findall(r'<input type="checkbox" id="q-nodes-[^"]+" name="nodes" value="([^"]+)"', form)
    assert boxes == ["XG001", "XG002", "XT001", "uhb"]  # the region's stores by site code, then settings
    assert "XT001 — Birmingham Hospitals NHS Trust (synthetic)" in html.unescape(form)
    assert 'name="datasets" value="diagnoses"' in form and 'name="nodes" size=' not in form  # no free text


def test_an_unknown_node_is_refused_on_the_page_and_by_the_api(live_server, settings):
    register_nodes(settings)
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, make_user(settings, "researcher"))
        refused = _post(client, complete_request() | {"nodes": ["uhb", "nowhere"]})
        assert refused.status_code == 400 and 'id="err-nodes"' in refused.text
        assert "'nowhere' is not a registered node; choose from swbh, uhb" in html.unescape(refused.text)
        header = {"X-CSRF-Token": csrf_token(client, "/projects")}
        pid = client.post("/api/v1/projects", headers=header,
                          json={"answers": complete_request() | {"nodes": ["UHB", "typo"], "tre_only": True,
                                                                 "pseudonymised": True}}).json()["id"]
        api = client.post(f"/api/v1/projects/{pid}/submit", headers=header)
        assert api.status_code == 422
        assert api.json()["detail"] == [{"loc": ["body", "answers", "nodes"], "type": "value_error",
                                         "msg": "Hospital nodes: 'typo' is not a registered node; choose from swbh, uhb"}]
        # control: registered nodes, in any case, are accepted and stored in the registry's spelling
        ok = _post(client, complete_request() | {"nodes": ["UHB", "swbh"]})
        assert ok.status_code == 303, ok.text
        pid = int(re.search(r"/projects/(\d+)", ok.headers["location"]).group(1))
        assert client.get(f"/api/v1/projects/{pid}").json()["answers"]["nodes"] == ["uhb", "swbh"]


def test_with_no_registered_nodes_a_request_cannot_name_one(live_server, settings):
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, make_user(settings, "researcher"))
        assert "No nodes are registered yet" in client.get("/projects/new").text
        refused = _post(client, complete_request())
        assert refused.status_code == 400 and "no nodes are registered yet" in refused.text


def test_unknown_datasets_are_refused(live_server, settings):
    register_nodes(settings)
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, make_user(settings, "researcher"))
        refused = _post(client, complete_request() | {"datasets": ["diagnoses", "everything"]})
        assert refused.status_code == 400 and "Datasets: unknown option" in refused.text


def test_the_hdr_uk_questions_are_asked_checked_and_shown_to_reviewers(live_server, settings):
    register_nodes(settings)
    make_user(settings, "committee_member", email="expert@hub.example", organisation="Hub")
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, make_user(settings, "researcher", organisation="Uni A"))
        form = client.get("/projects/new").text
        for name in ("ethics", "iras_id", "funder", "dpia", "dpia_reference", "commercial",
                     "commercial_organisation", "commercial_nature"):
            assert f'name="{name}"' in form, name
        missing = _post(client, complete_request() | {"iras_id": "", "dpia_reference": "", "commercial": "yes"})
        assert missing.status_code == 400
        for field in ("iras_id", "dpia_reference", "commercial_organisation", "commercial_nature"):
            assert f'id="err-{field}"' in missing.text, field
        bad_iras = _post(client, complete_request() | {"iras_id": "IRAS-1"})
        assert "IRAS ID: a number of 4 to 7 digits" in bad_iras.text
        ok = _post(client, complete_request() | {"commercial": "yes", "commercial_organisation": "Midlands MedTech Ltd",
                                                 "commercial_nature": "Co-applicant; evaluates its own device"})
        assert ok.status_code == 303, ok.text
        pid = int(re.search(r"/projects/(\d+)", ok.headers["location"]).group(1))
    with httpx.Client(base_url=live_server.url) as reviewer:
        sign_in(reviewer, "expert@hub.example")
        page = html.unescape(reviewer.get(f"/review/{pid}").text)
    for shown in ("Research ethics approval", "Approved by a research ethics committee", "312345", "NIHR",
                  "DPIA-2026-014", "Midlands MedTech Ltd", "Co-applicant; evaluates its own device",
                  "uhb, swbh", "Diagnoses (SNOMED CT, ICD-10)"):
        assert shown in page, shown
