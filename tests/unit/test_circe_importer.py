"""The Circe importer: every supported attribute reaches the IR; everything else is an error
naming its JSON path; the IR round-trips through canonical JSON."""

from __future__ import annotations

import copy

import pytest

from phta.query import serial
from phta.query.circe.domains import CODESET_ID_ATTRIBUTES, CRITERIA, CUSTOM_ERA_TABLE
from phta.query.circe.importer import CirceImportError, import_expression, looks_like_circe


def _value(kind: str, name: str):
    if kind == "DateFilter":
        return {"Value": "2001-01-01", "Op": "bt", "Extent": "2010-01-01"}
    if kind == "NumberFilter":
        return {"Value": 1, "Op": "bt", "Extent": 50}
    if kind == "ConceptFilter":
        return [{"CONCEPT_ID": 5, "CONCEPT_NAME": "five"}]
    if kind == "CodesetFilter":
        return 1 if name in CODESET_ID_ATTRIBUTES else {"CodesetId": 1, "IsExclusion": False}
    if kind == "TextFilter":
        return {"Text": "abc", "Op": "contains"}
    if kind == "PeriodFilter":
        return {"StartDate": "2002-01-01", "EndDate": "2003-01-01"}
    return True  # FlagFilter


def _criterion(kind: str) -> dict:
    spec = CRITERIA[kind]
    body: dict = {"CodesetId": 0} if spec.concept else {}
    if spec.has_first:
        body["First"] = True
    for name, attr in spec.attributes.items():
        body[name] = _value(attr.filter, name)
        if attr.exclude_flag:
            body[attr.exclude_flag] = False
    if kind == "CustomEra":  # eras of its member criteria's events
        body |= {"CriteriaList": [{"ConditionOccurrence": {"CodesetId": 1}}, {"DrugExposure": {"CodesetId": 2}}],
                 "GapDays": 30}
    return {kind: body}


def _window(start, end, **kw):
    return {"Start": {"Days": start, "Coeff": -1}, "End": {"Days": end, "Coeff": 1}, **kw}


def rich_expression() -> dict:
    """One criterion of every supported kind with every attribute set, plus every cohort-level option."""
    concept = {"CONCEPT_ID": 1, "CONCEPT_NAME": "one"}
    sets = [{"id": i, "name": f"s{i}", "expression": {"items": [
        {"concept": {**concept, "CONCEPT_ID": i + 1}, "includeDescendants": True, "includeMapped": False,
         "isExcluded": False},
        {"concept": {**concept, "CONCEPT_ID": i + 10}, "includeDescendants": False, "includeMapped": True,
         "isExcluded": True}]}} for i in range(3)]
    correlated = {"Criteria": {"DrugExposure": {"CodesetId": 2}}, "StartWindow": _window(30, 10, UseIndexEnd=False,
                                                                                         UseEventEnd=False),
                  "EndWindow": _window(5, 6, UseIndexEnd=True, UseEventEnd=True),
                  "RestrictVisit": True, "IgnoreObservationPeriod": False,
                  "Occurrence": {"Type": 2, "Count": 2, "IsDistinct": True, "CountColumn": "START_DATE"}}
    demographic = {"Age": {"Value": 18, "Op": "gte"}, "Gender": [{"CONCEPT_ID": 8507}],
                   "GenderCS": {"CodesetId": 1, "IsExclusion": False}, "Race": [{"CONCEPT_ID": 8527}],
                   "RaceCS": {"CodesetId": 1, "IsExclusion": True}, "Ethnicity": [{"CONCEPT_ID": 38003564}],
                   "EthnicityCS": {"CodesetId": 2, "IsExclusion": False},
                   "OccurrenceStartDate": {"Value": "2001-01-01", "Op": "gt"},
                   "OccurrenceEndDate": {"Value": "2011-01-01", "Op": "lt"}}
    group = {"Type": "AT_LEAST", "Count": 1, "CriteriaList": [correlated], "DemographicCriteriaList": [demographic],
             "Groups": [{"Type": "ANY", "CriteriaList": [correlated], "DemographicCriteriaList": [], "Groups": []}]}
    primary = [_criterion(k) for k in sorted(CRITERIA)]
    primary[0][next(iter(primary[0]))]["DateAdjustment"] = {"StartWith": "START_DATE", "StartOffset": 1,
                                                           "EndWith": "END_DATE", "EndOffset": 2}
    primary[1][next(iter(primary[1]))]["CorrelatedCriteria"] = copy.deepcopy(group)
    return {
        "ConceptSets": sets,
        "PrimaryCriteria": {"CriteriaList": primary, "ObservationWindow": {"PriorDays": 30, "PostDays": 7},
                            "PrimaryCriteriaLimit": {"Type": "First"}},
        "AdditionalCriteria": copy.deepcopy(group),
        "QualifiedLimit": {"Type": "Last"}, "ExpressionLimit": {"Type": "All"},
        "InclusionRules": [{"name": "rule", "expression": copy.deepcopy(group)}],
        "EndStrategy": {"CustomEra": {"DrugCodesetId": 2, "GapDays": 30, "Offset": 7, "DaysSupplyOverride": 14}},
        "CensoringCriteria": [{"ConditionOccurrence": {"CodesetId": 1}}],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 3},
        "CensorWindow": {"StartDate": "2000-01-01", "EndDate": "2020-01-01"},
    }


# Leaves that carry no meaning (labels) or whose change Circe itself ignores.
_INERT_KEYS = {"CONCEPT_NAME", "name", "CollapseType"}
_OTHER = {"Op": {"bt": "gt", "gte": "lt", "gt": "lte", "lt": "gte", "contains": "startsWith"},
          "Type": {"First": "Last", "Last": "All", "All": "First", "AT_LEAST": "AT_MOST", "ANY": "ALL"},
          "StartWith": {"START_DATE": "END_DATE"}, "EndWith": {"END_DATE": "START_DATE"},
          "CountColumn": {"START_DATE": "VISIT_ID"}}


def _mutations(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _INERT_KEYS:
                continue
            yield from _mutations(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _mutations(v, (*path, i))
    else:
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        if isinstance(node, bool):
            yield path, not node
        elif isinstance(node, int):
            if key == "Coeff":
                yield path, -node
            elif key == "CodesetId" or key in CODESET_ID_ATTRIBUTES or key == "DrugCodesetId" or key == "Type":
                yield path, (node + 1) % 3
            else:
                yield path, node + 1
        elif isinstance(node, str):
            if key in _OTHER:
                yield path, _OTHER[key][node]
            elif key in ("Value", "Extent", "StartDate", "EndDate"):
                yield path, node.replace("-01-01", "-01-02")
            else:
                yield path, node + "x"


def _set(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def test_every_attribute_of_every_criterion_changes_the_ir():
    base = rich_expression()
    base_ir = serial.to_json(import_expression(base))
    mutations = list(_mutations(base))
    assert len(mutations) > 300
    unchanged = []
    for path, value in mutations:
        doc = copy.deepcopy(base)
        _set(doc, path, value)
        try:
            changed = serial.to_json(import_expression(doc)) != base_ir
        except CirceImportError:
            changed = True  # refused loudly (e.g. a concept set id no criterion refers to any more)
        if not changed:
            unchanged.append(path)
    assert unchanged == []


def test_ir_round_trips_through_canonical_json():
    cohort = import_expression(rich_expression())
    assert serial.from_json(serial.to_json(cohort)) == cohort


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]["DrugExposure"].update(
        EffectiveDrugDose={"Value": 1, "Op": "gt"}),
     "$.InclusionRules[0].expression.CriteriaList[0].Criteria.DrugExposure.EffectiveDrugDose"),
    (lambda d: d["PrimaryCriteria"]["CriteriaList"].append({"LocationRegion": {"CodesetId": 1}}),
     "$.PrimaryCriteria.CriteriaList[17].LocationRegion"),
    (lambda d: d["CensoringCriteria"].append({"CustomEra": {"CriteriaList": [], "GapDays": 3}}),
     "$.CensoringCriteria[1].CustomEra.CriteriaList"),
    (lambda d: d["PrimaryCriteria"]["CriteriaList"][16]["VisitOccurrence"].update(PlaceOfServiceLocation=3),
     "$.PrimaryCriteria.CriteriaList[16].VisitOccurrence.PlaceOfServiceLocation"),
    (lambda d: d["PrimaryCriteria"]["CriteriaList"][14]["Specimen"].update(SpecimenSourceConcept=1),
     "$.PrimaryCriteria.CriteriaList[14].Specimen.SpecimenSourceConcept"),
    (lambda d: d["CensoringCriteria"].append({"CustomEra": {"CriteriaList": [{"Death": {}}, {"Episode": {}}]}}),
     "$.CensoringCriteria[1].CustomEra.CriteriaList[1].Episode"),
    (lambda d: d.update(Unheard={"x": 1}), "$.Unheard"),
    (lambda d: d["AdditionalCriteria"]["CriteriaList"][0]["Occurrence"].update(Type=7),
     "$.AdditionalCriteria.CriteriaList[0]"),
    # Circe's DrugExposure builder maps no UNIT column: Circe fails, so PHTA refuses it by name
    (lambda d: d["AdditionalCriteria"]["CriteriaList"][0]["Occurrence"].update(CountColumn="UNIT"),
     "$.AdditionalCriteria.CriteriaList[0].Occurrence.CountColumn"),
])
def test_unsupported_features_name_their_json_path(mutate, path):
    doc = rich_expression()
    kinds = [next(iter(x)) for x in doc["PrimaryCriteria"]["CriteriaList"]]
    assert (kinds[14], kinds[16]) == ("Specimen", "VisitOccurrence")
    mutate(doc)
    with pytest.raises(CirceImportError) as err:
        import_expression(doc)
    assert err.value.path == path
    assert path in str(err.value)


def test_circe_defaults_are_explicit_in_the_ir():
    cohort = import_expression({"ConceptSets": [], "PrimaryCriteria": {"CriteriaList": [{"Death": {}}]}})
    assert (cohort.prior_days, cohort.post_days, cohort.primary_limit) == (0, 0, "First")
    assert (cohort.qualified_limit, cohort.expression_limit, cohort.era_pad) == ("First", "First", 0)
    assert cohort.end_strategy is None and cohort.censor_start is None


def test_detects_circe_documents():
    assert looks_like_circe({"PrimaryCriteria": {}})
    assert not looks_like_circe({"phta_query": 1, "query": {}})


def test_compatibility_doc_lists_every_criterion_attribute():
    from pathlib import Path

    from phta.query.circe.domains import UNSUPPORTED_CRITERIA

    doc = (Path(__file__).parents[2] / "docs" / "circe-compatibility.md").read_text(encoding="utf-8")
    for kind, spec in CRITERIA.items():
        for name in spec.attributes:
            assert f"`{kind}.{name}`" in doc
    for kind in UNSUPPORTED_CRITERIA:
        assert f"| {kind} | not supported" in doc


def test_every_column_an_attribute_reads_exists_in_omop_5_4():
    from phta.cdm import schema

    for kind, spec in CRITERIA.items():
        if spec.table == CUSTOM_ERA_TABLE:
            continue  # reads the eras it builds, not an OMOP table
        columns = {f.name for f in schema.table(spec.table).fields}
        needed = [spec.id, spec.start, *(c for c in (spec.concept, spec.end, spec.visit, spec.source_concept) if c)]
        needed += [a.column for a in spec.attributes.values()
                   if not a.column.startswith("@") and a.column not in ("start_date", "end_date")]
        assert [c for c in needed if c not in columns] == [], kind


def test_compatibility_doc_lists_the_countable_columns_of_every_criterion():
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "circe-compatibility.md").read_text(encoding="utf-8")
    section = doc.split("### Distinct counts", 1)[1].split("\n\n`DOMAIN_SOURCE_CONCEPT`", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| (.+) \|$", section, flags=re.M)}
    for kind, spec in CRITERIA.items():
        listed = {m.group(1) for item in rows[kind].split(", ") if (m := re.match(r"`([A-Z_]+)`", item))}
        assert listed == set(spec.count_columns), kind


def _custom_era_count(member: dict) -> dict:
    era = {"CustomEra": {"CriteriaList": [member]}}
    return {"ConceptSets": [], "PrimaryCriteria": {"CriteriaList": [{"ConditionOccurrence": {}}]},
            "AdditionalCriteria": {"Type": "ALL", "CriteriaList": [{
                "Criteria": era, "StartWindow": {"Start": {"Coeff": -1}, "End": {"Coeff": 1}},
                "Occurrence": {"Type": 2, "Count": 1, "IsDistinct": True, "CountColumn": "DURATION"}}]}}


def test_a_custom_era_counts_a_column_only_if_every_member_can():
    """Circe asks each member of a CustomEra for the counted column (duckcdm fails on a payer plan
    period's DURATION, found by the Hypothesis generator): refused by path, not compiled."""
    with pytest.raises(CirceImportError) as err:
        import_expression(_custom_era_count({"PayerPlanPeriod": {}}))
    assert err.value.path.startswith("$.AdditionalCriteria.CriteriaList[0]")
    assert "PayerPlanPeriod" in str(err.value)
    import_expression(_custom_era_count({"ConditionOccurrence": {}}))  # control: a member with a duration
