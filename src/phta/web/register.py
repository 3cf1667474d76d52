"""The public transparency register (no sign-in): HTML, JSON and CSV, and per-project logs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from phta import audit
from phta.governance import register, request_form
from phta.web.csv_export import csv_response
from phta.web.rendering import render
from phta.web.security import require

router = APIRouter(tags=["register"], dependencies=[Depends(require("public.read"))])
CSV_COLUMNS = list(register.RegisterEntry.__dataclass_fields__)


def _db(request: Request):
    return request.app.state.database


@router.get("/register", response_class=HTMLResponse, include_in_schema=False)
def register_page(request: Request) -> HTMLResponse:
    return render(request, "register.html", entries=register.entries(_db(request)),
                  checkpoint=audit.latest_checkpoint(_db(request).data_dir), **_words())


def _words() -> dict:
    """What the pages need to name datasets and explain legal bases in words."""
    return {"glossary": register.PLAIN_LEGAL_BASIS, "dataset_names": request_form.DATASETS}


@router.get("/register.json", summary="The transparency register as JSON")
def register_json(request: Request) -> JSONResponse:
    return JSONResponse([e.as_dict() for e in register.entries(_db(request))])


@router.get("/register.csv", summary="The transparency register as CSV", response_class=Response,
            responses={200: {"description": "One row per approved project; formulas neutralised",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def register_csv(request: Request) -> Response:
    rows = []
    for entry in register.entries(_db(request)):
        row = entry.as_dict()
        for name, value in row.items():
            if isinstance(value, list):
                row[name] = "; ".join(value)
        rows.append(row)
    return csv_response(CSV_COLUMNS, rows, "phta-register.csv")


@router.get("/register/{project_id}", response_class=HTMLResponse, include_in_schema=False)
def register_project(request: Request, project_id: int) -> HTMLResponse:
    entry = register.public_entry(_db(request), project_id)
    if entry is None:
        return render(request, "auth_error.html", status_code=404, title="Not on the register",
                      message="No approved project has that number.", sign_in=False)
    return render(request, "register_project.html", entry=entry, log=register.public_log(_db(request), project_id),
                  **_words())
