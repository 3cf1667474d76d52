"""Triage rules are data: validated with the rule and field named, matched without running code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.frontdoor import seed
from phta.frontdoor.triage import (
    FALLBACK_PATHWAY,
    Enquiry,
    RulesError,
    default_source,
    parse_rules,
    triage,
)
from phta.frontdoor.vocabulary import NEEDS, SECTORS, STAGES


def _known() -> dict[str, set[str]]:
    fixture = seed.load_fixture()
    return {k: {row["slug"] for row in fixture[k]} for k in ("pathways", "assets", "partners")}


def test_the_shipped_rules_are_valid_against_the_shipped_region():
    assert len(parse_rules(default_source(), _known())) >= 8


def test_an_evaluation_enquiry_goes_to_the_evaluation_pathway_with_reasons():
    rules = parse_rules(default_source())
    out = triage(rules, Enquiry(frozenset({"evaluate"}), "validation", "ai", ""))
    assert out.pathway == "evaluation"
    assert out.assets["rwe-test-evaluation-centre"] == [
        "Evaluate a product: You asked to evaluate a device, diagnostic or AI; the test and evaluation "
        "centre does this on regional data."]


def test_all_conditions_of_a_rule_must_hold():
    rules = parse_rules(default_source())
    early = triage(rules, Enquiry(frozenset({"space"}), "idea", "medtech"))
    late = triage(rules, Enquiry(frozenset({"space"}), "scale_up", "medtech"))
    assert "health-incubator" in early.assets and "park-labs-offices" not in early.assets
    assert "park-labs-offices" in late.assets and "health-incubator" not in late.assets


def test_words_match_whole_words_case_insensitively():
    rules = parse_rules(default_source())
    hit = triage(rules, Enquiry(frozenset({"trial"}), "prototype", "pharma", "A Gene Therapy for sickle cell"))
    miss = triage(rules, Enquiry(frozenset({"trial"}), "prototype", "pharma", "genetherapy-ish words"))
    assert "midlands-attc" in hit.assets and "midlands-attc" not in miss.assets


def test_no_matching_rule_falls_back_to_general_enquiries_and_says_so():
    out = triage([], Enquiry(frozenset({"skills"}), "idea", "other"))
    assert out.pathway == FALLBACK_PATHWAY and "No rule matched" in out.pathways[FALLBACK_PATHWAY][0]


@pytest.mark.parametrize(("source", "message"), [
    ("- name: a\n  when: {needs_any: [teleport]}\n  suggest: {pathway: data}\n  why: w", "rule 1 ('a'): when.needs_any: unknown ['teleport']"),
    ("- name: a\n  when: {colour: [red]}\n  suggest: {pathway: data}\n  why: w", "rule 1 ('a'): when.colour: unknown condition"),
    ("- name: a\n  when: {needs_any: [data]}\n  suggest: {pathway: nowhere}\n  why: w", "rule 1 ('a'): suggest: no such pathway ['nowhere']"),
    ("- name: a\n  when: {needs_any: [data]}\n  suggest: {pathway: data}", "rule 1 ('a'): why:"),
    ("- name: a\n  when: {}\n  suggest: {pathway: data}\n  why: w", "rule 1 ('a'): when: give at least one condition"),
    ("- name: a\n  when: {needs_any: [data]}\n  suggest: {}\n  why: w", "rule 1 ('a'): suggest: suggest a pathway"),
    ("- name: a\n  when: {needs_any: [data]}\n  suggest: {pathway: data}\n  why: w\n  run: rm -rf /", "rule 1 ('a'): unknown field(s) ['run']"),
    ("- {name: a, when: {needs_any: [data]}, suggest: {pathway: data}, why: w}\n- 5", "rule 2: expected name"),
    ("name: [unclosed", "not valid YAML at line 1"),
    ("", "there are no rules"),
    ("- name: a\n  when: !!python/object/apply:os.system [echo hi]\n  suggest: {pathway: data}\n  why: w", "not valid YAML"),
])
def test_bad_rules_are_refused_naming_the_rule_and_field(source, message):
    with pytest.raises(RulesError) as e:
        parse_rules(source, _known())
    assert message in str(e.value)


@settings(max_examples=60, deadline=None)
@given(needs=st.frozensets(st.sampled_from(sorted(NEEDS)), min_size=1), stage=st.sampled_from(sorted(STAGES)),
       sector=st.sampled_from(sorted(SECTORS)), text=st.text(max_size=200))
def test_every_enquiry_gets_a_known_pathway_and_every_suggestion_has_a_reason(needs, stage, sector, text):
    known = _known()
    out = triage(parse_rules(default_source(), known), Enquiry(needs, stage, sector, text))
    assert out.pathway in known["pathways"]
    for group in (out.pathways, out.assets, out.partners):
        assert all(reasons and all(r.strip() for r in reasons) for reasons in group.values())
