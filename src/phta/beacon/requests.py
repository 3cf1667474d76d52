"""Beacon v2 requests (GET query strings or POST bodies) turned into PHTA's cohort IR.

Coordinates: Beacon v2 positions are 0-based and ranges half-open (``start`` inclusive, ``end``
exclusive); PHTA's ``variant`` table is a normalised VCF, 1-based. So a sequence query at
``start`` s is the allele at VCF ``pos`` s + 1; a range query [s, e) matches a variant whose
first base (``pos``) is at or before e and whose last base (``pos + len(ref) - 1``) is at or after
s + 1; a bracket query (``start`` [s1, s2], ``end`` [e1, e2]) bounds the variant's 0-based start
(``pos - 1``) to [s1, s2] and its 0-based exclusive end (``pos - 1 + len(ref)``) to [e1, e2].

Filters (``/individuals`` and ``/g_variants``): sex as NCIT CURIEs, conditions as ``SNOMED:<code>``
from the embedded vocabulary's standard conditions or ``OMOP:<concept_id>``. Every mistake raises
:class:`BeaconRequestError` naming the parameter; nothing here touches patient data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from phta.query import ir
from phta.query.nodes import IRError
from phta.query.simple_cohort import conditions

ASSEMBLIES = ("GRCh38", "hg38")
SEX_TERMS = {"NCIT:C16576": ("female", "female"), "NCIT:C20197": ("male", "male")}
GRANULARITIES = ("boolean", "count", "record")
_INT = re.compile(r"-?[0-9]{1,10}")
_BASES = re.compile(r"[ACGTN]{1,1000}")
_CURIE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,30}:[A-Za-z0-9_.-]{1,40}")
VARIANT_PARAMETERS = ("referenceName", "start", "end", "referenceBases", "alternateBases", "geneId",
                      "assemblyId", "variantType")
_MAX_FILTERS = 10


class BeaconRequestError(ValueError):
    """A request Beacon cannot answer as asked (HTTP 400); the message names the parameter."""


@dataclass(frozen=True)
class BeaconRequest:
    parameters: dict  # the request parameters as received (echoed in the request summary)
    filters: tuple[str, ...]
    granularity: str


def from_get(query: Mapping[str, str]) -> BeaconRequest:
    """A GET request's query string: request parameters, ``filters`` comma-separated,
    ``requestedGranularity``; anything else is an unknown parameter."""
    known = {*VARIANT_PARAMETERS, "filters", "requestedGranularity", "skip", "limit", "testMode"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise BeaconRequestError(f"unknown parameter {unknown[0][:40]!r}")
    parameters = {k: query[k] for k in VARIANT_PARAMETERS if k in query}
    filters = tuple(f.strip() for f in query.get("filters", "").split(",") if f.strip())
    return BeaconRequest(parameters, filters, _granularity(query.get("requestedGranularity")))


def from_post(body: object) -> BeaconRequest:
    """A POST body: ``{"meta": {...}, "query": {"requestParameters": {...}, "filters": [...],
    "requestedGranularity": ...}}`` (Beacon v2's beaconRequestBody)."""
    if not isinstance(body, dict):
        raise BeaconRequestError("the request body must be a JSON object")
    query = body.get("query", {})
    if not isinstance(query, dict):
        raise BeaconRequestError("query: expected an object")
    parameters = query.get("requestParameters", {})
    if not isinstance(parameters, dict):
        raise BeaconRequestError("query.requestParameters: expected an object")
    unknown = sorted(set(parameters) - set(VARIANT_PARAMETERS))
    if unknown:
        raise BeaconRequestError(f"query.requestParameters: unknown parameter {str(unknown[0])[:40]!r}")
    raw_filters = query.get("filters", [])
    if not isinstance(raw_filters, list):
        raise BeaconRequestError("query.filters: expected a list")
    filters = []
    for i, f in enumerate(raw_filters):
        term = f.get("id") if isinstance(f, dict) else f
        if not isinstance(term, str):
            raise BeaconRequestError(f"query.filters[{i}]: expected a term id (a CURIE string)")
        filters.append(term)
    return BeaconRequest(dict(parameters), tuple(filters), _granularity(query.get("requestedGranularity")))


def _granularity(value) -> str:
    if value is None:
        return "boolean"
    if value not in GRANULARITIES:
        raise BeaconRequestError(f"requestedGranularity: expected one of {list(GRANULARITIES)}")
    return value


def _ints(value, name: str) -> tuple[int, ...]:
    """``start``/``end``: a number, a list of one or two numbers, or "s1,s2" in a query string."""
    items = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str | int) else None
    if items is None or not 1 <= len(items) <= 2:
        raise BeaconRequestError(f"{name}: expected one or two positions")
    out = []
    for item in items:
        if isinstance(item, bool) or not (isinstance(item, int) or (isinstance(item, str) and _INT.fullmatch(item.strip()))):
            raise BeaconRequestError(f"{name}: expected whole-number positions")
        number = int(item)
        if number < 0:
            raise BeaconRequestError(f"{name}: positions are 0-based and cannot be negative")
        out.append(number)
    return tuple(out)


def _text(parameters: dict, name: str) -> str | None:
    value = parameters.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BeaconRequestError(f"{name}: expected text")
    return value


def variant_criterion(parameters: dict) -> ir.HasVariant | None:
    """The request parameters as one ``HasVariant`` (None when the request names no variant)."""
    assembly = _text(parameters, "assemblyId")
    if assembly is not None and assembly not in ASSEMBLIES:
        raise BeaconRequestError("assemblyId: this Beacon holds GRCh38 only")
    gene = _text(parameters, "geneId")
    chrom = _text(parameters, "referenceName")
    if chrom is not None:
        chrom = chrom.removeprefix("chr").removeprefix("NC_0000")  # chr17 and 17 alike
    ref, alt = _text(parameters, "referenceBases"), _text(parameters, "alternateBases")
    for name, bases in (("referenceBases", ref), ("alternateBases", alt)):
        if bases is not None and not _BASES.fullmatch(bases):
            raise BeaconRequestError(f"{name}: expected bases A, C, G, T or N")
    start = _ints(parameters["start"], "start") if "start" in parameters else None
    end = _ints(parameters["end"], "end") if "end" in parameters else None
    if chrom is None and (start or end or ref or alt):
        raise BeaconRequestError("referenceName: required with start, end or bases")
    if chrom is not None and start is None:
        raise BeaconRequestError("start: required with referenceName")
    allele = region = None
    try:
        if chrom is not None and start is not None:
            if len(start) == 1 and end is None:  # a sequence query
                if ref is None or alt is None or ref == "N" or alt == "N":
                    raise BeaconRequestError("a sequence query needs referenceBases and alternateBases "
                                             "(or give end for a range query)")
                allele = ir.VariantAllele(chrom, start[0] + 1, ref, alt)
            elif len(start) == 1 and end is not None and len(end) == 1:  # a range query: overlap
                if end[0] <= start[0]:
                    raise BeaconRequestError("end: must be after start (ranges are half-open)")
                region = ir.VariantRegion(chrom, first_max=end[0], last_min=start[0] + 1)
            elif len(start) == 2 and end is not None and len(end) == 2:  # a bracket query
                if start[0] > start[1] or end[0] > end[1]:
                    raise BeaconRequestError("start, end: each bracket must be [min, max]")
                region = ir.VariantRegion(chrom, first_min=start[0] + 1, first_max=start[1] + 1,
                                          last_min=max(end[0], 1), last_max=max(end[1], 1))
            else:
                raise BeaconRequestError("start, end: give one start (sequence), one start and one end "
                                         "(range) or two of each (bracket)")
        if allele is None and region is None and gene is None:
            return None
        genes = (gene,) if gene is not None else ()
        # a range query may name its alleles too; "N" stands for any base
        if region is not None and alt is not None and alt != "N":
            raise BeaconRequestError("alternateBases: a range or bracket query answers for any allele here; "
                                     "ask a sequence query for one allele")
        return ir.HasVariant(genes, allele=allele, region=region)
    except IRError as e:
        raise BeaconRequestError(_ir_message(e)) from None


def _ir_message(error: IRError) -> str:
    field = {"chrom": "referenceName", "pos": "start", "ref": "referenceBases", "alt": "alternateBases",
             "genes": "geneId"}.get(error.field or "", error.field or "request")
    return f"{field}: {error.message if hasattr(error, 'message') else error}"


@cache
def condition_terms() -> dict[str, tuple[int, str]]:
    """CURIE -> (OMOP concept id, name) for the embedded vocabulary's standard conditions."""
    return {c.code: (c.concept_id, c.name) for c in conditions()}


def filter_rule(term: str) -> ir.Rule:
    """One filter term as a cohort rule."""
    if not _CURIE.fullmatch(term):
        raise BeaconRequestError(f"filters: {term[:40]!r} is not a CURIE (e.g. NCIT:C16576, SNOMED:44054006)")
    if term in SEX_TERMS:
        word, label = SEX_TERMS[term]
        return ir.Rule(f"sex {label}", ir.Compare("eq", ir.Sex(), ir.Literal("str", word)))
    concept_id = None
    if term.startswith("OMOP:") and term[5:].isdigit():
        concept_id = int(term[5:])
        if concept_id not in {c for c, _ in condition_terms().values()}:
            concept_id = None
    elif term in condition_terms():
        concept_id = condition_terms()[term][0]
    if concept_id is None:
        raise BeaconRequestError(f"filters: {term!r} is not a filtering term of this Beacon (see /filtering_terms)")
    concepts = ir.ConceptSet((ir.ConceptItem(concept_id, descendants=True),))
    return ir.Rule(f"condition {term}", ir.Exists(ir.WhereConcepts(ir.Events("condition"), concepts)))


def cohort_of(request: BeaconRequest, *, need_variant: bool) -> ir.Cohort:
    """The cohort of persons matching the request: its variant (if any) and every filter."""
    rules = []
    variant = variant_criterion(request.parameters)
    if variant is not None:
        rules.append(ir.Rule("variant", variant))
    elif need_variant:
        raise BeaconRequestError("g_variants: give a sequence, range, bracket or geneId query")
    if len(request.filters) > _MAX_FILTERS:
        raise BeaconRequestError(f"filters: at most {_MAX_FILTERS}")
    rules += [filter_rule(term) for term in dict.fromkeys(request.filters)]
    if not rules:
        raise BeaconRequestError("individuals: give at least one filter (unfiltered queries are not allowed)")
    return ir.Cohort(ir.Literal("date", dt.date(2100, 1, 1)), tuple(rules), strata=())
