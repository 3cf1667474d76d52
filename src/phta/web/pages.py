"""Public pages: the home page and what a citizen needs (opting out, the privacy notice)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from phta.web.rendering import render

router = APIRouter(tags=["pages"], include_in_schema=False)

JOURNEYS = [
    ("Innovators", "Ask how many patients like yours exist, and get your device or AI evaluated on real-world regional data."),
    ("Researchers", "Find datasets, define cohorts, run feasibility across the hospital network and apply for access."),
    ("Data custodians", "Load your EHR extract into your node, see its data quality and approve what leaves."),
    ("Citizens", "See which projects use regional data, for what public benefit, and how to opt out."),
]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", journeys=JOURNEYS)


@router.get("/opt-out", response_class=HTMLResponse)
def opt_out(request: Request) -> HTMLResponse:
    return render(request, "opt_out.html")


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request) -> HTMLResponse:
    return render(request, "privacy.html")
