"""The store's physical design for fast feasibility counts: built by ``cdm``, used by the compiler.

``build_index(store)`` (``phta store index DIR``; run at the end of ``phta synth`` and after a load)
does two things, both inside one transaction:

1. **Event tables clustered by concept, then person.** Each event table is rewritten ordered by
   its concept column and ``person_id``. DuckDB keeps min/max statistics per row group (zone
   maps), so a scan filtered by ``concept_id IN (...)`` skips every row group that holds none of
   the concepts: a cohort touches only the few percent of rows it names.
2. **``phta_person_facts``**: one row per person with the demographic facts that otherwise need a
   correlated "latest observation" lookup per person (IMD quintile, by the rule of
   :mod:`phta.cdm.uk`: latest dated value, ties to the highest) and the site code
   (``care_site_source_value``), ordered by person_id.

What was built is recorded in ``phta_store_index`` with a *fingerprint* of the store (row counts
of ``person``, ``observation`` and ``care_site``). :func:`index_status` reports the design only
while the fingerprint still matches, so a store changed after indexing (a later load) silently
falls back to plain SQL rather than to a stale table — results never depend on the index.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import duckdb

from phta.cdm import uk
from phta.cdm.store import Store

INDEX_VERSION = 1
FACTS_TABLE = "phta_person_facts"

# event table -> (concept column, start date column): the clustering order
EVENT_TABLES = {
    "condition_occurrence": ("condition_concept_id", "condition_start_date"),
    "drug_exposure": ("drug_concept_id", "drug_exposure_start_date"),
    "procedure_occurrence": ("procedure_concept_id", "procedure_date"),
    "measurement": ("measurement_concept_id", "measurement_date"),
    "observation": ("observation_concept_id", "observation_date"),
    "visit_occurrence": ("visit_concept_id", "visit_start_date"),
    "device_exposure": ("device_concept_id", "device_exposure_start_date"),
}

INDEX_DDL = """CREATE TABLE IF NOT EXISTS phta_store_index (
    feature VARCHAR PRIMARY KEY,
    version INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL,
    built_at TIMESTAMP NOT NULL,
    seconds DOUBLE NOT NULL
)"""

FACTS_SQL = f"""
CREATE OR REPLACE TABLE {FACTS_TABLE} AS
WITH imd AS (
    SELECT person_id,
           CAST(arg_max(value_as_number, (observation_date, value_as_number)) AS BIGINT) AS imd_quintile
    FROM observation
    WHERE observation_concept_id = {int(uk.IMD_QUINTILE_CONCEPT_ID)} AND value_as_number IS NOT NULL
    GROUP BY person_id
), site AS (
    SELECT care_site_id, max(care_site_source_value) AS site FROM care_site GROUP BY care_site_id
)
SELECT p.person_id, imd.imd_quintile, site.site
FROM person p LEFT JOIN imd USING (person_id) LEFT JOIN site USING (care_site_id)
ORDER BY p.person_id
"""


@dataclass(frozen=True)
class IndexReport:
    seconds: float
    tables_clustered: tuple[str, ...]
    persons: int


def _fingerprint(con) -> str:
    counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("person", "observation", "care_site")]
    return "/".join(str(c) for c in counts)


INDEX_MEMORY_MB = 3072  # DuckDB's default is 80% of RAM: an 11M-person store's sort reached 20 GB


def build_index(store: Store, memory_limit_mb: int = INDEX_MEMORY_MB) -> IndexReport:
    """Cluster the event tables and build the person-facts table; record both. Idempotent.

    ``memory_limit_mb`` caps DuckDB's memory; sorts beyond it spill to ``<store>.tmp`` on disk."""
    t0 = time.perf_counter()
    con = store.connect()
    try:
        # The sort of the largest table dominates; the limit makes it spill instead of growing.
        con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.execute("BEGIN")
        con.execute(INDEX_DDL)
        clustered = []
        for table, (concept, start) in EVENT_TABLES.items():
            if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                           [table]).fetchone()[0] == 0:
                continue
            # Rewrite: sort into a temp table, drop and re-create the table from its own DDL (keeping
            # its constraints), insert in order. Dropping (not DELETE) lets DuckDB reuse the blocks.
            ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                              [table]).fetchone()[0]
            con.execute(f"CREATE TEMP TABLE phta_sorted AS SELECT * FROM {table} "
                        f"ORDER BY {concept}, person_id, {start}, {table}_id")  # total order: reproducible
            con.execute(f"DROP TABLE {table}")
            con.execute(ddl)
            con.execute(f"INSERT INTO {table} SELECT * FROM phta_sorted")
            con.execute("DROP TABLE phta_sorted")
            clustered.append(table)
        con.execute(FACTS_SQL)
        fingerprint = _fingerprint(con)
        seconds = time.perf_counter() - t0
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for feature in ("clustered_events", "person_facts"):
            con.execute("DELETE FROM phta_store_index WHERE feature = ?", [feature])
            con.execute("INSERT INTO phta_store_index VALUES (?, ?, ?, ?, ?)",
                        [feature, INDEX_VERSION, fingerprint, now, seconds])
        persons = con.execute("SELECT count(*) FROM person").fetchone()[0]
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _compact(store)
    return IndexReport(time.perf_counter() - t0, tuple(clustered), persons)


def _compact(store: Store) -> None:
    """Rewrite the database file without the blocks the old table order left free (DuckDB reuses
    but never returns them), so the indexed store is about the size of the plain one."""
    fresh = store.db_path.with_name(store.db_path.name + ".compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect(str(store.db_path))
    try:
        con.execute("SET enable_progress_bar = false")
        src = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH '{fresh}' AS phta_compact")
        con.execute(f'COPY FROM DATABASE "{src}" TO phta_compact')
        con.execute("DETACH phta_compact")
    finally:
        con.close()
    fresh.replace(store.db_path)


def index_status(store: Store, con=None) -> set[str]:
    """The physical-design features the store offers now (empty if none or stale)."""
    own = con is None
    try:
        con = con or store.connect(read_only=True)
    except duckdb.Error:
        return set()  # no readable store: the engine reports that, naming no data
    try:
        if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'phta_store_index'"
                       ).fetchone()[0] == 0:
            return set()
        rows = con.execute("SELECT feature, version, fingerprint FROM phta_store_index").fetchall()
        current = _fingerprint(con)
        return {f for f, v, fp in rows if v == INDEX_VERSION and fp == current}
    finally:
        if own:
            con.close()


def index_status_recorded(store: Store) -> bool:
    """Whether the store was ever indexed (fresh or stale): a load then re-indexes it."""
    with store.connect(read_only=True) as con:
        return con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'phta_store_index'").fetchone()[0] > 0
