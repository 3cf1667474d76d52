"""OHDSI Athena vocabulary downloads: load one into a store, and write the embedded vocabulary in
Athena's format.

An Athena download is a folder of tab-separated files named after the vocabulary tables in upper
case (``CONCEPT.csv``, ``CONCEPT_ANCESTOR.csv``, ...), with a header line, dates as YYYYMMDD and
**no quoting** (a concept name may hold a double quote, which is just a character). The full
SNOMED/RxNorm/LOINC/dm+d download is millions of concepts and tens of millions of ancestor rows,
so every file goes straight from DuckDB's CSV reader into the store table (``INSERT ... SELECT
FROM read_csv``): memory stays bounded and Python never sees a row.

The vocabulary version is the ``vocabulary_version`` of VOCABULARY's ``None`` row (Athena writes
e.g. "v5.0 30-AUG-24" there). It is recorded in ``phta_vocabulary`` and in
``cdm_source.vocabulary_version`` so results can cite it (``phta store info`` shows it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from phta.cdm import schema
from phta.cdm.store import Store

# Load order: small reference tables first; every file is optional except CONCEPT and VOCABULARY.
ATHENA_TABLES = (
    "vocabulary", "domain", "concept_class", "relationship", "concept", "concept_relationship",
    "concept_synonym", "concept_ancestor", "drug_strength",
)
REQUIRED = ("concept", "vocabulary")
VERSION_TABLE_DDL = """CREATE TABLE IF NOT EXISTS phta_vocabulary (
    loaded_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    vocabulary_version VARCHAR,
    row_counts JSON NOT NULL
)"""


class VocabularyLoadError(Exception):
    """An Athena folder that cannot be loaded; the store is left unchanged. Names file and line."""


def find_files(src: Path) -> dict[str, Path]:
    """Table -> file in an Athena folder (``CONCEPT.csv``; any case, .csv or .tsv)."""
    if not src.is_dir():
        raise VocabularyLoadError(f"{src}: not a directory (expected an Athena vocabulary download)")
    found: dict[str, Path] = {}
    for path in sorted(src.iterdir()):
        if path.suffix.lower() in (".csv", ".tsv") and path.stem.lower() in ATHENA_TABLES:
            found[path.stem.lower()] = path
    missing = [f"{t.upper()}.csv" for t in REQUIRED if t not in found]
    if missing:
        raise VocabularyLoadError(f"{src}: missing {', '.join(missing)} (every Athena download has them)")
    return found


def _select(table: str, path: Path) -> tuple[str, dict]:
    """``SELECT`` over ``read_csv`` typed as the store's columns (the reader parses numbers and
    YYYYMMDD dates itself, which is faster than casting text); empty text is NULL, as in Athena."""
    fields = schema.table(table).fields
    columns = ", ".join(f"'{f.name}': '{schema.duckdb_type(f)}'" for f in fields)
    exprs = [f'NULLIF("{f.name}", \'\')' if f.kind == "text" else f'"{f.name}"' for f in fields]
    sql = (f"SELECT {', '.join(exprs)} FROM read_csv($path, delim='\t', quote='', escape='', "
           f"header=true, auto_detect=false, columns={{{columns}}}, dateformat='%Y%m%d', "
           f"strict_mode=false, null_padding=true)")
    return sql, {"path": str(path)}


def _header_check(table: str, path: Path) -> None:
    with path.open("rb") as fh:
        first = fh.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    names = [n.strip().lower() for n in first.split("\t")]
    expected = list(schema.table(table).field_names)
    if names != expected:
        raise VocabularyLoadError(
            f"{path.name}, line 1: header is not {table.upper()}'s tab-separated columns "
            f"({', '.join(expected)})"
        )


def load_athena(src: str | Path, store: Store | str | Path) -> dict:
    """Replace the store's vocabulary tables with an Athena download, in one transaction.

    Returns ``{"vocabulary_version": ..., "rows": {table: n}}``. Tables whose file is absent are
    left as they are (e.g. a download without DRUG_STRENGTH)."""
    src_path = Path(src).resolve()
    store = store if isinstance(store, Store) else Store.open(store)
    files = find_files(src_path)
    for table, path in files.items():
        _header_check(table, path)
    counts: dict[str, int] = {}
    con = store.connect()
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(VERSION_TABLE_DDL)
        for table in ATHENA_TABLES:
            if table not in files:
                continue
            sql, params = _select(table, files[table])
            con.execute(f"DELETE FROM {table}")
            try:
                row = con.execute(f"INSERT INTO {table} {sql}", params).fetchall()
            except duckdb.Error as exc:
                # DuckDB's message may quote a row; name the file and the kind of failure only.
                raise VocabularyLoadError(
                    f"{files[table].name}: cannot be read as {table.upper()} "
                    f"({type(exc).__name__}: a value does not fit its column, or a row has the "
                    "wrong number of fields); the store is unchanged"
                ) from None
            counts[table] = int(row[0][0]) if row else 0
        version_row = con.execute(
            "SELECT vocabulary_version FROM vocabulary WHERE vocabulary_id = 'None'"
        ).fetchall()
        version = version_row[0][0] if version_row else None
        con.execute(
            "INSERT INTO phta_vocabulary VALUES (?, ?, ?, ?)",
            [dt.datetime.now(dt.UTC).replace(tzinfo=None), str(src_path), version,
             _json(counts)],
        )
        con.execute("UPDATE cdm_source SET vocabulary_version = ?", [version])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return {"vocabulary_version": version, "rows": counts}


def _json(value: dict) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def vocabulary_version(store: Store) -> str | None:
    """The version of the last Athena vocabulary loaded into the store, or None (embedded)."""
    with store.connect(read_only=True) as con:
        present = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'phta_vocabulary'"
        ).fetchall()[0][0]
        if not present:
            return None
        row = con.execute(
            "SELECT vocabulary_version FROM phta_vocabulary ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()
    return row[0][0] if row else None


def export_athena(store: Store, out: Path, *, version: str = "PHTA embedded") -> dict[str, int]:
    """Write the store's vocabulary tables as an Athena download (tab-separated, YYYYMMDD, no
    quoting), adding VOCABULARY/DOMAIN/CONCEPT_CLASS rows derived from the concepts when the store
    has none, and the ``None`` row carrying ``version``. Used to prove a store loaded from Athena
    files runs the same cohorts as one with the embedded vocabulary."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with store.connect(read_only=True) as con:
        con.execute("CREATE TEMP TABLE x_vocabulary AS SELECT * FROM vocabulary")
        if not con.execute("SELECT count(*) FROM x_vocabulary").fetchall()[0][0]:
            con.execute("""INSERT INTO x_vocabulary SELECT DISTINCT vocabulary_id, vocabulary_id,
                           '', NULL, 0 FROM concept""")
        con.execute("DELETE FROM x_vocabulary WHERE vocabulary_id = 'None'")
        con.execute("INSERT INTO x_vocabulary VALUES ('None', 'OMOP Standardized Vocabularies', "
                    "'PHTA', ?, 44819096)", [version])
        derived = {
            "domain": "SELECT DISTINCT domain_id, domain_id AS domain_name, 0 AS domain_concept_id "
                      "FROM concept",
            "concept_class": "SELECT DISTINCT concept_class_id, concept_class_id AS concept_class_name, "
                             "0 AS concept_class_concept_id FROM concept",
        }
        for table in ATHENA_TABLES:
            source = "x_vocabulary" if table == "vocabulary" else table
            if table in derived and not con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]:
                source = f"({derived[table]})"
            fields = schema.table(table).fields
            cols = ", ".join(
                f"strftime(\"{f.name}\", '%Y%m%d') AS \"{f.name}\"" if f.kind == "date"
                else f"\"{f.name}\""
                for f in fields
            )
            path = out / f"{table.upper()}.csv"
            con.execute(
                f"COPY (SELECT {cols} FROM {source}) TO '{_sql_path(path)}' "
                "(HEADER, DELIMITER '\t', QUOTE '', ESCAPE '')"
            )
            counts[table] = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    return counts


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
