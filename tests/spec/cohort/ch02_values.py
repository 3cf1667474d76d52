"""Chapter: numeric values and units."""

from tests.spec.cohort.harness import Case, d, person

TITLE = "Values and units"
INTRO = """Measurements and observations carry a numeric value and a unit concept.
`where_value(low=, high=, units=[...])` keeps events whose value lies in the closed range (either
bound may be left out) and, when units are given, whose unit concept is one of them. Events with
no value never match a value filter. `min_value()` and `max_value()` aggregate the values; they
are missing when no event has a value. Domains without values (conditions, drugs, ...) reject
value filters when the query is built."""

MEASUREMENTS = [
    {"person_id": 1, "measurement_concept_id": 3004410, "measurement_date": d("2021-01-01"), "value_as_number": 6.5, "unit_concept_id": 8554},
    {"person_id": 1, "measurement_concept_id": 3004410, "measurement_date": d("2021-06-01"), "value_as_number": 8.0, "unit_concept_id": 8554},
    {"person_id": 2, "measurement_concept_id": 3004410, "measurement_date": d("2021-02-01"), "value_as_number": 48.0, "unit_concept_id": 9579},
    {"person_id": 3, "measurement_concept_id": 3004410, "measurement_date": d("2021-03-01"), "value_as_number": None, "unit_concept_id": None},
]
TABLES = {"person": [person(1), person(2), person(3), person(4)], "measurement": MEASUREMENTS}

CASES = [
    Case("a closed range, both bounds included", TABLES,
         "measurements.where_value(low=6.5, high=7.9).count()", {1: 1, 2: 0, 3: 0, 4: 0}),
    Case("a lower bound only", TABLES,
         "measurements.where_value(low=7).exists()", {1: True, 2: True, 3: False, 4: False}),
    Case("restricted to units", TABLES,
         "measurements.where_value(low=0, units=[9579]).count()", {1: 0, 2: 1, 3: 0, 4: 0}),
    Case("highest value", TABLES,
         "measurements.max_value()", {1: 8.0, 2: 48.0, 3: None, 4: None}),
    Case("lowest value", TABLES,
         "measurements.min_value()", {1: 6.5, 2: 48.0, 3: None, 4: None}),
    Case("values compare with numbers", TABLES,
         "measurements.max_value() >= 48", {1: False, 2: True, 3: None, 4: None}),
]
