"""Concept search and concept pages, as HTML and JSON.

Thin: open the vocabulary store read-only, call ``phta.cdm.vocabulary.search``, render. The
vocabulary is reference data, so searching and browsing are public. The number of persons with a
concept at each node IS patient data: it is only ever asked for by a signed-in user (the POST on
the concept page), as a cohort run through ``phta.execution.network.network_feasibility`` under
the standing purpose ``network_feasibility``, with its budget and disclosure control, and shown
as the protected counts every feasibility page shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from phta.cdm.store import Store, StoreError
from phta.cdm.vocabulary import embedded_connection
from phta.cdm.vocabulary.search import ConceptNotFound, SearchError, concept_detail, search
from phta.execution.network import network_feasibility, region_stores
from phta.governance.principal import Principal
from phta.query import ir
from phta.query.domains import DOMAINS
from phta.query.simple_cohort import FEASIBILITY_STRATA
from phta.web.network_counts import counts_json, counts_page, render_counts
from phta.web.security import csrf_protected, require

router = APIRouter(tags=["concepts"])

MAX_CONCEPT_ID = 2**63 - 1


@contextmanager
def vocabulary_connection(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the vocabulary: the region's first node store (every node of a
    region loads the same vocabulary release), or the embedded vocabulary before any is loaded."""
    stores = region_stores(request.app.state.settings)
    if not stores:
        con = embedded_connection()
        try:
            yield con
        finally:
            con.close()
        return
    try:
        con = Store.open(stores[0].path).connect(read_only=True)
    except (StoreError, duckdb.Error):
        raise HTTPException(503, "the vocabulary store cannot be opened") from None
    try:
        yield con
    finally:
        con.close()


def _search_args(request: Request) -> dict:
    p = request.query_params
    try:
        limit = int(p.get("limit") or 25)
    except ValueError:
        limit = 25
    return {"limit": limit, "vocabulary": (p.get("vocabulary") or None), "domain": (p.get("domain") or None),
            "standard_only": p.get("standard") in ("1", "on", "true")}


@router.get("/concepts", response_class=HTMLResponse, include_in_schema=False)
def concepts_page(request: Request, q: str = "") -> HTMLResponse:
    args = _search_args(request)
    results, error = None, None
    if q.strip():
        with vocabulary_connection(request) as con:
            try:
                results = search(con, q, **args)
            except SearchError as e:
                error = str(e)
    return render_counts(request, "concepts.html", status_code=400 if error else 200, q=q[:200], args=args,
                         results=results, error=error)


@router.get("/api/v1/concepts", summary="Search the vocabulary by text (typo-tolerant) or code")
def concepts_api(request: Request, q: str = "") -> JSONResponse:
    """``q``: words of a concept name or a code (``SNOMED:44054006``, ``E11.9``). Optional:
    ``limit`` (1-200), ``vocabulary``, ``domain``, ``standard=1``. Reference data: no sign-in."""
    with vocabulary_connection(request) as con:
        try:
            found = search(con, q, **_search_args(request))
        except SearchError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)
    return JSONResponse({"query": q, "results": [c.to_dict() for c in found]})


def _detail(request: Request, concept_id: int):
    if not 0 <= concept_id <= MAX_CONCEPT_ID:
        raise HTTPException(404, "no such concept")
    with vocabulary_connection(request) as con:
        try:
            return concept_detail(con, concept_id)
        except ConceptNotFound:
            raise HTTPException(404, f"the vocabulary has no concept {concept_id}") from None


def _countable_domain(domain_id: str) -> str | None:
    name = domain_id.lower()
    return name if name in DOMAINS else None


def _concept_page(request: Request, detail, *, outcome=None, error: str | None = None,
                  status_code: int = 200) -> HTMLResponse:
    return render_counts(request, "concept.html", status_code=status_code, detail=detail,
                         countable=_countable_domain(detail.concept.domain_id) and detail.concept.standard_concept == "S",
                         outcome=outcome, error=error)


@router.get("/concepts/{concept_id}", response_class=HTMLResponse, include_in_schema=False)
def concept_page(request: Request, concept_id: int) -> HTMLResponse:
    return _concept_page(request, _detail(request, concept_id))


@router.get("/api/v1/concepts/{concept_id}", summary="A concept with its hierarchy and mapped source codes")
def concept_api(request: Request, concept_id: int) -> JSONResponse:
    """Parents, children, number of descendants, source codes mapped to it, what it maps to.
    Person counts are patient data: not here (see the concept page's protected count)."""
    return JSONResponse(_detail(request, concept_id).to_dict())


def persons_with(concept_id: int, domain: str) -> ir.Cohort:
    """Persons with any record of the concept or its descendants, indexed at the first one."""
    concepts = ir.ConceptSet((ir.ConceptItem(concept_id, descendants=True),))
    return ir.Cohort(index_date=ir.FirstDate(ir.WhereConcepts(ir.Events(domain), concepts)), rules=(),
                     strata=FEASIBILITY_STRATA)


@router.post("/concepts/{concept_id}/persons", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[Depends(csrf_protected)])
async def concept_persons(request: Request, concept_id: int,
                          principal: Principal = Depends(require("feasibility.run"))) -> HTMLResponse:
    """Protected person counts per node, through the execution path (purpose: network feasibility)."""
    detail = _detail(request, concept_id)
    domain = _countable_domain(detail.concept.domain_id)
    if domain is None or detail.concept.standard_concept != "S":
        return _concept_page(request, detail, status_code=400,
                             error="Persons are counted for standard concepts of a clinical domain only.")

    def page(**kw):
        return _concept_page(request, detail, **kw)

    return await counts_page(request, principal, network_feasibility, persons_with(concept_id, domain), page)


@router.post("/api/v1/concepts/{concept_id}/persons", summary="Protected person counts per node for a concept",
             dependencies=[Depends(csrf_protected)])
async def concept_persons_api(request: Request, concept_id: int,
                              principal: Principal = Depends(require("feasibility.run"))) -> Response:
    """Persons with any record of the concept or its descendants, per node and in total: the
    protected counts of ``POST /api/v1/feasibility`` (purpose network feasibility, its budget,
    disclosure control, audit). Standard concepts of a clinical domain only. No body."""
    detail = _detail(request, concept_id)
    domain = _countable_domain(detail.concept.domain_id)
    if domain is None or detail.concept.standard_concept != "S":
        return JSONResponse({"detail": "persons are counted for standard concepts of a clinical domain only"},
                            status_code=400)
    return await counts_json(request, principal, network_feasibility, lambda _body: persons_with(concept_id, domain),
                             ())
