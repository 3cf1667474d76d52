"""Beacon v2 response documents (framework v2.0.0): informational endpoints, boolean and count
answers, filtering terms and errors. Each document validates against the GA4GH schemas
(tests/spec/test_beacon_schemas.py). No document carries record-level data."""

from __future__ import annotations

import datetime as dt

from phta import __version__
from phta.beacon.requests import SEX_TERMS, BeaconRequest, condition_terms
from phta.beacon.service import BeaconAnswer

API_VERSION = "v2.0.0"
BEACON_ID = "uk.nhs.phta.beacon"
NAME = "PHTA regional Beacon"
ORGANISATION = {"id": "PHTA", "name": "PHTA regional health-data platform"}
ENTRY_TYPES = {
    "genomicVariant": ("genomicVariation", "Genomic variants", "g_variants", "ga4gh-beacon-variant-v2.0.0",
                       "ENSGLOSSARY:0000092"),
    "individual": ("individual", "Individuals", "individuals", "ga4gh-beacon-individual-v2.0.0", "NCIT:C25190"),
}


def _schemas(entry: str) -> list[dict]:
    return [{"entityType": entry, "schema": ENTRY_TYPES[entry][3]}]


def informational_meta(entries=tuple(ENTRY_TYPES)) -> dict:
    return {"beaconId": BEACON_ID, "apiVersion": API_VERSION,
            "returnedSchemas": [s for e in entries for s in _schemas(e)]}


def info(base_url: str) -> dict:
    return {"meta": informational_meta(), "response": {
        "id": BEACON_ID, "name": NAME, "apiVersion": API_VERSION, "environment": "dev",
        "organization": ORGANISATION, "version": __version__, "welcomeUrl": base_url,
        "description": "An aggregating Beacon over the region's hospital nodes. The public get yes/no "
                       "answers only where a count reaches the disclosure threshold; signed-in users get "
                       "protected counts. Record-level data never leaves a node."}}


def service_info(base_url: str) -> dict:
    return {"id": BEACON_ID, "name": NAME, "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
            "organization": {"name": ORGANISATION["name"], "url": base_url}, "version": __version__,
            "environment": "dev", "description": "GA4GH Beacon v2 over the region's germline variants"}


def _entry_type(entry: str) -> dict:
    eid, name, _, schema, term = ENTRY_TYPES[entry]
    return {"id": eid, "name": name, "partOfSpecification": "Beacon v2.0.0",
            "ontologyTermForThisType": {"id": term},
            "defaultSchema": {"id": schema, "name": f"Default schema for {name.lower()}",
                              "referenceToSchemaDefinition": f"./{eid}/defaultSchema.json",
                              "schemaVersion": API_VERSION},
            "nonFilteredQueriesAllowed": False}


def entry_types() -> dict:
    return {"meta": informational_meta(),
            "response": {"entryTypes": {ENTRY_TYPES[e][0]: _entry_type(e) for e in ENTRY_TYPES}}}


def configuration() -> dict:
    return {"meta": informational_meta(), "response": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "maturityAttributes": {"productionStatus": "DEV"},
        "securityAttributes": {"defaultGranularity": "boolean", "securityLevels": ["PUBLIC", "REGISTERED"]},
        "entryTypes": {ENTRY_TYPES[e][0]: _entry_type(e) for e in ENTRY_TYPES}}}


def beacon_map(base_url: str) -> dict:
    sets = {}
    for eid, _, path, _, _ in ENTRY_TYPES.values():
        sets[eid] = {"entryType": eid, "rootUrl": f"{base_url}/{path}",
                     "openAPIEndpointsDefinition": f"{base_url}/openapi.json"}
    return {"meta": informational_meta(), "response": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "endpointSets": sets}}


def filtering_terms(present: set[str]) -> dict:
    """Only the terms ``present`` (found in at least a threshold's worth of persons)."""
    terms = [{"type": "ontologyTerm", "id": curie, "label": label, "scopes": ["individual", "genomicVariation"]}
             for curie, (label, _) in SEX_TERMS.items() if curie in present]
    terms += [{"type": "ontologyTerm", "id": curie, "label": name, "scopes": ["individual", "genomicVariation"]}
              for curie, (_, name) in sorted(condition_terms().items()) if curie in present]
    return {"meta": informational_meta(), "response": {
        "filteringTerms": terms,
        "resources": [{"id": "NCIT", "name": "NCI Thesaurus"},
                      {"id": "SNOMED", "name": "SNOMED CT"}]}}


def _request_summary(request: BeaconRequest | None, granularity: str) -> dict:
    summary: dict = {"apiVersion": API_VERSION, "requestedSchemas": [], "pagination": {"skip": 0, "limit": 0},
                     "requestedGranularity": granularity}
    if request is not None:
        summary["requestedGranularity"] = request.granularity
        if request.filters:
            summary["filters"] = list(request.filters)
        if request.parameters:
            # the framework's placeholder schema wants an object per parameter: echo {"value": ...}
            summary["requestParameters"] = {k: {"value": v} for k, v in request.parameters.items()}
    return summary


def answer_document(entry: str, request: BeaconRequest, result: BeaconAnswer) -> dict:
    meta = {"beaconId": BEACON_ID, "apiVersion": API_VERSION, "returnedSchemas": _schemas(entry),
            "returnedGranularity": result.granularity,
            "receivedRequestSummary": _request_summary(request, result.granularity)}
    summary: dict = {"exists": result.exists}
    if result.granularity == "count":
        summary["numTotalResults"] = result.count
    document: dict = {"meta": meta, "responseSummary": summary}
    info_part: dict = {"threshold": result.threshold,
                       "note": f"counts below {result.threshold} at a node are not shown: such a node counts as 0 "
                               "and a false answer does not mean the variant is absent"}
    if result.granularity == "count":
        info_part["sites"] = [{"name": s.name, "count": s.count, "tookPart": s.taken_part} for s in result.sites]
    document["info"] = info_part
    return document


def error_document(code: int, message: str, request: BeaconRequest | None = None) -> dict:
    return {"meta": {"beaconId": BEACON_ID, "apiVersion": API_VERSION, "returnedSchemas": [],
                     "returnedGranularity": "boolean",
                     "receivedRequestSummary": _request_summary(request, "boolean")},
            "error": {"errorCode": code, "errorMessage": message}}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
