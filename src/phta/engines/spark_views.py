"""A store's Parquet export as Spark temporary views named like the OMOP CDM tables.

The export (``phta store export-parquet``) writes one ``<table>.parquet`` per non-empty OMOP
table into ``STORE/parquet/`` — or wherever a cluster can read it (``hdfs://...``, ``s3a://...``).
Tables with no file get an empty view with the specification's columns and types, so a query
naming an empty table (say ``death``) returns no rows on Spark, exactly as on DuckDB, instead of
failing with "table not found".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from phta.cdm import schema

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PARQUET_SUFFIX = ".parquet"
EMPTY = "empty"

# OMOP field kind -> Spark SQL type, matching phta.cdm.schema.DUCKDB_TYPES column for column.
SPARK_TYPES = {
    "integer": "BIGINT",
    "bigint": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP_NTZ",
    "text": "STRING",
}


class ParquetExportError(RuntimeError):
    """The Parquet export location is missing or holds a file that is not an OMOP table."""


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
    known = schema.tables(schema.CURRENT_VERSION)
    found: dict[str, str] = {}
    for status in fs.listStatus(root):
        name = status.getPath().getName()
        if not name.endswith(PARQUET_SUFFIX) or name.startswith((".", "_")):
            continue
        table = name[: -len(PARQUET_SUFFIX)]
        if table not in known:
            raise ParquetExportError(
                f"{location}/{name}: {table!r} is not an OMOP CDM v{schema.CURRENT_VERSION} table"
            )
        found[table] = status.getPath().toString()
    return found


def empty_table_query(table: schema.Table) -> exp.Select:
    """``SELECT CAST(NULL AS type) AS column, ... WHERE FALSE``: the table's shape, no rows."""
    columns = [
        exp.alias_(
            exp.cast(exp.null(), exp.DataType.build(SPARK_TYPES[f.kind], dialect="spark")), f.name
        )
        for f in table.fields
    ]
    return exp.select(*columns).where(exp.false())


def register_views(session: SparkSession, location: str) -> dict[str, str]:
    """Create a temporary view in ``session`` per OMOP table the export has a file for.

    Returns ``{table: source}`` for every OMOP table: the Parquet path, or ``"empty"`` for a
    table with no file, whose view ``create_empty_views`` makes when a query first names it
    (each costs Spark an analysis pass; most queries name a handful of the 40-odd tables)."""
    files = list_parquet_tables(session, location)
    sources: dict[str, str] = {}
    for name, table in schema.tables(schema.CURRENT_VERSION).items():
        if name not in files:
            sources[name] = EMPTY
            continue
        frame = session.read.parquet(files[name])
        missing = [f for f in table.field_names if f not in frame.columns]
        if missing:
            raise ParquetExportError(
                f"{files[name]}: table {name} lacks field(s) {', '.join(missing)}; re-export the store"
            )
        frame.createOrReplaceTempView(name)
        sources[name] = files[name]
    return sources


def create_empty_views(session: SparkSession, names: set[str]) -> None:
    """An empty, correctly typed view for each OMOP table in ``names``."""
    for name in sorted(names):
        query = empty_table_query(schema.table(name, schema.CURRENT_VERSION))
        session.sql(query.sql(dialect="spark")).createOrReplaceTempView(name)
