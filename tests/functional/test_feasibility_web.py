"""Network feasibility over real HTTP: the page and the JSON API, on a generated keyed region."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import httpx
import pytest

from phta.audit import entries, verify_chain
from phta.cdm.store import Store
from phta.execution import LOCAL_CUSTODIAN_QUALITY, ExecutionContext, ExecutionRequest, execute
from phta.execution.network import region_stores
from phta.query import serial
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.functional.labels import without_labels
from tests.governance_support import csrf_token, make_user, sign_in

HYPERTENSION = 2001000002  # SNOMED 38341003 Hypertensive disorder (and its sub-types)
BREAST_CANCER = 2001000022


@contextmanager
def _client_as(server, settings, role: str | None) -> Iterator[httpx.Client]:
    # A network run on a shared 2-core machine can take longer than httpx's 5 s default.
    with httpx.Client(base_url=server.url, timeout=120) as client:
        if role is not None:
            r = sign_in(client, make_user(settings, role))
            assert r.status_code == 303, r.text
        yield client


def _post_form(client: httpx.Client, **fields) -> httpx.Response:
    token = csrf_token(client, "/feasibility")
    return client.post("/feasibility", data={"csrf_token": token, **fields})


def _protected_values(payload: dict) -> list[int | None]:
    values = [payload["total"]["value"]]
    for levels in payload["strata"].values():
        values += [c["value"] for c in levels.values()]
    for node in payload["nodes"]:
        values.append(node["total"]["value"])
        for levels in node["strata"].values():
            values += [c["value"] for c in levels.values()]
    return values


def test_researcher_gets_protected_counts_on_the_page(region_server, region_settings):
    with _client_as(region_server, region_settings, "researcher") as client:
        page = client.get("/feasibility")
        assert page.status_code == 200
        assert '<label for="f-condition">' in page.text and "Hypertensive disorder" in page.text
        r = _post_form(client, condition=str(HYPERTENSION), drug="", age_min="18", age_max="", sex="")
    assert r.status_code == 200, r.text
    total = html.unescape(re.search(r'<strong id="network-total">([^<]+)</strong>', r.text).group(1))
    assert total.startswith("suppressed") or int(total.split()[0].replace(",", "")) % 5 == 0
    assert "Disclosure policy applied: <strong>feasibility</strong>" in r.text
    assert "was audited" in r.text
    for heading in ("Sex", "Age band at index", "Ethnic group", "IMD quintile"):
        assert f"<caption>{heading}" in r.text
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]+)</td>', r.text)]
    assert cells
    for cell in cells:
        assert cell.startswith(("suppressed (<10)", "hidden to protect another cell")) \
            or int(cell.split()[0].replace(",", "")) % 5 == 0, cell
    assert "0" not in cells  # no cell says "nobody": an empty level reads like a small one


def test_api_counts_are_rounded_or_suppressed_and_repeat_exactly(region_server, region_settings):
    query = serial.to_json(build_cohort(HYPERTENSION))
    with _client_as(region_server, region_settings, "innovator") as client:
        token = csrf_token(client, "/feasibility")
        headers = {"X-CSRF-Token": token, "content-type": "application/json"}
        first = client.post("/api/v1/feasibility", content=query, headers=headers)
        second = client.post("/api/v1/feasibility", content=query, headers=headers)
    assert first.status_code == 200, first.text
    payload = first.json()
    assert len(payload["nodes"]) == 3 and payload["policy"]["name"] == "feasibility"
    values = _protected_values(payload)
    assert any(v for v in values), "expected some published counts in a 2,000-person region"
    assert all(v is None or v % 5 == 0 for v in values)
    # every node lists every level the network lists: which levels a node has says nothing
    for node in payload["nodes"]:
        assert {s: set(v) for s, v in node["strata"].items()} == {s: set(v) for s, v in payload["strata"].items()}
    # the cell-key property: the same persons give the same noise, however often asked
    assert without_labels(second.json()) == without_labels(payload)


def test_a_germline_variant_choice_counts_carriers(region_server, region_settings):
    with _client_as(region_server, region_settings, "researcher") as client:
        page = client.get("/feasibility")
        assert '<label for="f-variant">' in page.text
        assert "BRCA1 or BRCA2, pathogenic or likely pathogenic" in page.text and ">MLH1, pathogenic" in page.text
        r = _post_form(client, condition=str(BREAST_CANCER), variant="BRCA1+BRCA2")
        bad = _post_form(client, condition=str(BREAST_CANCER), variant="BRCA3")
    assert r.status_code == 200, r.text
    assert 'value="BRCA1+BRCA2" selected' in r.text
    assert "Did not take part" not in r.text  # every generated store has the variant table (GP ones empty)
    total = html.unescape(re.search(r'<strong id="network-total">([^<]+)</strong>', r.text).group(1))
    assert total.startswith("suppressed") or int(total.split()[0].replace(",", "")) % 5 == 0
    assert bad.status_code == 400 and "germline variant: &#39;BRCA3&#39; is not one of the offered genes" in bad.text

    # What the protected figure is made of: at each node, as its custodian, the form's cohort
    # counts exactly the persons an independent SQL query finds (breast cancer and a BRCA P/LP row).
    query = build_cohort(BREAST_CANCER, variant="BRCA1+BRCA2")
    raw = 0
    for node in region_stores(region_settings):
        store = Store.open(node.path)
        request = ExecutionRequest.build(query, LOCAL_CUSTODIAN_QUALITY, store)
        counted = execute(request, ExecutionContext.local_custodian(store)).population_count
        with duckdb.connect(str(store.db_path), read_only=True) as con:
            (expected,) = con.execute(
                "SELECT count(DISTINCT c.person_id) FROM condition_occurrence c WHERE (c.condition_concept_id = $bc "
                "OR c.condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor "
                "WHERE ancestor_concept_id = $bc)) AND EXISTS (SELECT 1 FROM variant v WHERE v.person_id = c.person_id "
                "AND v.gene IN ('BRCA1', 'BRCA2') AND v.clinical_significance IN "
                "('Pathogenic', 'Likely pathogenic', 'Pathogenic/Likely pathogenic'))",
                {"bc": BREAST_CANCER}).fetchone()
        assert counted == expected, node.code
        raw += counted
    assert raw > 0, "the generated region has BRCA carriers with breast cancer"


def test_api_with_a_query_token(region_server, region_settings):
    query = serial.to_json(build_cohort(HYPERTENSION, sex="female"))
    with _client_as(region_server, region_settings, "researcher") as client:
        token = csrf_token(client, "/account")
        r = client.post("/api/v1/tokens", json={"name": "feasibility", "scopes": ["query"]},
                        headers={"X-CSRF-Token": token})
        assert r.status_code in (200, 201), r.text
        bearer = r.json()["token"]
    r = httpx.post(region_server.url + "/api/v1/feasibility", content=query,
                   headers={"Authorization": f"Bearer {bearer}"})
    assert r.status_code == 200, r.text
    sexes = r.json()["strata"]["sex"]
    # every sex is listed (a missing level would say "nobody"), and the empty one reads like 1..9
    assert set(sexes) == {"female", "male"} and sexes["male"]["value"] is None and sexes["male"]["suppressed"]


@pytest.mark.parametrize("role", [None, "public", "data_custodian"])
def test_others_are_refused(region_server, region_settings, role):
    query = serial.to_json(build_cohort(HYPERTENSION))
    with _client_as(region_server, region_settings, role) as client:
        token = csrf_token(client)
        r = client.post("/api/v1/feasibility", content=query,
                        headers={"X-CSRF-Token": token, "content-type": "application/json"})
        page = client.get("/feasibility")
    expected = 401 if role is None else 403
    assert r.status_code == expected and page.status_code == expected


def test_bad_queries_get_clear_errors(region_server, region_settings):
    with _client_as(region_server, region_settings, "researcher") as client:
        token = csrf_token(client, "/feasibility")
        r = client.post("/api/v1/feasibility", content='{"phta_query": 1, "query": {"type": "Nope"}}',
                        headers={"X-CSRF-Token": token, "content-type": "application/json"})
        assert r.status_code == 400 and "Nope" in r.json()["detail"]
        r = _post_form(client, condition="", drug="", age_min="", age_max="", sex="")
        assert r.status_code == 400 and "choose a condition" in r.text
        r = _post_form(client, condition=str(HYPERTENSION), age_min="70", age_max="20")
        assert r.status_code == 400 and "minimum is above the maximum" in r.text


def test_each_node_run_is_audited_without_counts(region_server, region_settings):
    query = build_cohort(HYPERTENSION)
    with _client_as(region_server, region_settings, "researcher") as client:
        token = csrf_token(client, "/feasibility")
        r = client.post("/api/v1/feasibility", content=serial.to_json(query),
                        headers={"X-CSRF-Token": token, "content-type": "application/json"})
    assert r.status_code == 200
    database = open_database(region_settings)
    runs = [e for e in entries(database) if e.action == "query.run"]
    assert len(runs) == 3
    assert {e.details["node"] for e in runs} == {n["code"] for n in r.json()["nodes"]}
    for e in runs:
        assert e.details["query_hash"] == serial.content_hash(query)
        assert e.details["purpose"] == "network_feasibility" and e.details["outcome"] == "completed"
        assert "national" in {o["kind"] for o in e.details["opt_outs"]}  # the registers applied are named
        assert not {"count", "counts", "value", "population_count", "strata"} & set(e.details)
        assert all(not isinstance(v, int) for v in e.details.values())
    assert verify_chain(database).ok


def test_api_answers_a_nested_cohort_with_the_earlier_value_and_repeats(region_server, region_settings):
    """Differencing through the API: the same query again is answered; the same query without a
    few people (by date of birth) is answered too, with the earlier answer at the node where it
    differs by fewer than the threshold, so the difference is zero."""
    from phta.execution.network import region_stores
    from tests.integration.disclosure.test_ledger_on_execution_path import born_before_latest

    cohort = build_cohort(HYPERTENSION)
    first_node = region_stores(region_settings)[0]
    nested, left_out = born_before_latest(first_node.path, cohort, 1)
    assert left_out < 10
    with _client_as(region_server, region_settings, "researcher") as client:
        headers = {"X-CSRF-Token": csrf_token(client, "/feasibility"), "content-type": "application/json"}
        answers = [client.post("/api/v1/feasibility", content=serial.to_json(cohort), headers=headers)
                   for _ in range(2)]
        nested_answer = client.post("/api/v1/feasibility", content=serial.to_json(nested), headers=headers)
    assert _protected_values(answers[0].json()) == _protected_values(answers[1].json())
    assert not answers[0].json()["not_taken_part"]
    assert nested_answer.status_code == 200, nested_answer.text
    payload = nested_answer.json()
    assert not payload["not_taken_part"]
    assert payload["total"]["value"] == answers[0].json()["total"]["value"]
    assert payload["total"]["nodes_included"] == [n["code"] for n in payload["nodes"]]
    node = next(n for n in payload["nodes"] if n["code"] == first_node.code)
    assert node["total"]["same_as_earlier"] is True
    outcomes = [e.details["outcome"] for e in entries(open_database(region_settings)) if e.action == "query.run"]
    assert not any(o.startswith("withheld") for o in outcomes)


def _withhold_at(monkeypatch, codes: set[str]) -> None:
    """The ledger withholds at these nodes (as where reuse cannot work), answers elsewhere."""
    from phta.execution import governed
    from phta.execution.ledger import ledger_check
    from phta.execution.policy import ReleaseWithheld

    real = ledger_check

    def check(data_dir, policy, project):
        inner = real(data_dir, policy, project)

        def hook(candidate):
            if candidate.request.node in codes:
                raise ReleaseWithheld("Withheld by the release ledger: test. Try a broader question.", "block")
            return inner(candidate)

        return hook

    monkeypatch.setattr(governed, "ledger_check", check)


def test_a_withheld_node_reads_withheld_and_the_total_names_the_nodes_included(region_server, region_settings,
                                                                                monkeypatch):
    from phta.execution.network import region_stores

    stores = region_stores(region_settings)
    _withhold_at(monkeypatch, {stores[0].code})
    with _client_as(region_server, region_settings, "researcher") as client:
        page = _post_form(client, condition=str(HYPERTENSION), age_min="18")
        token = csrf_token(client, "/feasibility")
        api = client.post("/api/v1/feasibility", content=serial.to_json(build_cohort(HYPERTENSION)),
                          headers={"X-CSRF-Token": token, "content-type": "application/json"})
    text = html.unescape(page.text)
    assert f"Total across 2 of 3 nodes ({stores[0].code} withheld" in " ".join(text.split())
    assert re.search(rf"{re.escape(stores[0].name)}</th><td class=\"num\">withheld</td>", page.text)
    assert "Try a broader question" in text
    total = api.json()["total"]
    assert total["nodes_withheld"] == [stores[0].code] and stores[0].code not in total["nodes_included"]
    assert all(n["code"] != stores[0].code for n in api.json()["nodes"])  # never a 0 for it


def test_when_every_node_is_withheld_the_page_says_so_and_shows_no_zero_and_no_empty_hash(
        region_server, region_settings, monkeypatch):
    from phta.execution.network import region_stores

    _withhold_at(monkeypatch, {s.code for s in region_stores(region_settings)})
    with _client_as(region_server, region_settings, "researcher") as client:
        page = _post_form(client, condition=str(HYPERTENSION))
        token = csrf_token(client, "/feasibility")
        api = client.post("/api/v1/feasibility", content=serial.to_json(build_cohort(HYPERTENSION)),
                          headers={"X-CSRF-Token": token, "content-type": "application/json"})
    total = re.search(r'<strong id="network-total">([^<]+)</strong>', page.text).group(1)
    assert total == "withheld" and "No node answered" in page.text and "not a count of zero" in page.text
    assert "<code></code>" not in page.text and "Total across 0" not in page.text
    payload = api.json()
    assert payload["total"]["value"] is None and payload["total"]["nodes_included"] == []
    assert payload["policy"]["sha256"] is None and "no node answered" in payload["policy"]["note"]
