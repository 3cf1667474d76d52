"""Dataset records in the HDR UK metadata schema v4.0.0: a new record, validation, completeness.

The schema file (``hdruk_metadata_4.0.0.schema.json``) is HDR UK's published JSON Schema, shipped
with the package because every write validates against it (an import, a custodian's edit, a
profile). Validation errors name the field by its JSON path (``summary.title``), so a bad upload
or form says where it is wrong.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).with_name("hdruk_metadata_4.0.0.schema.json")
SCHEMA_VERSION = "4.0.0"

#: the sections a record has, in the schema's order (and the dataset page's)
SECTIONS = ("summary", "documentation", "coverage", "provenance", "accessibility",
            "enrichmentAndLinkage", "observations", "structuralMetadata")

#: fields that make a record useful to a researcher; completeness is the share filled in
COMPLETENESS_FIELDS = (
    "summary.title", "summary.abstract", "summary.dataCustodian.name", "summary.contactPoint",
    "summary.keywords", "summary.populationSize", "summary.doiName",
    "documentation.description", "documentation.associatedMedia",
    "coverage.spatial", "coverage.typicalAgeRangeMin", "coverage.typicalAgeRangeMax",
    "coverage.followUp", "coverage.pathway", "coverage.materialType",
    "provenance.origin.purpose", "provenance.origin.datasetType", "provenance.origin.source",
    "provenance.origin.collectionSource", "provenance.temporal.publishingFrequency",
    "provenance.temporal.startDate", "provenance.temporal.endDate", "provenance.temporal.timeLag",
    "accessibility.usage.dataUseLimitation", "accessibility.usage.dataUseRequirements",
    "accessibility.access.accessRights", "accessibility.access.accessServiceCategory",
    "accessibility.access.accessService", "accessibility.access.deliveryLeadTime",
    "accessibility.access.jurisdiction", "accessibility.access.dataController",
    "accessibility.formatAndStandards.vocabularyEncodingScheme",
    "accessibility.formatAndStandards.conformsTo", "accessibility.formatAndStandards.format",
    "enrichmentAndLinkage.linkableDatasets", "enrichmentAndLinkage.publicationAboutDataset",
    "observations", "structuralMetadata.tables",
)


class RecordInvalid(ValueError):
    """The record does not validate; ``errors`` are ``"path: message"`` lines, first ones first."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = "; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
        super().__init__(f"the dataset record does not follow the HDR UK metadata schema {SCHEMA_VERSION}: {shown}")


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(record)"


def validation_errors(record: object) -> list[str]:
    """Every schema violation as ``"field.path: message"`` (values are not repeated in full:
    jsonschema's messages quote the value, so they are cut short)."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_path(e)}: {_short(e.message)}" for e in errors]


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def validate(record: object) -> dict:
    errors = validation_errors(record)
    if errors:
        raise RecordInvalid(errors)
    assert isinstance(record, dict)
    return record


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def new_record(*, title: str, abstract: str, custodian: str, contact: str, description: str | None = None,
               keywords: tuple[str, ...] = (), spatial: str = "West Midlands, United Kingdom",
               population_size: int = -1, start_date: str | None = None, end_date: str | None = None,
               access_service: str = "TRE/SDE", dataset_types: tuple[str, ...] = ("Health and disease",),
               conforms_to: tuple[str, ...] = ("OMOP",),
               vocabularies: tuple[str, ...] = ("SNOMED CT", "ICD10", "LOINC", "DM+D"),
               ) -> dict:
    """A minimal valid record; profiling and the custodian's form fill in the rest.
    ``population_size`` -1 is HDR UK's "not known"."""
    now = _now_iso()
    record = {
        "identifier": str(uuid.uuid4()),
        "version": "1.0.0",
        "revisions": [],
        "issued": now,
        "modified": now,
        "summary": {
            "title": title, "abstract": abstract,
            "dataCustodian": {"identifier": _organisation_id(custodian), "name": custodian, "contactPoint": contact},
            "populationSize": population_size, "keywords": list(keywords) or None, "contactPoint": contact,
        },
        "documentation": {"description": description or abstract},
        "coverage": {"spatial": spatial},
        "provenance": {
            "origin": {"datasetType": [{"name": t, "subTypes": []} for t in dataset_types]},
            "temporal": {"publishingFrequency": "Irregular", "startDate": start_date or now[:10],
                         "endDate": end_date, "timeLag": "Not applicable"},
        },
        "accessibility": {
            "access": {"accessRights": "https://phta.example/library", "accessServiceCategory": access_service},
            "formatAndStandards": {"vocabularyEncodingScheme": list(vocabularies), "conformsTo": list(conforms_to),
                                   "language": ["en"], "format": ["application/vnd.duckdb"]},
        },
        "observations": [],
        "structuralMetadata": None,
    }
    return validate(record)


def _organisation_id(name: str) -> str:
    """A stable identifier for an organisation without a ROR id: a UUID derived from its name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"phta:organisation:{name}"))


def get(record: dict, path: str):
    value: object = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _filled(value: object) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    return not (isinstance(value, int) and not isinstance(value, bool) and value < 0)


def completeness(record: dict) -> int:
    """The percentage (0..100) of :data:`COMPLETENESS_FIELDS` filled in (-1 counts as empty)."""
    filled = sum(_filled(get(record, f)) for f in COMPLETENESS_FIELDS)
    return round(100 * filled / len(COMPLETENESS_FIELDS))


def missing_fields(record: dict) -> list[str]:
    return [f for f in COMPLETENESS_FIELDS if not _filled(get(record, f))]
