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
        from phta.web.client_address import SERVER_OPTIONS

        # The options `phta serve` uses, so the tests see what production does.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **SERVER_OPTIONS)
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


@pytest.fixture(scope="session")
def keyed_region(tmp_path_factory) -> Path:
    """A small synthetic region (3 node stores) with record keys and dated opt-out registers
    (3% national, 1% type 1), generated once per session. Tests use it read-only, through
    ``region_settings``."""
    import datetime as dt

    from phta.cdm import optout_register
    from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
    from phta.cdm.record_keys import index_record_keys
    from phta.cdm.store import Store
    from phta.cdm.synth.generate import generate

    key, patients = b"r" * 32, 2_000
    out = tmp_path_factory.mktemp("keyed-region") / "stores"
    result = generate(out, patients=patients, sites=3, seed=5, key=key)
    numbers = reserved_range_nhs_numbers(patients)
    lists = {"national": numbers[::33], "type1": numbers[5::100]}
    for site in result.sites:
        index_record_keys(result.store_path(site))
        for kind, chosen in lists.items():
            path = out.parent / f"{kind}.csv"
            path.write_text("nhs_number\n" + "".join(f"{n}\n" for n in chosen), encoding="ascii")
            optout_register.refresh(Store.open(result.store_path(site)), kind, path, dt.date(2026, 11, 1),
                                    Pseudonymiser(key), allow_older=True)
    return out


@pytest.fixture
def region_settings(settings: Settings, keyed_region: Path) -> Settings:
    """``settings`` whose stores directory is the session's keyed region."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.stores_dir.symlink_to(keyed_region, target_is_directory=True)
    return settings


@pytest.fixture
def region_server(region_settings: Settings) -> Iterator[LiveServer]:
    from phta.web.app import create_app

    with LiveServer(create_app(region_settings)) as server:
        yield server
