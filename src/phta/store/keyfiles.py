"""Secret key files in the data directory: created once, 0600, never logged.

Keys live beside the data they protect (``<data_dir>/keys/``), never in the database or the
repository. The file is created with ``O_EXCL`` and mode 0600 in one step so there is no window
in which another local user could read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def keys_dir(data_dir: Path) -> Path:
    path = data_dir / "keys"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def load_or_create_key(data_dir: Path, name: str, make: Callable[[], bytes]) -> bytes:
    """Return the key in ``<data_dir>/keys/<name>``, creating it with ``make()`` if absent."""
    path = keys_dir(data_dir) / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(make())
    return path.read_bytes()
