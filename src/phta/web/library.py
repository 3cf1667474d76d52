"""The regional library: search, dataset pages (with the quality tab, load history, data uses and
the ways to start work on the data), the custodian's edit form, the store page, collections;
and the JSON API for each. Thin: ``phta.catalogue`` does the work.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from phta.catalogue import charts, exports, library, profiling, search, stores
from phta.catalogue.library import Dataset, DatasetNotFound, NotCustodian
from phta.catalogue.records import SECTIONS, RecordInvalid, missing_fields
from phta.execution import NotAuthorised
from phta.governance.principal import Principal
from phta.governance.request_form import DATASETS
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["library"])
ACCESS_SERVICES = ("TRE/SDE", "Direct access", "Open access", "Varies based on project")
#: the access-request form's datasets that every OMOP node store holds (prefilled from a dataset page)
REQUEST_DATASETS = tuple(k for k in DATASETS if k != "variants")


def _db(request: Request):
    return request.app.state.database


def _settings(request: Request):
    return request.app.state.settings


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _dataset_or_404(request: Request, dataset_id: int) -> Dataset:
    try:
        return library.dataset(_db(request), dataset_id)
    except DatasetNotFound:
        raise HTTPException(404, f"dataset {dataset_id} is not in the library") from None


def _search_args(request: Request) -> tuple[str, dict[str, list[str]], str, int, int]:
    params = request.query_params
    filters = {f: params.getlist(f) for f in search.FACETS if params.getlist(f)}
    try:
        limit, offset = int(params.get("limit", 20)), int(params.get("offset", 0))
    except ValueError:
        raise HTTPException(422, "limit and offset are whole numbers") from None
    return params.get("q", ""), filters, params.get("sort", "relevance"), limit, offset


def _run_search(request: Request) -> search.SearchResult:
    q, filters, sort, limit, offset = _search_args(request)
    try:
        return search.search(_db(request), q, filters=filters, sort=sort, limit=limit, offset=offset)
    except search.SearchError as e:
        raise HTTPException(422, str(e)) from None


@router.get("/library", response_class=HTMLResponse, include_in_schema=False)
def library_page(request: Request) -> HTMLResponse:
    result = _run_search(request)

    def toggled(facet: str, value: str) -> str:
        """This search's URL with ``facet=value`` switched on or off."""
        pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset",)
                 and not (k == facet and v == value)]
        if value not in result.filters.get(facet, []):
            pairs.append((facet, value))
        return "/library?" + urlencode(pairs)

    return render(request, "library.html", result=result, facet_titles=search.FACETS, sorts=search.SORTS,
                  toggled=toggled, collections=library.collections(_db(request)))


@router.get("/api/v1/library", summary="Search the library (full text, facets, sorting)")
def library_api(request: Request) -> JSONResponse:
    return JSONResponse(_run_search(request).as_dict())


def _links(item: Dataset) -> dict:
    """Where a researcher goes next from a dataset: feasibility on its node, an access request
    pre-filled with the dataset and its node, the cohort builder."""
    request_params = [("library_dataset", str(item.id)), *(("datasets", d) for d in REQUEST_DATASETS)]
    if item.node:
        request_params.append(("nodes", item.node))
    return {
        "feasibility": "/feasibility?" + urlencode({"node": item.node or ""}),
        "cohort": "/feasibility/atlas?" + urlencode({"node": item.node or ""}),
        "access_request": "/projects/new?" + urlencode(request_params),
        "hdruk": f"/library/datasets/{item.id}/hdruk.json",
        "dcat": f"/library/datasets/{item.id}/dcat.jsonld",
    }


def _dataset_view(request: Request, item: Dataset, principal: Principal | None) -> dict:
    custodian = item.node is not None and stores.is_custodian_of(principal, _db(request), item.node)
    history, findings, data_quality = [], [], {"latest": None, "trend": []}
    if item.node:
        try:
            path = stores.node_store(_settings(request), item.node).path
        except stores.UnknownStore:
            path = None
        if path is not None:
            history = stores.load_history(path)
            findings = stores.latest_findings(path, protected=not custodian)
            data_quality = stores.quality(path, protected=not custodian)
    return {
        **item.summary(),
        "record": item.record,
        "quality": {"completeness": item.completeness, "missing_fields": missing_fields(item.record),
                    "latest_load_findings": findings, "findings_protected": not custodian,
                    "checks": data_quality},
        "load_history": history,
        "data_uses": library.data_uses(_db(request), item),
        "links": _links(item),
        "may_edit": library.may_edit(principal, item),
        "custodian_of_node": custodian,
    }


@router.get("/library/datasets/{dataset_id}", response_class=HTMLResponse, include_in_schema=False)
def dataset_page(request: Request, dataset_id: int) -> HTMLResponse:
    item = _dataset_or_404(request, dataset_id)
    view = _dataset_view(request, item, request.state.principal)
    # JSON-LD is data, not script (CSP script-src does not apply); <, > and & are escaped inside it
    jsonld = Markup(exports.json_ld_script(exports.schema_org(item, _base(request))))  # noqa: S704
    return render(request, "library_dataset.html", item=item, view=view, jsonld=jsonld, sections=SECTIONS,
                  charts=_charts(view["quality"]["checks"]))


def _charts(data_quality: dict) -> dict:
    latest = data_quality["latest"]
    return {"categories": charts.category_bars(latest["by_category"]) if latest else None,
            "trend": charts.trend_line(data_quality["trend"]) if data_quality["trend"] else None}


@router.get("/api/v1/library/datasets/{dataset_id}", summary="A dataset: record, quality, load history, uses")
def dataset_api(request: Request, dataset_id: int) -> JSONResponse:
    item = _dataset_or_404(request, dataset_id)
    return JSONResponse(_dataset_view(request, item, request.state.principal))


@router.get("/library/datasets/{dataset_id}/hdruk.json", summary="A dataset's HDR UK metadata (schema 4.0.0)")
def dataset_hdruk(request: Request, dataset_id: int) -> JSONResponse:
    return JSONResponse(_dataset_or_404(request, dataset_id).record)


@router.get("/library/datasets/{dataset_id}/dcat.jsonld", summary="A dataset as DCAT-AP 3 / HealthDCAT-AP JSON-LD")
def dataset_dcat(request: Request, dataset_id: int) -> Response:
    item = _dataset_or_404(request, dataset_id)
    return JSONResponse(exports.dcat(item, _base(request)), media_type="application/ld+json")


@router.get("/library/collections", response_class=HTMLResponse, include_in_schema=False)
def collections_page(request: Request) -> HTMLResponse:
    return render(request, "library_collections.html", collections=library.collections(_db(request)))


@router.get("/api/v1/library/collections", summary="The library's collections")
def collections_api(request: Request) -> JSONResponse:
    return JSONResponse({"collections": library.collections(_db(request))})


@router.post("/api/v1/library/collections", summary="Create or replace a collection (hub admins)", status_code=201)
async def collection_save_api(request: Request, principal: Principal = Depends(require("library.collections"))
                              ) -> JSONResponse:
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise HTTPException(422, "name: a collection needs a name")
    ids = body.get("dataset_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise HTTPException(422, "dataset_ids: a list of dataset ids")
    for i in ids:
        _dataset_or_404(request, i)
    collection_id = library.save_collection(_db(request), body["name"].strip()[:200],
                                            str(body.get("description") or ""), ids)
    return JSONResponse({"id": collection_id, "url": f"/library/collections#collection-{collection_id}"},
                        status_code=201)


# -- custodians: edit, import, profile ------------------------------------------------------------------

def _editable(request: Request, principal: Principal, dataset_id: int) -> Dataset:
    item = _dataset_or_404(request, dataset_id)
    try:
        library.check_may_edit(principal, item)
    except NotCustodian as e:
        raise HTTPException(403, str(e)) from None
    return item


def _form_values(item: Dataset) -> dict:
    r = item.record
    s = r["summary"]
    return {"title": s["title"], "abstract": s["abstract"], "description": r["documentation"]["description"],
            "keywords": ", ".join(s.get("keywords") or []), "contact_point": s["contactPoint"],
            "spatial": r["coverage"]["spatial"],
            "access_service": r["accessibility"]["access"].get("accessServiceCategory") or "",
            "node": item.node or ""}


def _apply_form(item: Dataset, form: dict) -> dict:
    record = {**item.record}
    record["summary"] = {**record["summary"], "title": form.get("title", "").strip(),
                         "abstract": form.get("abstract", "").strip(),
                         "keywords": [k.strip() for k in form.get("keywords", "").split(",") if k.strip()] or None,
                         "contactPoint": form.get("contact_point", "").strip()}
    record["documentation"] = {**record["documentation"], "description": form.get("description", "").strip()}
    record["coverage"] = {**record["coverage"], "spatial": form.get("spatial", "").strip()}
    access = form.get("access_service") or None
    record["accessibility"] = {**record["accessibility"],
                               "access": {**record["accessibility"]["access"], "accessServiceCategory": access}}
    return record


FORM_FIELDS = {"summary.title": "title", "summary.abstract": "abstract", "documentation.description": "description",
               "summary.keywords": "keywords", "summary.contactPoint": "contact_point", "coverage.spatial": "spatial",
               "accessibility.access.accessServiceCategory": "access_service"}


def _problems(errors: list[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for line in errors:
        path, _, message = line.partition(": ")
        field = next((f for p, f in FORM_FIELDS.items() if path.startswith(p)), "record")
        problems.setdefault(field, f"{path}: {message}")
    return problems


@router.get("/library/datasets/{dataset_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_form(request: Request, dataset_id: int,
              principal: Principal = Depends(require("library.edit"))) -> HTMLResponse:
    item = _editable(request, principal, dataset_id)
    return render(request, "library_edit.html", item=item, values=_form_values(item), problems={},
                  access_services=ACCESS_SERVICES)


@router.post("/library/datasets/{dataset_id}/edit", include_in_schema=False, dependencies=[Depends(csrf_protected)])
async def edit_save(request: Request, dataset_id: int,
                    principal: Principal = Depends(require("library.edit"))) -> Response:
    item = _editable(request, principal, dataset_id)
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        library.save(_db(request), _apply_form(item, form), node=item.node, dataset_id=item.id)
    except RecordInvalid as e:
        return render(request, "library_edit.html", status_code=422, item=item,
                      values={**_form_values(item), **form}, problems=_problems(e.errors),
                      access_services=ACCESS_SERVICES)
    return html_redirect(f"/library/datasets/{item.id}")


def _profile(request: Request, principal: Principal, item: Dataset) -> Dataset:
    if not item.node:
        raise HTTPException(422, "this dataset names no node store to profile")
    try:
        path = stores.node_store(_settings(request), item.node).path
        profiled = profiling.profile(_settings(request), _db(request), principal, item.record, path)
    except stores.UnknownStore as e:
        raise HTTPException(404, str(e)) from None
    except NotAuthorised as e:
        raise HTTPException(403, str(e)) from None
    return library.save(_db(request), profiled, node=item.node, dataset_id=item.id)


@router.post("/library/datasets/{dataset_id}/profile", include_in_schema=False,
             dependencies=[Depends(csrf_protected)])
def profile_page(request: Request, dataset_id: int,
                 principal: Principal = Depends(require("library.edit"))) -> Response:
    item = _profile(request, principal, _editable(request, principal, dataset_id))
    return html_redirect(f"/library/datasets/{item.id}")


@router.post("/api/v1/library/datasets/{dataset_id}/profile", summary="Profile a dataset from its node store")
def profile_api(request: Request, dataset_id: int,
                principal: Principal = Depends(require("library.edit"))) -> JSONResponse:
    item = _profile(request, principal, _editable(request, principal, dataset_id))
    return JSONResponse(item.summary())


def _import_body(body: bytes) -> dict:
    try:
        return exports.parse_hdruk(body, source="request body")
    except exports.RecordImportError as e:
        raise HTTPException(422, str(e)) from None


@router.post("/api/v1/library/datasets", summary="Import an HDR UK JSON record (schema 4.0.0)", status_code=201)
async def import_api(request: Request, node: str | None = None,
                     principal: Principal = Depends(require("library.edit"))) -> JSONResponse:
    record = _import_body(await request.body())
    probe = Dataset(0, node, str(record["summary"]["dataCustodian"]["name"]), "", record, 0, None, None)  # type: ignore[arg-type]
    if not library.may_edit(principal, probe):
        raise HTTPException(403, f"only the data custodians of {probe.organisation} (or a hub admin) may publish it")
    if node is not None and not stores.is_custodian_of(principal, _db(request), node):
        raise HTTPException(403, f"node {node!r} is not held by your organisation")
    item = library.save(_db(request), record, node=node)
    return JSONResponse(item.summary(), status_code=201)


@router.put("/api/v1/library/datasets/{dataset_id}", summary="Replace a dataset's HDR UK record")
async def replace_api(request: Request, dataset_id: int,
                      principal: Principal = Depends(require("library.edit"))) -> JSONResponse:
    item = _editable(request, principal, dataset_id)
    record = _import_body(await request.body())
    if record["summary"]["dataCustodian"]["name"] != item.organisation and not library.may_edit(
            principal, Dataset(0, None, record["summary"]["dataCustodian"]["name"], "", record, 0, None, item.modified_at)):
        raise HTTPException(403, "the record would move the dataset to another custodian")
    return JSONResponse(library.save(_db(request), record, node=item.node, dataset_id=item.id).summary())


# -- the store page ---------------------------------------------------------------------------------

def _store(request: Request, principal: Principal, node: str) -> tuple[str, dict]:
    try:
        store = stores.node_store(_settings(request), node)
    except stores.UnknownStore as e:
        raise HTTPException(404, str(e)) from None
    if not stores.is_custodian_of(principal, _db(request), store.code):
        raise HTTPException(403, f"only the data custodians of node {store.code!r} (or a hub admin) see its store")
    return store.code, stores.store_report(store.path) | {"quality": stores.quality(store.path, protected=False)}


@router.get("/library/stores/{node}", response_class=HTMLResponse, include_in_schema=False)
def store_page(request: Request, node: str, principal: Principal = Depends(require("library.edit"))) -> HTMLResponse:
    code, report = _store(request, principal, node)
    return render(request, "library_store.html", code=code, report=report, quality=report["quality"],
                  charts=_charts(report["quality"]), datasets=library.datasets(_db(request), node=code))


@router.get("/api/v1/library/stores/{node}", summary="A node store: tables, load history and load reports")
def store_api(request: Request, node: str, principal: Principal = Depends(require("library.edit"))) -> JSONResponse:
    code, report = _store(request, principal, node)
    return JSONResponse({"node": code, **report}, headers={"Cache-Control": "no-store"})
