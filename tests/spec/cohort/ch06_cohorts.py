"""Chapter: cohorts, attrition and strata."""

from tests.spec.cohort.harness import Case, concepts, d, person

TITLE = "Cohorts: index date, rules, end date, strata"
INTRO = """`cohort(index_date=..., rules={...}, end_date=..., strata=[...])` is the population.
A patient enters if their index date is not missing and every rule is true; a rule that is
missing counts as not met. Rules apply in order and the attrition table reports how many
patients remain after each. Inside rules, the end date and strata, `index_date` is the patient's
index date. Membership gives each member's start (the index date) and end date (missing if no
`end_date` is given). Strata are counts of members by `sex`, `age_band` (exact age at the index
date in the bands given by `age_bands`, default 0-17, 18-39, 40-64, 65-79, 80+), `ethnic_group`,
`imd_quintile` and `site`; missing values are counted as `unknown`."""

PEOPLE = [
    person(1, born="1950-01-01", sex="F", ethnic="A"),
    person(2, born="2010-01-01", sex="M", ethnic="M"),
    person(3, born="1970-05-05", sex="M", ethnic="J"),
    person(4, born="1960-01-01", sex="F"),
]
CONDITIONS = [
    {"person_id": 1, "condition_concept_id": 201826, "condition_start_date": d("2020-01-10")},
    {"person_id": 1, "condition_concept_id": 201826, "condition_start_date": d("2021-01-10")},
    {"person_id": 2, "condition_concept_id": 201826, "condition_start_date": d("2020-05-01")},
    {"person_id": 3, "condition_concept_id": 201826, "condition_start_date": d("2019-03-01")},
]
DRUGS = [
    {"person_id": 1, "drug_concept_id": 1503297, "drug_exposure_start_date": d("2020-02-01"), "drug_exposure_end_date": d("2020-03-01")},
    {"person_id": 3, "drug_concept_id": 1503297, "drug_exposure_start_date": d("2018-01-01"), "drug_exposure_end_date": d("2018-02-01")},
]
TABLES = {"person": PEOPLE, "condition_occurrence": CONDITIONS, "drug_exposure": DRUGS,
          "concept": concepts(201826, 1503297)}

T2DM = "conditions.where(codes(201826)).first_date()"

CASES = [
    Case("index date only: everyone with a first diagnosis", TABLES,
         f"cohort(index_date={T2DM})",
         expected_members=[(1, d("2020-01-10"), None), (2, d("2020-05-01"), None), (3, d("2019-03-01"), None)],
         expected_attrition=[3]),
    Case("rules apply in order and give attrition", TABLES,
         f'cohort(index_date={T2DM}, rules={{"adult": patients.age_at(index_date) >= 18, '
         f'"metformin after diagnosis": drugs.where(codes(1503297)).after(index_date, days=90).exists()}})',
         expected_members=[(1, d("2020-01-10"), None)],
         expected_attrition=[3, 2, 1]),
    Case("end date relative to the index date", TABLES,
         f"cohort(index_date={T2DM}, end_date=index_date + days(365))",
         expected_members=[(1, d("2020-01-10"), d("2021-01-09")), (2, d("2020-05-01"), d("2021-05-01")),
                           (3, d("2019-03-01"), d("2020-02-29"))]),
    Case("strata by sex, age band and ethnic group", TABLES,
         f'cohort(index_date={T2DM}, strata=["sex", "age_band", "ethnic_group", "imd_quintile"])',
         expected_members=[(1, d("2020-01-10"), None), (2, d("2020-05-01"), None), (3, d("2019-03-01"), None)],
         expected_strata={"sex": {"female": 1, "male": 2}, "age_band": {"65-79": 1, "0-17": 1, "40-64": 1},
                          "ethnic_group": {"White": 1, "Black": 1, "Asian": 1}, "imd_quintile": {"unknown": 3}}),
    Case("custom age bands", TABLES,
         f'cohort(index_date={T2DM}, strata=["age_band"], age_bands=[18, 50])',
         expected_members=[(1, d("2020-01-10"), None), (2, d("2020-05-01"), None), (3, d("2019-03-01"), None)],
         expected_strata={"age_band": {"below 18": 1, "18-49": 1, "50+": 1}}),
    Case("a missing rule counts as not met", TABLES,
         f'cohort(index_date={T2DM}, rules={{"treated before": drugs.first_date() < index_date}})',
         expected_members=[(3, d("2019-03-01"), None)], expected_attrition=[3, 1]),
]
