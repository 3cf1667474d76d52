"""The token index that makes vocabulary search fast and typo-tolerant at Athena size.

Two tables in the store, rebuilt whenever the vocabulary is (re)loaded:

- ``phta_concept_term(term, df)``: every distinct lower-case word of a concept name, with the
  number of concepts holding it. Typos are matched against this short list (tens of thousands of
  words even for the full Athena vocabulary) with DuckDB's built-in ``jaro_winkler_similarity``,
  never against millions of names. (DuckDB's ``fts`` extension is a download, which a node may
  not make at run time.)
- ``phta_concept_code(code_key, concept_id)``: codes upper-cased without dots, sorted, so that a
  code lookup reads one row group instead of scanning every code.
- ``phta_concept_token(term, concept_id)``: the postings, one row per word per concept. Medicines
  also get their UK (dm+d / BAN) names as words, so "paracetamol" finds RxNorm's
  "acetaminophen".

``phta_concept_index_info`` records the concept count the index was built from, so a search can
tell a stale index (the vocabulary was replaced since) and fall back to a temporary one.
Vocabulary tables are reference data, not patient data: building and reading them needs no
purpose.
"""

from __future__ import annotations

import re

import duckdb

from phta.cdm.store import Store
from phta.cdm.vocabulary.uk_names import US_TO_UK

#: Words are runs of letters and digits; the same rule splits a query (``tokens``).
WORD_SPLIT = "[^a-z0-9]+"
_WORD_SPLIT_RE = re.compile(WORD_SPLIT)

TABLES = ("phta_concept_term", "phta_concept_token", "phta_concept_code", "phta_concept_index_info")


def tokens(text: str) -> list[str]:
    """The distinct words of ``text`` as the index splits names, in order."""
    seen: dict[str, None] = {}
    for word in _WORD_SPLIT_RE.split(text.lower()):
        if word:
            seen.setdefault(word, None)
    return list(seen)


def _build(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    kind = "TEMP " if schema == "temp" else ""
    con.execute(f"""CREATE OR REPLACE {kind}TABLE {schema}.phta_concept_token AS
        SELECT DISTINCT term, concept_id FROM (
            SELECT unnest(regexp_split_to_array(lower(concept_name), '{WORD_SPLIT}')) AS term, concept_id
            FROM main.concept)
        WHERE term <> ''""")
    # UK medicine names as extra words of the concepts that carry the US name: found through the
    # postings of the US name's first word, then checked as a phrase (no regex per row).
    pairs = [(us, tokens(us)[0], uk_word) for us, uk in US_TO_UK.items() for uk_word in tokens(uk)]
    con.execute(f"""INSERT INTO {schema}.phta_concept_token
        SELECT DISTINCT m.uk, c.concept_id
        FROM (SELECT unnest(?::VARCHAR[]) AS us, unnest(?::VARCHAR[]) AS first, unnest(?::VARCHAR[]) AS uk) m
        JOIN {schema}.phta_concept_token k ON k.term = m.first
        JOIN main.concept c ON c.concept_id = k.concept_id
        WHERE contains(lower(c.concept_name), m.us)
        EXCEPT SELECT term, concept_id FROM {schema}.phta_concept_token""",
                [[p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]])
    # Postings in term order: a search's join then reads only the row groups of its words.
    con.execute(f"""CREATE OR REPLACE {kind}TABLE {schema}.phta_concept_token AS
        SELECT * FROM {schema}.phta_concept_token ORDER BY term, concept_id""")
    con.execute(f"""CREATE OR REPLACE {kind}TABLE {schema}.phta_concept_term AS
        SELECT term, count(*) AS df FROM {schema}.phta_concept_token GROUP BY term""")
    # Codes without case or dots (ICD-10 "E11.9" = "e119"), sorted: a lookup reads one row group.
    con.execute(f"""CREATE OR REPLACE {kind}TABLE {schema}.phta_concept_code AS
        SELECT upper(replace(concept_code, '.', '')) AS code_key, concept_id FROM main.concept
        ORDER BY code_key""")
    con.execute(f"""CREATE OR REPLACE {kind}TABLE {schema}.phta_concept_index_info AS
        SELECT count(*) AS concepts, now()::TIMESTAMP AS built_at FROM main.concept""")


def build_index(store: Store) -> dict[str, int]:
    """(Re)build the store's search index; returns its row counts."""
    with store.connect() as con:
        con.execute("BEGIN")
        _build(con, "main")
        con.execute("COMMIT")
        return {t: con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0] for t in TABLES[:2]}


def index_schema(con: duckdb.DuckDBPyConnection) -> str:
    """The schema holding a current index for ``con``'s vocabulary: ``main`` when the store's
    index is up to date, else ``temp`` (built now, for this connection only; read-only
    connections may still create temporary tables)."""
    for schema in ("main", "temp"):
        try:
            built = con.execute(f"SELECT concepts FROM {schema}.phta_concept_index_info").fetchone()
        except duckdb.CatalogException:
            continue
        if built and built[0] == con.execute("SELECT count(*) FROM main.concept").fetchone()[0]:
            return schema
    _build(con, "temp")
    return "temp"
