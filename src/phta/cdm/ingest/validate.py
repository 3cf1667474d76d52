"""Vectorised checking of one CSV file inside DuckDB.

The file is read once into a temporary table of VARCHAR columns (``c0``, ``c1``, ... in header
order) with a record number ``_rn``. One SQL pass then parses every column to its OMOP type with
``TRY_CAST`` and computes, per field, the reason the value cannot be represented (or NULL).
Rows with any reason are quarantined; the rest are inserted with ``INSERT ... SELECT``. No Python
loop touches the rows.

Only fixed identifiers (OMOP table and field names from ``phta.cdm.schema``, generated column
names) and fixed SQL fragments are placed in SQL text; file paths and other values are bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from phta.cdm import schema
from phta.cdm.ingest.csv_source import (
    MalformedFile,
    SourceFile,
    first_other_line_ending,
    has_blank_lines,
    line_of_byte,
    lines_of_records,
)
from phta.cdm.ingest.versions import ONLY_53_TABLES, Default, default_for, target_field

RAW, CHECKED = "_phta_raw", "_phta_checked"
REJECTS, REJECT_SCANS = "_phta_rejects", "_phta_reject_scans"

# DuckDB's CSV reject error types, in our own words (its messages may quote the row).
_REJECT_REASONS = {
    "MISSING COLUMNS": "the row has fewer columns than the header (truncated file or row?)",
    "TOO MANY COLUMNS": "the row has more columns than the header",
    "UNQUOTED VALUE": "a quoted value is never closed, or a quote stands inside an unquoted value",
    "INVALID ENCODING": "the text is not UTF-8 (wrong encoding)",
    "LINE SIZE OVER MAXIMUM": "a line is longer than the CSV reader's maximum line size",
}


@dataclass(frozen=True)
class FieldPlan:
    field: schema.Field
    column: int | None  # index of the source column, or None when the file lacks it
    default: Default | None


@dataclass(frozen=True)
class FilePlan:
    """How the columns of one source file become the fields of one v5.4 table."""

    source: SourceFile
    table: str
    fields: tuple[FieldPlan, ...]
    unknown_columns: tuple[tuple[int, str], ...]  # (index, name) of columns with no v5.4 field
    removed_table: bool  # a v5.3-only table: every row is quarantined


def plan_file(src: SourceFile, source_version: str) -> FilePlan:
    """Map header columns to v5.4 fields; a wrong header stops the load (line 1)."""
    if src.table in ONLY_53_TABLES:
        return FilePlan(src, src.table, (), (), removed_table=True)
    target = schema.table(src.table)
    index: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    for i, col in enumerate(src.columns):
        field = target_field(src.table, col, source_version)
        if field is None:
            unknown.append((i, col))
        elif field in index:
            raise MalformedFile(src.name, 1, f"two header columns both map to field {field}")
        else:
            index[field] = i
    if not index:
        raise MalformedFile(
            src.name,
            1,
            f"the header names no field of table {src.table}; is the header line missing, "
            "or is this the wrong file?",
        )
    plans = []
    for f in target.fields:
        default = default_for(src.table, f.name, source_version)
        if f.name not in index and f.required and default is None:
            raise MalformedFile(
                src.name, 1, f"the header lacks required field {f.name} of table {src.table}"
            )
        plans.append(FieldPlan(f, index.get(f.name), default))
    return FilePlan(src, src.table, tuple(plans), tuple(unknown), removed_table=False)


def stage(con: duckdb.DuckDBPyConnection, src: SourceFile) -> int:
    """Read the file into ``_phta_raw`` (all VARCHAR, record number ``_rn``); return its rows.

    Structural errors (ragged rows, unclosed quotes, bad encoding) stop the load naming the
    physical line, found from DuckDB's reject table (its byte offset, not its line count, which
    skips blank lines).
    """
    for name in (RAW, REJECTS, REJECT_SCANS):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(src.columns)))
    try:
        _read_raw(con, src, columns)
    except duckdb.InvalidInputException:
        # The strict parser gives up without a position on, e.g., mixed line endings.
        line = first_other_line_ending(src.path)
        if line is not None:
            raise MalformedFile(
                src.name, line, "the line ending differs from line 1's (mixed \\n and \\r\\n)"
            ) from None
        raise MalformedFile(src.name, 1, "the CSV parser cannot read this file") from None
    first = con.execute(
        f"SELECT line_byte_position, error_type FROM {REJECTS} ORDER BY byte_position LIMIT 1"
    ).fetchone()
    if first is not None:
        position, error_type = first
        line = line_of_byte(src.path, max(int(position or 1) - 1, 0))
        reason = _REJECT_REASONS.get(str(error_type), f"unreadable CSV ({error_type})")
        raise MalformedFile(src.name, line, reason)
    return con.execute(f"SELECT count(*) FROM {RAW}").fetchone()[0]


def _read_raw(con: duckdb.DuckDBPyConnection, src: SourceFile, columns: str) -> None:
    con.execute(
        f"""CREATE TEMP TABLE {RAW} AS
        SELECT row_number() OVER () AS _rn, *
        FROM read_csv($path, delim=$delim, quote='"', escape='"', header=true,
                      auto_detect=false, columns={{{columns}}}, strict_mode=true,
                      store_rejects=true, rejects_table='{REJECTS}', rejects_scan='{REJECT_SCANS}')""",
        {"path": str(src.path), "delim": src.delimiter},
    )


def _value(col: int, kind: str = "number") -> str:
    """An empty cell is NULL; non-text values may carry surrounding spaces, text is kept as is."""
    if kind == "text":
        return f"NULLIF(c{col}, '')"
    return f"NULLIF(trim(c{col}), '')"


_DATE_SHAPE = r"'^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{8})'"


def _parse(kind: str, v: str) -> str:
    if kind in ("integer", "bigint"):
        # DuckDB rounds '1.5' to 2 when casting to BIGINT; accept only integral values ('2.0', '1e3').
        return (f"(CASE WHEN TRY_CAST({v} AS DOUBLE) = TRY_CAST({v} AS BIGINT) "
                f"THEN TRY_CAST({v} AS BIGINT) END)")
    if kind == "float":
        return f"(CASE WHEN isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END)"
    if kind == "date":
        return f"COALESCE(TRY_CAST({v} AS DATE), CAST(TRY_STRPTIME({v}, '%Y%m%d') AS DATE))"
    if kind == "datetime":
        return f"COALESCE(TRY_CAST({v} AS TIMESTAMP), TRY_STRPTIME({v}, '%Y%m%d'))"
    return v


def _type_reason(kind: str, v: str) -> str:
    if kind in ("integer", "bigint"):
        return "'not a whole number (integer field)'"
    if kind == "float":
        return "'not a finite number'"
    word = "date" if kind == "date" else "date-time"
    return (
        f"CASE WHEN regexp_matches({v}, {_DATE_SHAPE}) THEN 'impossible {word} (no such day or time)' "
        f"ELSE 'unparseable {word} (expected YYYY-MM-DD)' END"
    )


def reason_column(name: str) -> str:
    return f'"_r_{name}"'


WHOLE_ROW = "*row"  # reason-column suffix for a reason about the whole row (no one field)


def check(con: duckdb.DuckDBPyConnection, plan: FilePlan, source_version: str) -> None:
    """Build ``_phta_checked``: ``_rn``, the parsed v5.4 fields, one reason column per field or
    unknown column (``_r_<name>``, NULL when fine), and ``_bad`` (any reason)."""
    con.execute(f"DROP TABLE IF EXISTS {CHECKED}")
    if plan.removed_table:
        reason = f"table {plan.table} exists only in OMOP CDM v5.3; a v5.4 store has no place for it"
        con.execute(
            f"CREATE TEMP TABLE {CHECKED} AS SELECT _rn, CAST($r AS VARCHAR) AS "
            f"{reason_column(WHOLE_ROW)}, true AS _bad FROM {RAW}",
            {"r": reason},
        )
        return
    # Level 1 (parsed): typed values and type problems, straight from the raw text.
    level1 = ["_rn"]
    for p in plan.fields:
        f = p.field
        if p.column is None:
            level1.append(f'CAST(NULL AS {schema.duckdb_type(f)}) AS "{f.name}"')
            continue
        v = _value(p.column, f.kind)
        level1.append(f'CAST({_parse(f.kind, v)} AS {schema.duckdb_type(f)}) AS "{f.name}"')
        if f.kind != "text":
            level1.append(
                f"CASE WHEN {v} IS NOT NULL AND {_parse(f.kind, v)} IS NULL "
                f'THEN {_type_reason(f.kind, v)} END AS "_t_{f.name}"'
            )
    for i, name in plan.unknown_columns:
        level1.append(
            f"CASE WHEN {_value(i, 'text')} IS NOT NULL THEN 'column {name} is not a field of table "
            f"{plan.table} in OMOP CDM v{source_version}' END AS {reason_column(name)}"
        )
    # Level 2 (final): defaults (which may refer to other parsed fields), then the required check.
    level2 = ["_rn"]
    reason_names: list[str] = []
    for p in plan.fields:
        f = p.field
        name = f'"{f.name}"'
        final = name if p.default is None else f"COALESCE({name}, {p.default.sql})"
        level2.append(f"CAST({final} AS {schema.duckdb_type(f)}) AS {name}")
        if p.default is not None:
            level2.append(f'({name} IS NULL) AS "_d_{f.name}"')
        parts = []
        if p.column is not None and f.kind != "text":
            parts.append(f'"_t_{f.name}"')
        if f.required:
            parts.append(f"CASE WHEN ({final}) IS NULL THEN 'missing required value' END")
        if parts:
            expr = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
            level2.append(f"{expr} AS {reason_column(f.name)}")
            reason_names.append(reason_column(f.name))
    for _, name in plan.unknown_columns:
        level2.append(reason_column(name))
        reason_names.append(reason_column(name))
    bad = " OR ".join(f"{r} IS NOT NULL" for r in reason_names) or "false"
    con.execute(
        f"""CREATE TEMP TABLE {CHECKED} AS
        WITH parsed AS (SELECT {", ".join(level1)} FROM {RAW}),
             final AS (SELECT {", ".join(level2)} FROM parsed)
        SELECT *, ({bad}) AS _bad FROM final"""
    )


def insert_good(con: duckdb.DuckDBPyConnection, plan: FilePlan) -> int:
    if plan.removed_table:
        return 0
    cols = ", ".join(f'"{p.field.name}"' for p in plan.fields)
    row = con.execute(
        f"INSERT INTO {plan.table} ({cols}) SELECT {cols} FROM {CHECKED} WHERE NOT _bad"
    ).fetchone()
    return int(row[0]) if row else 0


def count_defaulted(con: duckdb.DuckDBPyConnection, plan: FilePlan) -> dict[str, int]:
    """Loaded rows per field whose value is a v5.3 default."""
    names = [p.field.name for p in plan.fields if p.default is not None]
    if not names:
        return {}
    counts = con.execute(
        "SELECT " + ", ".join(f'count_if("_d_{n}")' for n in names) + f" FROM {CHECKED} WHERE NOT _bad"
    ).fetchall()[0]
    return {n: int(c) for n, c in zip(names, counts, strict=True) if c}


def count_bad(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT count(*) FROM {CHECKED} WHERE _bad").fetchone()[0]


def write_quarantine(con: duckdb.DuckDBPyConnection, plan: FilePlan, load_id: int) -> None:
    """One ``phta_quarantine`` row per (bad row, field): file, physical line, field, reason.

    The row's values are never copied. Physical lines differ from record numbers when quoted
    values hold line breaks (counted here in SQL) or when the file has blank lines (which CSV
    readers skip; then the lines of the bad records are found with Python's csv module).
    """
    for name in ("_phta_qdetail", "_phta_lines"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    con.execute(
        f"""CREATE TEMP TABLE _phta_qdetail AS
        SELECT _rn, substr(name, 4) AS field, reason FROM (
            UNPIVOT (SELECT _rn, COLUMNS('^_r_') FROM {CHECKED} WHERE _bad)
            ON COLUMNS('^_r_') INTO NAME name VALUE reason)"""
    )
    src = plan.source
    if has_blank_lines(src.path):
        wanted = {r for (r,) in con.execute("SELECT DISTINCT _rn FROM _phta_qdetail").fetchall()}
        lines = lines_of_records(src, wanted)
        con.execute("CREATE TEMP TABLE _phta_lines (_rn BIGINT, line BIGINT)")
        con.executemany("INSERT INTO _phta_lines VALUES (?, ?)", sorted(lines.items()))
    else:
        joined = "concat_ws('', " + ", ".join(f"c{i}" for i in range(len(src.columns))) + ")"
        con.execute(
            f"""CREATE TEMP TABLE _phta_lines AS
            WITH nl AS (SELECT _rn, length({joined}) - length(replace({joined}, chr(10), '')) AS n
                        FROM {RAW})
            SELECT _rn, 1 + _rn + coalesce(sum(n) OVER (ORDER BY _rn ROWS BETWEEN UNBOUNDED
                   PRECEDING AND 1 PRECEDING), 0) AS line FROM nl"""
        )
    con.execute(
        """INSERT INTO phta_quarantine (load_id, file, line, field, reason)
        SELECT $load_id, $file, l.line, CASE WHEN q.field = $whole THEN NULL ELSE q.field END,
               q.reason
        FROM _phta_qdetail q JOIN _phta_lines l USING (_rn)
        ORDER BY l.line, q.field""",
        {"load_id": load_id, "file": src.name, "whole": WHOLE_ROW},
    )
    for name in ("_phta_qdetail", "_phta_lines"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
