"""The library's records in other vocabularies: DCAT-AP 3 (with HealthDCAT-AP fields) and
schema.org ``Dataset``, both JSON-LD; and HDR UK JSON import.

Only metadata goes out: the population size is the record's, which profiling filled from a
protected count (``phta.catalogue.profiling``), never a raw one.
"""

from __future__ import annotations

import json

from phta.catalogue.library import Dataset
from phta.catalogue.records import RecordInvalid, get, validate

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "dcatap": "http://data.europa.eu/r5r/",
}


def _url(base: str, item: Dataset) -> str:
    return f"{base.rstrip('/')}/library/datasets/{item.id}"


def _date(value) -> str | None:
    return str(value)[:10] if value else None


def dcat(item: Dataset, base: str) -> dict:
    """DCAT-AP 3 ``dcat:Dataset`` with the HealthDCAT-AP properties the HDR UK record can fill
    (population coverage, number of unique individuals, health categories, analytics links)."""
    r = item.record
    url = _url(base, item)
    size = get(r, "summary.populationSize")
    out: dict = {
        "@context": DCAT_CONTEXT,
        "@id": url,
        "@type": "dcat:Dataset",
        "dct:identifier": str(r.get("identifier") or item.id),
        "dct:title": {"@value": item.title, "@language": "en"},
        "dct:description": {"@value": get(r, "summary.abstract"), "@language": "en"},
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": get(r, "summary.dataCustodian.name")},
        "dcat:contactPoint": {"@type": "vcard:Kind", "vcard:hasEmail": f"mailto:{get(r, 'summary.contactPoint')}"},
        "dcat:keyword": list(get(r, "summary.keywords") or []),
        "dct:issued": {"@value": _date(r.get("issued")), "@type": "xsd:date"},
        "dct:modified": {"@value": _date(r.get("modified")), "@type": "xsd:date"},
        "owl:versionInfo": r.get("version"),
        "dct:spatial": {"@type": "dct:Location", "skos:prefLabel": get(r, "coverage.spatial")},
        "dct:temporal": {"@type": "dct:PeriodOfTime",
                         "dcat:startDate": {"@value": _date(get(r, "provenance.temporal.startDate")), "@type": "xsd:date"},
                         "dcat:endDate": {"@value": _date(get(r, "provenance.temporal.endDate")), "@type": "xsd:date"}},
        "dct:accrualPeriodicity": get(r, "provenance.temporal.publishingFrequency"),
        "dct:accessRights": get(r, "accessibility.access.accessRights"),
        "dct:conformsTo": [{"@type": "dct:Standard", "dct:title": s}
                           for s in get(r, "accessibility.formatAndStandards.conformsTo") or []],
        "dcat:landingPage": {"@id": url},
        "dcat:theme": [t["name"] for t in get(r, "provenance.origin.datasetType") or []],
        "healthdcatap:healthCategory": [t["name"] for t in get(r, "provenance.origin.datasetType") or []],
        "healthdcatap:populationCoverage": get(r, "coverage.spatial"),
        "healthdcatap:hdab": {"@type": "foaf:Agent", "foaf:name": get(r, "accessibility.access.dataController")
                              or get(r, "summary.dataCustodian.name")},
        "healthdcatap:analytics": {"@id": f"{url}/quality"},
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dct:title": "Access through the PHTA trusted research environment",
            "dcat:accessURL": {"@id": f"{base.rstrip('/')}/projects/new?dataset={item.id}"},
            "dct:format": fmt,
        } for fmt in get(r, "accessibility.formatAndStandards.format") or ["application/vnd.duckdb"]][:1],
    }
    out["@context"] = DCAT_CONTEXT | {"owl": "http://www.w3.org/2002/07/owl#",
                                      "skos": "http://www.w3.org/2004/02/skos/core#"}
    if isinstance(size, int) and size >= 0:
        out["healthdcatap:numberOfUniqueIndividuals"] = {"@value": size, "@type": "xsd:nonNegativeInteger"}
    return _drop_empty(out)


def schema_org(item: Dataset, base: str) -> dict:
    """schema.org ``Dataset`` (what search engines and Google Dataset Search read)."""
    r = item.record
    start = _date(get(r, "provenance.temporal.startDate"))
    end = _date(get(r, "provenance.temporal.endDate"))
    return _drop_empty({
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": _url(base, item),
        "url": _url(base, item),
        "identifier": str(r.get("identifier") or item.id),
        "name": item.title,
        "description": get(r, "summary.abstract"),
        "keywords": list(get(r, "summary.keywords") or []),
        "version": r.get("version"),
        "dateModified": _date(r.get("modified")),
        "creator": {"@type": "Organization", "name": get(r, "summary.dataCustodian.name")},
        "spatialCoverage": get(r, "coverage.spatial"),
        "temporalCoverage": f"{start}/{end or '..'}" if start else None,
        "isAccessibleForFree": False,
        "conditionsOfAccess": "Approved projects only, inside the PHTA trusted research environment",
        "measurementTechnique": list(get(r, "accessibility.formatAndStandards.conformsTo") or []),
    })


def _drop_empty(value):
    if isinstance(value, dict):
        kept = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {}) and v != {"@value": None, "@type": "xsd:date"}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def json_ld_script(document: dict) -> str:
    """JSON-LD safe to put inside ``<script type="application/ld+json">``: ``<``, ``>`` and ``&``
    are escaped as JSON unicode escapes, so record text cannot close the script element."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class RecordImportError(ValueError):
    pass


def parse_hdruk(body: bytes | str, *, source: str = "upload") -> dict:
    """An HDR UK JSON document (one record), parsed strictly and validated; errors name the
    source and the field."""
    try:
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordImportError(f"{source}: not JSON ({e})") from None
    if not isinstance(record, dict):
        raise RecordImportError(f"{source}: an HDR UK record is a JSON object")
    try:
        return validate(record)
    except RecordInvalid as e:
        raise RecordImportError(f"{source}: {e}") from None
