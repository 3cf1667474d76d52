"""The interactive API docs (Swagger UI at ``/docs``), served from this package's own files.

FastAPI's built-in docs page loads Swagger UI from a CDN: blank offline, an unpinned script with
no integrity check, and an inline script our Content-Security-Policy refuses. Here the Swagger
UI files come from the pinned ``fastapi-offline`` package and the page starts them with a script
of ours (``static/swagger-init.js``), so nothing is loaded from another origin. ``PHTA_API_DOCS``
turns the page off (production); ``/openapi.json`` stays, as the API's contract.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_FILES = Path(str(files("fastapi_offline") / "static"))
DOCS_PAGE = """<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>PHTA API</title>
  <link rel="stylesheet" href="/static/api-docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/api-docs/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI, enabled: bool) -> None:
    """Serve ``/docs`` (and its files) when ``enabled``; FastAPI's own CDN pages never."""
    if not enabled:
        return
    app.mount("/static/api-docs", StaticFiles(directory=SWAGGER_FILES), name="api-docs")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)
