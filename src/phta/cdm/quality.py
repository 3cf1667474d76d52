"""Data-quality checks of a node store: the OHDSI Data Quality Dashboard's check types that apply
to OMOP CDM v5.4, plus UK coverage checks; results stored in the store per run and trended.

Why here, in ``cdm``, and not through the execution path: the checks are the custodian's own
assurance of their own store, run on the node by the person who loaded it (``phta quality check
--store S``, as ``phta load`` and ``phta store info`` are). They are fixed SQL over the store,
written here, never a user's query; their output is counts of rows and an explanation, never a
row. Counts shown beyond the custodian go through disclosure control (``phta.catalogue.stores``).

Each check: DQD check name, category (conformance, completeness, plausibility), table and field,
a threshold (the percentage of rows allowed to fail), failing and total row counts, pass or fail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from phta.cdm import schema, uk
from phta.cdm.store import Store

EVENT_TABLES = {  # table -> (its main concept field, its start date field, the concept's domain)
    "condition_occurrence": ("condition_concept_id", "condition_start_date", "Condition"),
    "drug_exposure": ("drug_concept_id", "drug_exposure_start_date", "Drug"),
    "procedure_occurrence": ("procedure_concept_id", "procedure_date", "Procedure"),
    "measurement": ("measurement_concept_id", "measurement_date", "Measurement"),
    "observation": ("observation_concept_id", "observation_date", "Observation"),
    "visit_occurrence": ("visit_concept_id", "visit_start_date", "Visit"),
    "device_exposure": ("device_concept_id", "device_exposure_start_date", "Device"),
}
#: plausible measurement values by UCUM unit code (DQD's plausibleValueLow/High, per unit), with
#: OHDSI's concept id of the unit for a store without a concept table
UNIT_RANGES = {"mm[Hg]": (8876, 0, 300), "kg": (9529, 0, 500), "cm": (8582, 0, 300), "kg/m2": (9531, 5, 150),
               "mmol/L": (8753, 0, 200), "%": (8554, 0, 100), "mmol/mol": (8723, 0, 250),
               "mL/min/{1.73_m2}": (8795, 0, 250), "mg/dL": (8840, 0, 3000), "/min": (8483, 0, 350)}


@dataclass(frozen=True)
class Check:
    name: str
    category: str
    table: str
    field: str | None
    threshold: float  # percent of rows allowed to fail
    explanation: str
    failing: str  # SQL: SELECT count(*) of failing rows
    total: str  # SQL: SELECT count(*) of rows checked


@dataclass(frozen=True)
class CheckResult:
    name: str
    category: str
    table: str
    field: str | None
    threshold: float
    explanation: str
    failing_rows: int
    total_rows: int

    @property
    def percent(self) -> float:
        return 100.0 * self.failing_rows / self.total_rows if self.total_rows else 0.0

    @property
    def passed(self) -> bool:
        return self.percent <= self.threshold

    def as_dict(self) -> dict:
        return asdict(self) | {"percent": round(self.percent, 4), "passed": self.passed}


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def checks_for(present: set[str]) -> list[Check]:
    """Every check that applies to the tables the store holds."""
    out: list[Check] = []
    spec = schema.tables()
    for name in sorted(present & set(spec)):
        table = spec[name]
        count = f"SELECT count(*) FROM {name}"
        pk = table.primary_key
        if pk is not None:
            out.append(Check("isPrimaryKey", "conformance", name, pk.name, 0,
                             f"{name}.{pk.name} values that occur on more than one row (each extra row counts)",
                             f"SELECT count(*) - count(DISTINCT {pk.name}) FROM {name}", count))
        for f in table.fields:
            if f.required:
                out.append(Check("isRequired", "conformance", name, f.name, 0,
                                 f"rows of {name} with no {f.name} (a required field)",
                                 f"SELECT count(*) FROM {name} WHERE {f.name} IS NULL", count))
        if "person_id" in table.field_names and name != "person" and "person" in present:
            out.append(Check("isForeignKey", "conformance", name, "person_id", 0,
                             f"rows of {name} whose person_id is not a person of the store",
                             f"SELECT count(*) FROM {name} t WHERE NOT EXISTS "
                             f"(SELECT 1 FROM person p WHERE p.person_id = t.person_id)", count))
    for name, (concept, date, domain) in EVENT_TABLES.items():
        if name not in present:
            continue
        count = f"SELECT count(*) FROM {name}"
        out.append(Check("standardConceptRecordCompleteness", "completeness", name, concept, 5,
                         f"rows of {name} whose {concept} is 0 (no standard concept: an unmapped code)",
                         f"SELECT count(*) FROM {name} WHERE {concept} = 0", count))
        if "concept" in present:
            out.append(Check("fkDomain", "conformance", name, concept, 0,
                             f"rows of {name} whose {concept} is a concept of another domain than {domain}",
                             f"SELECT count(*) FROM {name} t JOIN concept c ON c.concept_id = t.{concept} "
                             f"WHERE t.{concept} <> 0 AND c.domain_id <> '{domain}'", count))
            out.append(Check("isStandardValidConcept", "conformance", name, concept, 0,
                             f"rows of {name} whose {concept} is not a standard concept",
                             f"SELECT count(*) FROM {name} t JOIN concept c ON c.concept_id = t.{concept} "
                             f"WHERE t.{concept} <> 0 AND coalesce(c.standard_concept, '') <> 'S'", count))
        out.append(Check("plausibleStartDate", "plausibility", name, date, 1,
                         f"rows of {name} dated before 1900 or in the future",
                         f"SELECT count(*) FROM {name} WHERE {date} < DATE '1900-01-01' OR {date} > current_date", count))
        if "person" in present:
            out.append(Check("plausibleAfterBirth", "plausibility", name, date, 1,
                             f"rows of {name} dated before the person's year of birth",
                             f"SELECT count(*) FROM {name} t JOIN person p USING (person_id) "
                             f"WHERE year(t.{date}) < p.year_of_birth", count))
        if "death" in present:
            out.append(Check("plausibleBeforeDeath", "plausibility", name, date, 1,
                             f"rows of {name} dated more than 60 days after the person's death",
                             f"SELECT count(*) FROM {name} t JOIN death d USING (person_id) "
                             f"WHERE t.{date} > d.death_date + INTERVAL 60 DAY", count))
        if "observation_period" in present:
            out.append(Check("withinObservationPeriod", "plausibility", name, date, 5,
                             f"rows of {name} dated outside every observation period of the person",
                             f"SELECT count(*) FROM {name} t WHERE NOT EXISTS (SELECT 1 FROM observation_period o "
                             f"WHERE o.person_id = t.person_id AND t.{date} BETWEEN "
                             f"o.observation_period_start_date AND o.observation_period_end_date)", count))
    if "measurement" in present:
        for label, (ohdsi_id, low, high) in UNIT_RANGES.items():
            unit = (f"(SELECT concept_id FROM concept WHERE vocabulary_id = 'UCUM' AND concept_code = '{label}')"
                    if "concept" in present else f"({ohdsi_id})")
            where = f"unit_concept_id IN {unit} AND value_as_number IS NOT NULL"
            out.append(Check("plausibleUnitValueRange", "plausibility", "measurement", "value_as_number", 1,
                             f"measurements in {label} outside {low}-{high}",
                             f"SELECT count(*) FROM measurement WHERE {where} AND "
                             f"(value_as_number < {low} OR value_as_number > {high})",
                             f"SELECT count(*) FROM measurement WHERE {where}"))
    if "person" in present:
        persons = "SELECT count(*) FROM person"
        out.append(Check("ukEthnicCategoryCoverage", "completeness", "person", "race_source_value", 10,
                         "persons with no NHS ethnic category, or 'Z' (not stated)",
                         "SELECT count(*) FROM person WHERE race_source_value IS NULL OR race_source_value IN ('', 'Z')",
                         persons))
        if "observation" in present:
            out.append(Check("ukImdCoverage", "completeness", "person", "IMD quintile", 10,
                             "persons with no IMD quintile observation",
                             f"SELECT count(*) FROM person p WHERE NOT EXISTS (SELECT 1 FROM observation o WHERE "
                             f"o.person_id = p.person_id AND o.observation_concept_id = {uk.IMD_QUINTILE_CONCEPT_ID})",
                             persons))
    if "drug_exposure" in present and "concept" in present:
        out.append(Check("ukDmdCoverage", "completeness", "drug_exposure", "drug_source_concept_id", 10,
                         "prescriptions not coded in dm+d",
                         "SELECT count(*) FROM drug_exposure t WHERE NOT EXISTS (SELECT 1 FROM concept c WHERE "
                         "c.concept_id = t.drug_source_concept_id AND c.vocabulary_id IN ('dm+d', 'dmd', 'DM+D'))",
                         "SELECT count(*) FROM drug_exposure"))
    return out


def run_checks(store: Store) -> list[CheckResult]:
    with store.connect(read_only=True) as con:
        present = _tables(con)
        results = []
        for c in checks_for(present):
            failing = con.execute(c.failing).fetchone()[0]
            total = con.execute(c.total).fetchone()[0]
            results.append(CheckResult(c.name, c.category, c.table, c.field, c.threshold, c.explanation,
                                       int(failing or 0), int(total or 0)))
    return results


RESULTS_DDL = """CREATE TABLE IF NOT EXISTS phta_quality_run (
    run_id INTEGER PRIMARY KEY, load_id INTEGER, ran_at TIMESTAMP NOT NULL, results JSON NOT NULL)"""


def record_run(store: Store, results: list[CheckResult]) -> int:
    """Store the run beside the store's data, tied to its latest load; returns the run id."""
    history = store.load_history()
    load_id = history[-1]["load_id"] if history else None
    with store.connect() as con:
        con.execute(RESULTS_DDL)
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM phta_quality_run").fetchone()[0]
        con.execute("INSERT INTO phta_quality_run VALUES ($1, $2, $3, $4)",
                    [run_id, load_id, datetime.now(UTC).replace(tzinfo=None),
                     json.dumps([r.as_dict() for r in results])])
    return run_id


def runs(store: Store) -> list[dict]:
    """Every recorded run, oldest first: the trend."""
    with store.connect(read_only=True) as con:
        if "phta_quality_run" not in _tables(con):
            return []
        rows = con.execute("SELECT run_id, load_id, ran_at, results FROM phta_quality_run ORDER BY run_id").fetchall()
    return [{"run_id": r[0], "load_id": r[1], "ran_at": r[2].isoformat(), "results": json.loads(r[3])} for r in rows]
