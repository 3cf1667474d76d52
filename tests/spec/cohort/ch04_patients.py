"""Chapter: patient attributes."""

from tests.spec.cohort.harness import Case, d, person

TITLE = "Patients: sex, age, ethnicity, deprivation and site"
INTRO = """`patients` holds one value per patient:

- `patients.sex`: `"male"`, `"female"` or `"unknown"` (from `gender_concept_id`).
- `patients.date_of_birth`: from year, month and day of birth (a missing month or day is 1).
- `patients.age_at(date)`: exact age in completed years; the birthday counts on the day (a
  29 February birthday is reached on 1 March in other years).
- `patients.year_age_at(date)`: Circe's age, the calendar year of the date minus the year of birth.
- `patients.ethnic_category`: the NHS ethnic category code (A–Z) in `race_source_value`, missing
  if none or not a known code; `patients.ethnic_group`: its ONS 5-group rollup, `"Unknown"` if
  missing or not stated.
- `patients.imd_quintile`: from the patient's latest IMD observation (1 = most deprived).
- `patients.site`: the ODS code of the patient's care site."""

IMD = 2_000_000_001
PEOPLE = [
    person(1, born="1980-06-15", sex="F", ethnic="A", care_site=10),
    person(2, born="2000-02-29", sex="M", ethnic="H", care_site=11),
    person(3, born="1990-12-31", sex="U", ethnic="Z"),
    person(4, born="1975-01-01", sex="F", ethnic=None),
]
OBS = [
    {"person_id": 1, "observation_concept_id": IMD, "observation_date": d("2019-01-01"), "value_as_number": 2.0},
    {"person_id": 1, "observation_concept_id": IMD, "observation_date": d("2021-01-01"), "value_as_number": 4.0},
    {"person_id": 2, "observation_concept_id": IMD, "observation_date": d("2021-01-01"), "value_as_number": 1.0},
    {"person_id": 3, "observation_concept_id": 999, "observation_date": d("2021-01-01"), "value_as_number": 5.0},
]
SITES = [{"care_site_id": 10, "care_site_source_value": "RRK"}, {"care_site_id": 11, "care_site_source_value": "RQ3"}]
TABLES = {"person": PEOPLE, "observation": OBS, "care_site": SITES}

CASES = [
    Case("sex", TABLES, "patients.sex", {1: "female", 2: "male", 3: "unknown", 4: "female"}),
    Case("date of birth", TABLES, "patients.date_of_birth",
         {1: d("1980-06-15"), 2: d("2000-02-29"), 3: d("1990-12-31"), 4: d("1975-01-01")}),
    Case("exact age counts the birthday on the day", TABLES, 'patients.age_at(date("2020-06-15"))',
         {1: 40, 2: 20, 3: 29, 4: 45}),
    Case("exact age the day before a birthday", TABLES, 'patients.age_at(date("2021-02-28"))',
         {1: 40, 2: 20, 3: 30, 4: 46}),
    Case("Circe's year-difference age ignores month and day", TABLES, 'patients.year_age_at(date("2021-02-28"))',
         {1: 41, 2: 21, 3: 31, 4: 46}),
    Case("NHS ethnic category", TABLES, "patients.ethnic_category", {1: "A", 2: "H", 3: "Z", 4: None}),
    Case("ONS ethnic group", TABLES, "patients.ethnic_group",
         {1: "White", 2: "Asian", 3: "Unknown", 4: "Unknown"}),
    Case("IMD quintile from the latest observation", TABLES, "patients.imd_quintile",
         {1: 4, 2: 1, 3: None, 4: None}),
    Case("site", TABLES, "patients.site", {1: "RRK", 2: "RQ3", 3: None, 4: None}),
]
