"""Benchmark: ``phta load fhir`` and ``phta load vocabulary`` against DuckDB's own readers of the
same files in the same run (the parse floor).

1. FHIR: a synthetic region (``phta.cdm.synth``) is written out as a FHIR R4 bulk export (Patient,
   Encounter, Condition, Observation, MedicationRequest NDJSON, with valid NHS numbers from the
   reserved test range), then loaded with ``load_fhir``; the floor is DuckDB's ``read_json`` of
   the same files into tables. Target: within 3x of the floor (resources per second).
2. Athena: a synthetic Athena download (tab-separated, YYYYMMDD, no quoting) of ``--concepts``
   concepts with 4 ancestor rows and 2 relationship rows each, loaded with ``load_athena``; the
   floor is DuckDB's ``read_csv`` of the same files into tables. Target: within 2x.

Run by hand: ``.venv/bin/python bench/ingest.py --patients 5000 --concepts 500000``.
Prints machine, date, timings and ratios; copy them into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from phta.cdm.ingest.fhir import load_fhir
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.cdm.synth.generate import generate
from phta.cdm.vocabulary import load_into
from phta.cdm.vocabulary.athena import load_athena

KEY = b"b" * 32
SYSTEM = """CASE c.vocabulary_id WHEN 'SNOMED' THEN 'http://snomed.info/sct' WHEN 'LOINC' THEN 'http://loinc.org'
    WHEN 'dm+d' THEN 'https://dmd.nhs.uk' WHEN 'ICD10' THEN 'http://hl7.org/fhir/sid/icd-10'
    WHEN 'RxNorm' THEN 'http://www.nlm.nih.gov/research/umls/rxnorm' ELSE 'urn:phta:' || c.vocabulary_id END"""


def _coded(table: str, concept: str) -> str:
    return f"{table} t JOIN concept c ON c.concept_id = t.{concept}"


def write_export(store: Store, out: Path) -> dict[str, int]:
    """A FHIR bulk export of the store's persons, visits, conditions, measurements and drugs."""
    out.mkdir(parents=True, exist_ok=True)
    con = store.connect(read_only=True)
    persons = con.execute("SELECT person_id FROM person ORDER BY person_id").fetchall()
    numbers = reserved_range_nhs_numbers(len(persons))
    con.register("nhs", pa.table({"person_id": [p for (p,) in persons], "nhs": [str(n) for n in numbers]}))
    queries = {
        "Patient": """SELECT 'Patient' AS resourceType, 'p' || p.person_id AS id,
            [{'system': 'https://fhir.nhs.uk/Id/nhs-number', 'value': n.nhs}] AS identifier,
            CASE p.gender_concept_id WHEN 8507 THEN 'male' WHEN 8532 THEN 'female' ELSE 'unknown' END AS gender,
            printf('%04d-%02d-%02d', p.year_of_birth, coalesce(p.month_of_birth, 1), coalesce(p.day_of_birth, 1))
              AS birthDate
            FROM person p JOIN nhs n USING (person_id)""",
        "Encounter": """SELECT 'Encounter' AS resourceType, 'e' || visit_occurrence_id AS id, 'finished' AS status,
            {'code': CASE visit_concept_id WHEN 9201 THEN 'IMP' WHEN 9203 THEN 'EMER' ELSE 'AMB' END} AS class,
            {'reference': 'Patient/p' || person_id} AS subject,
            {'start': strftime(visit_start_date, '%Y-%m-%d'), 'end': strftime(visit_end_date, '%Y-%m-%d')} AS period
            FROM visit_occurrence""",
        "Condition": f"""SELECT 'Condition' AS resourceType, 'c' || condition_occurrence_id AS id,
            {{'reference': 'Patient/p' || person_id}} AS subject,
            {{'coding': [{{'system': {SYSTEM}, 'code': c.concept_code}}]}} AS code,
            strftime(condition_start_date, '%Y-%m-%d') AS onsetDateTime
            FROM {_coded('condition_occurrence', 'condition_concept_id')}""",
        "Observation": f"""SELECT 'Observation' AS resourceType, 'o' || measurement_id AS id, 'final' AS status,
            {{'reference': 'Patient/p' || person_id}} AS subject,
            {{'coding': [{{'system': {SYSTEM}, 'code': c.concept_code}}]}} AS code,
            strftime(measurement_date, '%Y-%m-%d') AS effectiveDateTime,
            {{'value': coalesce(value_as_number, 0), 'system': 'http://unitsofmeasure.org',
              'code': coalesce(unit_source_value, '1')}} AS valueQuantity
            FROM {_coded('measurement', 'measurement_concept_id')}""",
        "MedicationRequest": f"""SELECT 'MedicationRequest' AS resourceType, 'm' || drug_exposure_id AS id,
            'completed' AS status, 'order' AS intent, {{'reference': 'Patient/p' || person_id}} AS subject,
            {{'coding': [{{'system': {SYSTEM}, 'code': c.concept_code}}]}} AS medicationCodeableConcept,
            strftime(drug_exposure_start_date, '%Y-%m-%d') AS authoredOn
            FROM {_coded('drug_exposure', 'drug_concept_id')}""",
    }
    counts = {}
    for kind, sql in queries.items():
        path = out / f"{kind}.ndjson"
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT JSON)")
        counts[kind] = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    con.close()
    return counts


def fhir_floor(export: Path) -> float:
    con = duckdb.connect()
    start = time.perf_counter()
    for path in sorted(export.glob("*.ndjson")):
        con.execute(f"CREATE TABLE \"{path.stem}\" AS SELECT * FROM read_json('{path}', format='newline_delimited')")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def validation_only(export: Path) -> float:
    """Only the FHIR R4 model validation (fhir.resources) of every line: the part of the load that
    the brief fixes (a validator written in Python), to show where the time goes."""
    from fhir.resources.R4B import get_fhir_model_class

    start = time.perf_counter()
    for path in sorted(export.glob("*.ndjson")):
        model = get_fhir_model_class(path.stem)
        with path.open("rb") as fh:
            for line in fh:
                model.model_validate_json(line)
    return time.perf_counter() - start


def write_athena(out: Path, concepts: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    opts = "(HEADER, DELIMITER '\t', QUOTE '', ESCAPE '')"
    files = {
        "CONCEPT": f"""SELECT i AS concept_id, 'Concept "' || i || '" name' AS concept_name,
            ['Condition','Drug','Measurement','Procedure'][1 + i % 4] AS domain_id, 'SNOMED' AS vocabulary_id,
            'Clinical Finding' AS concept_class_id, CASE WHEN i % 3 = 0 THEN '' ELSE 'S' END AS standard_concept,
            CAST(100000 + i AS VARCHAR) AS concept_code, '19700101' AS valid_start_date,
            '20991231' AS valid_end_date, '' AS invalid_reason FROM range(1, {concepts} + 1) t(i)""",
        "CONCEPT_ANCESTOR": f"""SELECT greatest(1, i // (k + 2)) AS ancestor_concept_id, i AS descendant_concept_id,
            k AS min_levels_of_separation, k AS max_levels_of_separation
            FROM range(1, {concepts} + 1) t(i), range(0, 4) u(k)""",
        "CONCEPT_RELATIONSHIP": f"""SELECT i AS concept_id_1, CASE WHEN r = 0 THEN i ELSE greatest(1, i // 2) END
            AS concept_id_2, CASE WHEN r = 0 THEN 'Maps to' ELSE 'Is a' END AS relationship_id,
            '19700101' AS valid_start_date, '20991231' AS valid_end_date, '' AS invalid_reason
            FROM range(1, {concepts} + 1) t(i), range(0, 2) u(r)""",
        "VOCABULARY": """SELECT * FROM (VALUES ('None', 'OMOP Standardized Vocabularies', 'bench', 'v5.0 BENCH', 44819096),
            ('SNOMED', 'SNOMED', 'bench', '2026-01', 44819097)) v(vocabulary_id, vocabulary_name,
            vocabulary_reference, vocabulary_version, vocabulary_concept_id)""",
    }
    rows = 0
    for name, sql in files.items():
        con.execute(f"COPY ({sql}) TO '{out / (name + '.csv')}' {opts}")
        rows += con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    con.close()
    return rows


def athena_floor(folder: Path) -> float:
    con = duckdb.connect(str(folder / "floor.duckdb"))
    start = time.perf_counter()
    for path in sorted(folder.glob("*.csv")):
        con.execute(f"CREATE TABLE \"{path.stem}\" AS SELECT * FROM read_csv('{path}', delim='\t', quote='', "
                    "header=true)")
    con.execute("CHECKPOINT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--concepts", type=int, default=500_000)
    args = parser.parse_args()
    print(f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, DuckDB {duckdb.__version__}; date {dt.date.today()}")
    with tempfile.TemporaryDirectory(prefix="phta-bench-ingest-") as tmp:
        work = Path(tmp)
        region = generate(work / "region", patients=args.patients, sites=1, seed=1, key=KEY)
        counts = write_export(Store.open(region.store_path(region.sites[0])), work / "export")
        resources = sum(counts.values())
        floor = fhir_floor(work / "export")
        store = Store.create(work / "fhir-store")
        load_into(store)
        start = time.perf_counter()
        report = load_fhir(work / "export", store.path, pseudonymiser=Pseudonymiser(KEY))
        ours = time.perf_counter() - start
        assert report.reconciled and report.rows_read == resources
        validating = validation_only(work / "export")
        print(f"FHIR: {args.patients:,} patients, {resources:,} resources ({counts}); "
              f"quarantined {report.rows_quarantined:,}")
        print(f"  load_fhir {ours:.1f} s = {resources / ours:,.0f} resources/s; "
              f"DuckDB read_json {floor:.2f} s = {resources / floor:,.0f} resources/s; ratio {ours / floor:.1f}x")
        print(f"  fhir.resources validation alone {validating:.1f} s = {resources / validating:,.0f} resources/s "
              f"({validating / ours:.0%} of the load)")

        rows = write_athena(work / "athena", args.concepts)
        floor = athena_floor(work / "athena")
        target = Store.create(work / "vocab-store")
        start = time.perf_counter()
        load_athena(work / "athena", target)
        ours = time.perf_counter() - start
        print(f"Athena: {args.concepts:,} concepts, {rows:,} rows")
        print(f"  load_athena {ours:.1f} s = {rows / ours:,.0f} rows/s; "
              f"DuckDB read_csv {floor:.1f} s = {rows / floor:,.0f} rows/s; ratio {ours / floor:.1f}x")


if __name__ == "__main__":
    main()
