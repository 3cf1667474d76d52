"""``phta synth``: generate a synthetic Midlands region as K node stores holding N persons.

Deterministic by seed: every block draws from ``numpy.random.default_rng([seed, site, block])``
and blocks are written in a fixed order, so the same arguments give identical stores.
Memory is bounded by the block size (persons per block), not by N.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phta.cdm import uk, vocabulary
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.cdm.synth import dirty as dirty_mod
from phta.cdm.synth.events import Rows
from phta.cdm.synth.gp import gp_records
from phta.cdm.synth.hospital import ACUTE, trust_records, variants
from phta.cdm.synth.params import ETHNIC_CODES, PARAMS_FILE, Params, load_params
from phta.cdm.synth.population import People, add_conditions_and_death, calibrate, demographics
from phta.cdm.synth.sites import Site, plan_sites
from phta.cdm.synth.writer import StoreWriter

MANIFEST = "manifest.json"
LINK_RATE = 0.10  # share of persons also seen at a trust
LINK_ACUTE = 0.6  # chance an acute event (MI, stroke, HF, cancer) brings a person to a trust
SECOND_TRUST = 0.15
DEFAULT_BLOCK = 100_000
DUCKDB_MEMORY_MB = 1536  # shared by the K open stores: with the blocks, keeps a run under ~2.5 GB


class SynthError(Exception):
    """Bad generator arguments or an output directory that already holds a region."""


@dataclass
class SynthResult:
    out: Path
    sites: list[Site]
    persons: dict[str, int] = field(default_factory=dict)  # site code -> persons in its store
    linked: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def store_path(self, site: Site) -> Path:
        return self.out / site.code


def generate(out: Path, *, patients: int, sites: int, seed: int, key: bytes, dirty: bool = False,
             block_size: int = DEFAULT_BLOCK, params: Params | None = None,
             progress: Callable[[int], None] | None = None) -> SynthResult:
    if patients < 1:
        raise SynthError("--patients must be at least 1")
    params = params or load_params()
    out = Path(out)
    if (out / MANIFEST).exists():
        raise SynthError(f"{out} already holds a synthetic region ({MANIFEST} exists); choose an empty directory")
    plan = plan_sites(sites)
    gps = [s for s in plan if s.kind == "gp"]
    trusts = [s for s in plan if s.kind == "trust"]
    writers: dict[str, StoreWriter] = {}
    for s in plan:
        store = Store.create(out / s.code, node_name=s.code)  # the node's identity; names are in the manifest
        vocabulary.load_into(store)
        writers[s.code] = StoreWriter(store, memory_limit_mb=max(128, DUCKDB_MEMORY_MB // len(plan)))
    result = SynthResult(out, plan, faults=dict.fromkeys(dirty_mod.FAULT_KINDS, 0))
    pseudonymiser = Pseudonymiser(key)
    scale = {setting: calibrate(params, setting) for setting in {s.setting for s in gps}}
    weights = np.array([s.weight for s in gps])
    per_gp = _split(patients, weights / weights.sum())
    first_index = 0
    try:
        for gp, count in zip(gps, per_gp, strict=True):
            for b, start in enumerate(range(0, count, block_size)):
                n = min(block_size, count - start)
                rng = np.random.default_rng([seed, gp.index, b])
                _block(params, gp, trusts, n, first_index, rng, scale[gp.setting], writers, pseudonymiser,
                       dirty, result)
                first_index += n
                if progress:
                    progress(n)
        for s in plan:
            _finish_store(writers[s.code], s, seed, dirty, result)
    finally:
        for w in writers.values():
            w.close()
    result.persons = {s.code: writers[s.code].next_id["person"] - 1 for s in plan}
    _write_manifest(result, patients, seed, dirty, params)
    return result


def _split(total: int, shares: np.ndarray) -> list[int]:
    counts = np.floor(shares * total).astype(int)
    counts[: total - counts.sum()] += 1
    return counts.tolist()


def _block(params: Params, gp: Site, trusts: list[Site], n: int, first_index: int, rng: np.random.Generator,
           scale: dict[str, float], writers: dict[str, StoreWriter], pseudonymiser: Pseudonymiser,
           dirty: bool, result: SynthResult) -> None:
    people = demographics(params, gp.setting, n, rng)
    add_conditions_and_death(params, people, scale, rng)
    pseudonyms = np.array(pseudonymiser.pseudonyms(reserved_range_nhs_numbers(n, first_index)))

    rows = Rows()
    facts = gp_records(params, people, rows, rng)
    w = writers[gp.code]
    ids = w.new_person_ids(n)
    w.write("person", _person_columns(people, np.arange(n), ids, pseudonyms, w.care_site_id))
    tables = w.resolve(rows, ids)
    if dirty:
        base = ids[0]
        counts = dirty_mod.inject(tables, lambda pid: people.obs_end[pid - base], params.raw["dirty_rate"], rng)
        for k, v in counts.items():
            result.faults[k] += v
    for table, cols in tables.items():
        w.write(table, cols)

    if not trusts:
        return
    visits_at = _link(people, gp, trusts, rng)
    result.linked += int((visits_at >= 0).any(axis=1).sum())
    for t_i, trust in enumerate(trusts):
        who = np.flatnonzero((visits_at == t_i).any(axis=1))
        if not who.size:
            continue
        tw = writers[trust.code]
        person_id = np.full(n, -1, dtype=np.int64)
        person_id[who] = tw.new_person_ids(who.size)
        tw.write("person", _person_columns(people, who, person_id[who], pseudonyms[who], tw.care_site_id))
        t_rows = Rows()
        trust_records(params, people, who, facts["ckd_stage"], t_rows, rng)
        first_trust = who[visits_at[who, 0] == t_i]
        variants(params, people, first_trust, t_rows, rng)
        for table, cols in tw.resolve(t_rows, person_id).items():
            tw.write(table, cols)
        if (people.dead[who]).any():
            died = who[people.dead[who]]
            tw.write("death", {"person_id": person_id[died], "death_date": people.obs_end[died],
                               "death_type_concept_id": np.full(died.size, uk.EHR_TYPE_CONCEPT_ID)})


def _link(people: People, gp: Site, trusts: list[Site], rng: np.random.Generator) -> np.ndarray:
    """(n, 2) trust indices per person (-1: none): about LINK_RATE of persons seen at a trust."""
    n = len(people)
    acute = np.zeros(n, dtype=bool)
    for c in ACUTE:
        acute |= people.has(c)
    f = acute.mean() if n else 0.0
    base = max(0.0, (LINK_RATE - LINK_ACUTE * f) / max(1 - f, 1e-9))
    linked = rng.random(n) < np.where(acute, LINK_ACUTE, base)
    local = [i for i, t in enumerate(trusts) if t.setting == gp.setting] or list(range(len(trusts)))
    first = np.array(local)[rng.integers(0, len(local), n)]
    out = np.full((n, 2), -1, dtype=np.int64)
    out[linked, 0] = first[linked]
    if len(trusts) > 1:
        second = (first + 1 + rng.integers(0, len(trusts) - 1, n)) % len(trusts)
        two = linked & (rng.random(n) < SECOND_TRUST)
        out[two, 1] = second[two]
    return out


def _person_columns(people: People, who: np.ndarray, ids: np.ndarray, pseudonyms: np.ndarray, care_site: int) -> dict:
    birth = people.birth[who].astype("datetime64[D]")
    codes = np.array(ETHNIC_CODES)[people.ethnic[who]]
    race = np.array([uk.NHS_ETHNIC_CATEGORY_CONCEPT[c] for c in ETHNIC_CODES])[people.ethnic[who]]
    female = people.female[who]
    return {
        "person_id": ids,
        "gender_concept_id": np.where(female, uk.GENDER_FEMALE, uk.GENDER_MALE),
        "year_of_birth": birth.astype("datetime64[Y]").astype(np.int64) + 1970,
        "month_of_birth": birth.astype("datetime64[M]").astype(np.int64) % 12 + 1,
        "day_of_birth": (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1,
        "race_concept_id": race,
        "ethnicity_concept_id": np.zeros(who.size, dtype=np.int64),
        "care_site_id": np.full(who.size, care_site),
        "person_source_value": pseudonyms,
        "gender_source_value": np.where(female, "F", "M"),
        "race_source_value": codes,
        "race_source_concept_id": race,
    }


def _finish_store(w: StoreWriter, site: Site, seed: int, dirty: bool, result: SynthResult) -> None:
    w.con.execute(
        "INSERT INTO care_site (care_site_id, care_site_name, place_of_service_concept_id, care_site_source_value) "
        "VALUES (?, ?, 0, ?)", [w.care_site_id, site.name, site.code])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = {"generator": "phta synth", "seed": seed, "dirty": dirty, "site_kind": site.kind,
              "setting": site.setting, "rows": dict(w.rows_written)}
    total = sum(w.rows_written.values())
    w.con.execute(
        "INSERT INTO phta_load_history (source, source_format, source_cdm_version, started_at, finished_at, "
        "rows_read, rows_loaded, rows_quarantined, report) VALUES (?, 'synthetic', '5.4', ?, ?, ?, ?, 0, ?)",
        ["phta synth", now, now, total, total, json.dumps(report)])
    w.con.execute("CHECKPOINT")


def _write_manifest(result: SynthResult, patients: int, seed: int, dirty: bool, params: Params) -> None:
    manifest = {
        "generator": "phta synth",
        "patients": patients,
        "seed": seed,
        "params_sha256": hashlib.sha256(PARAMS_FILE.read_bytes()).hexdigest(),
        "linked_persons": result.linked,
        "dirty": {"rate": params.raw["dirty_rate"], "faults": result.faults} if dirty else None,
        "sites": [
            {"code": s.code, "name": s.name, "kind": s.kind, "setting": s.setting, "store": s.code,
             "persons": result.persons[s.code]}
            for s in result.sites
        ],
    }
    (result.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
