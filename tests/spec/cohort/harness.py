"""Spec-test machinery: tiny inline tables -> a real DuckDB store and the reference engine.

A chapter module defines ``TITLE``, ``INTRO`` and ``CASES`` (a list of :class:`Case`). Each case's
tables are completed with defaults for the OMOP columns the case does not care about, loaded
into a real store (DuckDB) and handed to the reference engine; both must give the expected
per-patient values (or cohort membership, attrition and strata).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from phta.cdm import schema
from phta.cdm.extensions import VARIANT_COLUMNS, ensure_extension_tables
from phta.cdm.physical import build_index
from phta.cdm.store import Store
from phta.engines import duckdb as duckdb_engine
from phta.execution import (
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    execute,
)
from phta.execution.path import build_result
from phta.execution.physical import physical_design
from phta.query import ir, serial
from phta.query.compiler import compile_series_table, python_value
from phta.query.physical import NONE
from phta.query.reference import ReferenceEngine
from phta.query.variants import VARIANT_TABLE


@dataclass(frozen=True)
class Case:
    title: str
    tables: dict[str, list[dict]]
    query: str  # a DSL expression: a patient series, or cohort(...)
    expected: dict[int, object] | None = None  # person_id -> value, for a series
    expected_members: list[tuple] | None = None  # (person_id, start, end) for a cohort
    expected_attrition: list[int] | None = None
    expected_strata: dict[str, dict[str, int]] = field(default_factory=dict)
    explanation: str = ""

    def build(self) -> ir.Series | ir.Cohort:
        from phta.query import dsl

        namespace = {name: getattr(dsl, name) for name in dsl.__all__}
        value = eval(self.query, namespace)  # our own chapter text, not user input
        return value.node if isinstance(value, dsl.Series) else value


_DEFAULTS = {"integer": 0, "bigint": 0, "float": 0.0, "date": dt.date(2000, 1, 1),
             "datetime": dt.datetime(2000, 1, 1), "text": ""}


# PHTA's extension table (not OMOP): defaults for the columns a case may leave out.
_VARIANT_DEFAULTS = {"chrom": "17", "pos": 1, "ref": "A", "alt": "T", "gene": None, "hgvs": None,
                     "zygosity": "heterozygous", "clinical_significance": None}


def complete(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Fill required OMOP columns the case left out (ids numbered, others a neutral default)."""
    out = {}
    for name, rows in tables.items():
        if name == VARIANT_TABLE:
            assert all(set(r) <= set(VARIANT_COLUMNS) for r in rows), f"variant has only {VARIANT_COLUMNS}"
            out[name] = [{**_VARIANT_DEFAULTS, **r} for r in rows]
            continue
        spec = schema.table(name)
        filled = []
        for i, row in enumerate(rows, start=1):
            unknown = set(row) - set(spec.field_names)
            assert not unknown, f"{name} has no columns {unknown}"
            full = {f.name: row.get(f.name) for f in spec.fields}
            for f in spec.fields:
                if f.name not in row and f.required:
                    full[f.name] = i if f.primary_key else _DEFAULTS[f.kind]
            filled.append(full)
        out[name] = filled
    out.setdefault("person", [])
    return out


def build_store(path: Path, tables: dict[str, list[dict]]) -> Store:
    """A store holding ``tables``; the ``variant`` extension table exists only if a case names it
    (as in a store loaded from OMOP CSV, which has none)."""
    store = Store.create(path, node_name="spec")
    con = store.connect()
    try:
        if VARIANT_TABLE in tables:
            ensure_extension_tables(con)
        for name, rows in tables.items():
            if rows:
                cols = list(rows[0])
                marks = ", ".join("?" for _ in cols)
                con.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({marks})",
                                [[r[c] for c in cols] for r in rows])
    finally:
        con.close()
    return store


def build_indexed_store(path: Path, tables: dict[str, list[dict]]) -> Store:
    """A spec store with the physical design of ``phta store index`` (clustered events, facts)."""
    store = build_store(path, tables)
    build_index(store)
    return store


def duckdb_series(store: Store, series: ir.Series, indexed: bool = False) -> dict[int, object]:
    # On an indexed store, compile as the execution path does: with the store's physical design.
    stmt = compile_series_table({"v": series}, physical=physical_design(store, series) if indexed else NONE)
    (rows,) = duckdb_engine.run(store.db_path, [(stmt.sql(), stmt.params)])
    return {r[0]: python_value(series.type, r[1]) for r in rows.rows}


def reference_series(tables, series: ir.Series) -> dict[int, object]:
    return {r[0]: r[1] for r in ReferenceEngine(tables).series_table({"v": series})}


# Stand-in for a requested query when the query under test names persons by id (PersonIn): the
# path refuses such requests, so those queries enter as a governance rewrite, as opt-outs do.
_REQUESTED = ir.Cohort(ir.FirstDate(ir.Events("condition")), ())


ALL_OUTPUTS = ("count", "strata", "attrition", "membership")


def run_cohort(store: Store, cohort: ir.Cohort, engine=None, outputs=ALL_OUTPUTS):
    """``cohort`` through the execution path as the node's custodian (on ``engine``, default the
    store's DuckDB file)."""
    names_persons = any(isinstance(n, ir.PersonIn) for n in cohort.walk())
    request = ExecutionRequest.build(_REQUESTED if names_persons else cohort, LOCAL_CUSTODIAN_QUALITY, store,
                                     outputs=outputs)
    if engine is not None:
        request = dataclasses.replace(request, engine=engine)
    policy = ExecutionPolicy(governance_rewrite=lambda _: cohort) if names_persons else None
    return execute(request, ExecutionContext.local_custodian(store), policy)


def cohort_result(store: Store, cohort: ir.Cohort, engine=None):
    """The result through the execution path on ``engine`` (default DuckDB), with attrition (the
    rules cascade), after checking that the form compiled without attrition (every rule at once)
    selects the same members with the same strata."""
    result = run_cohort(store, cohort, engine)
    without = run_cohort(store, cohort, engine, outputs=("count", "strata", "membership"))
    assert without.attrition == ()
    assert (without.membership, without.strata) == (result.membership, result.strata), "rules at once != cascade"
    return result


def reference_cohort(tables, cohort: ir.Cohort):
    request = ExecutionRequest(cohort, LOCAL_CUSTODIAN_QUALITY, Store(Path("/nonexistent")), "spec",
                               frozenset({"count", "strata", "attrition", "membership"}))
    rows = ReferenceEngine(tables).cohort(cohort)
    return build_result(rows, cohort, request, serial.content_hash(cohort))


def person(pid: int, born: str = "1980-01-01", sex: str = "F", ethnic: str | None = None,
           care_site: int | None = None) -> dict:
    """A person row from readable facts (sex F/M/U, born YYYY-MM-DD, NHS ethnic category code)."""
    y, m, d = (int(x) for x in born.split("-"))
    gender = {"F": 8532, "M": 8507, "U": 8551}[sex]
    return {"person_id": pid, "year_of_birth": y, "month_of_birth": m, "day_of_birth": d,
            "gender_concept_id": gender, "race_source_value": ethnic, "care_site_id": care_site}


def variant(pid: int, gene: str, significance: str | None = "Pathogenic", zygosity: str = "heterozygous",
            **allele) -> dict:
    """A variant row from readable facts; ``allele`` may give chrom, pos, ref, alt and hgvs."""
    return {"person_id": pid, "gene": gene, "clinical_significance": significance, "zygosity": zygosity, **allele}


def concepts(*ids: int) -> list[dict]:
    return [{"concept_id": i, "concept_name": f"concept {i}"} for i in ids]


def d(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)
