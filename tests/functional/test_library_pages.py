"""The library through real HTTP: search, the dataset page (JSON-LD, quality, links), the
custodian's form and profile, import, the store page — and who may do what."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from phta.catalogue import library
from phta.catalogue.records import new_record
from phta.execution.network import region_stores
from phta.governance import airlock
from phta.store import open_database
from tests.governance_support import csrf_token, make_user, sign_in

ORG, OTHER = "Trust A", "Trust B"


@pytest.fixture
def shelf(region_settings):
    database = open_database(region_settings)
    node = region_stores(region_settings)[0].code
    airlock.set_node_setting(database, node, custodian_signoff=False, custodian_organisation=ORG, actor="test")
    record = new_record(title="Trust A diabetes and renal data", abstract="Adults with diabetes </script><b>bold</b>",
                        custodian=ORG, contact="data@trust-a.example", keywords=("diabetes", "eGFR"),
                        start_date="2016-01-01")
    item = library.save(database, record, node=node)
    make_user(region_settings, "data_custodian", email="custodian@a.example", organisation=ORG)
    make_user(region_settings, "data_custodian", email="custodian@b.example", organisation=OTHER)
    make_user(region_settings, "researcher", email="researcher@x.example")
    return item, node


@contextmanager
def _client(server, email=None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as client:
        if email:
            assert sign_in(client, email).status_code == 303
        yield client


def test_search_page_and_api_highlight_and_facet(region_server, shelf):
    item, node = shelf
    with _client(region_server) as anon:
        page = anon.get("/library", params={"q": "diabetes"})
        assert page.status_code == 200
        assert "<mark>diabetes</mark>" in page.text.lower() or "<mark>Diabetes</mark>" in page.text
        assert "<b>bold</b>" not in page.text  # record text escaped
        api = anon.get("/api/v1/library", params={"q": "diabet", "node": node}).json()
        assert api["total"] == 1 and api["hits"][0]["url"] == f"/library/datasets/{item.id}"
        assert api["facets"]["custodian"] == {ORG: 1}
        bad = anon.get("/api/v1/library", params={"sort": "random"})
        assert bad.status_code == 422 and "sort" in bad.text


def test_dataset_page_embeds_schema_org_and_links_onward(region_server, shelf):
    item, node = shelf
    with _client(region_server) as anon:
        page = anon.get(f"/library/datasets/{item.id}")
        assert page.status_code == 200
        block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
        assert block, "no JSON-LD block"
        data = json.loads(block.group(1))  # the record's </script> did not end the block
        assert data["@type"] == "Dataset" and data["name"] == item.title
        assert f"/projects/new?library_dataset={item.id}" in page.text and f"nodes={node}" in page.text
        assert 'id="quality-tab"' in page.text
        dcat = anon.get(f"/library/datasets/{item.id}/dcat.jsonld")
        assert dcat.headers["content-type"].startswith("application/ld+json")
        assert dcat.json()["@type"] == "dcat:Dataset"
        assert anon.get(f"/library/datasets/{item.id}/hdruk.json").json()["summary"]["title"] == item.title
        assert anon.get("/library/datasets/999999").status_code == 404


def test_access_request_link_prefills_the_form(region_server, shelf):
    item, node = shelf
    with _client(region_server, "researcher@x.example") as client:
        link = client.get(f"/api/v1/library/datasets/{item.id}").json()["links"]["access_request"]
        form = client.get(link + "&nodes=nowhere&datasets=not-a-dataset")
        assert form.status_code == 200
        assert re.search(rf'value="{re.escape(node)}"[^>]*checked', form.text)
        assert "nowhere" not in form.text and "not-a-dataset" not in form.text


def test_only_the_custodians_of_the_organisation_edit(region_server, shelf):
    item, _node = shelf
    with _client(region_server, "custodian@b.example") as other:
        assert other.get(f"/library/datasets/{item.id}/edit").status_code == 403
        token = csrf_token(other, "/library")
        r = other.post(f"/library/datasets/{item.id}/edit", data={"csrf_token": token, "title": "Taken over"})
        assert r.status_code == 403
    with _client(region_server, "custodian@a.example") as mine:
        form = mine.get(f"/library/datasets/{item.id}/edit")
        assert form.status_code == 200
        token = csrf_token(mine, f"/library/datasets/{item.id}/edit")
        values = {"csrf_token": token, "title": "x", "abstract": "Adults with diabetes", "description": "All of it",
                  "keywords": "diabetes", "contact_point": "data@trust-a.example", "spatial": "Birmingham"}
        bad = mine.post(f"/library/datasets/{item.id}/edit", data=values)
        assert bad.status_code == 422 and "summary.title" in bad.text
        good = mine.post(f"/library/datasets/{item.id}/edit", data=values | {"title": "Trust A renal registry"})
        assert good.status_code == 303
        assert mine.get("/api/v1/library", params={"q": "renal registry"}).json()["total"] == 1


def test_profile_and_store_page_for_the_custodian_only(region_server, shelf):
    item, node = shelf
    with _client(region_server, "custodian@a.example") as mine:
        token = csrf_token(mine, f"/library/datasets/{item.id}/edit")
        r = mine.post(f"/api/v1/library/datasets/{item.id}/profile", headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text
        assert r.json()["population_size"] > 0
        store = mine.get(f"/api/v1/library/stores/{node}")
        assert store.status_code == 200 and any(t["table"] == "person" for t in store.json()["tables"])
        assert mine.get(f"/library/stores/{node}").status_code == 200
    with _client(region_server, "custodian@b.example") as other:
        assert other.get(f"/api/v1/library/stores/{node}").status_code == 403
    with _client(region_server, "researcher@x.example") as researcher:
        assert researcher.get(f"/library/stores/{node}").status_code == 403


def test_import_validates_and_checks_the_custodian(region_server, shelf):
    _item, node = shelf
    record = new_record(title="Imported cardiology audit", abstract="Heart failure admissions audit",
                        custodian=ORG, contact="data@trust-a.example")
    with _client(region_server, "custodian@a.example") as mine:
        token = csrf_token(mine, "/library")
        headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
        r = mine.post("/api/v1/library/datasets", params={"node": node}, content=json.dumps(record), headers=headers)
        assert r.status_code == 201, r.text
        broken = dict(record, summary=dict(record["summary"], populationSize="many"))
        r = mine.post("/api/v1/library/datasets", content=json.dumps(broken), headers=headers)
        assert r.status_code == 422 and "summary.populationSize" in r.text
        foreign = dict(record, summary=dict(record["summary"], dataCustodian={"name": OTHER, "identifier": "abc",
                                                                             "contactPoint": "x@b.example"}))
        r = mine.post("/api/v1/library/datasets", content=json.dumps(foreign), headers=headers)
        assert r.status_code == 403


def test_feasibility_from_a_dataset_counts_on_its_node_only(region_server, region_settings, shelf):
    item, node = shelf
    with _client(region_server, "researcher@x.example") as client:
        link = client.get(f"/api/v1/library/datasets/{item.id}").json()["links"]["feasibility"]
        form = client.get(link)
        assert form.status_code == 200 and 'id="feasibility-node"' in form.text
        token = csrf_token(client, link)
        from phta.query.simple_cohort import conditions

        condition = conditions()[0].concept_id
        page = client.post("/feasibility", data={"csrf_token": token, "condition": str(condition), "node": node})
        assert page.status_code == 200, page.text
        others = [s.code for s in region_stores(region_settings) if s.code != node]
        assert all(f">{code}<" not in page.text for code in others)  # no other node's column
        assert client.get("/feasibility?node=nowhere").text.count('id="feasibility-node"') == 0


def test_replacing_a_record_cannot_hand_it_to_another_organisation(region_server, shelf):
    item, _node = shelf
    with _client(region_server, "custodian@a.example") as mine:
        headers = {"X-CSRF-Token": csrf_token(mine, "/library"), "Content-Type": "application/json"}
        record = mine.get(f"/library/datasets/{item.id}/hdruk.json").json()
        record["summary"]["abstract"] = "Adults with diabetes, updated by the custodian"
        r = mine.put(f"/api/v1/library/datasets/{item.id}", content=json.dumps(record), headers=headers)
        assert r.status_code == 200, r.text
        record["summary"]["dataCustodian"]["name"] = OTHER
        r = mine.put(f"/api/v1/library/datasets/{item.id}", content=json.dumps(record), headers=headers)
        assert r.status_code == 403
    assert library.dataset(open_database(region_server.server.config.app.state.settings), item.id).organisation == ORG


def test_hub_admins_make_collections(region_server, region_settings, shelf):
    item, _node = shelf
    make_user(region_settings, "hub_admin", email="admin@x.example")
    with _client(region_server, "admin@x.example") as admin:
        headers = {"X-CSRF-Token": csrf_token(admin, "/library"), "Content-Type": "application/json"}
        r = admin.post("/api/v1/library/collections", headers=headers,
                       content=json.dumps({"name": "Diabetes", "description": "d", "dataset_ids": [item.id]}))
        assert r.status_code == 201, r.text
        bad = admin.post("/api/v1/library/collections", headers=headers,
                         content=json.dumps({"name": "x", "dataset_ids": [999999]}))
        assert bad.status_code == 404
    with _client(region_server) as anon:
        assert anon.get("/api/v1/library/collections").json()["collections"][0]["datasets"][0]["id"] == item.id
