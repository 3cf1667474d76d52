"""Network feasibility from an ATLAS (Circe) cohort definition: a paste/upload page and a JSON API.

Thin, like :mod:`phta.web.feasibility`: parse the Circe JSON (the importer names the JSON path of
anything it does not support), call
:func:`phta.execution.network_atlas.atlas_network_feasibility` with the signed-in principal under
the standing purpose ``network_feasibility``, render the protected counts. Governance decides
again inside the execution path; every node run is in the audit chain.
"""

from __future__ import annotations

import json
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from phta.execution.network_atlas import AtlasNetworkFeasibility, atlas_network_feasibility
from phta.governance.principal import Principal
from phta.query.circe.importer import import_expression
from phta.query.ir import IRError
from phta.query.ir_circe import CirceCohort
from phta.web.network_counts import counts_json, counts_page, render_counts
from phta.web.security import csrf_protected, require
from phta.web.unknown_concepts import UnknownInSet, unknown_in_atlas

router = APIRouter(tags=["feasibility"])

MAX_DEFINITION_BYTES = 1_000_000  # an ATLAS export is kilobytes; refuse anything far beyond

#: The page's example (and the demo's): adults with hypertension, as ATLAS exports it, on the
#: region's vocabulary (SNOMED 38341003 Hypertensive disorder, with its sub-types).
EXAMPLE_DEFINITION = json.dumps({
    "ConceptSets": [{"id": 0, "name": "hypertension", "expression": {"items": [{
        "concept": {"CONCEPT_ID": 2001000002, "CONCEPT_NAME": "Hypertensive disorder", "DOMAIN_ID": "Condition",
                    "VOCABULARY_ID": "SNOMED", "STANDARD_CONCEPT": "S"},
        "includeDescendants": True, "isExcluded": False, "includeMapped": False}]}}],
    "PrimaryCriteria": {"CriteriaList": [{"ConditionOccurrence": {"CodesetId": 0}}],
                        "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
                        "PrimaryCriteriaLimit": {"Type": "First"}},
    "QualifiedLimit": {"Type": "First"}, "ExpressionLimit": {"Type": "First"},
    "InclusionRules": [{"name": "adult", "expression": {
        "Type": "ALL", "CriteriaList": [], "Groups": [],
        "DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "gte"}}]}}],
    "CensoringCriteria": [], "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
}, indent=2)


class DefinitionProblem(ValueError):
    """The submitted text is not an ATLAS definition PHTA can run."""


def parse_definition(text: str) -> CirceCohort:
    if not text.strip():
        raise DefinitionProblem("paste or upload an ATLAS cohort definition (JSON)")
    if len(text.encode("utf-8")) > MAX_DEFINITION_BYTES:
        raise DefinitionProblem(f"the definition is larger than {MAX_DEFINITION_BYTES:,} bytes")
    try:
        return import_expression(text)
    except (IRError, json.JSONDecodeError, ValueError) as e:
        raise DefinitionProblem(str(e)) from None


def _page(request: Request, *, definition: str = "", error: str | None = None,
          outcome: AtlasNetworkFeasibility | None = None, status_code: int = 200,
          unknown: list[UnknownInSet] | None = None) -> HTMLResponse:
    return render_counts(request, "feasibility_atlas.html", status_code=status_code, definition=definition,
                         error=error, outcome=outcome, unknown_concepts=unknown or [])


@router.get("/feasibility/atlas", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(require("feasibility.run"))])
def atlas_form(request: Request, example: bool = False) -> HTMLResponse:
    return _page(request, definition=EXAMPLE_DEFINITION if example else "")


@router.post("/feasibility/atlas", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[Depends(csrf_protected)])
async def atlas_run(request: Request, principal: Principal = Depends(require("feasibility.run"))) -> HTMLResponse:
    form = await request.form()
    try:
        upload = form.get("file")
        text = str(form.get("definition") or "")
        if isinstance(upload, UploadFile) and upload.filename:
            text = (await upload.read(MAX_DEFINITION_BYTES + 1)).decode("utf-8")
        query = parse_definition(text)
    except (DefinitionProblem, UnicodeDecodeError) as e:
        return _page(request, definition=text, error=str(e), status_code=400)
    finally:
        await form.close()  # the upload's spooled temporary file
    # Named beside the counts: an id the region lacks matches no one, so its 0 is not news.
    return await counts_page(request, principal, atlas_network_feasibility, query,
                             partial(_page, request, definition=text, unknown=unknown_in_atlas(query)))


@router.post("/api/v1/feasibility/atlas", summary="Network feasibility counts for an ATLAS (Circe) definition",
             dependencies=[Depends(csrf_protected)])
async def atlas_api(request: Request, principal: Principal = Depends(require("feasibility.run"))) -> Response:
    """Body: a Circe cohort expression as ATLAS exports it. Returns protected counts per node and their
    sums, and ``unknown_concepts``: per concept set, the ids the region's vocabulary lacks."""
    parsed: list[CirceCohort] = []

    def parse(text: str) -> CirceCohort:
        parsed.append(parse_definition(text))
        return parsed[-1]

    response = await counts_json(request, principal, atlas_network_feasibility, parse,
                                 (DefinitionProblem, UnicodeDecodeError))
    if response.status_code != 200 or not parsed:
        return response
    body = json.loads(response.body)
    body["unknown_concepts"] = [u.as_dict() for u in unknown_in_atlas(parsed[-1])]
    return JSONResponse(body)
