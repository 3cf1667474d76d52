"""Shared fixtures: real components (see components.py), a data directory, a live server."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phta.config import Settings, load_settings
from tests.components import (
    require,
    require_chromium,
    require_java,
    require_postgres,
    require_reference,
)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return require_reference()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture(scope="session")
def java() -> str:
    return require_java()


@pytest.fixture(scope="session")
def spark_master(java: str) -> Iterator[str]:
    """A local Spark (``local[2]``) started once for the whole test session, stopped at the end.

    Tests make engines with ``SparkEngine(location, master=spark_master)``; starting Spark costs
    seconds, so every Spark test shares this one JVM (each engine has its own views)."""
    from phta.engines import spark_session

    require("PySpark", importlib.util.find_spec("pyspark") is not None, "run `make install` (the spark extra)")
    master = "local[2]"
    spark_session.get_session(master)
    yield master
    spark_session.stop_session()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "data", env={})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start within 20 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    from phta.web.app import create_app

    with LiveServer(create_app(settings)) as server:
        yield server
