"""Chapter: date windows."""

from tests.spec.cohort.harness import Case, d, person

TITLE = "Date windows"
INTRO = """`between_days(anchor, start, end)` keeps events dated from `anchor + start` to `anchor +
end` days, both ends included; either end may be `None` (open). `before(anchor, days=N)` is
`between_days(anchor, -N, 0)` and `after(anchor, days=N)` is `between_days(anchor, 0, N)`. The
anchor is any date series: a constant `date("2020-01-01")`, another aggregate such as
`conditions.first_date()`, or `index_date` inside a cohort. `on="end"` tests the event's end date
instead of its start (Circe's windows on event end). A window whose start is after its end is an
error when the query is built; events or anchors without a date never match.

`patients.observation_start_at(d)` and `patients.observation_end_at(d)` give the start and end of
the observation period that contains date `d` (the earliest start and latest end if several
overlap it); they are missing when `d` is outside every observation period. Together with
`between_days` they express Circe's "continuous observation of N days before and M days after"."""

PEOPLE = [person(1), person(2), person(3)]
CONDITIONS = [
    {"person_id": 1, "condition_concept_id": 1, "condition_start_date": d("2020-01-01"), "condition_end_date": d("2020-03-01")},
    {"person_id": 1, "condition_concept_id": 2, "condition_start_date": d("2020-06-01"), "condition_end_date": None},
    {"person_id": 2, "condition_concept_id": 2, "condition_start_date": d("2019-12-31"), "condition_end_date": d("2020-01-10")},
    {"person_id": 3, "condition_concept_id": 2, "condition_start_date": d("2021-01-01"), "condition_end_date": None},
]
PERIODS = [
    {"person_id": 1, "observation_period_start_date": d("2018-01-01"), "observation_period_end_date": d("2020-12-31")},
    {"person_id": 1, "observation_period_start_date": d("2020-06-01"), "observation_period_end_date": d("2022-12-31")},
    {"person_id": 2, "observation_period_start_date": d("2020-01-01"), "observation_period_end_date": d("2020-12-31")},
]
TABLES = {"person": PEOPLE, "condition_occurrence": CONDITIONS, "observation_period": PERIODS}

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
    Case("start of the observation period containing a date", TABLES,
         'patients.observation_start_at(date("2020-07-01"))', {1: d("2018-01-01"), 2: d("2020-01-01"), 3: None}),
    Case("end of the observation period containing a date (latest of overlapping periods)", TABLES,
         "patients.observation_end_at(conditions.first_date())", {1: d("2020-12-31"), 2: None, 3: None}),
    Case("a missing anchor matches nothing", TABLES,
         "conditions.after(drugs.first_date()).exists()", {1: False, 2: False, 3: False}),
]
