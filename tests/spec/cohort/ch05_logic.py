"""Chapter: comparisons, logic and date arithmetic."""

from tests.spec.cohort.harness import Case, d, person

TITLE = "Comparisons, logic and date arithmetic"
INTRO = """Compare series with `==`, `!=`, `<`, `<=`, `>`, `>=` (both sides of the same type; whole
numbers and numbers compare with each other). Combine conditions with `&` (and), `|` (or) and
`~` (not); Python's `and`, `or`, `not` and `if` are errors, because a series has one value per
patient. Missing values follow SQL's three-valued logic: a comparison with a missing value is
missing, `missing & False` is false, `missing | True` is true. `is_missing()` tests for a missing
value. Dates move by `+ days(n)` / `- days(n)`; `date_b - date_a` is the number of days between."""

PEOPLE = [person(1), person(2), person(3)]
CONDITIONS = [
    {"person_id": 1, "condition_concept_id": 1, "condition_start_date": d("2020-01-01")},
    {"person_id": 1, "condition_concept_id": 1, "condition_start_date": d("2020-03-01")},
    {"person_id": 2, "condition_concept_id": 1, "condition_start_date": d("2020-12-31")},
]
TABLES = {"person": PEOPLE, "condition_occurrence": CONDITIONS}
first = "conditions.first_date()"

CASES = [
    Case("comparing dates; missing stays missing", TABLES, f'{first} < date("2020-06-01")',
         {1: True, 2: False, 3: None}),
    Case("and: false wins over missing", TABLES, f'({first} < date("2020-06-01")) & (conditions.count() > 1)',
         {1: True, 2: False, 3: False}),
    Case("or: true wins over missing", TABLES, f'({first} < date("2020-06-01")) | conditions.exists()',
         {1: True, 2: True, 3: None}),
    Case("not", TABLES, f'~({first} < date("2020-06-01"))', {1: False, 2: True, 3: None}),
    Case("is missing", TABLES, f"{first}.is_missing()", {1: False, 2: False, 3: True}),
    Case("adding days", TABLES, f"{first} + days(31)", {1: d("2020-02-01"), 2: d("2021-01-31"), 3: None}),
    Case("subtracting days", TABLES, f"{first} - days(1)", {1: d("2019-12-31"), 2: d("2020-12-30"), 3: None}),
    Case("days between two dates", TABLES, f"conditions.last_date() - {first}", {1: 60, 2: 0, 3: None}),
    Case("text equality", TABLES, 'patients.sex == "female"', {1: True, 2: True, 3: True}),
]
