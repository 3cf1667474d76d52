"""``phta serve``: run the web application."""

from __future__ import annotations

from pathlib import Path

import typer

from phta.config import load_settings


def serve(
    host: str = typer.Option(None, help="Interface to bind (default PHTA_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default PHTA_PORT or 8000)."),
    data_dir: Path = typer.Option(None, help="Data directory (default PHTA_DATA_DIR or ./data)."),
) -> None:
    """Serve the PHTA pages and JSON API."""
    import uvicorn

    from phta.web.app import create_app
    from phta.web.client_address import SERVER_OPTIONS

    settings = load_settings(data_dir)
    app = create_app(settings)
    uvicorn.run(
        app, host=host or settings.host, port=port or settings.port, log_level="info", **SERVER_OPTIONS
    )
