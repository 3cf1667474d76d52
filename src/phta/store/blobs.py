"""Content-addressed file storage in the data directory (files released through the airlock).

A file is stored once under its SHA-256 (``<data_dir>/airlock/files/ab/abcdef...``), so the
name *is* the checksum: the database keeps only the hash, two requests sharing a file share its
bytes, and reading verifies the hash, so a file changed on disk is refused rather than released.
Writes go to a private temporary file first and are renamed into place (atomic on one
filesystem), so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(ValueError):
    """A stored file is missing or its bytes no longer match its SHA-256."""


class BlobStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "airlock" / "files"

    def path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise BlobError(f"{sha256!r} is not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobError(f"stored file {sha256[:12]}... is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobError(f"stored file {sha256[:12]}... no longer matches its SHA-256")
        return data
