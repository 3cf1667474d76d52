"""Real components the tests need, and the rule for when one is missing.

Locally a missing component (PostgreSQL, Java, chromium, the shared reference files) skips the
tests that need it, with a message saying what is missing. Under ``CI=true`` the same situation
FAILS the test, so CI can never pass by skipping the real components.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _find_reference_dir() -> Path:
    """``shared/reference`` beside the repository (or beside a parent, for git worktrees)."""
    if os.environ.get("PHTA_REFERENCE_DIR"):
        return Path(os.environ["PHTA_REFERENCE_DIR"]).resolve()
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "reference"
        if candidate.is_dir():
            return candidate.resolve()
    return (REPO_ROOT.parent / "shared" / "reference").resolve()


REFERENCE_DIR = _find_reference_dir()
CHROMIUM = os.environ.get("PHTA_CHROMIUM", "/usr/bin/chromium")
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(component: str, available: bool, how_to_get_it: str) -> None:
    """Skip (locally) or fail (under CI=true) when a real component is missing."""
    if available:
        return
    message = f"{component} is not available — {how_to_get_it}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: tests may not skip real components)", pytrace=False)
    pytest.skip(message)


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=2):
            return True
    except OSError:
        return False


def require_postgres() -> str:
    require(
        "PostgreSQL",
        postgres_reachable(),
        f"start a server at {POSTGRES_HOST}:{POSTGRES_PORT} (user postgres, trust auth)",
    )
    return f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"


def require_java() -> str:
    java = shutil.which("java")
    require("Java", java is not None, "install a Java 17 runtime (apt-get install openjdk-17-jre-headless)")
    return java  # type: ignore[return-value]


def require_chromium() -> str:
    require("chromium", Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)")
    return CHROMIUM


def require_dsl_sandbox() -> None:
    """The DSL sandbox's OS features: bubblewrap, user namespaces, seccomp (docs/security.md)."""
    from phta.execution.os_sandbox import missing_feature

    missing = missing_feature()
    require("the DSL sandbox", missing is None, missing or "")


def require_reference() -> Path:
    require(
        "shared/reference",
        REFERENCE_DIR.is_dir(),
        f"expected the public reference files at {REFERENCE_DIR} (or set PHTA_REFERENCE_DIR)",
    )
    return REFERENCE_DIR
