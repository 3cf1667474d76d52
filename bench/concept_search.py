"""Vocabulary search latency over a synthetic vocabulary of real size.

Builds a store whose ``concept`` table holds ``--concepts`` synthetic concepts (names of 3-6
words drawn with a skewed, Zipf-like frequency from a lexicon of 20,000 made-up words, so that
some words are as common as "disorder" and most are rare) and ``concept_ancestor`` with
``--ancestors`` rows per concept; builds the search index (timed); then runs a mix of queries
(two exact words, a misspelt word, a word prefix, a ``VOCAB:CODE``) through
``phta.cdm.vocabulary.search.search`` and reports p50/p95/max latency. The issue asks for 5M
concepts and 50M ancestor rows; run as large as the machine allows.

Run by hand: ``.venv/bin/python bench/concept_search.py --concepts 500000 --ancestors 10``.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from phta.cdm.store import Store
from phta.cdm.vocabulary.search import search
from phta.cdm.vocabulary.search_index import build_index

SYLLABLES = ["ab", "ac", "ad", "al", "an", "ar", "bi", "ca", "ce", "co", "cu", "da", "de", "di", "do", "fe",
             "ga", "ge", "he", "hy", "in", "la", "le", "li", "lo", "ma", "me", "mi", "mo", "ne", "no", "ob",
             "pa", "pe", "po", "ra", "re", "ri", "sa", "se", "si", "ta", "te", "ti", "to", "tra", "ul", "ve"]


def lexicon(size: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        words.setdefault("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5))), None)
    return list(words)


def build_vocabulary(store: Store, concepts: int, ancestors: int, words: list[str]) -> None:
    with store.connect() as con:
        con.execute("CREATE TEMP TABLE lexicon AS SELECT unnest(?::VARCHAR[]) AS word, "
                    "generate_subscripts(?::VARCHAR[], 1) - 1 AS w", [words, words])
        n = len(words)
        con.execute(f"""INSERT INTO concept
            SELECT i, string_agg(l.word, ' ' ORDER BY k), 'Condition', 'SNOMED', 'Clinical Finding',
                   CASE WHEN i % 5 = 0 THEN NULL ELSE 'S' END, CAST(100000 + i AS VARCHAR),
                   DATE '2000-01-01', DATE '2099-12-31', NULL
            FROM (SELECT i, k, CAST(floor({n} * pow((hash(i * 8 + k) % 1000003) / 1000003.0, 2)) AS BIGINT) AS w
                  FROM range(1, {concepts} + 1) t(i), range(0, 6) u(k) WHERE k < 3 + i % 4) p
            JOIN lexicon l USING (w) GROUP BY i""")
        con.execute(f"""INSERT INTO concept_ancestor
            SELECT greatest(1, i // (2 << k)), i, k + 1, k + 1
            FROM range(1, {concepts} + 1) t(i), range(0, {ancestors}) u(k)""")


def queries(con: duckdb.DuckDBPyConnection, count: int, seed: int = 2) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = [r[0] for r in con.execute(f"SELECT concept_name FROM concept USING SAMPLE {count} ROWS").fetchall()]
    out = []
    for n, name in enumerate(names):
        parts = name.split()
        kind = ("two words", "typo", "prefix", "code")[n % 4]
        if kind == "two words":
            out.append((kind, " ".join(rng.sample(parts, 2))))
        elif kind == "typo":
            w = max(parts, key=len)
            j = rng.randrange(1, len(w) - 1)
            out.append((kind, w[:j] + w[j + 1:]))
        elif kind == "prefix":
            out.append((kind, max(parts, key=len)[:4]))
        else:
            out.append((kind, f"SNOMED:{100000 + rng.randint(1, 1000)}"))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concepts", type=int, default=500_000)
    parser.add_argument("--ancestors", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        store = Store.create(Path(tmp) / "store")
        t0 = time.perf_counter()
        build_vocabulary(store, args.concepts, args.ancestors, lexicon(20_000))
        t1 = time.perf_counter()
        counts = build_index(store)
        t2 = time.perf_counter()
        with store.connect(read_only=True) as con:
            rows = con.execute("SELECT (SELECT count(*) FROM concept), (SELECT count(*) FROM concept_ancestor)").fetchone()
            qs = queries(con, args.queries)
            search(con, qs[0][1])  # warm the connection's caches, as a running server's would be
            times: dict[str, list[float]] = {}
            hits = 0
            for kind, q in qs:
                s = time.perf_counter()
                found = search(con, q, limit=25)
                times.setdefault(kind, []).append((time.perf_counter() - s) * 1000)
                hits += bool(found)
        every = [t for ts in times.values() for t in ts]
        print(f"machine: {platform.system()} {platform.machine()}, DuckDB {duckdb.__version__}, "
              f"Python {platform.python_version()}")
        print(f"vocabulary: {rows[0]:,} concepts, {rows[1]:,} ancestor rows; built in {t1 - t0:.1f} s")
        print(f"index: {counts['phta_concept_term']:,} words, {counts['phta_concept_token']:,} postings; "
              f"built in {t2 - t1:.1f} s")
        print(f"{len(every)} queries, {hits} with results")
        for kind, ts in [("all", every), *times.items()]:
            print(f"  {kind:10s} p50 {statistics.median(ts):7.1f} ms   p95 {percentile(ts, 0.95):7.1f} ms   "
                  f"max {max(ts):7.1f} ms")


if __name__ == "__main__":
    main()
