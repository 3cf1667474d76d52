"""Benchmark: ``phta load omop`` on a generated OMOP CSV folder, against a peer measured in the
same run -- DuckDB's own ``read_csv`` into an unchecked table (the floor: parse + store, with no
type checks, quarantine, findings or reconciliation).

Run by hand: ``.venv/bin/python bench/cdm_load.py --persons 100000 --repeats 3``.
Prints machine, date, medians and the ratio; copy them into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from phta.cdm.ingest import load_omop_csv


def generate(folder: Path, persons: int) -> int:
    """person, observation_period (one each) and 8 conditions per person, with 0.1% bad dates."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT i AS person_id, CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 END AS gender_concept_id,
                  1930 + i % 80 AS year_of_birth, 0 AS race_concept_id, 0 AS ethnicity_concept_id,
                  'P' || i AS person_source_value
           FROM range(1, {persons} + 1) t(i)) TO '{folder / "person.csv"}' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT i AS observation_period_id, i AS person_id,
                  DATE '2000-01-01' AS observation_period_start_date,
                  DATE '2020-12-31' AS observation_period_end_date, 32817 AS period_type_concept_id
           FROM range(1, {persons} + 1) t(i)) TO '{folder / "observation_period.csv"}' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT i AS condition_occurrence_id, 1 + i % {persons} AS person_id,
                  201826 AS condition_concept_id,
                  CASE WHEN i % 1000 = 0 THEN '2010-02-30'
                       ELSE CAST(DATE '2001-01-01' + CAST(i % 7000 AS INTEGER) AS VARCHAR) END
                    AS condition_start_date,
                  32817 AS condition_type_concept_id, 'E11' AS condition_source_value
           FROM range(1, {persons} * 8 + 1) t(i)) TO '{folder / "condition_occurrence.csv"}' (HEADER)"""
    )
    con.close()
    return persons * 10


def time_phta(src: Path, work: Path) -> float:
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    t = time.perf_counter()
    report = load_omop_csv(src, store, create=True)
    elapsed = time.perf_counter() - t
    assert report.reconciled
    return elapsed


def time_duckdb_floor(src: Path, work: Path) -> float:
    db = work / "floor.duckdb"
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    con = duckdb.connect(str(db))
    for path in sorted(src.glob("*.csv")):
        con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_csv(?, header=true)", [str(path)])
    con.close()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = generate(work / "src", args.persons)
        phta = [time_phta(work / "src", work) for _ in range(args.repeats)]
        floor = [time_duckdb_floor(work / "src", work) for _ in range(args.repeats)]
    p, f = statistics.median(phta), statistics.median(floor)
    print(f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, "
          f"python {platform.python_version()}, duckdb {duckdb.__version__}")
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {rows:,} rows in 3 files; "
          f"repeats {args.repeats}")
    print(f"phta load omop (checked, quarantine, findings): median {p:.2f} s ({rows / p:,.0f} rows/s)")
    print(f"duckdb read_csv into unchecked tables (floor):  median {f:.2f} s ({rows / f:,.0f} rows/s)")
    print(f"ratio phta / floor: {p / f:.2f}")


if __name__ == "__main__":
    main()
