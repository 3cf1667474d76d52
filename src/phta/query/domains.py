"""Where each OMOP domain's events live: table and the columns the cohort language reads.

One table of facts, shared by the compilers and the reference engine, so they read the same
columns. Column names come from the OMOP CDM v5.4 specification, never from users.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    name: str
    table: str
    id: str
    concept: str
    start: str
    end: str | None
    value: str | None = None
    unit: str | None = None


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain("condition", "condition_occurrence", "condition_occurrence_id", "condition_concept_id",
               "condition_start_date", "condition_end_date"),
        Domain("drug", "drug_exposure", "drug_exposure_id", "drug_concept_id",
               "drug_exposure_start_date", "drug_exposure_end_date"),
        Domain("procedure", "procedure_occurrence", "procedure_occurrence_id", "procedure_concept_id",
               "procedure_date", "procedure_end_date"),
        Domain("measurement", "measurement", "measurement_id", "measurement_concept_id",
               "measurement_date", None, "value_as_number", "unit_concept_id"),
        Domain("observation", "observation", "observation_id", "observation_concept_id",
               "observation_date", None, "value_as_number", "unit_concept_id"),
        Domain("visit", "visit_occurrence", "visit_occurrence_id", "visit_concept_id",
               "visit_start_date", "visit_end_date"),
        Domain("device", "device_exposure", "device_exposure_id", "device_concept_id",
               "device_exposure_start_date", "device_exposure_end_date"),
    )
}
