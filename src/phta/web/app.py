"""The FastAPI application factory: pages (Jinja2) and the JSON API, one router per part."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
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
    api_docs,
    beacon_api,
    budget,
    concept_sets,
    concepts,
    errors,
    feasibility,
    feasibility_atlas,
    federation_api,
    frontdoor_api,
    frontdoor_cases,
    frontdoor_operator,
    frontdoor_public,
    governance_api,
    hardening,
    library,
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
        docs_url=None,  # FastAPI's pages load Swagger UI/ReDoc from a CDN; ours: api_docs
        redoc_url=None,
        dependencies=[Depends(errors.path_ids_in_range)],
    )
    app.state.settings = settings
    # Migrations run here, on start-up, before the first request.
    app.state.database = open_database(settings)
    security.install(app, app.state.database)
    errors.install(app)
    # Outermost last: headers on every response (errors included), then the body limits, then
    # the catch-all, so even a 500 leaves one log line and carries the headers.
    app.add_middleware(errors.CatchAll)
    app.add_middleware(hardening.RequestLimits, max_body=settings.max_request_bytes,
                       max_upload=settings.max_upload_bytes)
    app.add_middleware(hardening.SecurityHeaders, trusted_proxies=settings.trusted_proxies)
    api_docs.install(app, settings.api_docs)  # before /static: its files live under /static/api-docs
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(system.router)
    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(governance_api.router)
    app.include_router(projects.router)
    app.include_router(concepts.router)
    app.include_router(concept_sets.router)
    app.include_router(feasibility.router)
    app.include_router(feasibility_atlas.router)
    app.include_router(budget.router)
    app.include_router(projects_api.router)
    app.include_router(register.router)
    app.include_router(airlock.router)
    app.include_router(airlock_checking.router)
    app.include_router(airlock_api.router)
    app.include_router(frontdoor_public.router)
    app.include_router(frontdoor_cases.router)
    app.include_router(frontdoor_operator.router)
    app.include_router(frontdoor_api.router)
    app.include_router(library.router)
    app.include_router(federation_api.router)
    app.include_router(beacon_api.router)
    app.include_router(beacon_api.page_router)
    return app
