"""Chapter: date windows."""

from tests.spec.cohort.harness import Case, d, person

TITLE = "Date windows"
INTRO = """`between_days(anchor, start, end)` keeps events dated from `anchor + start` to `anchor +
end` days, both ends included; either end may be `None` (open). `before(anchor, days=N)` is
`between_days(anchor, -N, 0)` and `after(anchor, days=N)` is `between_days(anchor, 0, N)`. The
anchor is any date series: a constant `date("2020-01-01")`, another aggregate such as
`conditions.first_date()`, or `index_date` inside a cohort. `on="end"` tests the event's end date
instead of its start (Circe's windows on event end). A window whose start is after its end is an
error when the query is built; events or anchors without a date never match."""

PEOPLE = [person(1), person(2), person(3)]
CONDITIONS = [
    {"person_id": 1, "condition_concept_id": 1, "condition_start_date": d("2020-01-01"), "condition_end_date": d("2020-03-01")},
    {"person_id": 1, "condition_concept_id": 2, "condition_start_date": d("2020-06-01"), "condition_end_date": None},
    {"person_id": 2, "condition_concept_id": 2, "condition_start_date": d("2019-12-31"), "condition_end_date": d("2020-01-10")},
    {"person_id": 3, "condition_concept_id": 2, "condition_start_date": d("2021-01-01"), "condition_end_date": None},
]
TABLES = {"person": PEOPLE, "condition_occurrence": CONDITIONS}

CASES = [
    Case("a window around a constant date (ends included)", TABLES,
         'conditions.between_days(date("2020-01-01"), -1, 0).count()', {1: 1, 2: 1, 3: 0}),
    Case("after a date, within N days", TABLES,
         'conditions.after(date("2020-01-01"), days=200).count()', {1: 2, 2: 0, 3: 0}),
    Case("before a date, unbounded", TABLES,
         'conditions.before(date("2020-01-01")).exists()', {1: True, 2: True, 3: False}),
    Case("anchored on another series", TABLES,
         "conditions.between_days(conditions.first_date(), 1, None).count()", {1: 1, 2: 0, 3: 0}),
    Case("windows on the event's end date (missing end dates never match)", TABLES,
         'conditions.after(date("2020-01-05"), on="end").count()', {1: 1, 2: 1, 3: 0}),
    Case("a missing anchor matches nothing", TABLES,
         "conditions.after(drugs.first_date()).exists()", {1: False, 2: False, 3: False}),
]
