"""Network feasibility from an ATLAS (Circe) definition over real HTTP: paste, upload and the JSON
API, on a generated keyed region; protected counts only, audited per node, repeatable noise."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from phta.audit import entries, verify_chain
from phta.query import serial
from phta.query.circe.importer import import_expression
from phta.store import open_database
from phta.web.feasibility_atlas import EXAMPLE_DEFINITION
from tests.functional.labels import without_labels
from tests.governance_support import csrf_token, make_user, sign_in

DEFINITION = EXAMPLE_DEFINITION  # the page's example: adults with hypertension


@contextmanager
def _client(server, settings, role) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        if role is not None:
            assert sign_in(client, make_user(settings, role)).status_code == 303
        yield client


def _api(client: httpx.Client, body: str) -> httpx.Response:
    token = csrf_token(client, "/feasibility/atlas")
    return client.post("/api/v1/feasibility/atlas", content=body,
                       headers={"X-CSRF-Token": token, "content-type": "application/json"})


def test_pasted_and_uploaded_definitions_give_protected_counts(region_server, region_settings):
    with _client(region_server, region_settings, "researcher") as client:
        page = client.get("/feasibility/atlas")
        assert page.status_code == 200 and 'name="definition"' in page.text
        example = client.get("/feasibility/atlas?example=true")
        assert "Hypertensive disorder" in html.unescape(example.text)
        token = csrf_token(client, "/feasibility/atlas")
        pasted = client.post("/feasibility/atlas", data={"csrf_token": token, "definition": DEFINITION})
        uploaded = client.post("/feasibility/atlas", data={"csrf_token": token},
                               files={"file": ("atlas.json", DEFINITION.encode(), "application/json")})
    assert pasted.status_code == 200, pasted.text
    total = html.unescape(re.search(r'<strong id="network-total">([^<]+)</strong>', pasted.text).group(1))
    assert total.startswith("suppressed") or int(total.split()[0].replace(",", "")) % 10 == 0
    assert "Disclosure policy applied: <strong>feasibility</strong>" in pasted.text and "adult" in pasted.text
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]+)</td>', pasted.text)]
    assert cells and all(c.startswith(("suppressed (<10)", "hidden to protect another cell")) or int(c.split()[0].replace(",", "")) % 10 == 0
                         for c in cells)
    # same persons, same noise (the second answer is labelled as repeating the first)
    assert uploaded.status_code == 200 and total.split(" (")[0] in html.unescape(uploaded.text)


def test_api_is_protected_repeatable_and_audited_per_node(region_server, region_settings):
    with _client(region_server, region_settings, "innovator") as client:
        first, second = _api(client, DEFINITION), _api(client, DEFINITION)
    assert first.status_code == 200, first.text
    payload = first.json()
    assert without_labels(payload) == without_labels(second.json())
    assert payload["definition"] == "atlas" and payload["policy"]["name"] == "feasibility"
    assert len(payload["nodes"]) == 3 and [r["rule"] for r in payload["rules"]] == ["adult"]
    values = [payload["total"]["value"], *(r["persons"]["value"] for r in payload["rules"]),
              *(n["total"]["value"] for n in payload["nodes"])]
    assert any(values) and all(v is None or v % 10 == 0 for v in values)
    assert "episodes" not in first.text and "by_event" not in first.text
    runs = [e for e in entries(open_database(region_settings)) if e.action == "query.run"]
    query_hash = serial.content_hash(import_expression(DEFINITION))
    assert len([e for e in runs if e.details["query_hash"] == query_hash]) == 6  # 3 nodes x 2 runs
    for e in runs:
        assert e.details["outcome"] == "completed" and "national" in {o["kind"] for o in e.details["opt_outs"]}
        assert all(not isinstance(v, int) for v in e.details.values())
    assert verify_chain(open_database(region_settings)).ok


def test_bad_definitions_get_clear_errors(region_server, region_settings):
    doc = json.loads(DEFINITION)
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["Gizmo"] = 1
    with _client(region_server, region_settings, "researcher") as client:
        r = _api(client, json.dumps(doc))
        assert r.status_code == 400 and "$.PrimaryCriteria.CriteriaList[0].ConditionOccurrence.Gizmo" in r.text
        token = csrf_token(client, "/feasibility/atlas")
        r = client.post("/feasibility/atlas", data={"csrf_token": token, "definition": ""})
        assert r.status_code == 400 and "paste or upload" in r.text


@pytest.mark.parametrize("role", [None, "public", "data_custodian"])
def test_others_are_refused(region_server, region_settings, role):
    with _client(region_server, region_settings, role) as client:
        token = csrf_token(client)
        r = client.post("/api/v1/feasibility/atlas", content=DEFINITION,
                        headers={"X-CSRF-Token": token, "content-type": "application/json"})
        page = client.get("/feasibility/atlas")
    expected = 401 if role is None else 403
    assert r.status_code == expected and page.status_code == expected


def test_the_demo_says_where_atlas_definitions_run(settings):
    from phta.cli.demo import _atlas_step

    assert any("/feasibility/atlas" in line for line in _atlas_step(settings, None))  # type: ignore[arg-type]
