"""Benchmark PHTA's cohort compiler against duckcdm's Circe SQL and hand-written SQL, same data, same run.

For each cohort of ``bench/cohort_bench/defs.py`` (IR and Circe JSON in ``bench/cohort_bench/cohorts/``):

- **ours (count)**: the attrition statement PHTA compiles (population count after every rule);
- **ours (stratified)**: the strata statement (counts by sex, age band, ethnic group, IMD quintile)
  — the stratified feasibility count;
- **duckcdm**: OHDSI Circe SQL built by ``duckcdm.circe.build_cohort_query`` and translated to
  DuckDB by ``duckcdm.sqlrender``, run statement by statement (it writes a cohort table), then
  ``count(DISTINCT subject_id)``;
- **hand (count)** / **hand (stratified)**: one hand-written query per cohort.

All run on the same DuckDB store (ours and hand on a read-only connection to the store; duckcdm on
an in-memory database with the store attached read-only, as it needs to write temp tables). Each is
run once to warm up, then ``--repeats`` times; medians are reported. The person sets of ours,
hand and duckcdm are compared (ours: the membership statement, not timed).

    nice -n 10 .venv/bin/python bench/cohorts.py --store /work/benchdata/r1m-combined --repeats 5
    nice -n 10 .venv/bin/python bench/cohorts.py --store DIR --json out.json   # raw results
    .venv/bin/python bench/cohorts.py      # no store: a 100k region in a temp dir, combined, indexed

The compiler uses the store's physical design (``phta store index``) when the store records one;
``--no-index`` compiles as for a store without it (to measure what the design buys).

``--spark`` adds Spark local mode (``--spark-master``, default ``local[2]``) on the same store: it
exports the store to Parquet (``phta store export-parquet``, timed, size recorded), starts one
Spark session (timed once: what a node pays at start-up), registers the export's views, then runs
the same cohorts compiled in the ``spark`` dialect, as the execution path does for a Spark node
(concept sets resolved; no ``phta_person_facts``, which the export does not carry). Warm-up, then
``--spark-repeats`` runs; medians. The Spark person set (membership statement, not timed) must
equal ours on DuckDB, and the stratified counts must be identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckcdm.circe
import duckcdm.sqlrender

from bench.cohort_bench import defs as cohort_defs
from bench.cohort_bench.combine import combine
from phta.cdm.physical import build_index
from phta.cdm.store import Store
from phta.cdm.synth import generate
from phta.execution.physical import physical_design
from phta.query import serial
from phta.query.compiler import compile_cohort
from phta.query.physical import NONE


def _median_time(fn, repeats: int) -> tuple[float, object]:
    result = fn()  # warm-up (also the value checked)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def circe_statements(doc: dict) -> list[str]:
    sql = duckcdm.circe.build_cohort_query(json.dumps(doc), cdm_schema="cdm.main", vocabulary_schema="cdm.main",
                                           result_schema="memory.main", target_table="cohort", cohort_id=1,
                                           generate_stats=False)
    text = duckcdm.sqlrender.translate(duckcdm.sqlrender.render(sql), "duckdb")
    return [s for s in text.split(";") if s.strip()]


def bench_store(store_dir: Path, repeats: int, use_index: bool = True) -> dict:
    store = Store.open(store_dir)
    ro = duckdb.connect(str(store.db_path), read_only=True)
    mem = duckdb.connect()
    mem.execute(f"ATTACH '{store.db_path}' AS cdm (READ_ONLY)")
    mem.execute("CREATE TABLE memory.main.cohort (cohort_definition_id BIGINT, subject_id BIGINT, "
                "cohort_start_date DATE, cohort_end_date DATE)")
    persons = ro.execute("SELECT count(*) FROM person").fetchone()[0]
    out = {"store": str(store_dir), "persons": persons, "physical_design": use_index, "cohorts": {}}

    def compiled(node):  # what the execution path compiles (design resolved per query, timed)
        return compile_cohort(node, physical=physical_design(store, node) if use_index else NONE)

    circe = cohort_defs.circe_cohorts()
    for name, ir_cohort in cohort_defs.ir_cohorts().items():
        node = serial.from_json(serial.to_json(ir_cohort))  # exactly what the JSON form carries

        def ours_count(node=node):
            c = compiled(node)
            return ro.execute(c.attrition.sql(), c.attrition.params).fetchall()[0]

        def ours_strata(node=node):
            c = compiled(node)
            return sorted(ro.execute(c.strata.sql(), c.strata.params).fetchall(), key=str)

        members_sql = cohort_defs.HAND_SQL[name]

        def hand_count(sql=members_sql):
            return ro.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]

        def hand_strata(sql=members_sql):
            return ro.execute(cohort_defs.hand_strata_sql(sql)).fetchall()

        stmts = circe_statements(circe[name])

        def duckcdm_count(stmts=stmts):
            for s in stmts:
                mem.execute(s)
            return mem.execute("SELECT count(DISTINCT subject_id) FROM memory.main.cohort").fetchone()[0]

        r = {}
        r["ours_count_s"], attrition = _median_time(ours_count, repeats)
        r["ours_strata_s"], strata = _median_time(ours_strata, repeats)
        r["hand_count_s"], hand_n = _median_time(hand_count, repeats)
        r["hand_strata_s"], _ = _median_time(hand_strata, repeats)
        r["duckcdm_s"], circe_n = _median_time(duckcdm_count, repeats)
        c = compiled(node)
        ours_people = {row[0] for row in ro.execute(c.membership.sql(), c.membership.params).fetchall()}
        hand_people = {row[0] for row in ro.execute(members_sql).fetchall()}
        circe_people = {row[0] for row in mem.execute("SELECT DISTINCT subject_id FROM memory.main.cohort").fetchall()}
        r.update(attrition=[int(v or 0) for v in attrition], ours_n=int(attrition[-1] or 0), hand_n=hand_n,
                 duckcdm_n=circe_n, same_persons_hand=ours_people == hand_people,
                 same_persons_duckcdm=ours_people == circe_people,
                 strata_total_sex=sum(n for s, _, n in strata if s == "sex"))
        out["cohorts"][name] = r
        print(f"{name}: ours {r['ours_n']} hand {hand_n} duckcdm {circe_n} | ours count {r['ours_count_s']:.3f}s "
              f"strata {r['ours_strata_s']:.3f}s | hand {r['hand_count_s']:.3f}s/{r['hand_strata_s']:.3f}s | "
              f"duckcdm {r['duckcdm_s']:.3f}s", flush=True)
    ro.close()
    mem.close()
    return out


def bench_spark(store_dir: Path, out: dict, repeats: int, master: str) -> None:
    """Spark local mode on the store's Parquet export; adds ``spark_*`` to each cohort's results."""
    from phta.cdm.parquet_export import export_parquet
    from phta.engines import spark_session
    from phta.engines.spark import SparkEngine

    store = Store.open(store_dir)
    t = time.perf_counter()
    written = export_parquet(store)
    out["spark"] = {"master": master, "export_s": time.perf_counter() - t,
                    "export_mb": sum(path.stat().st_size for _, _, path in written) / 1e6}
    t = time.perf_counter()
    spark_session.get_session(master)
    out["spark"]["session_start_s"] = time.perf_counter() - t
    t = time.perf_counter()
    engine = SparkEngine.for_store(store, master=master)
    out["spark"]["views_s"] = time.perf_counter() - t
    ro = duckdb.connect(str(store.db_path), read_only=True)
    for name, ir_cohort in cohort_defs.ir_cohorts().items():
        node = serial.from_json(serial.to_json(ir_cohort))
        duck = compile_cohort(node, physical=physical_design(store, node))

        def compiled(node=node):  # as the execution path compiles for a Spark node (timed)
            return compile_cohort(node, "spark", physical=physical_design(store, node, engine="spark"))

        def spark_count(compiled=compiled):
            c = compiled()
            return engine.execute(c.attrition.tree, c.attrition.params)[0]

        def spark_strata(compiled=compiled):
            c = compiled()
            return sorted(engine.execute(c.strata.tree, c.strata.params), key=str)

        r = out["cohorts"][name]
        r["spark_count_s"], attrition = _median_time(spark_count, repeats)
        r["spark_strata_s"], strata = _median_time(spark_strata, repeats)
        c = compiled()
        spark_people = {row[0] for row in engine.execute(c.membership.tree, c.membership.params)}
        duck_people = {row[0] for row in ro.execute(duck.membership.sql(), duck.membership.params).fetchall()}
        duck_strata = sorted(ro.execute(duck.strata.sql(), duck.strata.params).fetchall(), key=str)
        r.update(spark_n=int(attrition[-1] or 0), same_persons_spark=spark_people == duck_people,
                 same_strata_spark=[tuple(x) for x in strata] == [tuple(x) for x in duck_strata])
        print(f"{name} on Spark: {r['spark_n']} persons (same as DuckDB: {r['same_persons_spark']}, strata "
              f"{r['same_strata_spark']}) | count {r['spark_count_s']:.3f}s strata {r['spark_strata_s']:.3f}s",
              flush=True)
    ro.close()
    spark_session.stop_session()


def machine() -> dict:
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
            "platform": platform.platform()}


def _small_region(tmp: Path, patients: int) -> Path:
    generate(tmp / "region", patients=patients, sites=6, seed=1, key=b"benchmark-key-not-secret-0123456")
    combine(tmp / "region", tmp / "combined")
    build_index(Store.open(tmp / "combined"))
    return tmp / "combined"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="a store directory (default: a small region made here)")
    ap.add_argument("--patients", type=int, default=100_000, help="size of the default region")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-index", action="store_true", help="compile as for a store without the physical design")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    ap.add_argument("--spark", action="store_true", help="also run the cohorts on Spark local mode (Parquet export)")
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--spark-repeats", type=int, default=3)
    a = ap.parse_args()
    before = machine()

    def run(store_dir: Path) -> dict:
        res = bench_store(store_dir, a.repeats, use_index=not a.no_index)
        if a.spark:
            bench_spark(store_dir, res, a.spark_repeats, a.spark_master)
        return res

    if a.store is None:
        with tempfile.TemporaryDirectory() as tmp:
            res = run(_small_region(Path(tmp), a.patients))
    else:
        res = run(a.store)
    res["machine_before"], res["load_avg_after"] = before, os.getloadavg()
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps({k: v for k, v in res.items() if k != "cohorts"}, default=str))
    print(markdown(res))



def markdown(res: dict) -> str:
    """A BENCHMARKS.md table of one run (medians; ratios from the same run)."""
    lines = ["| cohort | persons (ours = hand = duckcdm?) | same persons | ours count | ours stratified | "
             "hand count | hand stratified | duckcdm Circe | ours/duckcdm | ours/hand (count) | "
             "ours/hand (stratified) |", "|" + " --- |" * 11]
    for name, r in res["cohorts"].items():
        same_n = r["ours_n"] == r["hand_n"] == r["duckcdm_n"]
        lines.append(
            f"| {name} | {r['ours_n']:,} ({'yes' if same_n else 'NO'}) | "
            f"{'yes' if r['same_persons_hand'] and r['same_persons_duckcdm'] else 'NO'} | "
            f"{r['ours_count_s']:.3f} s | {r['ours_strata_s']:.3f} s | {r['hand_count_s']:.3f} s | "
            f"{r['hand_strata_s']:.3f} s | {r['duckcdm_s']:.3f} s | {r['ours_count_s'] / r['duckcdm_s']:.2f} | "
            f"{r['ours_count_s'] / r['hand_count_s']:.2f} | {r['ours_strata_s'] / r['hand_strata_s']:.2f} |")
    if "spark" in res:
        sp = res["spark"]
        lines += ["", f"Spark {sp['master']}: export {sp['export_s']:.1f} s ({sp['export_mb']:.0f} MB Parquet), "
                  f"session start {sp['session_start_s']:.1f} s, views {sp['views_s']:.1f} s.", "",
                  "| cohort | persons on Spark | same persons and strata as DuckDB | Spark count | "
                  "Spark stratified | Spark/ours count | Spark/ours stratified |", "|" + " --- |" * 7]
        for name, r in res["cohorts"].items():
            lines.append(
                f"| {name} | {r['spark_n']:,} | {'yes' if r['same_persons_spark'] and r['same_strata_spark'] else 'NO'} | "
                f"{r['spark_count_s']:.3f} s | {r['spark_strata_s']:.3f} s | "
                f"{r['spark_count_s'] / r['ours_count_s']:.0f}x | {r['spark_strata_s'] / r['ours_strata_s']:.0f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
