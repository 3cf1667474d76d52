"""The FastAPI application factory: pages (Jinja2) and the JSON API, one router per part."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from phta import __version__
from phta.config import Settings, load_settings
from phta.disclosure import load_policy
from phta.store import open_database
from phta.web import (
    accounts,
    airlock,
    airlock_api,
    airlock_checking,
    feasibility,
    feasibility_atlas,
    frontdoor_api,
    frontdoor_cases,
    frontdoor_operator,
    frontdoor_public,
    governance_api,
    pages,
    projects,
    projects_api,
    register,
    security,
    system,
)

STATIC_DIR = Path(__file__).with_name("static")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    if settings.disclosure_policy:
        # A bad policy file (or a node override that would weaken it) stops the start-up with
        # the file and field named, rather than the first upload to the airlock.
        load_policy(settings.disclosure_policy)
    app = FastAPI(
        title="PHTA",
        version=__version__,
        description="Precision Health Technologies Accelerator: pages and JSON API.",
    )
    app.state.settings = settings
    # Migrations run here, on start-up, before the first request.
    app.state.database = open_database(settings)
    security.install(app, app.state.database)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(system.router)
    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(governance_api.router)
    app.include_router(projects.router)
    app.include_router(feasibility.router)
    app.include_router(feasibility_atlas.router)
    app.include_router(projects_api.router)
    app.include_router(register.router)
    app.include_router(airlock.router)
    app.include_router(airlock_checking.router)
    app.include_router(airlock_api.router)
    app.include_router(frontdoor_public.router)
    app.include_router(frontdoor_cases.router)
    app.include_router(frontdoor_operator.router)
    app.include_router(frontdoor_api.router)
    return app
