"""The operator's pages: the dashboard (charts, CSV export) and the triage rules editor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from phta.frontdoor import cases, dashboard, listings, rules_store, staffing
from phta.frontdoor.charts import bar_chart
from phta.frontdoor.triage import RulesError
from phta.frontdoor.vocabulary import NEEDS, SECTORS, STAGES, STATUSES, label
from phta.governance.principal import Principal
from phta.web.frontdoor_support import db, now
from phta.web.rendering import render
from phta.web.security import csrf_protected, html_redirect, require

router = APIRouter(tags=["frontdoor"], include_in_schema=False)


@router.get("/operator", response_class=HTMLResponse)
def dashboard_page(request: Request, principal: Principal = Depends(require("frontdoor.dashboard"))) -> HTMLResponse:
    all_cases = cases.all_cases(db(request), now(request))
    d = dashboard.summarise(all_cases, dashboard.converted_case_ids(db(request)))
    charts = [
        bar_chart("Enquiries by pathway", d.by_pathway),
        bar_chart("Enquiries by status", [(label(STATUSES, k), v) for k, v in d.by_status]),
        bar_chart("Enquiries by sector", [(label(SECTORS, k), v) for k, v in d.by_sector]),
        bar_chart("Enquiries by month", d.by_month),
    ]
    return render(request, "fd_operator.html", d=d, charts=charts, label=label, statuses=STATUSES,
                  sectors=SECTORS, overdue=[c for c in all_cases if c.sla.first_response_overdue],
                  nudges=[c for c in all_cases if c.sla.needs_nudge])


@router.get("/operator/enquiries.csv", response_class=Response,
            responses={200: {"description": "Every enquiry; formulas neutralised",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def dashboard_csv(request: Request, principal: Principal = Depends(require("frontdoor.dashboard"))) -> Response:
    all_cases = cases.all_cases(db(request), now(request))
    body = dashboard.to_csv(all_cases, dashboard.converted_case_ids(db(request)), now(request))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="phta-enquiries.csv"'})


def _rules_page(request: Request, source: str, *, error: str | None = None, saved: bool = False,
                status_code: int = 200) -> HTMLResponse:
    return render(request, "fd_rules.html", status_code=status_code, source=source, error=error, saved=saved,
                  needs=NEEDS, stages=STAGES, sectors=SECTORS, known=rules_store.known_slugs(db(request)),
                  managers=staffing.managers(db(request)), pathways=listings.pathways(db(request)))


@router.get("/operator/triage-rules", response_class=HTMLResponse)
def rules_page(request: Request, principal: Principal = Depends(require("frontdoor.rules"))) -> HTMLResponse:
    return _rules_page(request, rules_store.current_source(db(request)), saved=bool(request.query_params.get("saved")))


@router.post("/operator/triage-rules", dependencies=[Depends(csrf_protected)])
async def save_rules(request: Request, principal: Principal = Depends(require("frontdoor.rules"))) -> Response:
    source = str((await request.form()).get("source") or "")
    try:
        rules_store.save_rules(db(request), principal, source, now(request))
    except RulesError as e:
        return _rules_page(request, source, error=str(e), status_code=400)
    return html_redirect("/operator/triage-rules?saved=1")


@router.post("/operator/managers/{user_id}", dependencies=[Depends(csrf_protected)])
async def save_manager_pathways(request: Request, user_id: int,
                                principal: Principal = Depends(require("frontdoor.rules"))) -> Response:
    chosen = [str(p) for p in (await request.form()).getlist("pathways")]
    try:
        staffing.set_pathways(db(request), principal, user_id, chosen, now(request))
    except staffing.StaffingError as e:
        return _rules_page(request, rules_store.current_source(db(request)), error=str(e), status_code=400)
    return html_redirect("/operator/triage-rules?saved=1#managers")
