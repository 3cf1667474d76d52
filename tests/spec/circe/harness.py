"""Load Circe test fixtures (vocabulary + PREP rows) into a real PHTA store and run cohorts."""

from __future__ import annotations

import json
from pathlib import Path

from phta.cdm.store import Store
from phta.execution.circe import CirceRequest, CirceResult, execute_circe
from phta.execution.request import LOCAL_CUSTODIAN_QUALITY, ExecutionContext
from phta.query.circe.importer import CirceImportError, import_expression  # noqa: F401 (re-exported for tests)
from tests.components import REFERENCE_DIR, require_reference

FIXTURES = REFERENCE_DIR / "circe-be-tests"


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


def run(store: Store, expression: dict | str) -> CirceResult:
    cohort = import_expression(expression)
    request = CirceRequest(cohort, LOCAL_CUSTODIAN_QUALITY, store, "circe-test")
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
