"""Bad requests get a 4xx naming the place, never a 500 or a traceback: the JSON query APIs, ids in
paths, body size and nesting depth, HTTP errors as pages or JSON. In-process (ASGI): an exception
escaping the app fails the test, as it would have put a traceback in the server's log."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from phta.query import serial
from phta.query.simple_cohort import build_cohort
from phta.web.app import create_app
from phta.web.feasibility_atlas import EXAMPLE_DEFINITION
from tests.asgi_support import api_token, call, chunked

HYPERTENSION = "2001000002"
PHTA_QUERY = serial.to_json(build_cohort(int(HYPERTENSION), age_min=18))


def _person_in() -> str:
    doc = json.loads(PHTA_QUERY)
    doc["query"]["rules"] = [{"type": "Rule", "name": "these people",
                              "condition": {"type": "PersonIn", "person_ids": [1, 2, 3]}}]
    return json.dumps(doc)


BAD_QUERIES = [
    # (endpoint, body, status, words the message must contain: the place and the fault)
    ("/api/v1/feasibility", _person_in(), 400, ["PersonIn", "person"]),
    ("/api/v1/feasibility", PHTA_QUERY.replace(HYPERTENSION, "NaN"), 400,
     ["$.query.index_date.frame.concepts.items[0].concept_id", "NaN"]),
    ("/api/v1/feasibility", PHTA_QUERY.replace('"value":18', '"value":Infinity'), 400,
     ["$.query.rules[0].condition.right.value", "Infinity"]),
    ("/api/v1/feasibility", PHTA_QUERY.replace(HYPERTENSION, str(2**70)), 400,
     ["ConceptItem.concept_id", "$.query.index_date.frame.concepts.items[0]", "out of range"]),
    ("/api/v1/feasibility", PHTA_QUERY.replace(HYPERTENSION, "-7"), 400, ["ConceptItem.concept_id", "positive"]),
    ("/api/v1/feasibility", PHTA_QUERY.replace('"value":18', '"value":"18"'), 400, ["Literal.value", "expected int"]),
    ("/api/v1/feasibility", "[" * 100_000 + "]" * 100_000, 400, ["nested more than 100 levels"]),
    ("/api/v1/feasibility/atlas", EXAMPLE_DEFINITION.replace("2001000002", "NaN"), 400,
     ["$.ConceptSets[0].expression.items[0].concept.CONCEPT_ID", "NaN"]),
    ("/api/v1/feasibility/atlas", EXAMPLE_DEFINITION.replace('"Value": 18', '"Value": Infinity'), 400,
     ["$.InclusionRules[0].expression.DemographicCriteriaList[0].Age.Value", "Infinity"]),
    ("/api/v1/feasibility/atlas", EXAMPLE_DEFINITION.replace("2001000002", str(2**70)), 400,
     ["CONCEPT_ID", "out of range"]),
    ("/api/v1/feasibility/atlas", EXAMPLE_DEFINITION.replace("2001000002", "-3"), 400, ["CONCEPT_ID", "negative"]),
    ("/api/v1/feasibility/atlas", '{"a":' * 100_000 + "1" + "}" * 100_000, 400, ["nested more than 100 levels"]),
]


@pytest.fixture
def region_app(region_settings):
    return create_app(region_settings)


@pytest.fixture
def researcher(region_settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(region_settings, 'researcher')}", "content-type": "application/json"}


def _client_errors_are_quiet(caplog) -> None:
    """No error line and no traceback for a client's mistake."""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


@pytest.mark.parametrize(("endpoint", "body", "status", "words"), BAD_QUERIES,
                         ids=[f"{e.rsplit('/', 1)[-1]}-{i}" for i, (e, *_) in enumerate(BAD_QUERIES)])
def test_a_bad_query_gets_a_4xx_naming_the_place(region_app, researcher, caplog, endpoint, body, status, words):
    with caplog.at_level(logging.INFO):
        r = call(region_app, "POST", endpoint, content=body, headers=researcher)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail
    _client_errors_are_quiet(caplog)


def test_good_queries_still_run_on_the_network(region_app, researcher):
    # the controls: the same endpoints, well-formed queries, protected counts from every node
    for endpoint, body in (("/api/v1/feasibility", PHTA_QUERY), ("/api/v1/feasibility/atlas", EXAMPLE_DEFINITION)):
        r = call(region_app, "POST", endpoint, content=body, headers=researcher)
        assert r.status_code == 200, r.text
        assert len(r.json()["nodes"]) == 3


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def applicant(settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(settings, 'researcher')}"}


@pytest.mark.parametrize("path", [f"/api/v1/projects/{2**70}", f"/api/v1/projects/{2**70}/withdraw",
                                  f"/api/v1/outputs/{2**70}", "/api/v1/projects/" + "9" * 5000,
                                  f"/api/v1/projects/-{2**70}"])
def test_ids_in_the_path_beyond_64_bits_are_a_422_naming_the_parameter(app, applicant, caplog, path):
    method = "POST" if path.endswith("withdraw") else "GET"
    r = call(app, method, path, headers=applicant)
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    assert problem["loc"][0] == "path" and problem["loc"][1] in ("project_id", "request_id")
    assert "9223372036854775807" in problem["msg"]
    _client_errors_are_quiet(caplog)


def test_ordinary_ids_in_the_path_are_looked_up_as_before(app, applicant):
    assert call(app, "GET", "/api/v1/projects/12345", headers=applicant).status_code == 404  # control
    assert call(app, "GET", "/api/v1/projects/-1", headers=applicant).status_code == 404
    assert call(app, "GET", f"/api/v1/projects/{2**63 - 1}", headers=applicant).status_code == 404


def test_a_page_with_an_id_beyond_64_bits_is_an_html_page(app):
    r = call(app, "GET", f"/register/{2**70}")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Skip to main content" in r.text and "project_id" in r.text


def test_a_body_over_the_limit_is_a_413_before_it_is_read(settings, applicant):
    small = create_app(dataclasses.replace(settings, max_request_bytes=4096))
    big = json.dumps({"answers": {"title": "x" * 5000}})
    r = call(small, "POST", "/api/v1/projects", content=big, headers=applicant | {"content-type": "application/json"})
    assert r.status_code == 413 and "4,096 bytes" in r.json()["detail"]
    # without a Content-Length (chunked), counted while reading
    r = call(small, "POST", "/api/v1/projects", content=chunked(big[:3000].encode(), big[3000:].encode()),
             headers=applicant | {"content-type": "application/json"})
    assert r.status_code == 413
    r = call(small, "POST", "/sign-in", content=chunked(b"email=", b"a" * 5000),
             headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    # control: a body within the limit is served as before
    r = call(small, "POST", "/api/v1/projects", json={"answers": {"title": "A small draft"}}, headers=applicant)
    assert r.status_code == 201, r.text


def test_deep_json_is_refused_on_every_json_route(app, applicant):
    deep = "[" * 101 + "]" * 101
    for path in ("/api/v1/projects", "/api/v1/tokens", "/api/v1/feasibility"):
        r = call(app, "POST", path, content=deep, headers=applicant | {"content-type": "application/json"})
        assert r.status_code == 400 and "nested more than 100 levels" in r.json()["detail"], (path, r.text)
    ok = {"answers": {"title": "Nested but fine", "x": json.loads("[" * 50 + "]" * 50)}}
    r = call(app, "POST", "/api/v1/projects", json=ok, headers=applicant)
    assert r.status_code in (201, 422), r.text  # control: read and judged by the route, not refused unread


@pytest.mark.parametrize(("path", "body", "place"), [
    ("/api/v1/tokens", '{"name": "x", "scopes": ["query"], "days": NaN}', "$.days"),
    ("/api/v1/projects", '{"answers": {"title": "x", "duration_months": Infinity}}', "$.answers.duration_months"),
    ("/api/v1/projects", '{"answers": {"title": "x", "nodes": [1e400]}}', "$.answers.nodes[0]"),
])
def test_not_finite_numbers_are_refused_on_every_json_route(app, applicant, caplog, path, body, place):
    # token days NaN was a 500: the validation error quoting NaN could not be rendered as JSON
    r = call(app, "POST", path, content=body, headers=applicant | {"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"].startswith(place) and "not a finite number" in r.text
    _client_errors_are_quiet(caplog)
    ok = call(app, "POST", path, content=body.replace("NaN", "7").replace("Infinity", "12").replace("1e400", '"uhb"'),
              headers=applicant | {"content-type": "application/json"})
    assert ok.status_code in (201, 422), ok.text  # control: read and judged by the route


def test_unknown_paths_are_a_page_in_the_site_layout_and_json_under_api(app):
    page = call(app, "GET", "/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/static/phta.css"' in page.text and "Skip to main content" in page.text
    api = call(app, "GET", "/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    wrong_method = call(app, "POST", "/health")
    assert wrong_method.status_code == 405 and "Not allowed here" in wrong_method.text
    assert wrong_method.headers["allow"] == "GET"
    api_method = call(app, "PUT", "/api/v1/me")
    assert api_method.status_code == 405 and api_method.json() == {"detail": "Method Not Allowed"}
    assert call(app, "GET", "/health").json()["status"] == "ok"  # control


def test_an_unexpected_error_is_one_log_line_without_its_message(app, caplog):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("patient 4411 secret detail")

    @app.get("/boom-page")
    def boom_page():
        def recurse(n):
            return recurse(n + 1)
        return recurse(0)  # a RecursionError: thousands of frames in a traceback

    with caplog.at_level(logging.INFO):
        r = call(app, "GET", "/api/v1/boom")
        page = call(app, "GET", "/boom-page")
    assert r.status_code == 500 and "reference" in r.json()["detail"] and "4411" not in r.text
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text and "Traceback" not in page.text
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 2, caplog.text  # one line per request
    for rec in errors:
        assert not rec.exc_info and "\n" not in rec.getMessage() and "4411" not in rec.getMessage()
    assert "RuntimeError" in errors[0].getMessage() and "RecursionError" in errors[1].getMessage()
    reference = r.json()["detail"].split("reference ")[1].split(")")[0]
    assert reference in errors[0].getMessage()
