"""Fuzzing the JSON API: Schemathesis generates requests from the app's own OpenAPI document and
sends them in-process (ASGI) with a signed-in researcher's token; Hypothesis mutates cohort
definitions for the two query endpoints, whose bodies the OpenAPI document cannot describe.

Every answer must be a non-5xx; documented successful responses must match their schemas.
Example counts are modest so the suite stays fast.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from phta.query import serial
from phta.query.simple_cohort import build_cohort
from phta.web.app import create_app
from phta.web.feasibility_atlas import EXAMPLE_DEFINITION
from tests.asgi_support import api_token, call

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_app(settings):
    # No node stores: a well-formed query is answered at once (no node takes part), so the
    # examples exercise parsing, validation and governance rather than waiting on engines.
    app = create_app(settings)
    app.state.fuzz_token = api_token(settings, "researcher")
    return app


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        # Revoking the test's own token would leave every later example unauthenticated.
        if not (operation.method.upper() == "DELETE" and operation.path.startswith("/api/v1/tokens/")):
            yield operation


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_with_a_server_error(fuzz_app, mode):
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    operations = list(_operations(fuzz_app))
    assert len(operations) > 20  # the whole JSON API, not a fragment of it
    checked: set[str] = set()
    for operation in operations:

        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation with no input cannot be sent invalid input
            checked.discard(operation.path)
            continue
        checked.add(operation.path)
    assert len(checked) > 10


# --- cohort definitions -------------------------------------------------------------------------

NASTY_SCALARS = st.one_of(
    st.none(), st.booleans(), st.text(max_size=8),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 2**70, 1.5, -0.0, 1e308]),
)
NASTY_VALUES = st.recursive(NASTY_SCALARS, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
NOT_FINITE = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"])


def _paths(doc, prefix=()):
    """Every place in a JSON document (as a key path) that holds a value."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _replace(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


PHTA_DOC = json.loads(serial.to_json(build_cohort(2001000002, age_min=18)))
ATLAS_DOC = json.loads(EXAMPLE_DEFINITION)


@st.composite
def mutated(draw, doc):
    """The document with one place replaced by an odd value, or a not-finite number as text."""
    path = draw(st.sampled_from(list(_paths(doc))))
    if draw(st.booleans()):
        return json.dumps(_replace(doc, path, draw(NASTY_VALUES)))
    marker = "__NOT_FINITE__"
    return json.dumps(_replace(doc, path, marker)).replace(f'"{marker}"', draw(NOT_FINITE))


@pytest.mark.parametrize(("endpoint", "doc"), [("/api/v1/feasibility", PHTA_DOC),
                                               ("/api/v1/feasibility/atlas", ATLAS_DOC)])
def test_mutated_cohort_definitions_get_an_answer_never_a_server_error(fuzz_app, endpoint, doc):
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}", "content-type": "application/json"}

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated(doc))
    def check(body):
        r = call(fuzz_app, "POST", endpoint, content=body, headers=headers)  # raises if the app did
        assert r.status_code in (200, 400, 403), (r.status_code, r.text, body)
        if r.status_code == 400:
            assert "$" in r.json()["detail"] or "." in r.json()["detail"]  # names a place
        else:
            assert r.json()  # a JSON answer

    check()
    control = call(fuzz_app, "POST", endpoint, content=json.dumps(doc), headers=headers)
    assert control.status_code == 200, control.text
