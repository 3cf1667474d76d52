"""Benchmark: library search over N dataset records (default 10,000) in the embedded operational
store (SQLite FTS5), with facet counts and a page of highlighted hits; target p95 < 20 ms.

A peer in the same run: the same word found by ``LIKE '%word%'`` over the same rows (no
ranking, no facets) -- what a library without a full-text index would do.

Run by hand: ``.venv/bin/python bench/library_search.py --records 10000``. Prints machine, date,
median and p95 per query kind; copy them into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, text

from phta.catalogue import library, search
from phta.catalogue.records import new_record
from phta.config import load_settings
from phta.store import open_database

TOPICS = ["diabetes", "asthma", "hypertension", "heart failure", "atrial fibrillation", "breast cancer", "COPD",
          "dementia", "stroke", "chronic kidney disease", "depression", "maternity", "sepsis", "obesity"]
SETTINGS = ["primary care", "hospital admissions", "outpatients", "emergency care", "prescribing", "pathology"]
ORGS = [f"Trust {i}" for i in range(40)]


def populate(database, records: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    for i in range(records):
        topic, where = rng.choice(TOPICS), rng.choice(SETTINGS)
        record = new_record(
            title=f"{topic.title()} {where} dataset {i}",
            abstract=f"Records of people with {topic} seen in {where}, with {rng.choice(TOPICS)} as a comorbidity.",
            custodian=rng.choice(ORGS), contact="data@example.nhs.uk", keywords=(topic, where),
            start_date=f"{rng.randint(1995, 2022)}-01-01", population_size=rng.choice([-1, 500, 5_000, 50_000, 500_000]),
            access_service=rng.choice(["TRE/SDE", "Open access", "Direct access"]))
        library.save(database, record, node=f"X{i % 12:03d}")


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the populated data directory here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        reuse = (root / "phta.db").exists()
        settings = load_settings(root, env={})
        database = open_database(settings)

        @event.listens_for(database.engine, "connect")
        def _fast_setup(dbapi_connection, _record):  # set-up speed only: searches read, never write
            dbapi_connection.execute("PRAGMA synchronous = OFF")

        database.engine.dispose()
        t = time.perf_counter()
        if not reuse:
            populate(database, args.records)
        load_s = time.perf_counter() - t
        rng = random.Random(2)
        kinds = {
            "one word": lambda: search.search(database, rng.choice(TOPICS).split()[0]),
            "two words + facet": lambda: search.search(database, "heart failure",
                                                       filters={"access_route": ["TRE/SDE"]}),
            "prefix, sorted by population": lambda: search.search(database, "diab", sort="population"),
            "no words (browse), facets only": lambda: search.search(database, "", filters={"node": ["X003"]}),
        }

        def like_peer():
            word = f"%{rng.choice(TOPICS).split()[0]}%"
            with database.session() as s:
                s.execute(text("SELECT id, title FROM dataset_record WHERE title LIKE :w OR search_text LIKE :w "
                               "LIMIT 20"), {"w": word}).all()

        print(f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}. Date: {dt.date.today()}. Records: {args.records:,} "
              f"(saved in {load_s:.1f} s). Repeats: {args.repeats}.")
        print("| query | median ms | p95 ms |\n| --- | ---: | ---: |")
        for name, fn in [*kinds.items(), ("peer: LIKE scan, no ranking or facets", like_peer)]:
            fn()  # warm
            times = timed(fn, args.repeats)
            print(f"| {name} | {statistics.median(times):.1f} | {p95(times):.1f} |")


if __name__ == "__main__":
    main()
