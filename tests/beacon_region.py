"""A small two-node region with known germline variants, for the Beacon tests.

Node A (30 women and 10 men): 12 persons carry BRCA1 17:43124027 ACT>A (a 3-base deletion
allele: first base 43124027, last 43124029); ONE person carries the rare BRCA2 13:32340300 G>T;
three carry rare TP53 17:7674220 C>T; 15 have asthma (SNOMED:195967001). Node B (20 women): 11
carry the BRCA1 allele. Opt-out registers loaded (national, dated); nobody opted out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from phta.cdm import data_source, optout_register, vocabulary
from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.execution.network import NodeStore

PSEUDONYMISER = Pseudonymiser(b"b" * 32)
ASTHMA = 317009
COMMON = ("17", 43124027, "ACT", "A", "BRCA1")
RARE_ONE = ("13", 32340300, "G", "T", "BRCA2")
RARE_THREE = ("17", 7674220, "C", "T", "TP53")


def _node(path: Path, name: str, persons: list[tuple[int, int]], variants: list[tuple[int, tuple]],
          asthma: list[int], numbers: list[str]) -> Store:
    store = Store.create(path, node_name=name)
    vocabulary.load_into(store)
    with store.connect() as con:
        for pid, gender in persons:
            con.execute("INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
                        "ethnicity_concept_id, person_source_value) VALUES (?, ?, 1970, 0, 0, ?)",
                        [pid, gender, PSEUDONYMISER.pseudonym(numbers[pid])])
        ensure_extension_tables(con)
        for pid, (chrom, pos, ref, alt, gene) in variants:
            con.execute("INSERT INTO variant VALUES (?, ?, ?, ?, ?, ?, NULL, 'heterozygous', 'Pathogenic')",
                        [pid, chrom, pos, ref, alt, gene])
        for i, pid in enumerate(asthma):
            con.execute("INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id, "
                        "condition_start_date, condition_type_concept_id) VALUES (?, ?, ?, DATE '2020-01-01', 32817)",
                        [i + 1, pid, ASTHMA])
    data_source.declare(store, {"hospital"})
    register = path.parent / f"{name}-national.csv"
    register.write_text("nhs_number\n", encoding="utf-8")
    optout_register.refresh(store, "national", register, dt.date(2026, 11, 2), PSEUDONYMISER)
    return store


def make_region(root: Path) -> list[NodeStore]:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [str(n) for n in reserved_range_nhs_numbers(200)]
    a_persons = [(p, 8532) for p in range(1, 31)] + [(p, 8507) for p in range(31, 41)]
    a_variants = [(p, COMMON) for p in range(1, 13)] + [(13, RARE_ONE)] + [(p, RARE_THREE) for p in (14, 15, 16)]
    _node(root / "node-a", "NODEA", a_persons, a_variants, list(range(1, 16)), numbers)
    b_persons = [(p, 8532) for p in range(101, 121)]
    _node(root / "node-b", "NODEB", b_persons, [(p, COMMON) for p in range(101, 112)], [], numbers)
    return [NodeStore("A", "Node A", root / "node-a"), NodeStore("B", "Node B", root / "node-b")]
