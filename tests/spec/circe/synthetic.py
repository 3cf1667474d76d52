"""Small synthetic OMOP stores for differential tests: seeded, with Circe's awkward cases
(missing end dates, events outside observation periods, same-day events, several periods)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from phta.cdm.store import Store
from tests.spec.circe.harness import load_rows

CONDITIONS = (40481087, 4112343, 260139, 372328, 28060)
DRUGS = (1127433, 1713671, 1127078)
MEASUREMENTS = (3006322, 4024958)
VISITS = (9201, 9202, 9203)
PARENT = 4000000  # an ancestor of every condition, to exercise descendants
PAYERS = (327, 289, 32934)  # payer/plan concepts of payer plan periods
EPISODE_TYPES = (32545, 32546)  # episode_type_concept_id / episode_object_concept_id values


def _day(rng: random.Random, lo=dt.date(2003, 1, 1), span=3000) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange(span))


def tables(seed: int, persons: int = 40) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    all_concepts = (*CONDITIONS, *DRUGS, *MEASUREMENTS, *VISITS, PARENT, 8507, 8532, *PAYERS, *EPISODE_TYPES)
    t: dict[str, list[dict]] = {
        "concept": [{"concept_id": c, "concept_name": f"c{c}", "domain_id": "x", "vocabulary_id": "x",
                     "concept_class_id": "x", "concept_code": str(c), "valid_start_date": "1970-01-01",
                     "valid_end_date": "2099-12-31"} for c in all_concepts],
        "concept_ancestor": [{"ancestor_concept_id": a, "descendant_concept_id": a, "min_levels_of_separation": 0,
                              "max_levels_of_separation": 0} for a in all_concepts]
        + [{"ancestor_concept_id": PARENT, "descendant_concept_id": c, "min_levels_of_separation": 1,
            "max_levels_of_separation": 1} for c in CONDITIONS],
        "person": [], "observation_period": [], "condition_occurrence": [], "drug_exposure": [],
        "measurement": [], "visit_occurrence": [],
    }
    ids = {"op": 0, "co": 0, "de": 0, "m": 0, "vo": 0}

    def nid(k):
        ids[k] += 1
        return ids[k]

    for pid in range(1, persons + 1):
        t["person"].append({"person_id": pid, "gender_concept_id": rng.choice((8507, 8532)),
                            "year_of_birth": rng.randrange(1930, 2005), "race_concept_id": 0,
                            "ethnicity_concept_id": 0})
        start = _day(rng, lo=dt.date(2001, 1, 1), span=1500)
        for _ in range(rng.choice((1, 1, 2))):
            end = start + dt.timedelta(days=rng.randrange(200, 3000))
            t["observation_period"].append({"observation_period_id": nid("op"), "person_id": pid,
                                            "observation_period_start_date": start, "observation_period_end_date": end,
                                            "period_type_concept_id": 0})
            start = end + dt.timedelta(days=rng.randrange(30, 400))
        visits = []
        for _ in range(rng.randrange(1, 9)):
            vs = _day(rng)
            vid = nid("vo")
            visits.append((vid, vs))
            t["visit_occurrence"].append({"visit_occurrence_id": vid, "person_id": pid, "visit_concept_id": rng.choice(VISITS),
                                          "visit_start_date": vs, "visit_end_date": vs + dt.timedelta(days=rng.randrange(0, 5)),
                                          "visit_type_concept_id": 0})
        for _ in range(rng.randrange(1, 14)):
            visit = rng.choice(visits) if visits and rng.random() < 0.5 else None
            cs = visit[1] if visit else _day(rng)
            t["condition_occurrence"].append({
                "condition_occurrence_id": nid("co"), "person_id": pid, "condition_concept_id": rng.choice(CONDITIONS),
                "condition_start_date": cs,
                "condition_end_date": None if rng.random() < 0.4 else cs + dt.timedelta(days=rng.randrange(0, 60)),
                "condition_type_concept_id": 0, "visit_occurrence_id": visit[0] if visit else None})
        for _ in range(rng.randrange(1, 14)):
            visit = rng.choice(visits) if visits and rng.random() < 0.5 else None
            ds = visit[1] if visit else _day(rng)
            supply = rng.choice((None, 7, 30, 90))
            t["drug_exposure"].append({
                "drug_exposure_id": nid("de"), "person_id": pid, "drug_concept_id": rng.choice(DRUGS),
                "drug_exposure_start_date": ds,
                "drug_exposure_end_date": None if rng.random() < 0.5 else ds + dt.timedelta(days=rng.randrange(0, 40)),
                "days_supply": supply, "drug_type_concept_id": 0, "visit_occurrence_id": visit[0] if visit else None})
        for _ in range(rng.randrange(1, 9)):
            t["measurement"].append({
                "measurement_id": nid("m"), "person_id": pid, "measurement_concept_id": rng.choice(MEASUREMENTS),
                "measurement_date": _day(rng), "measurement_type_concept_id": 0,
                "value_as_number": None if rng.random() < 0.2 else round(rng.uniform(0, 12), 1)})
    _payer_plans_and_episodes(t, random.Random(seed + 1000))
    return t


def _payer_plans_and_episodes(t: dict[str, list[dict]], rng: random.Random) -> None:
    """Payer plan periods (some overlapping, some on one day) and episodes (some without an end);
    a separate generator so the other tables stay as they were for a seed."""
    t["payer_plan_period"], t["episode"] = [], []
    for person in t["person"]:
        pid = person["person_id"]
        for _ in range(rng.randrange(0, 4)):
            start = _day(rng, lo=dt.date(2001, 1, 1), span=3500)
            t["payer_plan_period"].append({
                "payer_plan_period_id": len(t["payer_plan_period"]) + 1, "person_id": pid,
                "payer_plan_period_start_date": start,
                "payer_plan_period_end_date": start + dt.timedelta(days=rng.choice((0, 30, 365, 900))),
                "payer_concept_id": rng.choice((*PAYERS, None)), "plan_concept_id": rng.choice(PAYERS),
                "payer_source_concept_id": rng.choice((PAYERS[0], 0)),
                "stop_reason_concept_id": rng.choice((PAYERS[1], None))})
        for n in range(rng.randrange(0, 4)):
            start = _day(rng)
            t["episode"].append({
                "episode_id": len(t["episode"]) + 1, "person_id": pid, "episode_concept_id": rng.choice(CONDITIONS),
                "episode_start_date": start,
                "episode_end_date": None if rng.random() < 0.3 else start + dt.timedelta(days=rng.randrange(0, 400)),
                "episode_number": n + 1, "episode_object_concept_id": rng.choice(EPISODE_TYPES),
                "episode_type_concept_id": rng.choice(EPISODE_TYPES)})


def build(path: Path, seed: int, persons: int = 40) -> Store:
    store = Store.create(path, node_name=f"synthetic-{seed}")
    load_rows(store, tables(seed, persons))
    return store
