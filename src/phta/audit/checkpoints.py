"""Signed checkpoints of the chain head, kept outside the database.

Someone who can rewrite the database can recompute every hash after an edit, or simply delete
the newest entries. The checkpoint file (``<data_dir>/audit/checkpoints.jsonl``) holds Ed25519
signatures of (seq, hash) heads made with a key the database never sees
(``<data_dir>/keys/audit-signing.key``, 0600), so such a rewrite or truncation no longer matches.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phta.store.keyfiles import load_or_create_key

SIGNING_KEY_FILE = "audit-signing.key"


def checkpoint_path(data_dir: Path) -> Path:
    return Path(data_dir) / "audit" / "checkpoints.jsonl"


def _new_private_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    pem = load_or_create_key(Path(data_dir), SIGNING_KEY_FILE, _new_private_pem)
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b16encode(raw).decode("ascii").lower()[:16]


def _message(seq: int, head_hash: str, signed_at: str) -> bytes:
    return json.dumps(
        {"seq": seq, "hash": head_hash, "signed_at": signed_at},
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def write_checkpoint(data_dir: Path, seq: int, head_hash: str) -> dict:
    key = signing_key(data_dir)
    signed_at = datetime.now(UTC).isoformat(timespec="microseconds")
    line = {
        "seq": seq,
        "hash": head_hash,
        "signed_at": signed_at,
        "key_id": public_key_id(key.public_key()),
        "signature": base64.b64encode(key.sign(_message(seq, head_hash, signed_at))).decode(
            "ascii"
        ),
    }
    path = checkpoint_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() of a short line on an O_APPEND descriptor: concurrent writers never interleave.
    data = (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return line


@dataclass(frozen=True)
class Checkpoint:
    line_no: int
    seq: int
    hash: str
    signed_at: str
    signature_ok: bool


def read_checkpoints(data_dir: Path) -> tuple[list[Checkpoint], list[str]]:
    """All checkpoints with their signature checked, and problems with the file itself."""
    path = checkpoint_path(data_dir)
    if not path.exists():
        return [], []
    public = signing_key(data_dir).public_key()
    found: list[Checkpoint] = []
    problems: list[str] = []
    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            seq, head_hash, signed_at = int(item["seq"]), str(item["hash"]), str(item["signed_at"])
            signature = base64.b64decode(item["signature"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{path.name} line {line_no}: not a checkpoint")
            continue
        try:
            public.verify(signature, _message(seq, head_hash, signed_at))
            ok = True
        except InvalidSignature:
            ok = False
        found.append(Checkpoint(line_no, seq, head_hash, signed_at, ok))
    return found, problems


def latest_checkpoint(data_dir: Path) -> Checkpoint | None:
    checkpoints, _ = read_checkpoints(data_dir)
    valid = [c for c in checkpoints if c.signature_ok]
    return max(valid, key=lambda c: c.seq) if valid else None
