"""Spark local mode: session start-up, view registration and a trivial query, against DuckDB.

Run by hand (``.venv/bin/python bench/spark_startup.py``); not part of the tests. Start-up is
measured once per process (that is what a node pays once); queries are repeated and the median
reported. The same trivial query on DuckDB over the same store is the peer.
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import tempfile
import time
from pathlib import Path

from sqlglot import exp

from phta.cdm import schema
from phta.cdm.store import Store
from phta.engines import spark_session
from phta.engines.params import bind
from phta.engines.spark import SparkEngine

REPEATS = 7


def make_store(root: Path, persons: int) -> Store:
    store = Store.create(root / "store")
    with store.connect() as con:
        con.execute(
            """INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,
                   ethnicity_concept_id)
               SELECT range, 8507 + (range % 2) * 25, 1930 + range % 70, 0, 0 FROM range(?)""",
            [persons],
        )
        store.parquet_dir.mkdir()
        for name in schema.tables(schema.CURRENT_VERSION):
            if con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]:
                con.execute(f"COPY {name} TO '{store.parquet_dir / name}.parquet' (FORMAT parquet)")
    return store


def median_seconds(run) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    persons = 100_000
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp), persons)
        query = (
            exp.select(exp.column("gender_concept_id"), exp.Count(this=exp.Star()))
            .from_("person")
            .where(exp.column("year_of_birth") >= exp.Placeholder(this="year"))
            .group_by(exp.column("gender_concept_id"))
        )
        params = {"year": 1960}

        start = time.perf_counter()
        spark_session.get_session("local[2]")
        startup = time.perf_counter() - start
        start = time.perf_counter()
        engine = SparkEngine(str(store.parquet_dir), master="local[2]")
        views = time.perf_counter() - start
        start = time.perf_counter()
        first = engine.execute(query, params)
        first_query = time.perf_counter() - start
        spark_query = median_seconds(lambda: engine.execute(query, params))
        trivial = exp.select(exp.Literal.number(1))
        spark_trivial = median_seconds(lambda: engine.execute(trivial))

        bound = bind(query, params)
        with store.connect(read_only=True) as con:
            duck_rows = con.execute(bound.tree.sql("duckdb"), bound.values).fetchall()
            duck_query = median_seconds(
                lambda: con.execute(bound.tree.sql("duckdb"), bound.values).fetchall()
            )
        assert sorted(first) == sorted(duck_rows), "Spark and DuckDB disagree"
        spark_session.stop_session()

    print(f"machine: {platform.machine()} {platform.processor() or ''}, {dt.date.today()}")
    print(f"persons: {persons:,}; Spark local[2]; {REPEATS} repeats, medians")
    print(f"Spark session start-up (JVM + SparkSession): {startup:.2f} s")
    print(f"register the store's views (41 OMOP tables): {views:.2f} s")
    print(f"first query (count by gender, bound year):   {first_query:.2f} s")
    print(f"same query, warm, median:                     {spark_query * 1000:.0f} ms")
    print(f"SELECT 1, warm, median:                       {spark_trivial * 1000:.0f} ms")
    print(f"DuckDB, same query, median:                   {duck_query * 1000:.1f} ms")
    print(f"ratio Spark / DuckDB (warm query):            {spark_query / duck_query:.0f}x")


if __name__ == "__main__":
    main()
