"""The request form's registered nodes and the HDR UK form's conditional answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phta.governance import request_form
from tests.governance_support import complete_request

NODES = {"XG001": "Birmingham GP Federation", "XT001": "Birmingham Hospitals", "uhb": "uhb"}


@given(st.lists(st.sampled_from(sorted(NODES)), max_size=5), st.booleans())
def test_any_registered_nodes_in_any_case_pass_and_keep_the_registry_spelling(chosen, upper):
    typed = [n.upper() if upper else n.lower() for n in chosen]
    assert request_form.node_problem(typed, NODES) is None
    assert request_form.canonical_nodes(typed, NODES) == list(dict.fromkeys(chosen))


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8))
def test_any_other_node_is_refused_by_name(name):
    if name.lower() in {n.lower() for n in NODES}:
        return
    problem = request_form.node_problem(["XT001", name], NODES)
    assert problem == f"Hospital nodes: {name!r} is not a registered node; choose from XG001, XT001, uhb"


def test_the_hdr_uk_answers_are_required_where_they_apply():
    answers = request_form.normalise(complete_request() | {"commercial": "yes", "ethics": "not_required",
                                                            "iras_id": "", "dpia_reference": ""})
    assert set(request_form.submission_problems(answers)) == {
        "ethics_note", "dpia_reference", "commercial_organisation", "commercial_nature"}
    required = request_form.normalise({"title": "x"})
    problems = request_form.submission_problems(required)
    assert {"ethics", "funder", "dpia", "commercial"} <= set(problems)
    # control: the complete answers pass, and no node registry means nodes are not checked here
    assert request_form.submission_problems(request_form.normalise(complete_request())) == {}
