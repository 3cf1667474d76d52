"""Benchmark: ``phta quality check`` (one query per check, through ``phta.cdm.quality``) on a
synthetic ``--dirty`` store, against the same checks written as plain DuckDB SQL in the same run
(one UNION ALL statement of every check's counts: no per-check round trips or result objects).
The OHDSI Data Quality Dashboard itself is R and cannot run here.

Run by hand: ``.venv/bin/python bench/quality.py --patients 100000 --repeats 3``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from phta.cdm import quality
from phta.cdm.store import Store
from phta.cdm.synth.generate import generate


def plain_sql(store: Store) -> int:
    with store.connect(read_only=True) as con:
        checks = quality.checks_for(quality._tables(con))
        sql = " UNION ALL ".join(f"SELECT {i} AS k, ({c.failing}) AS failing, ({c.total}) AS total"
                                 for i, c in enumerate(checks))
        return len(con.execute(sql).fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = generate(Path(tmp) / "stores", patients=args.patients, sites=1, seed=1, key=b"b" * 32, dirty=True)
        store = Store.open(result.store_path(result.sites[0]))
        ours, peer = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            n = len(quality.run_checks(store))
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            plain_sql(store)
            peer.append(time.perf_counter() - t)
        print(f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}. Date: {dt.date.today()}. Patients: {args.patients:,}; {n} checks.")
        print(f"| runner | median s |\n| --- | ---: |\n| phta quality check | {statistics.median(ours):.2f} |\n"
              f"| plain DuckDB SQL (one statement) | {statistics.median(peer):.2f} |\n"
              f"ratio: {statistics.median(ours) / statistics.median(peer):.2f}x")


if __name__ == "__main__":
    main()
