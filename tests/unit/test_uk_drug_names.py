"""Medicines are shown by their UK (dm+d) names; the vocabulary's concept rows keep RxNorm's."""

from __future__ import annotations

import re

from phta.cdm import vocabulary
from phta.cdm.vocabulary.uk_names import US_TO_UK, display_name, uk_name
from phta.query.simple_cohort import build_cohort, conditions, drugs


def test_us_names_become_uk_names_keeping_case():
    assert uk_name("albuterol") == "salbutamol"
    assert uk_name("Acetaminophen 500 MG Oral Tablet") == "Paracetamol 500 MG Oral Tablet"
    assert uk_name("EPINEPHRINE 1 MG/ML") == "ADRENALINE 1 MG/ML"
    assert uk_name("Norepinephrine") == "Noradrenaline"  # not "Noradrenaline" via "epinephrine" inside
    assert display_name("metformin") == "Metformin"
    # control: UK names, and words that merely contain a US name, are left alone
    assert uk_name("Salbutamol; atorvastatin") == "Salbutamol; atorvastatin"
    assert uk_name("pseudoepinephrinex") == "pseudoepinephrinex"


def test_no_offered_drug_is_shown_under_a_us_name():
    us = re.compile(r"\b(" + "|".join(US_TO_UK) + r")\b", re.IGNORECASE)
    names = [d.name for d in drugs()]
    assert "Salbutamol" in names and "Beclometasone" in names
    assert not [n for n in names if us.search(n)]


def test_the_concept_row_keeps_rxnorm_and_the_cohort_uses_the_uk_name():
    assert vocabulary.concepts()["RxNorm:435"]["concept_name"] == "Albuterol"  # as Athena has it
    salbutamol = next(d for d in drugs() if d.code == "RxNorm:435")
    assert salbutamol.name == "Salbutamol" and salbutamol.concept_id == vocabulary.concept_id("RxNorm:435")
    cohort = build_cohort(conditions()[0].concept_id, drug_id=salbutamol.concept_id)
    assert cohort.rules[0].name == "ever prescribed Salbutamol"
