"""The hub's GA4GH Beacon v2 API (/api/beacon/v2) and the variant search page (/beacon).

Thin: parse the request (``phta.beacon.requests``), answer it through the governed path on every
node (``phta.beacon.service``), shape the Beacon document (``phta.beacon.responses``). The public
get booleans, signed-in users protected counts. Every refusal and every malformed request gets a
Beacon error document (never a traceback); budget refusals are audited by the budget itself.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from phta.beacon import responses
from phta.beacon.requests import BeaconRequest, BeaconRequestError, cohort_of, from_get, from_post
from phta.beacon.service import answer, present_terms
from phta.execution.budget import BudgetExhausted
from phta.execution.policy import NotAuthorised
from phta.query.vocabulary_check import VocabularyRefused
from phta.web.errors import BEACON_PREFIX as PREFIX
from phta.web.rendering import render
from phta.web.security import CsrfError, client_ip, csrf_protected

router = APIRouter(prefix=PREFIX, tags=["beacon"])
page_router = APIRouter(tags=["beacon"])
MAX_BODY = 64 * 1024


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _error(code: int, message: str, beacon_request: BeaconRequest | None = None) -> JSONResponse:
    return JSONResponse(responses.error_document(code, message, beacon_request), status_code=code)


@router.get("", summary="Beacon information")
@router.get("/", include_in_schema=False)
@router.get("/info", summary="Beacon information")
def beacon_info(request: Request) -> dict:
    return responses.info(_base(request))


@router.get("/service-info", summary="GA4GH service-info")
def beacon_service_info(request: Request) -> dict:
    return responses.service_info(_base(request))


@router.get("/configuration", summary="Beacon configuration")
def beacon_configuration() -> dict:
    return responses.configuration()


@router.get("/map", summary="Beacon map of endpoints")
def beacon_map(request: Request) -> dict:
    return responses.beacon_map(_base(request))


@router.get("/entry_types", summary="Beacon entry types")
def beacon_entry_types() -> dict:
    return responses.entry_types()


@router.get("/filtering_terms", summary="Filtering terms present in at least a threshold's worth of persons")
def beacon_filtering_terms(request: Request) -> dict:
    settings, database = request.app.state.settings, request.app.state.database
    return responses.filtering_terms(set(present_terms(settings, database)))


async def _parse(request: Request) -> BeaconRequest:
    if request.method == "GET":
        return from_get(dict(request.query_params))
    if request.state.principal is not None:
        await csrf_protected(request)  # a signed-in browser's POST: its session must not be borrowed
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BeaconRequestError("the request body is too large")
    try:
        document = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise BeaconRequestError("the request body is not valid JSON") from None
    return from_post(document)


async def _answer(request: Request, entry: str) -> JSONResponse:
    beacon_request = None
    try:
        beacon_request = await _parse(request)
        cohort = cohort_of(beacon_request, need_variant=entry == "genomicVariant")
        settings, database = request.app.state.settings, request.app.state.database
        result = answer(settings, database, request.state.principal, cohort, requested=beacon_request.granularity,
                        client_address=client_ip(request))
    except BeaconRequestError as e:
        return _error(400, str(e), beacon_request)
    except CsrfError:
        return _error(403, "a signed-in browser's POST needs the X-CSRF-Token header (or use an API token)")
    except VocabularyRefused:
        return _error(403, "this Beacon does not answer that kind of query", beacon_request)
    except BudgetExhausted:
        return _error(429, "daily query budget used up; it resets at 00:00 UTC", beacon_request)
    except NotAuthorised:
        return _error(403, "not allowed", beacon_request)
    return JSONResponse(responses.answer_document(entry, beacon_request, result))


@router.get("/g_variants", summary="Genomic variants: sequence, range, bracket and geneId queries (GRCh38)")
@router.post("/g_variants", summary="Genomic variants (Beacon v2 request body)")
async def beacon_g_variants(request: Request) -> JSONResponse:
    return await _answer(request, "genomicVariant")


@router.get("/individuals", summary="Individuals with ontology filters (sex, conditions)")
@router.post("/individuals", summary="Individuals (Beacon v2 request body)")
async def beacon_individuals(request: Request) -> JSONResponse:
    return await _answer(request, "individual")


@page_router.get("/beacon", response_class=HTMLResponse, include_in_schema=False)
def beacon_page(request: Request) -> HTMLResponse:
    """Variant search: a gene, or a chromosome and 1-based position; protected counts by site
    (signed in) or a yes/no (public)."""
    params = request.query_params
    form = {k: params.get(k, "")[:40] for k in ("gene", "chrom", "position")}
    error = result = None
    if any(form.values()):
        parameters: dict = {}
        if form["gene"]:
            parameters["geneId"] = form["gene"]
        if form["chrom"] or form["position"]:
            try:
                position = int(form["position"])
            except ValueError:
                error = "position: expected a whole number (1-based, as in a VCF)"
            else:
                # the page speaks VCF (1-based); Beacon ranges are 0-based, half-open
                parameters.update(referenceName=form["chrom"], start=str(position - 1), end=str(position))
        if error is None:
            try:
                cohort = cohort_of(BeaconRequest(parameters, (), "count"), need_variant=True)
                result = answer(request.app.state.settings, request.app.state.database, request.state.principal,
                                cohort, requested="count", client_address=client_ip(request))
            except BeaconRequestError as e:
                error = str(e)
            except BudgetExhausted:
                error = "your daily query budget is used up; it resets at 00:00 UTC"
            except (VocabularyRefused, NotAuthorised):
                error = "this search is not allowed"
    return render(request, "beacon.html", form=form, error=error, result=result,
                  status_code=400 if error else 200)
