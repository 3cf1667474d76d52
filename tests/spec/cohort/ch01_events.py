"""Chapter: event frames and concept sets."""

from tests.spec.cohort.harness import Case, concepts, d, person

TITLE = "Events and concept sets"
INTRO = """An event frame holds many rows per patient: the events of one OMOP domain (`conditions`,
`drugs`, `procedures`, `measurements`, `observations`, `visits`, `devices`). `where(codes(...))`
keeps events whose concept is in a concept set. With `descendants=True` the set also holds every
descendant of the concept in the store's `concept_ancestor` table; a concept is always its own
descendant, whether or not the vocabulary has the self row. `exclude=[...]` removes concepts (and
with `exclude_descendants=True`, their descendants). Aggregate a frame to one value per patient
with `exists()`, `count()`, `first_date()`, `last_date()`, `min_value()`, `max_value()`."""

PEOPLE = [person(1), person(2), person(3)]
ANCESTRY = [
    {"ancestor_concept_id": 100, "descendant_concept_id": 101, "min_levels_of_separation": 1, "max_levels_of_separation": 1},
    {"ancestor_concept_id": 101, "descendant_concept_id": 102, "min_levels_of_separation": 1, "max_levels_of_separation": 1},
    {"ancestor_concept_id": 100, "descendant_concept_id": 102, "min_levels_of_separation": 2, "max_levels_of_separation": 2},
]
CONDITIONS = [
    {"person_id": 1, "condition_concept_id": 100, "condition_start_date": d("2020-01-01")},
    {"person_id": 2, "condition_concept_id": 102, "condition_start_date": d("2020-02-01")},
    {"person_id": 2, "condition_concept_id": 200, "condition_start_date": d("2020-03-01")},
]
TABLES = {"person": PEOPLE, "concept_ancestor": ANCESTRY, "condition_occurrence": CONDITIONS,
          "concept": concepts(100, 101, 102, 200)}

CASES = [
    Case("exists: a concept without descendants matches only itself", TABLES,
         "conditions.where(codes(100)).exists()", {1: True, 2: False, 3: False}),
    Case("descendants through concept_ancestor (no self row needed)", TABLES,
         "conditions.where(codes(100, descendants=True)).exists()", {1: True, 2: True, 3: False}),
    Case("several concepts", TABLES,
         "conditions.where(codes(100, 200)).count()", {1: 1, 2: 1, 3: 0}),
    Case("excluding a descendant", TABLES,
         "conditions.where(codes(100, descendants=True, exclude=[102])).exists()", {1: True, 2: False, 3: False}),
    Case("excluding a concept with its descendants", TABLES,
         "conditions.where(codes(100, descendants=True, exclude=[101], exclude_descendants=True)).count()",
         {1: 1, 2: 0, 3: 0}),
    Case("all events of a domain", TABLES, "conditions.count()", {1: 1, 2: 2, 3: 0}),
    Case("first and last dates are missing without events", TABLES,
         "conditions.first_date()", {1: d("2020-01-01"), 2: d("2020-02-01"), 3: None}),
    Case("last date", TABLES, "conditions.last_date()", {1: d("2020-01-01"), 2: d("2020-03-01"), 3: None}),
]
