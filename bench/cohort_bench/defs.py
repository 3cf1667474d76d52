"""The benchmark cohorts, each written three ways: PHTA IR (via the DSL), Circe JSON, hand SQL
(two ways where Circe cannot express the cohort: ``brca_women``).

Concept ids are those of the embedded vocabulary (docs/vocabulary.md). The three forms are meant
to select the same persons; where the languages' semantics differ it is said here:

- Circe requires the index event and every correlated event to lie inside an observation period
  (PHTA's IR has no observation-period node yet); on the synthetic region events lie inside the
  GP registration, so counts are expected to agree, and the bench checks it.
- Ages use Circe's definition (``YEAR(index) - year_of_birth``, the IR's ``YearAgeAt``).
- The diabetes cohort asks for HbA1c >= 58 mmol/mol in the *first year after* diagnosis, not the
  year before: the synthetic region records HbA1c only after diagnosis (and metformin starts on
  the day of diagnosis), so "in the prior year" would select almost nobody.
- "Women with a BRCA1/2 pathogenic variant" (``brca_women``) uses the IR's germline-variant
  criterion (``has_variant``, over the ``variant`` extension table). Circe has no such criterion,
  so this cohort has no Circe form and no duckcdm figure. It is a prevalence count on a census
  date: women aged 18 or over on 2024-12-31 (the synthetic region's extract date) with a
  pathogenic or likely pathogenic BRCA1 or BRCA2 variant -- what a clinician planning a
  high-risk screening or prevention service would count. Carriers are counted whether or not
  they have had cancer (a first breast or ovarian cancer diagnosis as index date would count
  affected carriers only, a different question); deaths before the census date are not excluded
  (the hand SQL does the same). The earlier stand-in,
  women with breast cancer started on tamoxifen within a year, stays as a cohort of its own.

``write_files()`` writes ``bench/cohort_bench/cohorts/<name>.phta.json`` and ``<name>.circe.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from phta.query import serial
from phta.query.dsl import (
    codes,
    cohort,
    conditions,
    date,
    drugs,
    has_variant,
    index_date,
    measurements,
    patients,
    visits,
)

HERE = Path(__file__).resolve().parent / "cohorts"
STRATA = ["sex", "age_band", "ethnic_group", "imd_quintile"]

# --- concept ids ---------------------------------------------------------------------------
T2DM, METFORMIN, HBA1C, CKD4, CKD5 = 2001000010, 2003000000, 2005000000, 2001000016, 2001000017
AF, APIXABAN, WARFARIN = 313217, 2003000005, 1310149
BREAST_CANCER, TAMOXIFEN, FEMALE = 2001000022, 2003000012, 8532
ASTHMA, PREDNISOLONE = 317009, 2003000007
HF, INPATIENT = 2001000007, 9201
CENSUS = "2024-12-31"  # the synthetic region's extract date
P_LP = ["Pathogenic", "Likely pathogenic", "Pathogenic/Likely pathogenic"]  # ClinVar's P/LP words


def ir_cohorts() -> dict[str, object]:
    """The IR of each cohort, built with the DSL (the same nodes the JSON form carries)."""
    t2dm = conditions.where(codes(T2DM, descendants=True))
    af_drugs = drugs.where(codes(APIXABAN, WARFARIN, descendants=True))
    bc = conditions.where(codes(BREAST_CANCER, descendants=True))
    asthma = conditions.where(codes(ASTHMA, descendants=True))
    hf = conditions.where(codes(HF, descendants=True))
    return {
        "t2dm_metformin": cohort(
            index_date=t2dm.first_date(),
            rules={
                "adult": patients.year_age_at(index_date) >= 18,
                "metformin within 180 days": drugs.where(codes(METFORMIN, descendants=True))
                .between_days(index_date, 0, 180).exists(),
                "HbA1c >= 58 mmol/mol in the first year": measurements.where(codes(HBA1C))
                .where_value(low=58).between_days(index_date, 0, 365).exists(),
                "no CKD stage 4-5": ~conditions.where(codes(CKD4, CKD5, descendants=True))
                .before(index_date).exists(),
            },
            strata=STRATA,
        ),
        "af_anticoagulant": cohort(
            index_date=af_drugs.first_date(),
            rules={
                "adult": patients.year_age_at(index_date) >= 18,
                "atrial fibrillation before": conditions.where(codes(AF, descendants=True))
                .before(index_date).exists(),
            },
            strata=STRATA,
        ),
        "breast_cancer_tamoxifen": cohort(
            index_date=bc.first_date(),
            rules={
                "female": patients.sex == "female",
                "tamoxifen within a year": drugs.where(codes(TAMOXIFEN, descendants=True))
                .between_days(index_date, 0, 365).exists(),
            },
            strata=STRATA,
        ),
        "asthma_steroids": cohort(
            index_date=asthma.first_date(),
            rules={
                "aged 6+": patients.year_age_at(index_date) >= 6,
                ">= 2 oral steroid courses in the first year": drugs.where(codes(PREDNISOLONE, descendants=True))
                .between_days(index_date, 0, 365).count() >= 2,
            },
            strata=STRATA,
        ),
        "hf_admission_over75": cohort(
            index_date=hf.first_date(),
            rules={
                "over 75": patients.year_age_at(index_date) > 75,
                "inpatient admission within 30 days": visits.where(codes(INPATIENT))
                .between_days(index_date, 0, 30).exists(),
            },
            strata=STRATA,
        ),
        "brca_women": cohort(
            index_date=date(CENSUS),
            rules={
                "female": patients.sex == "female",
                "aged 18+ on the census date": patients.age_at(index_date) >= 18,
                "BRCA1/2 pathogenic or likely pathogenic": has_variant("BRCA1", "BRCA2", significance=P_LP),
            },
            strata=STRATA,
        ),
    }


# --- Circe ---------------------------------------------------------------------------------
def _cs(i: int, name: str, *concepts: tuple[int, bool]) -> dict:
    return {"id": i, "name": name, "expression": {"items": [
        {"concept": {"CONCEPT_ID": c}, "includeDescendants": d, "isExcluded": False} for c, d in concepts]}}


def _window(start: int | None, end: int | None) -> dict:
    def point(days):
        if days is None:
            return {"Coeff": -1}
        return {"Days": abs(days), "Coeff": -1 if days < 0 else 1}
    return {"Start": point(start), "End": point(end) if end is not None else {"Coeff": 1},
            "UseEventEnd": False}


def _rule(name: str, criteria: dict | None = None, window=(None, 0), occurrence=(2, 1), demographic=None) -> dict:
    expr = {"Type": "ALL", "CriteriaList": [], "DemographicCriteriaList": [], "Groups": []}
    if criteria is not None:
        expr["CriteriaList"].append({"Criteria": criteria, "StartWindow": _window(*window),
                                     "Occurrence": {"Type": occurrence[0], "Count": occurrence[1]}})
    if demographic is not None:
        expr["DemographicCriteriaList"].append(demographic)
    return {"name": name, "expression": expr}


def _circe(concept_sets: list[dict], primary: dict, rules: list[dict]) -> dict:
    return {
        "ConceptSets": concept_sets,
        "PrimaryCriteria": {"CriteriaList": [primary], "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
                            "PrimaryCriteriaLimit": {"Type": "First"}},
        "QualifiedLimit": {"Type": "First"}, "ExpressionLimit": {"Type": "First"},
        "InclusionRules": rules, "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0}, "CensorWindow": {},
    }


def _age(op: str, value: int) -> dict:
    return {"Age": {"Value": value, "Op": op}}


def circe_cohorts() -> dict[str, dict]:
    """The Circe form of each cohort Circe can express (not ``brca_women``: no variant criterion)."""
    return {
        "t2dm_metformin": _circe(
            [_cs(0, "T2DM", (T2DM, True)), _cs(1, "metformin", (METFORMIN, True)), _cs(2, "HbA1c", (HBA1C, False)),
             _cs(3, "CKD 4-5", (CKD4, True), (CKD5, True))],
            {"ConditionOccurrence": {"CodesetId": 0, "First": True}},
            [_rule("adult", demographic=_age("gte", 18)),
             _rule("metformin within 180 days", {"DrugExposure": {"CodesetId": 1}}, (0, 180)),
             _rule("HbA1c >= 58", {"Measurement": {"CodesetId": 2, "ValueAsNumber": {"Value": 58, "Op": "gte"}}},
                   (0, 365)),
             _rule("no CKD stage 4-5", {"ConditionOccurrence": {"CodesetId": 3}}, (None, 0), (0, 0))],
        ),
        "af_anticoagulant": _circe(
            [_cs(0, "anticoagulants", (APIXABAN, True), (WARFARIN, True)), _cs(1, "AF", (AF, True))],
            {"DrugExposure": {"CodesetId": 0, "First": True}},
            [_rule("adult", demographic=_age("gte", 18)),
             _rule("atrial fibrillation before", {"ConditionOccurrence": {"CodesetId": 1}}, (None, 0))],
        ),
        "breast_cancer_tamoxifen": _circe(
            [_cs(0, "breast cancer", (BREAST_CANCER, True)), _cs(1, "tamoxifen", (TAMOXIFEN, True))],
            {"ConditionOccurrence": {"CodesetId": 0, "First": True}},
            [_rule("female", demographic={"Gender": [{"CONCEPT_ID": FEMALE}]}),
             _rule("tamoxifen within a year", {"DrugExposure": {"CodesetId": 1}}, (0, 365))],
        ),
        "asthma_steroids": _circe(
            [_cs(0, "asthma", (ASTHMA, True)), _cs(1, "prednisolone", (PREDNISOLONE, True))],
            {"ConditionOccurrence": {"CodesetId": 0, "First": True}},
            [_rule("aged 6+", demographic=_age("gte", 6)),
             _rule(">= 2 oral steroid courses", {"DrugExposure": {"CodesetId": 1}}, (0, 365), (2, 2))],
        ),
        "hf_admission_over75": _circe(
            [_cs(0, "heart failure", (HF, True)), _cs(1, "inpatient", (INPATIENT, False))],
            {"ConditionOccurrence": {"CodesetId": 0, "First": True}},
            [_rule("over 75", demographic=_age("gt", 75)),
             _rule("inpatient admission within 30 days", {"VisitOccurrence": {"CodesetId": 1}}, (0, 30))],
        ),
    }


# --- hand-written SQL: one query per cohort returning (person_id, index_date) of members -----
def _desc(*ids: int) -> str:
    return f"(SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id IN ({', '.join(map(str, ids))}))"


HAND_SQL = {
    "t2dm_metformin": f"""
WITH idx AS (SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
             WHERE condition_concept_id IN {_desc(T2DM)} GROUP BY person_id)
SELECT i.person_id, i.d AS index_date FROM idx i JOIN person p USING (person_id)
WHERE year(i.d) - p.year_of_birth >= 18
  AND EXISTS (SELECT 1 FROM drug_exposure e WHERE e.person_id = i.person_id
              AND e.drug_concept_id IN {_desc(METFORMIN)}
              AND e.drug_exposure_start_date BETWEEN i.d AND i.d + 180)
  AND EXISTS (SELECT 1 FROM measurement m WHERE m.person_id = i.person_id
              AND m.measurement_concept_id = {HBA1C} AND m.value_as_number >= 58
              AND m.measurement_date BETWEEN i.d AND i.d + 365)
  AND NOT EXISTS (SELECT 1 FROM condition_occurrence c WHERE c.person_id = i.person_id
              AND c.condition_concept_id IN {_desc(CKD4, CKD5)} AND c.condition_start_date <= i.d)""",
    "af_anticoagulant": f"""
WITH idx AS (SELECT person_id, min(drug_exposure_start_date) AS d FROM drug_exposure
             WHERE drug_concept_id IN {_desc(APIXABAN, WARFARIN)} GROUP BY person_id)
SELECT i.person_id, i.d AS index_date FROM idx i JOIN person p USING (person_id)
WHERE year(i.d) - p.year_of_birth >= 18
  AND EXISTS (SELECT 1 FROM condition_occurrence c WHERE c.person_id = i.person_id
              AND c.condition_concept_id IN {_desc(AF)} AND c.condition_start_date <= i.d)""",
    "breast_cancer_tamoxifen": f"""
WITH idx AS (SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
             WHERE condition_concept_id IN {_desc(BREAST_CANCER)} GROUP BY person_id)
SELECT i.person_id, i.d AS index_date FROM idx i JOIN person p USING (person_id)
WHERE p.gender_concept_id = {FEMALE}
  AND EXISTS (SELECT 1 FROM drug_exposure e WHERE e.person_id = i.person_id
              AND e.drug_concept_id IN {_desc(TAMOXIFEN)}
              AND e.drug_exposure_start_date BETWEEN i.d AND i.d + 365)""",
    "asthma_steroids": f"""
WITH idx AS (SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
             WHERE condition_concept_id IN {_desc(ASTHMA)} GROUP BY person_id)
SELECT i.person_id, i.d AS index_date FROM idx i JOIN person p USING (person_id)
WHERE year(i.d) - p.year_of_birth >= 6
  AND (SELECT count(*) FROM drug_exposure e WHERE e.person_id = i.person_id
       AND e.drug_concept_id IN {_desc(PREDNISOLONE)}
       AND e.drug_exposure_start_date BETWEEN i.d AND i.d + 365) >= 2""",
    "hf_admission_over75": f"""
WITH idx AS (SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
             WHERE condition_concept_id IN {_desc(HF)} GROUP BY person_id)
SELECT i.person_id, i.d AS index_date FROM idx i JOIN person p USING (person_id)
WHERE year(i.d) - p.year_of_birth > 75
  AND EXISTS (SELECT 1 FROM visit_occurrence v WHERE v.person_id = i.person_id
              AND v.visit_concept_id = {INPATIENT}
              AND v.visit_start_date BETWEEN i.d AND i.d + 30)""",
    "brca_women": f"""
SELECT p.person_id, DATE '{CENSUS}' AS index_date FROM person p
WHERE p.gender_concept_id = {FEMALE}
  AND make_date(p.year_of_birth, coalesce(p.month_of_birth, 1), coalesce(p.day_of_birth, 1))
      <= DATE '{CENSUS}' - INTERVAL 18 YEAR
  AND EXISTS (SELECT 1 FROM variant v WHERE v.person_id = p.person_id
              AND v.gene IN ('BRCA1', 'BRCA2')
              AND v.clinical_significance IN ('Pathogenic', 'Likely pathogenic', 'Pathogenic/Likely pathogenic'))""",
}


def hand_strata_sql(members_sql: str) -> str:
    """A hand-written stratified count over a members query: sex, age band, ethnic group, IMD."""
    return f"""
WITH m AS ({members_sql}),
 imd AS (SELECT person_id, arg_max(CAST(value_as_number AS BIGINT), observation_date) AS q FROM observation
         WHERE observation_concept_id = 2000000001 AND value_as_number IS NOT NULL
           AND person_id IN (SELECT person_id FROM m) GROUP BY person_id),
 d AS (SELECT p.gender_concept_id AS sex, p.race_source_value AS eth, imd.q AS imd,
              date_diff('year', make_date(p.year_of_birth, coalesce(p.month_of_birth, 1),
                                          coalesce(p.day_of_birth, 1)), m.index_date) AS age
       FROM m JOIN person p USING (person_id) LEFT JOIN imd USING (person_id))
SELECT 'sex' AS stratum, CAST(sex AS VARCHAR) AS value, count(*) AS n FROM d GROUP BY 2
UNION ALL SELECT 'age', CAST(age AS VARCHAR), count(*) FROM d GROUP BY 2
UNION ALL SELECT 'ethnic', eth, count(*) FROM d GROUP BY 2
UNION ALL SELECT 'imd', CAST(imd AS VARCHAR), count(*) FROM d GROUP BY 2"""


def write_files() -> None:
    HERE.mkdir(exist_ok=True)
    for name, node in ir_cohorts().items():
        (HERE / f"{name}.phta.json").write_text(serial.to_json(node) + "\n")
    for name, doc in circe_cohorts().items():
        (HERE / f"{name}.circe.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    write_files()
