"""A hospital trust's record of the linked persons it has seen: A&E attendances, outpatient
clinics for long-term conditions, admissions for acute events (ICD-10 coded, mapped to SNOMED),
procedures, spells of care as observation periods, and germline variants of those sequenced."""

from __future__ import annotations

import numpy as np

from phta.cdm import vocabulary
from phta.cdm.synth.events import Rows, expand
from phta.cdm.synth.gp import EHR
from phta.cdm.synth.params import Params
from phta.cdm.synth.population import YEAR, People

IP, OP, ER = (vocabulary.concept_id(f"Visit:{c}") for c in ("IP", "OP", "ER"))
ACUTE = ("mi", "stroke", "hf", "breast_cancer", "colorectal_cancer", "lung_cancer", "prostate_cancer")
CLINIC = ("t2dm", "ckd", "copd", "asthma", "af")
CANCERS = ("breast_cancer", "colorectal_cancer", "lung_cancer", "prostate_cancer")
PROCEDURES = {  # condition -> [(SNOMED code, probability)] done during the admission
    "mi": [("415070008", 0.6), ("232717009", 0.1)],
    "hf": [("40701008", 0.8)],
    "colorectal_cancer": [("73761001", 0.9)],
}


def trust_records(params: Params, people: People, who: np.ndarray, ckd_stage: np.ndarray, rows: Rows,
                  rng: np.random.Generator) -> None:
    """Records at one trust for the block persons ``who`` (indices into the block)."""
    if not who.size:
        return
    spans_person: list[np.ndarray] = []
    spans_start: list[np.ndarray] = []
    spans_end: list[np.ndarray] = []

    def visits(person, start, end, concept, source) -> np.ndarray:
        spans_person.append(person)
        spans_start.append(start)
        spans_end.append(end)
        return rows.add_visits(person=person, visit_concept_id=concept, visit_start_date=start, visit_end_date=end,
                               visit_type_concept_id=EHR, visit_source_value=source)

    def diagnose(name, person, day, visit) -> None:
        c = params.conditions[name]
        if name == "ckd":
            stage_refs = list(c["stages"])
            icd = np.array([c["stage_icd10"][r] for r in stage_refs])[ckd_stage[person]]
        else:
            icd = np.full(len(person), c["icd10"])
        source_ids = np.array([vocabulary.concept_id(r) for r in icd])
        standard = np.array([vocabulary.standard_id(r) for r in icd])
        rows.add("condition_occurrence", person=person, condition_concept_id=standard, condition_start_date=day,
                 condition_type_concept_id=EHR, visit=visit,
                 condition_source_value=np.array([r.split(":", 1)[1] for r in icd]),
                 condition_source_concept_id=source_ids)

    end = people.obs_end
    for name in ACUTE:
        p = who[people.has(name)[who]]
        if not p.size:
            continue
        start = people.onset[name][p]
        stop = np.minimum(start + 1 + rng.poisson(4, p.size), end[p])
        v = visits(p, start, stop, IP, "IP")
        diagnose(name, p, start, v)
        for code, prob in PROCEDURES.get(name, []):
            sel = rng.random(p.size) < prob
            day = start[sel] + (rng.random(sel.sum()) * (stop[sel] - start[sel] + 1)).astype(np.int64).clip(0, None)
            rows.add("procedure_occurrence", person=p[sel], procedure_concept_id=vocabulary.concept_id(f"SNOMED:{code}"),
                     procedure_date=np.minimum(day, stop[sel]), procedure_type_concept_id=EHR, visit=v[sel],
                     procedure_source_value=code)
    for name in CLINIC:
        p = who[people.has(name)[who]]
        if not p.size:
            continue
        owner, _ = expand(1 + rng.integers(0, 2, p.size))
        person = p[owner]
        onset = people.onset[name][person]
        day = onset + (rng.random(owner.size) * (end[person] - onset)).astype(np.int64)
        v = visits(person, day, day, OP, "OP")
        diagnose(name, person, day, v)
    # Everyone seen at a trust has at least one A&E attendance.
    years = (end[who] - people.obs_start[who]) / YEAR
    owner, _ = expand(1 + np.clip(rng.poisson(0.1 * years), 0, 5))
    person = who[owner]
    day = people.obs_start[person] + (rng.random(owner.size) * (end[person] - people.obs_start[person])).astype(np.int64)
    visits(person, day, day, ER, "AE")

    _spells(np.concatenate(spans_person), np.concatenate(spans_start), np.concatenate(spans_end), rows)


def _spells(person: np.ndarray, start: np.ndarray, end: np.ndarray, rows: Rows) -> None:
    """Observation periods at a trust: the union of each person's visit spans (overlaps merged)."""
    order = np.lexsort((start, person))
    person, start, end = person[order], start[order], end[order]
    shift = 1 << 20  # days fit in 20 bits: person-major keys keep the running max within a person
    end_key = np.maximum.accumulate(person * shift + end)
    new = np.ones(person.size, dtype=bool)
    new[1:] = (person[1:] != person[:-1]) | (start[1:] > end_key[:-1] - person[1:] * shift)
    group = np.cumsum(new) - 1
    g_start = start[new]
    g_end = np.zeros(group.max() + 1, dtype=np.int64)
    np.maximum.at(g_end, group, end)
    rows.add("observation_period", person=person[new], observation_period_start_date=g_start,
             observation_period_end_date=g_end, period_type_concept_id=EHR)


def variants(params: Params, people: People, who: np.ndarray, rows: Rows, rng: np.random.Generator) -> None:
    """Germline variants of the sequenced subset of ``who`` (people seen at this trust first)."""
    seq = params.raw["sequencing"]
    cancer = np.zeros(who.size, dtype=bool)
    for c in CANCERS:
        cancer |= people.has(c)[who]
    sequenced = who[rng.random(who.size) < np.where(cancer, seq["rate_with_cancer"], seq["rate_linked"])]
    for v in params.raw["variants"]:
        rate = np.full(sequenced.size, v["carrier_rate"])
        for cond, factor in v.get("enriched_by", {}).items():
            rate = np.where(people.has(cond)[sequenced], v["carrier_rate"] * factor, rate)
        carriers = sequenced[rng.random(sequenced.size) < rate]
        if not carriers.size:
            continue
        zyg = np.where(rng.random(carriers.size) < 0.01, "homozygous", "heterozygous")
        rows.add("variant", person=carriers, chrom=v["chrom"], pos=int(v["pos"]), ref=v["ref"], alt=v["alt"],
                 gene=v["gene"], hgvs=v["hgvs"], zygosity=zyg, clinical_significance=v["clinical_significance"])
