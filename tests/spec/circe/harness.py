"""Load Circe test fixtures (vocabulary + PREP rows) into a real PHTA store and run cohorts."""

from __future__ import annotations

import json
from pathlib import Path

from phta.cdm.parquet_export import export_parquet
from phta.cdm.store import Store
from phta.execution.circe import CirceRequest, CirceResult, execute_circe
from phta.execution.node_engine import DUCKDB, NodeEngine
from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
from phta.query.circe.importer import CirceImportError, import_expression  # noqa: F401 (re-exported for tests)
from tests.components import REFERENCE_DIR, require_reference

FIXTURES = REFERENCE_DIR / "circe-be-tests"
_exported: set[Path] = set()


def fixture(rel: str) -> dict:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def load_rows(store: Store, tables: dict[str, list[dict]]) -> None:
    con = store.connect()
    try:
        for key, rows in tables.items():
            table = key.split(".")[-1].lower()
            described = con.execute(f"DESCRIBE {table}").fetchall()
            existing = {r[0] for r in described}
            # Circe's fixtures leave some CDM-required columns out (e.g. drug_exposure_end_date, to
            # exercise Circe's end-date defaults); relax NOT NULL on the columns they omit or leave null.
            given = {name for name, *_ in described
                     if all(row.get(name, row.get(name.upper())) is not None for row in rows)}
            for name, _type, null, *_ in described:
                if null == "NO" and name not in given:
                    con.execute(f"ALTER TABLE {table} ALTER COLUMN {name} DROP NOT NULL")
            for row in rows:
                cols = [k.lower() for k in row if k.lower() in existing]
                vals = [row[k] for k in row if k.lower() in existing]
                marks = ", ".join("?" for _ in cols)
                con.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", vals)
    finally:
        con.close()


def build_store(tmp_path: Path, prep: str | dict, vocabulary: bool = True) -> Store:
    require_reference()
    store = Store.create(tmp_path / "store", node_name="circe-test")
    if vocabulary:
        load_rows(store, fixture("datasets/vocabulary.json"))
    load_rows(store, fixture(prep) if isinstance(prep, str) else prep)
    return store


def run(store: Store, expression: dict | str, engine: NodeEngine = DUCKDB) -> CirceResult:
    """The cohort through the execution path on ``engine`` (a Spark node reads the store's export,
    written here the first time a store runs on Spark: test stores do not change after loading)."""
    cohort = import_expression(expression)
    if engine.kind == "spark" and store.db_path not in _exported:
        export_parquet(store)
        _exported.add(store.db_path)
    request = CirceRequest(cohort, LOCAL_CUSTODIAN_QUALITY, store, "circe-test", engine)
    return execute_circe(request, ExecutionContext("tester", frozenset({"custodian"}), "circe-test"))


def rows(result: CirceResult) -> list[tuple[int, str, str]]:
    return sorted((p, s.isoformat(), e.isoformat()) for p, s, e in result.episodes)


def expected(verify: dict, table_suffix: str = ".cohort", cohort_id: int = 1) -> list[tuple[int, str, str]]:
    out = []
    for key, rs in verify.items():
        if key.endswith(table_suffix):
            out += [(r["subject_id"], r["cohort_start_date"], r["cohort_end_date"]) for r in rs
                    if r.get("cohort_definition_id", 1) == cohort_id]
    return sorted(out)


REFERENCE_TABLES = ("person", "observation_period", "condition_occurrence", "condition_era", "drug_exposure",
                    "drug_era", "dose_era", "procedure_occurrence", "measurement", "observation",
                    "visit_occurrence", "visit_detail", "device_exposure", "specimen", "death", "provider",
                    "payer_plan_period", "episode",
                    "care_site", "concept", "concept_ancestor", "concept_relationship")


def tables_of(store: Store) -> dict[str, list[dict]]:
    """A store's OMOP tables as row dicts, for the reference engine (small test stores only)."""
    con = store.connect(read_only=True)
    try:
        out = {}
        for table in REFERENCE_TABLES:
            cur = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            out[table] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        return out
    finally:
        con.close()


def reference(store: Store, expression: dict):
    from phta.query.circe.reference import CirceReference

    return CirceReference(tables_of(store), import_expression(expression)).run()


def assert_reference_agrees(result: CirceResult, store: Store, expression: dict) -> None:
    ref = reference(store, expression)
    assert [(p, s, e) for p, s, e in result.episodes] == ref.rows
    assert list(result.by_event.masks) == ref.masks_by_event
    assert list(result.by_person.masks) == ref.masks_by_person
