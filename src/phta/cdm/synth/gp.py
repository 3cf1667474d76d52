"""A GP federation's record of a block of persons: registration, diagnoses, repeat
prescriptions, reviews with measurements, health checks, background consultations, IMD, death."""

from __future__ import annotations

import numpy as np

from phta.cdm import uk, vocabulary
from phta.cdm.synth.events import Rows, expand
from phta.cdm.synth.params import Params
from phta.cdm.synth.population import YEAR, People

EHR = uk.EHR_TYPE_CONCEPT_ID
GP_VISIT = vocabulary.concept_id("PHTA:GP")
REVIEWED = ("t2dm", "hypertension", "ckd", "af", "hf", "copd", "asthma", "mi", "stroke")
MAX_REVIEWS = 10
MAX_ISSUES = 60

M = {  # measurement -> (LOINC, UCUM)
    "hba1c": ("LOINC:59261-8", "UCUM:mmol/mol"),
    "egfr": ("LOINC:62238-1", "UCUM:mL/min/{1.73_m2}"),
    "bmi": ("LOINC:39156-5", "UCUM:kg/m2"),
    "sbp": ("LOINC:8480-6", "UCUM:mm[Hg]"),
    "dbp": ("LOINC:8462-4", "UCUM:mm[Hg]"),
    "chol": ("LOINC:14647-2", "UCUM:mmol/L"),
}
CKD_STAGE_EGFR = {  # stage concept -> (mean, low, high)
    "SNOMED:433144002": (45.0, 30.0, 59.0),
    "SNOMED:431857002": (22.0, 15.0, 29.0),
    "SNOMED:433146000": (10.0, 5.0, 14.0),
}


def gp_records(params: Params, people: People, rows: Rows, rng: np.random.Generator) -> dict:
    """Fill ``rows`` with the GP record; returns per-person facts the hospitals reuse (CKD stage)."""
    n = len(people)
    idx = np.arange(n)
    rows.add("observation_period", person=idx, observation_period_start_date=people.obs_start,
             observation_period_end_date=people.obs_end, period_type_concept_id=EHR)
    rows.add("observation", person=idx, observation_concept_id=uk.IMD_QUINTILE_CONCEPT_ID,
             observation_date=people.obs_start, observation_type_concept_id=EHR,
             value_as_number=people.imd.astype(float), observation_source_value="IMD2019 quintile", visit=-1)
    died = np.flatnonzero(people.dead)
    rows.add("death", person=died, death_date=people.obs_end[died], death_type_concept_id=EHR)

    stage = _ckd_stage(params, people, rng)
    _diagnoses(params, people, stage, rows, rng)
    _reviews_and_checks(people, stage, rows, rng)
    _background(people, rows, rng)
    return {"ckd_stage": stage}


def _ckd_stage(params: Params, people: People, rng: np.random.Generator) -> np.ndarray:
    stages = params.conditions["ckd"]["stages"]
    refs = list(stages)
    pick = rng.choice(len(refs), size=len(people), p=np.array(list(stages.values())) / sum(stages.values()))
    return np.where(people.has("ckd"), pick, -1)


def condition_concept(params: Params, name: str, stage: np.ndarray, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(standard concept id, SNOMED code) per person; CKD is recorded by stage."""
    c = params.conditions[name]
    if name == "ckd":
        refs = list(c["stages"])
        ids = np.array([vocabulary.concept_id(r) for r in refs])[stage[who]]
        codes = np.array([r.split(":", 1)[1] for r in refs])[stage[who]]
        return ids, codes
    return np.full(len(who), vocabulary.concept_id(c["code"])), np.full(len(who), c["code"].split(":", 1)[1])


def _diagnoses(params: Params, people: People, stage: np.ndarray, rows: Rows, rng: np.random.Generator) -> None:
    for name in params.condition_names:
        who = np.flatnonzero(people.has(name))
        if not who.size:
            continue
        day = people.onset[name][who]
        visits = rows.add_visits(person=who, visit_concept_id=GP_VISIT, visit_start_date=day, visit_end_date=day,
                                 visit_type_concept_id=EHR, visit_source_value="GP")
        concept, code = condition_concept(params, name, stage, who)
        rows.add("condition_occurrence", person=who, condition_concept_id=concept, condition_start_date=day,
                 condition_type_concept_id=EHR, visit=visits, condition_source_value=code,
                 condition_source_concept_id=concept)
        if name in ("asthma", "copd"):
            rows.add("procedure_occurrence", person=who, procedure_concept_id=vocabulary.concept_id("SNOMED:127783003"),
                     procedure_date=day, procedure_type_concept_id=EHR, visit=visits, procedure_source_value="127783003")
        _prescriptions(params, name, people, who, visits, rows, rng)


def _prescriptions(params: Params, name: str, people: People, who: np.ndarray, visits: np.ndarray,
                   rows: Rows, rng: np.random.Generator) -> None:
    for entry in params.raw["prescribing"].get(name, []):
        options = entry.get("one_of", [entry])
        u = rng.random(len(who))
        cum = np.cumsum([o["p"] for o in options])
        choice = np.searchsorted(cum, u, side="right")  # == len(options): no drug
        for k, drug in enumerate(options):
            sel = choice == k
            if sel.any():
                _issues(drug, people, who[sel], visits[sel], people.onset[name][who[sel]], rows, rng)


def _issues(drug: dict, people: People, who: np.ndarray, visits: np.ndarray, start: np.ndarray,
            rows: Rows, rng: np.random.Generator) -> None:
    supply = int(drug["days_supply"])
    end = people.obs_end[who]
    if drug["course_years"] > 0:
        length = (rng.exponential(drug["course_years"], len(who)) * YEAR).astype(np.int64)
        stop = np.minimum(end, start + length)
        count = np.clip((stop - start) // supply + 1, 1, MAX_ISSUES)
        owner, pos = expand(count)
        day = start[owner] + pos * supply
    else:  # short courses (e.g. prednisolone): 1-3 at random times after diagnosis
        count = 1 + rng.poisson(0.8, len(who)).clip(0, 2)
        owner, pos = expand(count)
        offset = np.where(pos == 0, 0, (rng.random(len(owner)) * (end[owner] - start[owner])).astype(np.int64))
        day = start[owner] + offset
    day = np.minimum(day, end[owner])
    concept = vocabulary.concept_id(drug["code"])
    quantity = float(drug.get("fixed_quantity", drug["units_per_day"] * supply))
    rows.add("drug_exposure", person=who[owner], drug_concept_id=concept, drug_exposure_start_date=day,
             drug_exposure_end_date=np.minimum(day + supply - 1, end[owner]), drug_type_concept_id=EHR,
             days_supply=supply, quantity=quantity, visit=np.where(pos == 0, visits[owner], -1),
             drug_source_value=drug["code"].split(":", 1)[1], drug_source_concept_id=concept)


def _reviews_and_checks(people: People, stage: np.ndarray, rows: Rows, rng: np.random.Generator) -> None:
    n = len(people)
    first = np.full(n, np.iinfo(np.int64).max)
    for name in REVIEWED:
        o = people.onset[name]
        first = np.where(o >= 0, np.minimum(first, o), first)
    reviewed = first < np.iinfo(np.int64).max
    # Annual reviews from a year after the first reviewed diagnosis (the last MAX_REVIEWS kept).
    span = np.where(reviewed, people.obs_end - first, -1)
    n_rev = np.clip(np.where(reviewed, span // 365, 0), 0, MAX_REVIEWS)
    owner, pos = expand(n_rev)
    rev_day = people.obs_end[owner] - (n_rev[owner] - 1 - pos) * 365 - rng.integers(0, 60, len(owner))
    rev_day = np.maximum(rev_day, first[owner] + 1)
    # Health checks for adults without reviews: every 5 years of adult registration, at most 4.
    adult_from = np.maximum(people.obs_start, people.birth + int(18 * YEAR))
    n_chk = np.where(~reviewed & (people.obs_end > adult_from), (people.obs_end - adult_from) // int(5 * YEAR), 0).clip(0, 4)
    c_owner, c_pos = expand(n_chk)
    chk_day = adult_from[c_owner] + ((c_pos + rng.random(len(c_owner))) * 5 * YEAR).astype(np.int64)
    chk_day = np.minimum(chk_day, people.obs_end[c_owner])

    person = np.concatenate([owner, c_owner])
    day = np.concatenate([rev_day, chk_day])
    visits = rows.add_visits(person=person, visit_concept_id=GP_VISIT, visit_start_date=day, visit_end_date=day,
                             visit_type_concept_id=EHR, visit_source_value="GP")
    _measurements(people, stage, person, day, visits, rows, rng)


def _measurements(people: People, stage: np.ndarray, person: np.ndarray, day: np.ndarray, visits: np.ndarray,
                  rows: Rows, rng: np.random.Generator) -> None:
    n = len(people)
    k = len(person)
    age = (day - people.birth[person]) / YEAR

    def after(name: str) -> np.ndarray:
        o = people.onset[name][person]
        return (o >= 0) & (o <= day)

    base_bmi = np.clip(rng.normal(26.5, 4.5, n) + 3.0 * people.has("t2dm"), 16, 55)
    years = (day - people.obs_start[person]) / YEAR
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    values["bmi"] = (np.ones(k, bool), np.round(np.clip(base_bmi[person] + 0.08 * years + rng.normal(0, 0.6, k), 14, 60), 1))
    htn = after("hypertension")
    sbp = 116 + 0.45 * np.clip(age - 30, 0, None) + 14 * htn + rng.normal(0, 11, k)
    values["sbp"] = (np.ones(k, bool), np.round(np.clip(sbp, 85, 220)))
    values["dbp"] = (np.ones(k, bool), np.round(np.clip(0.45 * sbp + 20 + rng.normal(0, 6, k), 45, 130)))
    dm = after("t2dm")
    since = np.where(dm, (day - people.onset["t2dm"][person]) / YEAR, 0)
    offset = rng.normal(0, 6, n)[person]
    values["hba1c"] = (dm, np.round(np.clip(49 + 14 * np.exp(-since) + 0.6 * since + offset + rng.normal(0, 4, k), 30, 130)))
    ckd = after("ckd")
    means = np.array([v[0] for v in CKD_STAGE_EGFR.values()])
    lows = np.array([v[1] for v in CKD_STAGE_EGFR.values()])
    highs = np.array([v[2] for v in CKD_STAGE_EGFR.values()])
    st = np.maximum(stage[person], 0)
    normal = np.clip(102 - 0.7 * np.clip(age - 30, 0, None) + rng.normal(0, 8, k), 61, 130)
    ckd_val = np.clip(means[st] + rng.normal(0, 4, k), lows[st], highs[st])
    values["egfr"] = (ckd | dm | htn, np.round(np.where(ckd, ckd_val, normal)))
    treated = after("t2dm") | after("mi") | after("stroke")
    chol = rng.normal(5.3, 0.9, n)[person] - 1.3 * treated + rng.normal(0, 0.3, k)
    values["chol"] = ((age >= 40) | treated | htn, np.round(np.clip(chol, 2.0, 11.0), 1))

    for key, (mask, value) in values.items():
        loinc, unit = M[key]
        sel = np.flatnonzero(mask)
        concept = vocabulary.concept_id(loinc)
        rows.add("measurement", person=person[sel], measurement_concept_id=concept, measurement_date=day[sel],
                 measurement_type_concept_id=EHR, value_as_number=value[sel].astype(float),
                 unit_concept_id=vocabulary.concept_id(unit), visit=visits[sel],
                 measurement_source_value=loinc.split(":", 1)[1], unit_source_value=unit.split(":", 1)[1])


def _background(people: People, rows: Rows, rng: np.random.Generator) -> None:
    years = (people.obs_end - people.obs_start) / YEAR
    count = np.clip(rng.poisson(0.4 * years), 0, 15)
    owner, _ = expand(count)
    day = people.obs_start[owner] + (rng.random(len(owner)) * (people.obs_end - people.obs_start)[owner]).astype(np.int64)
    rows.add_visits(person=owner, visit_concept_id=GP_VISIT, visit_start_date=day, visit_end_date=day,
                    visit_type_concept_id=EHR, visit_source_value="GP")
