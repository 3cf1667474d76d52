"""The concept set builder (a form that works without JavaScript) and the concept-set JSON API.

Stateless: the set travels in the form as ATLAS concept-set JSON (a hidden field), each button
posts it back with one change, and the page shows the items and the resolved concepts. Exports
are downloads: ATLAS concept-set JSON, and the resolved codes as ``code,term`` CSV. Vocabulary
only (reference data): no purpose, no patient data.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from phta.cdm.vocabulary import concept_sets as sets
from phta.cdm.vocabulary.concept_sets import ConceptSetDefinition, ConceptSetError, ConceptSetItem
from phta.cdm.vocabulary.search import ConceptNotFound, by_code, get_concept, parse_code
from phta.web.concepts import vocabulary_connection
from phta.web.rendering import render
from phta.web.security import csrf_protected

router = APIRouter(tags=["concept sets"])

MAX_FIELD = 2_000_000
EMPTY = ConceptSetDefinition("Concept set", ())


def _serialise(cs: ConceptSetDefinition) -> str:
    return json.dumps({"name": cs.name, "expression": {"items": [
        {"concept": {"CONCEPT_ID": i.concept_id}, "includeDescendants": i.include_descendants,
         "includeMapped": i.include_mapped, "isExcluded": i.excluded} for i in cs.items]}}, separators=(",", ":"))


def _page(request: Request, cs: ConceptSetDefinition, *, error: str | None = None, status_code: int = 200,
          import_text: str = "") -> HTMLResponse:
    with vocabulary_connection(request) as con:
        known = sets.concepts_by_id(con, [i.concept_id for i in cs.items])
        resolved = sets.resolve(con, cs)
    return render(request, "concept_sets.html", status_code=status_code, cs=cs, state=_serialise(cs), known=known,
                  resolved=resolved, error=error, import_text=import_text)


def _concept_id(con, ref: str) -> int:
    ref = ref.strip()
    if ref.isdigit():
        try:
            return get_concept(con, int(ref)).concept_id
        except (ConceptNotFound, OverflowError):
            pass
    code = parse_code(ref)
    found = by_code(con, code[1], code[0]) if code else []
    if not found:
        raise ConceptSetError(f"concept: {ref[:60]!r} is neither a concept id nor a code in the vocabulary")
    return found[0].concept_id


@router.get("/concept-sets", response_class=HTMLResponse, include_in_schema=False)
def builder(request: Request, add: str = "") -> HTMLResponse:
    cs = EMPTY
    if add:
        with vocabulary_connection(request) as con:
            try:
                cs = cs.with_item(ConceptSetItem(_concept_id(con, add[:100]), include_descendants=True))
            except ConceptSetError as e:
                return _page(request, EMPTY, error=str(e), status_code=400)
    return _page(request, cs)


@router.post("/concept-sets", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[Depends(csrf_protected)])
async def builder_post(request: Request) -> Response:
    form = await request.form()
    field = {k: str(form.get(k) or "")[:MAX_FIELD] for k in ("set", "action", "concept", "name", "import_text",
                                                            "import_vocabulary", "remove")}
    try:
        cs = sets.from_atlas_json(field["set"]) if field["set"] else EMPTY
    except ConceptSetError as e:
        return _page(request, EMPTY, error=f"the form's concept set: {e}", status_code=400)
    if field["name"].strip():
        cs = ConceptSetDefinition(field["name"].strip()[:200], cs.items)
    try:
        with vocabulary_connection(request) as con:
            if field["remove"]:
                cs = cs.without(int(field["remove"]) if field["remove"].isdigit() else -1)
            elif field["action"] == "add":
                cs = cs.with_item(ConceptSetItem(_concept_id(con, field["concept"]),
                                                 include_descendants=form.get("descendants") == "1",
                                                 include_mapped=form.get("mapped") == "1",
                                                 excluded=form.get("excluded") == "1"))
            elif field["action"] == "import":
                text = field["import_text"].strip()
                cs = (sets.from_atlas_json(text) if text.startswith("{")
                      else sets.from_csv(con, text, vocabulary=field["import_vocabulary"] or None))
            sets.check(con, cs)
            if field["action"] == "atlas":
                return Response(json.dumps(sets.to_atlas(con, cs), indent=2), media_type="application/json",
                                headers={"content-disposition": 'attachment; filename="concept-set.json"'})
            if field["action"] == "csv":
                return Response(sets.to_csv(sets.resolve(con, cs)), media_type="text/csv; charset=utf-8",
                                headers={"content-disposition": 'attachment; filename="codelist.csv"'})
    except ConceptSetError as e:
        return _page(request, cs, error=str(e), status_code=400,
                     import_text=field["import_text"][:100_000])
    return _page(request, cs)


async def _body_set(request: Request, con) -> ConceptSetDefinition:
    body = (await request.body()).decode("utf-8", errors="replace")
    if request.headers.get("content-type", "").startswith("text/csv"):
        return sets.from_csv(con, body, vocabulary=request.query_params.get("vocabulary"))
    return sets.from_atlas_json(body)


@router.post("/api/v1/concept-sets/resolve", summary="Resolve a concept set (ATLAS JSON or code,term CSV)",
             dependencies=[Depends(csrf_protected)])
async def resolve_api(request: Request) -> Response:
    """Body: ATLAS concept-set JSON, or ``text/csv`` with ``code,term`` (``?vocabulary=`` if the CSV
    has no vocabulary column). ``?format=csv`` answers with the resolved codes as CSV; otherwise
    JSON with the set (ATLAS form, concepts filled in) and the resolved concepts."""
    with vocabulary_connection(request) as con:
        try:
            cs = await _body_set(request, con)
            sets.check(con, cs)
        except ConceptSetError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)
        resolved = sets.resolve(con, cs)
        if request.query_params.get("format") == "csv":
            return Response(sets.to_csv(resolved), media_type="text/csv; charset=utf-8")
        return JSONResponse({"concept_set": sets.to_atlas(con, cs), "resolved": [c.to_dict() for c in resolved]})
