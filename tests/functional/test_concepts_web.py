"""Concept search, concept pages, the concept set builder and their JSON API, through real HTTP
against the app over the session's synthetic region; and the person count's protection."""

from __future__ import annotations

import html
import json
import re

import httpx

from phta.audit import entries, verify_chain
from phta.cdm import vocabulary
from phta.query import serial
from phta.store import open_database
from phta.web.concepts import persons_with
from tests.governance_support import csrf_token, make_user, sign_in

T2DM = vocabulary.concept_id("SNOMED:44054006")
DIABETES = vocabulary.concept_id("SNOMED:73211009")


def _client(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=120)


def test_search_page_and_api_rank_and_tolerate_typos(region_server):
    with _client(region_server) as client:
        page = client.get("/concepts", params={"q": "diabtes type 2"})
        api = client.get("/api/v1/concepts", params={"q": "ICD10:E11"})
        empty = client.get("/concepts")
        bad = client.get("/api/v1/concepts", params={"q": "x" * 300})
    assert page.status_code == 200
    first = re.search(r'<a href="/concepts/(\d+)">([^<]+)</a>', page.text)
    assert first and int(first.group(1)) == T2DM
    assert api.status_code == 200 and api.json()["results"][0]["concept_code"] == "E11"
    assert empty.status_code == 200 and "results-heading" not in empty.text
    assert bad.status_code == 400 and "at most 200" in bad.json()["detail"]


def test_uk_medicine_names_on_search_pages(region_server):
    with _client(region_server) as client:
        page = client.get("/concepts", params={"q": "salbutamol"})
    assert "Salbutamol" in page.text and "Albuterol</a>" not in page.text


def test_concept_page_shows_hierarchy_and_mapped_codes(region_server):
    with _client(region_server) as client:
        page = client.get(f"/concepts/{T2DM}")
        api = client.get(f"/api/v1/concepts/{DIABETES}")
        missing = client.get("/concepts/12345")
        huge = client.get(f"/concepts/{2**70}")
    text = html.unescape(page.text)
    assert page.status_code == 200 and "Diabetes mellitus" in text and "ICD10:E11" in text
    assert "sign in" in text  # persons are patient data: anonymous visitors get no count
    assert any(c["concept_id"] == T2DM for c in api.json()["children"])
    assert missing.status_code == 404 and huge.status_code in (404, 422)
    assert "Traceback" not in missing.text


def test_person_counts_are_protected_and_go_through_the_execution_path(region_server, region_settings):
    with _client(region_server) as client:
        anonymous = client.post(f"/concepts/{T2DM}/persons", data={"csrf_token": csrf_token(client, "/concept-sets")})
        assert anonymous.status_code in (401, 403) or "sign-in" in str(anonymous.url)
        assert sign_in(client, make_user(region_settings, "researcher")).status_code == 303
        token = csrf_token(client, f"/concepts/{T2DM}")
        forged = client.post(f"/concepts/{T2DM}/persons", data={})
        counted = client.post(f"/concepts/{T2DM}/persons", data={"csrf_token": token})
        again = client.post(f"/concepts/{T2DM}/persons", data={"csrf_token": token})
        api = client.post(f"/api/v1/concepts/{T2DM}/persons", headers={"X-CSRF-Token": token})
        api_source = client.post(f"/api/v1/concepts/{vocabulary.concept_id('ICD10:E11')}/persons",
                                 headers={"X-CSRF-Token": token})
    assert forged.status_code == 403
    assert counted.status_code == 200, counted.text
    total = html.unescape(re.search(r'<strong id="network-total">([^<]+)</strong>', counted.text).group(1))
    assert total.startswith("suppressed") or int(total.split()[0].replace(",", "")) % 10 == 0
    assert total in html.unescape(again.text)  # same persons, same noise: repetition averages nothing
    assert api.status_code == 200 and api.json()["audited"] is True and len(api.json()["nodes"]) == 3
    assert all(n["total"]["value"] is None or n["total"]["value"] % 10 == 0 for n in api.json()["nodes"])
    assert api_source.status_code == 400
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]+)</td>', counted.text)]
    assert cells and all(c.startswith("suppressed (<10)") or int(c.split()[0].replace(",", "")) % 10 == 0
                         for c in cells)
    # every node ran it through the execution path, with opt-outs applied, and the chain holds
    query_hash = serial.content_hash(persons_with(T2DM, "condition"))
    runs = [e for e in entries(open_database(region_settings))
            if e.action == "query.run" and e.details["query_hash"] == query_hash]
    assert len(runs) == 9  # 3 nodes x 3 requests (page twice, API once)
    assert all("national" in {o["kind"] for o in e.details["opt_outs"]} for e in runs)
    assert verify_chain(open_database(region_settings)).ok


def test_a_source_code_is_not_counted(region_server, region_settings):
    icd = vocabulary.concept_id("ICD10:E11")
    with _client(region_server) as client:
        assert sign_in(client, make_user(region_settings, "researcher")).status_code == 303
        token = csrf_token(client, f"/concepts/{icd}")
        refused = client.post(f"/concepts/{icd}/persons", data={"csrf_token": token})
    assert refused.status_code == 400 and "standard concepts" in refused.text


def _state(page: str) -> str:
    return html.unescape(re.search(r'name="set" value="([^"]*)"', page).group(1))


def test_builder_without_javascript_add_exclude_export(region_server):
    with _client(region_server) as client:
        start = client.get(f"/concept-sets?add={DIABETES}")
        token = csrf_token(client, "/concept-sets")
        assert start.status_code == 200 and "Type 2 diabetes mellitus" in start.text
        excluded = client.post("/concept-sets", data={
            "csrf_token": token, "set": _state(start.text), "action": "add", "concept": "SNOMED:46635009",
            "descendants": "1", "excluded": "1"})
        assert excluded.status_code == 200
        resolved = re.search(r'id="resolved".*?</table>', excluded.text, re.S).group(0)
        assert "Type 2 diabetes mellitus" in resolved and "Type 1 diabetes mellitus" not in resolved
        atlas = client.post("/concept-sets", data={"csrf_token": token, "set": _state(excluded.text),
                                                   "action": "atlas", "name": "Diabetes not type 1"})
        csv_out = client.post("/concept-sets", data={"csrf_token": token, "set": _state(excluded.text),
                                                     "action": "csv"})
        removed = client.post("/concept-sets", data={"csrf_token": token, "set": _state(excluded.text),
                                                     "remove": str(vocabulary.concept_id("SNOMED:46635009"))})
        reimported = client.post("/concept-sets", data={"csrf_token": token, "action": "import",
                                                        "import_text": csv_out.text})
        bad = client.post("/concept-sets", data={"csrf_token": token, "action": "add", "concept": "NOPE:1"})
    doc = atlas.json()
    assert doc["name"] == "Diabetes not type 1"
    assert [i["isExcluded"] for i in doc["expression"]["items"]] == [False, True]
    assert csv_out.text.splitlines()[0] == "code,term" and "44054006,Type 2 diabetes mellitus" in csv_out.text
    assert "46635009" not in csv_out.text
    assert "Type 1 diabetes mellitus" in re.search(r'id="resolved".*?</table>', removed.text, re.S).group(0)
    assert reimported.status_code == 200 and "44054006" in reimported.text
    assert bad.status_code == 400 and "NOPE:1" in html.unescape(bad.text)


def test_concept_set_api_round_trips_atlas_json_and_csv(region_server):
    body = json.dumps({"items": [{"concept": {"CONCEPT_ID": T2DM}, "includeMapped": True}]})
    with _client(region_server) as client:
        token = csrf_token(client, "/concept-sets")
        headers = {"X-CSRF-Token": token}
        as_json = client.post("/api/v1/concept-sets/resolve", content=body,
                              headers={**headers, "content-type": "application/json"})
        as_csv = client.post("/api/v1/concept-sets/resolve?format=csv", content=body,
                             headers={**headers, "content-type": "application/json"})
        back = client.post("/api/v1/concept-sets/resolve", content=as_csv.text,
                           headers={**headers, "content-type": "text/csv"})
        bad = client.post("/api/v1/concept-sets/resolve", content='{"items": [{"concept": {}}]}',
                          headers={**headers, "content-type": "application/json"})
        unknown = client.post("/api/v1/concept-sets/resolve", content='{"items": [{"concept": {"CONCEPT_ID": 7}}]}',
                              headers={**headers, "content-type": "application/json"})
    codes = sorted(c["concept_code"] for c in as_json.json()["resolved"])
    assert codes == ["44054006", "E11"]
    assert as_csv.text.splitlines()[0] == "code,term,vocabulary"
    assert sorted(c["concept_code"] for c in back.json()["resolved"]) == codes
    assert bad.status_code == 400 and "items[0].concept.CONCEPT_ID" in bad.json()["detail"]
    assert unknown.status_code == 400 and "concept 7" in unknown.json()["detail"]
