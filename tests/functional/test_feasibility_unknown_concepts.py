"""An ATLAS definition naming concept ids the region lacks: the page and the API name them by
concept set, instead of a silent 0. Feasibility pages name medicines by their UK names."""

from __future__ import annotations

import html
import json

import httpx

from phta.web.feasibility_atlas import EXAMPLE_DEFINITION
from tests.governance_support import csrf_token, make_user, sign_in

UNKNOWN_ID = 987_654_321


def _with_unknown_concept() -> str:
    definition = json.loads(EXAMPLE_DEFINITION)
    items = definition["ConceptSets"][0]["expression"]["items"]
    items.append({**items[0], "concept": {**items[0]["concept"], "CONCEPT_ID": UNKNOWN_ID}})
    return json.dumps(definition)


def test_unknown_concept_ids_are_named_on_the_page_and_in_the_api(region_server, region_settings):
    with httpx.Client(base_url=region_server.url, timeout=120) as client:
        sign_in(client, make_user(region_settings, "researcher"))
        token = csrf_token(client, "/feasibility/atlas")
        page = client.post("/feasibility/atlas", data={"csrf_token": token, "definition": _with_unknown_concept()})
        api = client.post("/api/v1/feasibility/atlas", content=_with_unknown_concept(),
                          headers={"X-CSRF-Token": token, "content-type": "application/json"})
        # control: the example's concepts are all known, so nothing is flagged
        known_page = client.post("/feasibility/atlas", data={"csrf_token": token, "definition": EXAMPLE_DEFINITION})
        known_api = client.post("/api/v1/feasibility/atlas", content=EXAMPLE_DEFINITION,
                                headers={"X-CSRF-Token": token, "content-type": "application/json"})
    assert page.status_code == 200 and 'id="unknown-concepts"' in page.text
    text = " ".join(html.unescape(page.text).split())
    assert f"concept set 0: {UNKNOWN_ID}" in text and "not in the region's vocabulary" in text
    assert 'id="network-total"' in page.text  # the counts are still shown, with the reason beside them
    assert api.status_code == 200 and api.json()["unknown_concepts"] == [{"concept_set": 0, "concept_ids": [UNKNOWN_ID]}]
    assert known_page.status_code == 200 and 'id="unknown-concepts"' not in known_page.text
    assert known_api.json()["unknown_concepts"] == []


def test_the_feasibility_form_offers_medicines_by_uk_name(live_server, settings):
    with httpx.Client(base_url=live_server.url) as client:
        sign_in(client, make_user(settings, "researcher"))
        form = client.get("/feasibility").text
    assert ">Salbutamol</option>" in form and ">Beclometasone</option>" in form
    assert "Albuterol" not in form and "Beclomethasone" not in form
