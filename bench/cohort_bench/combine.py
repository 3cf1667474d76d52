"""Merge the site stores of a synthetic region into ONE store, for single-machine speed benchmarks.

Feasibility across the region runs on each site store and sums protected counts; the speed target
("11 million patients in under a second") is about one machine holding many persons, so the bench
also measures one combined store. Each site's person records stay separate records (a person seen
at a GP federation and at a trust is two records here: no de-duplication by regional key, which the
benchmark does not need): every id column is offset by ``site_number * 10**8`` so ids stay unique
and each record keeps its own site (care_site). Vocabulary tables come from the first store.

    .venv/bin/python -m bench.cohort_bench.combine /work/benchdata/r1m /work/benchdata/r1m-combined
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb

from phta.cdm import schema
from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.store import Store

OFFSET = 10**8
VOCABULARY = {"concept", "concept_ancestor", "concept_relationship", "vocabulary", "domain",
              "concept_class", "relationship", "concept_synonym", "drug_strength", "cdm_source"}
ID_COLUMNS = {"person_id", "care_site_id", "visit_occurrence_id", "visit_detail_id", "provider_id",
              "location_id", "preceding_visit_occurrence_id", "observation_period_id", "variant_id"}


def _site_dirs(region: Path) -> list[Path]:
    manifest = json.loads((region / "manifest.json").read_text())
    return [region / s["store"] for s in manifest["sites"]]


def combine(region: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    store = Store.create(out, node_name=f"combined {region.name}")
    sites = _site_dirs(region)
    con = duckdb.connect(str(store.db_path))
    con.execute("SET preserve_insertion_order = false")
    ensure_extension_tables(con)  # the sites' germline variants (Store.create makes OMOP tables only)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name NOT LIKE 'phta_%'").fetchall()]
    persons = 0
    for k, site in enumerate(sites, start=1):
        con.execute(f"ATTACH '{site / 'cdm.duckdb'}' AS s (READ_ONLY)")
        for t in tables:
            if t in VOCABULARY and k > 1:
                continue
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 's' "
                "AND table_name = ? ORDER BY ordinal_position", [t]).fetchall()]
            if not cols:
                continue
            own_id = f"{t}_id"
            exprs = [f'"{c}" + {k * OFFSET}' if (t not in VOCABULARY and (c in ID_COLUMNS or c == own_id))
                     else f'"{c}"' for c in cols]
            con.execute(f'INSERT INTO main."{t}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                        f'SELECT {", ".join(exprs)} FROM s."{t}"')
        persons += con.execute("SELECT count(*) FROM s.person").fetchone()[0]
        con.execute("DETACH s")
    con.execute("CHECKPOINT")
    con.close()
    return {"persons": persons, "sites": len(sites), "seconds": time.perf_counter() - t0,
            "bytes": store.db_path.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("region", type=Path)
    ap.add_argument("out", type=Path)
    a = ap.parse_args()
    assert schema.CURRENT_VERSION
    print(json.dumps(combine(a.region, a.out)))


if __name__ == "__main__":
    main()
