"""FHIR R4 (UK Core) -> OMOP CDM v5.4: code systems, dates, concept lookup and event rows.

The OMOP table of a coded resource is chosen by the DOMAIN of the standard concept its code maps
to (``DOMAIN_TABLE``), not by the resource type: a SNOMED procedure recorded as a FHIR Condition
lands in ``procedure_occurrence``. Codes the store's vocabulary does not hold are kept with
concept_id 0 and their source value, in the resource type's default table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb

from phta.cdm.uk import EHR_TYPE_CONCEPT_ID

# FHIR code system URI -> OMOP vocabulary_id
SYSTEM_VOCABULARY = {
    "http://snomed.info/sct": "SNOMED",
    "http://loinc.org": "LOINC",
    "https://dmd.nhs.uk": "dm+d",
    "http://dmd.nhs.uk": "dm+d",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",
    "http://hl7.org/fhir/sid/icd-10-uk": "ICD10",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://unitsofmeasure.org": "UCUM",
}
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ETHNIC_CATEGORY_EXTENSION = "Extension-UKCore-EthnicCategory"  # the end of UK Core's URL

# Encounter.class (v3 ActCode) -> OMOP visit concept
VISIT_CONCEPT = {"IMP": 9201, "ACUTE": 9201, "NONAC": 9201, "AMB": 9202, "VR": 9202,
                 "EMER": 9203, "HH": 9202}

# Where each domain's rows go, and each table's column names.
DOMAIN_TABLE = {
    "Condition": "condition_occurrence", "Procedure": "procedure_occurrence",
    "Measurement": "measurement", "Observation": "observation", "Drug": "drug_exposure",
    "Device": "device_exposure",
}


@dataclass(frozen=True)
class EventColumns:
    id: str
    concept: str
    start_date: str
    start_datetime: str
    end_date: str | None
    type: str
    source_value: str
    source_concept: str


def _cols(table: str, stem: str, start: str, start_dt: str, end: str | None) -> EventColumns:
    return EventColumns(f"{table}_id", f"{stem}_concept_id", start, start_dt, end,
                        f"{stem}_type_concept_id", f"{stem}_source_value", f"{stem}_source_concept_id")


EVENT_COLUMNS = {
    "condition_occurrence": _cols("condition_occurrence", "condition", "condition_start_date",
                                  "condition_start_datetime", "condition_end_date"),
    "procedure_occurrence": _cols("procedure_occurrence", "procedure", "procedure_date",
                                  "procedure_datetime", "procedure_end_date"),
    "measurement": _cols("measurement", "measurement", "measurement_date", "measurement_datetime", None),
    "observation": _cols("observation", "observation", "observation_date", "observation_datetime", None),
    "drug_exposure": _cols("drug_exposure", "drug", "drug_exposure_start_date",
                           "drug_exposure_start_datetime", "drug_exposure_end_date"),
    "device_exposure": _cols("device_exposure", "device", "device_exposure_start_date",
                             "device_exposure_start_datetime", "device_exposure_end_date"),
}


class BadDate(ValueError):
    """A FHIR date or dateTime that names no real day."""


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_when(value: object) -> tuple[dt.date, dt.datetime | None]:
    """(date, datetime or None) of a FHIR date / dateTime; partial dates take the first day."""
    if not isinstance(value, str):
        raise BadDate("not a date")
    match = _DATE.match(value)
    try:
        if match:
            y, m, d = match.group(1), match.group(2) or "01", match.group(3) or "01"
            return dt.date(int(y), int(m), int(d)), None
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadDate("not a date") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp.date(), stamp


@dataclass(frozen=True)
class Mapped:
    source_concept_id: int
    concept_id: int
    domain: str | None


class ConceptLookup:
    """(vocabulary, code) -> source concept, the standard concept it maps to, and its domain,
    from the store's own vocabulary tables (embedded or Athena). Cached per code."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._cache: dict[tuple[str, str], Mapped | None] = {}

    def find(self, vocabulary: str, code: str) -> Mapped | None:
        key = (vocabulary, code)
        if key not in self._cache:
            rows = self.con.execute(
                """SELECT c.concept_id,
                          coalesce(s.concept_id, CASE WHEN c.standard_concept = 'S' THEN c.concept_id END),
                          coalesce(s.domain_id, c.domain_id)
                   FROM concept c
                   LEFT JOIN concept_relationship r
                     ON r.concept_id_1 = c.concept_id AND r.relationship_id = 'Maps to'
                    AND r.invalid_reason IS NULL
                   LEFT JOIN concept s ON s.concept_id = r.concept_id_2
                   WHERE c.vocabulary_id = ? AND c.concept_code = ?
                   ORDER BY s.concept_id NULLS LAST LIMIT 1""",
                [vocabulary, code],
            ).fetchall()
            row = rows[0] if rows else None
            self._cache[key] = Mapped(int(row[0]), int(row[1] or 0), row[2]) if row else None
        return self._cache[key]

    def code(self, concept: dict | None) -> tuple[Mapped | None, str | None, str | None]:
        """The first coding of a CodeableConcept that maps, else its first coding unmapped:
        (mapping or None, system, code)."""
        codings = [c for c in (concept or {}).get("coding") or [] if isinstance(c, dict)]
        for coding in codings:
            vocabulary = SYSTEM_VOCABULARY.get(str(coding.get("system", "")).rstrip("/"))
            if vocabulary and coding.get("code"):
                mapped = self.find(vocabulary, str(coding["code"]))
                if mapped is not None:
                    return mapped, coding.get("system"), str(coding["code"])
        if codings:
            return None, codings[0].get("system"), codings[0].get("code")
        return None, None, None


def event_row(table: str, *, row_id: int, person_id: int, visit_id: int | None, mapped: Mapped | None,
              code: str | None, start: tuple[dt.date, dt.datetime | None],
              end: dt.date | None) -> dict:
    cols = EVENT_COLUMNS[table]
    row = {
        cols.id: row_id, "person_id": person_id,
        cols.concept: mapped.concept_id if mapped else 0,
        cols.start_date: start[0], cols.start_datetime: start[1],
        cols.type: EHR_TYPE_CONCEPT_ID, "visit_occurrence_id": visit_id,
        cols.source_value: (code or "")[:50] or None,
        cols.source_concept: mapped.source_concept_id if mapped else 0,
    }
    if cols.end_date:
        row[cols.end_date] = end if end is not None else (start[0] if table == "drug_exposure" else None)
    return row


_CODE_SHAPE = re.compile(r"^[A-Za-z0-9.\-_:/\[\]{}%^*+#|]{1,64}$")
NOT_SHOWN = "(not shown: not shaped like a code)"


def shown_code(value: object) -> str:
    """A code or system URI as the load report may list it. Codes are vocabulary, not patient
    data, but a careless export can put free text (a name, a note) where a code belongs, so
    anything not shaped like a code (spaces, over 64 characters, other characters) is withheld."""
    if value is None or value == "":
        return "(none)"
    text = str(value)
    return text if _CODE_SHAPE.match(text) else NOT_SHOWN


def is_entered_in_error(resource: dict) -> bool:
    if resource.get("status") == "entered-in-error":
        return True
    status = resource.get("verificationStatus") or {}
    return any(c.get("code") == "entered-in-error" for c in status.get("coding") or [] if isinstance(c, dict))
