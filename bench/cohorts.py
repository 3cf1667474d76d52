"""Benchmark PHTA's cohort compiler against duckcdm's Circe SQL and hand-written SQL, same data, same run.

For each cohort of ``bench/cohort_bench/defs.py`` (IR and Circe JSON in ``bench/cohort_bench/cohorts/``):

- **ours (count)**: ``count(*)`` over the membership statement PHTA compiles for a count
  request (no attrition asked for: every rule applied at once) -- the same question as the hand
  query's ``count(*)``;
- **ours (stratified)**: the strata statement compiled for the same request (counts by sex, age
  band, ethnic group, IMD quintile) -- the stratified feasibility count;
- **ours count with attrition**: the attrition statement (the count after each rule), what a
  request that asks for attrition adds;
- **duckcdm**: OHDSI Circe SQL built by ``duckcdm.circe.build_cohort_query`` and translated to
  DuckDB by ``duckcdm.sqlrender``, run statement by statement (it writes a cohort table), then
  ``count(DISTINCT subject_id)``;
- **hand (count)** / **hand (stratified)**: one hand-written query per cohort;
- **compile**: compiling the cohort afresh and rendering its strata statement. Every "ours" time
  includes resolving the physical design, getting the compiled statements as the execution path
  does (from its cache of compiled cohorts, ``phta.execution.compiled_cache``: the benchmark
  repeats each query, so after the warm-up these are hits, as for any query asked again) and
  rendering them; **ours/hand count, compiled afresh** is the count with the cohort compiled anew
  every time (what the first asking of a query costs);
- **execution path**: what the execution path runs at a DuckDB node for a feasibility result on
  one fresh read-only connection, staged (each CTE computed once into a temporary table): for a
  count-and-strata request (membership and strata; the web's feasibility form asks this) and for
  one that asks for attrition too (membership, attrition, strata).

A cohort Circe cannot express (``brca_women``: a germline-variant criterion) has no duckcdm
figure: the report says "n/a - not expressible in Circe" and omits the ratio, and its persons are
compared with the hand query's only.

All run on the same DuckDB store (ours and hand on a read-only connection to the store; duckcdm on
an in-memory database with the store attached read-only, as it needs to write temp tables). Each is
run once to warm up, then ``--repeats`` times; medians are reported (ours and hand counts, and
ours and hand strata, alternately, so both meet the same spells of a busy machine). The person sets of ours,
hand and duckcdm are compared (ours: the membership statement, not timed).

    .venv/bin/python bench/cohorts.py --data /work/benchdata/c1m --patients 1000000    # builds once, then reuses
    .venv/bin/python bench/cohorts.py --data /work/benchdata/c11m --patients 11000000  # the 11M store
    .venv/bin/python bench/cohorts.py --store DIR --json out.json   # an existing store; raw results
    .venv/bin/python bench/cohorts.py      # a 100k region in a temp dir, combined, indexed

``--data`` builds the store once (``phta synth`` with 2 sites: one GP federation holding every
person and one trust; merged into one store by ``combine``; ``phta store index``), records each
step's wall/CPU time and disk in ``DIR/build.json``, and reuses it on later runs.

The compiler uses the store's physical design (``phta store index``) when the store records one;
``--no-index`` compiles as for a store without it (to measure what the design buys).

``--spark`` adds Spark local mode (``--spark-master``, default ``local[2]``) on the same store: it
exports the store to Parquet (``phta store export-parquet``, timed, size recorded), starts one
Spark session (timed once: what a node pays at start-up), registers the export's views, then runs
the same cohorts compiled in the ``spark`` dialect, as the execution path does for a Spark node
(concept sets resolved; no ``phta_person_facts``, which the export does not carry). Warm-up, then
``--spark-repeats`` runs; medians: the count and the strata of a count-and-strata request, and
the attrition statement of a request that asks for attrition (one pass over the candidates on
Spark). The Spark person set (membership statement, not timed) must equal ours on DuckDB, and the
stratified counts and attrition must be identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import sqlglot.expressions as exp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckcdm.circe
import duckcdm.sqlrender

from bench.cohort_bench import defs as cohort_defs
from bench.cohort_bench.combine import combine
from phta.cdm.physical import build_index
from phta.cdm.store import Store
from phta.cdm.synth import generate
from phta.engines import duckdb as duckdb_engine
from phta.execution.compiled_cache import compiled_cohort
from phta.execution.physical import physical_design
from phta.query import serial
from phta.query.cohort_compiler import compile_cohort
from phta.query.compiler import Statement
from phta.query.physical import NONE


def _median_time(fn, repeats: int) -> tuple[float, object, float]:
    """Median wall seconds, the value (from the warm-up), and median CPU seconds of this process
    (DuckDB's threads included): on a shared, overloaded machine wall time mostly measures the
    wait for a core, CPU time the work, so ratios are reported for both."""
    return _paired_median_times(fn, repeats=repeats)[0]


def _paired_median_times(*fns, repeats: int) -> tuple[tuple[float, object, float], ...]:
    """:func:`_median_time` of each function, run alternately (ours, theirs, ours, ...) so a slow
    spell of a shared machine falls on all of them: the ratio of 2-20 ms queries at 1M persons
    moved by +-0.2 between runs when each was timed in a block of its own."""
    results = [fn() for fn in fns]  # warm-up (also the values checked)
    times: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return tuple((statistics.median(times[k]), results[k], statistics.median(cpu[k])) for k in range(len(fns)))


NOT_CIRCE = "n/a - not expressible in Circe"


def count_of(st: Statement) -> Statement:
    """``count(*)`` of a membership statement's rows (its CTEs and filters, its columns and order
    dropped): our side of the comparison with ``SELECT count(*) FROM (<hand query>)``."""
    tree = exp.Select(**{**st.tree.args, "expressions": [exp.Count(this=exp.Star())], "order": None})
    return Statement(tree, st.params, st.dialect)


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

    def design(node):
        return physical_design(store, node) if use_index else NONE

    def compiled(node, attrition=False):
        # As the execution path compiles (timed): design resolved per query, the compiled
        # statements taken from its cache when the same query was compiled before.
        return compiled_cohort(node, "duckdb", design(node), cell_keys=False, attrition=attrition)

    def cold(node):  # compiled afresh, as the first time a query is asked
        return compile_cohort(node, physical=design(node), attrition=False)


    circe = cohort_defs.circe_cohorts()
    for name, ir_cohort in cohort_defs.ir_cohorts().items():
        node = serial.from_json(serial.to_json(ir_cohort))  # exactly what the JSON form carries

        def ours_count(node=node):
            c = compiled(node)
            st = count_of(c.membership)
            return ro.execute(st.sql(), st.params).fetchone()[0]

        def ours_count_cold(node=node):
            st = count_of(cold(node).membership)
            return ro.execute(st.sql(), st.params).fetchone()[0]

        def ours_attrition(node=node):
            c = compiled(node, attrition=True)
            return ro.execute(c.attrition.sql(), c.attrition.params).fetchall()[0]

        def ours_strata(node=node):
            c = compiled(node)
            return sorted(ro.execute(c.strata.sql(), c.strata.params).fetchall(), key=str)

        members_sql = cohort_defs.HAND_SQL[name]

        def hand_count(sql=members_sql):
            return ro.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]

        def hand_strata(sql=members_sql):
            return ro.execute(cohort_defs.hand_strata_sql(sql)).fetchall()

        def ours_path(node=node, attrition=False):
            # What the execution path runs at a DuckDB node for a feasibility result: membership,
            # [attrition,] strata, staged (the cohort computed once into temporary tables) on one
            # fresh read-only connection.
            c = compiled(node, attrition)
            setup, results = c.staged()
            return duckdb_engine.run(store.db_path, [(s.sql(), s.params) for s in (*setup, *results)])

        def compile_only(node=node):
            return cold(node).strata.sql()

        stmts = circe_statements(circe[name]) if name in circe else None

        def duckcdm_count(stmts=stmts):
            for s in stmts:
                mem.execute(s)
            return mem.execute("SELECT count(DISTINCT subject_id) FROM memory.main.cohort").fetchone()[0]

        r = {}
        (r["ours_count_s"], ours_n, r["ours_count_cpu"]), (r["hand_count_s"], hand_n, r["hand_count_cpu"]) = \
            _paired_median_times(ours_count, hand_count, repeats=repeats)
        r["ours_count_cold_s"], _, r["ours_count_cold_cpu"] = _median_time(ours_count_cold, repeats)
        r["ours_attrition_s"], attrition, r["ours_attrition_cpu"] = _median_time(ours_attrition, repeats)
        (r["ours_strata_s"], strata, r["ours_strata_cpu"]), (r["hand_strata_s"], _, r["hand_strata_cpu"]) = \
            _paired_median_times(ours_strata, hand_strata, repeats=repeats)
        circe_n = None
        if stmts is not None:
            r["duckcdm_s"], circe_n, r["duckcdm_cpu"] = _median_time(duckcdm_count, repeats)
        r["ours_path_s"], _, r["ours_path_cpu"] = _median_time(ours_path, repeats)
        r["attrition_path_s"], _, r["attrition_path_cpu"] = _median_time(
            lambda node=node: ours_path(node, attrition=True), repeats)
        r["compile_s"], _, r["compile_cpu"] = _median_time(compile_only, repeats)
        # The same statements compiled once: the engine's share, without the compile (a fixed
        # few ms of Python per query that matters at 1M persons and vanishes at 11M).
        once = compiled(node)
        for key, st in (("ours_count_sql", count_of(once.membership)), ("ours_strata_sql", once.strata)):
            text = st.sql()
            r[key + "_s"], _, r[key + "_cpu"] = _median_time(
                lambda text=text, st=st: ro.execute(text, st.params).fetchall(), repeats)
        c, cascade = compiled(node), compiled(node, attrition=True)
        ours_people = {row[0] for row in ro.execute(c.membership.sql(), c.membership.params).fetchall()}
        cascade_people = {row[0] for row in ro.execute(cascade.membership.sql(), cascade.membership.params).fetchall()}
        hand_people = {row[0] for row in ro.execute(members_sql).fetchall()}
        circe_people = None if stmts is None else {
            row[0] for row in mem.execute("SELECT DISTINCT subject_id FROM memory.main.cohort").fetchall()}
        r.update(attrition=[int(v or 0) for v in attrition], ours_n=int(ours_n), hand_n=hand_n,
                 same_attrition_cascade=int(attrition[-1] or 0) == ours_n and cascade_people == ours_people,
                 duckcdm_n=circe_n, same_persons_hand=ours_people == hand_people,
                 same_persons_duckcdm=None if circe_people is None else ours_people == circe_people,
                 strata_total_sex=sum(n for s, _, n in strata if s == "sex"))
        out["cohorts"][name] = r
        duckcdm = f"{r['duckcdm_s']:.3f}s" if stmts is not None else NOT_CIRCE
        print(f"{name}: ours {r['ours_n']} hand {hand_n} duckcdm {circe_n} | ours count {r['ours_count_s']:.3f}s "
              f"strata {r['ours_strata_s']:.3f}s | hand {r['hand_count_s']:.3f}s/{r['hand_strata_s']:.3f}s | "
              f"duckcdm {duckcdm}", flush=True)
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
        duck = compile_cohort(node, physical=physical_design(store, node), attrition=False)

        def compiled(node=node, attrition=False):  # as the execution path compiles for a Spark node (timed)
            return compile_cohort(node, "spark", physical=physical_design(store, node, engine="spark"),
                                  attrition=attrition)

        def spark_count(compiled=compiled):
            st = count_of(compiled().membership)
            return engine.execute(st.tree, st.params)[0][0]

        def spark_attrition(compiled=compiled):  # a request that asks for attrition: one pass on Spark
            c = compiled(attrition=True)
            return engine.execute(c.attrition.tree, c.attrition.params)[0]

        def spark_strata(compiled=compiled):
            c = compiled()
            return sorted(engine.execute(c.strata.tree, c.strata.params), key=str)

        r = out["cohorts"][name]
        r["spark_count_s"], spark_n, r["spark_count_cpu"] = _median_time(spark_count, repeats)
        r["spark_strata_s"], strata, r["spark_strata_cpu"] = _median_time(spark_strata, repeats)
        r["spark_attrition_s"], spark_attrition, r["spark_attrition_cpu"] = _median_time(spark_attrition, repeats)
        c = compiled()
        spark_people = {row[0] for row in engine.execute(c.membership.tree, c.membership.params)}
        duck_people = {row[0] for row in ro.execute(duck.membership.sql(), duck.membership.params).fetchall()}
        duck_strata = sorted(ro.execute(duck.strata.sql(), duck.strata.params).fetchall(), key=str)
        r.update(spark_n=int(spark_n), same_persons_spark=spark_people == duck_people,
                 same_attrition_spark=[int(v or 0) for v in spark_attrition] == r["attrition"],
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


def build_region(data: Path, patients: int, sites: int = 2) -> dict:
    """One indexed store of ``patients`` persons under ``data`` (reused if already built): the
    region (``sites`` stores; 2 = one GP federation holding every person + one trust) merged into
    ``data/store`` and indexed. Returns the build's wall/CPU seconds and disk per step."""
    store_dir = data / "store"
    done = data / "build.json"
    if done.exists() and (store_dir / "cdm.duckdb").exists():
        return json.loads(done.read_text())
    steps: dict[str, dict] = {}

    def step(name, fn, path):
        t, c = time.perf_counter(), time.process_time()
        fn()
        size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
        steps[name] = {"seconds": round(time.perf_counter() - t, 1), "cpu_seconds": round(time.process_time() - c, 1),
                       "mb": round(size / 1e6)}
        print(f"{name}: {steps[name]}", flush=True)

    region = data / "region"
    if region.exists():
        shutil.rmtree(region)
    step("synth", lambda: generate(region, patients=patients, sites=sites, seed=1,
                                   key=b"benchmark-key-not-secret-0123456"), region)
    step("combine", lambda: combine(region, store_dir), store_dir)
    step("index", lambda: build_index(Store.open(store_dir)), store_dir)
    shutil.rmtree(region)  # only the combined store is benchmarked
    out = {"patients": patients, "sites": sites, "steps": steps, "load_avg": os.getloadavg()}
    done.write_text(json.dumps(out, indent=2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="an existing store directory")
    ap.add_argument("--data", type=Path, help="build (once) and use an indexed store of --patients persons here")
    ap.add_argument("--patients", type=int, default=100_000, help="size of the region to build")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-index", action="store_true", help="compile as for a store without the physical design")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    ap.add_argument("--spark", action="store_true", help="also run the cohorts on Spark local mode (Parquet export)")
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--spark-repeats", type=int, default=3)
    a = ap.parse_args()
    build = None
    before = machine()

    def run(store_dir: Path) -> dict:
        res = bench_store(store_dir, a.repeats, use_index=not a.no_index)
        if a.spark:
            bench_spark(store_dir, res, a.spark_repeats, a.spark_master)
        return res

    with tempfile.TemporaryDirectory() as tmp:
        if a.store is None:
            data = a.data or Path(tmp)
            build = build_region(data, a.patients)
            res = run(data / "store")
        else:
            res = run(a.store)
    res["machine_before"], res["load_avg_after"], res["build"] = before, os.getloadavg(), build
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps({k: v for k, v in res.items() if k != "cohorts"}, default=str))
    print(markdown(res))


def markdown(res: dict) -> str:
    """A BENCHMARKS.md table of one run: wall-clock medians with CPU-second medians (this process,
    DuckDB's threads included) in brackets; ratios from the same run, wall (CPU)."""
    lines = [f"{res['persons']:,} person records; load average {res['machine_before']['load_avg'][0]:.1f} before, "
             f"{res['load_avg_after'][0]:.1f} after; {res['machine_before']['date']}", "",
             "| cohort | persons | same persons (ours = hand = duckcdm) | ours count | ours stratified | hand count | "
             "hand stratified | duckcdm Circe | ours/hand count | ours/hand stratified | ours/hand count, compiled afresh | "
             "ours/hand count, SQL only | ours/hand stratified, SQL only | ours/duckcdm | compile | "
             "ours count with attrition | execution path (count, strata) | execution path (count, strata, attrition) |",
             "|" + " --- |" * 18]
    for name, r in res["cohorts"].items():
        circe = r.get("duckcdm_n") is not None  # False: Circe cannot express the cohort
        # ours: rules at once and as the cascade (same persons, last attrition step = count)
        same = r["same_persons_hand"] and r["ours_n"] == r["hand_n"] and r["same_attrition_cascade"]
        same = same and (not circe or (r["same_persons_duckcdm"] and r["ours_n"] == r["duckcdm_n"]))

        def t(k, r=r):
            return f"{r[k + '_s']:.3f} s ({r[k + '_cpu']:.3f})"

        def q(a, b, r=r):
            return f"{r[a + '_s'] / r[b + '_s']:.2f} ({r[a + '_cpu'] / max(r[b + '_cpu'], 1e-9):.2f})"

        lines.append(f"| {name} | {r['ours_n']:,} | {('yes' if circe else 'yes (ours = hand)') if same else 'NO'} | "
                     f"{t('ours_count')} | {t('ours_strata')} | "
                     f"{t('hand_count')} | {t('hand_strata')} | {t('duckcdm') if circe else NOT_CIRCE} | "
                     f"{q('ours_count', 'hand_count')} | "
                     f"{q('ours_strata', 'hand_strata')} | {q('ours_count_cold', 'hand_count')} | "
                     f"{q('ours_count_sql', 'hand_count')} | "
                     f"{q('ours_strata_sql', 'hand_strata')} | {q('ours_count', 'duckcdm') if circe else ''} | "
                     f"{r['compile_s'] * 1000:.1f} ms | {t('ours_attrition')} | {t('ours_path')} | "
                     f"{t('attrition_path')} |")
    if "spark" in res:
        sp = res["spark"]
        lines += ["", f"Spark {sp['master']}: export {sp['export_s']:.1f} s ({sp['export_mb']:.0f} MB Parquet), "
                  f"session start {sp['session_start_s']:.1f} s, views {sp['views_s']:.1f} s.", "",
                  "| cohort | persons on Spark | same persons, strata and attrition as DuckDB | Spark count | "
                  "Spark stratified | Spark count with attrition | Spark/ours count | Spark/ours stratified |",
                  "|" + " --- |" * 8]
        for name, r in res["cohorts"].items():
            lines.append(
                f"| {name} | {r['spark_n']:,} | "
                f"{'yes' if r['same_persons_spark'] and r['same_strata_spark'] and r['same_attrition_spark'] else 'NO'} | "
                f"{r['spark_count_s']:.3f} s | {r['spark_strata_s']:.3f} s | {r['spark_attrition_s']:.3f} s | "
                f"{r['spark_count_s'] / r['ours_count_s']:.0f}x | {r['spark_strata_s'] / r['ours_strata_s']:.0f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
