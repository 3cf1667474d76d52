"""Jinja2 environment shared by every page router (autoescaping on: no user text is trusted)."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from phta import __version__
from phta.web import dates

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.globals["phta_version"] = __version__
templates.env.filters["long_date"] = dates.long_date
templates.env.filters["long_datetime"] = dates.long_datetime


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)
