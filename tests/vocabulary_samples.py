"""One query per vocabulary feature, in each front-end that can say it: the PHTA IR (sent as PHTA
JSON) and ATLAS JSON. Each sample uses its feature and otherwise only what every purpose allows,
so the tests generated from phta.query.purpose_vocabulary.VOCABULARY can say of every (purpose,
feature) pair: refused, or allowed, exactly as the table says."""

from __future__ import annotations

import copy
import datetime as dt
import json

from phta.query import ir
from phta.query.circe.importer import import_expression
from phta.query.ir_circe import CirceCohort
from phta.web.feasibility_atlas import EXAMPLE_DEFINITION

HYPERTENSION = 2001000002
_CONDITION = ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(HYPERTENSION, True),)))
INDEX = ir.FirstDate(_CONDITION)


def cohort(*conditions: ir.Series, strata: tuple[str, ...] = ("sex",)) -> ir.Cohort:
    """First hypertension record as the index, one rule per condition."""
    return ir.Cohort(INDEX, tuple(ir.Rule(f"rule {i}", c) for i, c in enumerate(conditions)), strata=strata)


def _date(text: str) -> ir.Literal:
    return ir.Literal("date", dt.date.fromisoformat(text))


def _eq(series: ir.Series, value: str) -> ir.Compare:
    return ir.Compare("eq", series, ir.Literal("str", value))


PHTA: dict[str, ir.Cohort] = {
    "person_ids": cohort(ir.PersonIn((1, 2))),
    "date_of_birth": cohort(ir.Not(ir.IsMissing(ir.DateOfBirth()))),
    "exact_date": cohort(ir.Compare("ge", INDEX, _date("2020-03-15"))),
    "calendar_month": cohort(ir.Compare("ge", INDEX, _date("2020-03-01"))),
    "age_in_years": cohort(ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18))),
    "relative_window": cohort(ir.Exists(ir.WhereDate(ir.Events("drug"), ir.IndexDate(), -365, 0))),
    "ethnic_group": cohort(_eq(ir.EthnicGroup(), "Asian")),
    "ethnic_category": cohort(_eq(ir.EthnicCategory(), "H")),
    "site": cohort(_eq(ir.Site(), "RRK")),
    "variant_gene": cohort(ir.HasVariant(("BRCA1",), ("Pathogenic",))),
    "variant_allele": cohort(ir.HasVariant(("BRCA1",), allele=ir.VariantAllele("17", 43045712, "T", "C"))),
}


def atlas_base() -> dict:
    """The ATLAS page's example (hypertension) without its inclusion rule."""
    doc = json.loads(EXAMPLE_DEFINITION)
    doc["InclusionRules"] = []
    return doc


def _with_primary_attribute(name: str, value) -> dict:
    doc = atlas_base()
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"][name] = value
    return doc


def _with_rule(expression: dict) -> dict:
    doc = atlas_base()
    doc["InclusionRules"] = [{"name": "rule", "expression": {"Type": "ALL", "CriteriaList": [],
                                                            "DemographicCriteriaList": [], "Groups": [],
                                                            **expression}}]
    return doc


ATLAS: dict[str, dict] = {
    "exact_date": _with_primary_attribute("OccurrenceStartDate", {"Value": "2019-03-14", "Op": "eq"}),
    "calendar_month": _with_primary_attribute("OccurrenceStartDate", {"Value": "2019-03-01", "Op": "gte"}),
    "age_in_years": _with_rule({"DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "gte"}}]}),
    "relative_window": _with_rule({"CriteriaList": [{
        "Criteria": {"ConditionOccurrence": {"CodesetId": 0}},
        "StartWindow": {"Start": {"Days": 365, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}},
        "Occurrence": {"Type": 2, "Count": 1}}]}),
    "ethnic_category": _with_rule({"DemographicCriteriaList": [{"Race": [{"CONCEPT_ID": 2000000101}]}]}),
    "free_text": _with_primary_attribute("StopReason", {"Text": "moved", "Op": "contains"}),
}


def atlas(feature: str) -> CirceCohort:
    return import_expression(copy.deepcopy(ATLAS[feature]))
