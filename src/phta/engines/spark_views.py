"""A store's Parquet export as Spark temporary views named like the store's tables.

The export (``phta store export-parquet``, :mod:`phta.cdm.parquet_export`) writes one
``<table>.parquet`` per non-empty table -- the OMOP CDM tables, PHTA's extension tables
(``variant``) and the record keys of the disclosure step (``phta_record_key``) -- and a manifest
``_phta_export.json`` into ``STORE/parquet/``, or wherever a cluster can read it (``hdfs://...``,
``s3a://...``).

A known table with no file gets an empty view with the right columns and types, so a query
naming an empty table (say ``death``) returns no rows on Spark, exactly as on DuckDB, instead of
failing with "table not found".
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from phta.cdm import schema
from phta.cdm.extensions import EXTENSION_DDL
from phta.cdm.parquet_export import MANIFEST, QUERY_TABLES
from phta.engines.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PARQUET_SUFFIX = ".parquet"
EMPTY = "empty"
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")

# OMOP field kind -> Spark SQL type, matching phta.cdm.schema.DUCKDB_TYPES column for column.
SPARK_TYPES = {
    "integer": "BIGINT",
    "bigint": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP_NTZ",
    "text": "STRING",
}


class ParquetExportError(EngineError):
    """The Parquet export location is missing, or holds a file that cannot be a table."""


@cache
def known_tables() -> dict[str, tuple[tuple[str, str], ...]]:
    """``{table: ((column, Spark type), ...)}`` for every OMOP CDM table and extension table."""
    shapes = {
        name: tuple((f.name, SPARK_TYPES[f.kind]) for f in table.fields)
        for name, table in schema.tables(schema.CURRENT_VERSION).items()
    }
    for ddl in EXTENSION_DDL:
        create = sqlglot.parse_one(ddl, read="duckdb")
        columns = [c for c in create.this.expressions if isinstance(c, exp.ColumnDef)]
        # TIMESTAMP renders as TIMESTAMP, which PHTA's sessions read as TIMESTAMP_NTZ.
        shapes[create.this.this.name] = tuple(
            (c.name, c.args["kind"].sql("spark")) for c in columns
        )
    return shapes


def list_parquet_tables(session: SparkSession, location: str) -> dict[str, str]:
    """``{table: path}`` for every ``<table>.parquet`` at ``location``, read by Spark's own
    file system layer so local paths, HDFS and object stores are listed the same way."""
    jvm = session.sparkContext._jvm  # Hadoop's FileSystem API has no Python binding
    hadoop_conf = session.sparkContext._jsc.hadoopConfiguration()
    root = jvm.org.apache.hadoop.fs.Path(location)
    fs = root.getFileSystem(hadoop_conf)
    if not fs.exists(root):
        raise ParquetExportError(
            f"no Parquet export at {location}: run `phta store export-parquet` for this store first"
        )
    found: dict[str, str] = {}
    for status in fs.listStatus(root):
        name = status.getPath().getName()
        if not name.endswith(PARQUET_SUFFIX) or name.startswith((".", "_")):
            continue
        table = name[: -len(PARQUET_SUFFIX)]
        if not TABLE_NAME.fullmatch(table) or (
            table.startswith("phta_") and table not in QUERY_TABLES
        ):
            raise ParquetExportError(
                f"{location}/{name}: {table!r} cannot be a table of the store "
                f"(lower-case letters, digits and _, not phta_* other than {', '.join(QUERY_TABLES)})"
            )
        found[table] = status.getPath().toString()
    return found


def is_local(location: str) -> bool:
    """Whether ``location`` is a directory of this machine (no scheme, or ``file://``)."""
    return "://" not in location or location.startswith("file://")


def read_manifest(location: str, session: SparkSession | None = None) -> str | None:
    """The text of the export's manifest, or None if the location or the manifest is missing.

    A local directory is read directly (checked before every query, and before Spark starts, so
    a node with no export fails fast); any other location needs ``session`` and is read through
    Spark's file system layer, like the data files, so HDFS and object stores work."""
    if is_local(location):
        local = Path(location.removeprefix("file://")) / MANIFEST
        return local.read_text(encoding="utf-8") if local.is_file() else None
    if session is None:
        raise ValueError(f"reading {location} needs a Spark session")
    jvm = session.sparkContext._jvm
    hadoop_conf = session.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(f"{location.rstrip('/')}/{MANIFEST}")
    if not path.getFileSystem(hadoop_conf).exists(path):
        return None
    rows = session.read.text(path.toString(), wholetext=True).collect()
    return rows[0][0] if rows else None


def empty_table_query(columns: tuple[tuple[str, str], ...]) -> exp.Select:
    """``SELECT CAST(NULL AS type) AS column, ... WHERE FALSE``: the table's shape, no rows."""
    selected = [
        exp.alias_(exp.cast(exp.null(), exp.DataType.build(kind, dialect="spark")), name)
        for name, kind in columns
    ]
    return exp.select(*selected).where(exp.false())


def register_views(session: SparkSession, location: str) -> dict[str, str]:
    """Create a temporary view in ``session`` for each table the export has a file for.

    Returns ``{table: source}``: the Parquet path, or ``"empty"`` for a known table with no
    file, whose view ``create_empty_views`` makes when a query first names it (each costs Spark
    an analysis pass; most queries name a handful of the 40-odd tables)."""
    files = list_parquet_tables(session, location)
    known = known_tables()
    sources = dict.fromkeys(known, EMPTY)
    for name, path in sorted(files.items()):
        frame = session.read.parquet(path)
        missing = [column for column, _ in known.get(name, ()) if column not in frame.columns]
        if missing:
            raise ParquetExportError(
                f"{path}: table {name} lacks field(s) {', '.join(missing)}; re-export the store"
            )
        frame.createOrReplaceTempView(name)
        sources[name] = path
    return sources


def create_empty_views(session: SparkSession, names: set[str]) -> None:
    """An empty, correctly typed view for each known table in ``names``."""
    known = known_tables()
    for name in sorted(names):
        session.sql(empty_table_query(known[name]).sql(dialect="spark")).createOrReplaceTempView(
            name
        )
