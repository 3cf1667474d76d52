"""Secret key files in the data directory: created once, 0600, never logged.

Keys live beside the data they protect (``<data_dir>/keys/``), never in the database or the
repository. A new key is written to a private temporary file (``O_EXCL``, mode 0600 from the
first byte) and then hard-linked into place, which fails if another process got there first:
a reader therefore sees either no key file or a complete one, never a half-written one, and
two processes racing to create a key end up using the same key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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
    if path.exists():
        return path.read_bytes()
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        # Atomic, and refuses to replace a key another process has just created.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()
