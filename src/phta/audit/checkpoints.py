"""Signed checkpoints of the chain head, kept outside the database and chained to each other.

Someone who can rewrite the database can recompute every hash after an edit, or simply delete
the newest entries. The checkpoint file (``<data_dir>/audit/checkpoints.jsonl``) holds Ed25519
signatures of (seq, hash) heads made with a key the database never sees
(``<data_dir>/keys/audit-signing.key``, 0600), so such a rewrite or truncation no longer matches.

Each checkpoint also signs the hash of the checkpoint before it (``prev``; the first one signs
``GENESIS``), so the file is itself a chain: a line deleted from the middle or the start shows.
Deleting lines from the end leaves a valid shorter chain, which ``verify`` catches when the
newest checkpoint lags the chain's head, and which an anchor copied outside the data directory
(``phta audit anchor``: printed for the transparency register, or posted to a URL) makes evident
even to someone who controls the whole data directory.

Lines written before checkpoints were chained (no ``prev``) are accepted only at the start of the
file, as its legacy prefix.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
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
GENESIS = "GENESIS"
_TAIL_BYTES = 8192  # a checkpoint line is ~400 bytes; the last one is within this of the end


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


def public_key_hex(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def public_key_id(public: Ed25519PublicKey) -> str:
    return public_key_hex(public)[:16]


def _message(seq: int, head_hash: str, signed_at: str, prev: str | None) -> bytes:
    body: dict = {"seq": seq, "hash": head_hash, "signed_at": signed_at}
    if prev is not None:
        body["prev"] = prev
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def line_hash(line: dict) -> str:
    """The hash the next checkpoint signs as its ``prev``: over the signed fields and signature."""
    fields = {k: line.get(k) for k in ("seq", "hash", "signed_at", "prev", "signature")}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _last_line(fd: int) -> dict | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start).decode("utf-8", errors="replace")
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None  # a damaged last line: the next checkpoint cannot link to it; verify says so


def write_checkpoint(data_dir: Path, seq: int, head_hash: str) -> dict:
    key = signing_key(data_dir)
    path = checkpoint_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        # Reading the last line and appending the next must not interleave with another writer
        # (threads or processes), or two checkpoints would claim the same predecessor.
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_line(fd)
        prev = line_hash(last) if last is not None else GENESIS
        signed_at = datetime.now(UTC).isoformat(timespec="microseconds")
        signature = key.sign(_message(seq, head_hash, signed_at, prev))
        line = {
            "seq": seq,
            "hash": head_hash,
            "signed_at": signed_at,
            "prev": prev,
            "key_id": public_key_id(key.public_key()),
            "signature": base64.b64encode(signature).decode("ascii"),
        }
        os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode("utf-8"))
    finally:
        os.close(fd)  # releases the lock
    return line


@dataclass(frozen=True)
class Checkpoint:
    line_no: int
    seq: int
    hash: str
    signed_at: str
    signature_ok: bool
    prev: str | None  # None: a legacy line, written before checkpoints were chained
    line_hash: str


def read_checkpoints(data_dir: Path) -> tuple[list[Checkpoint], list[str]]:
    """All checkpoints with their signature checked, and problems with the file itself
    (unreadable lines, and breaks in the chain of checkpoints)."""
    path = checkpoint_path(data_dir)
    if not path.exists():
        return [], []
    public = signing_key(data_dir).public_key()
    found: list[Checkpoint] = []
    problems: list[str] = []
    previous: Checkpoint | None = None
    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            seq, head_hash, signed_at = int(item["seq"]), str(item["hash"]), str(item["signed_at"])
            prev = item.get("prev")
            signature = base64.b64decode(item["signature"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{path.name} line {line_no}: not a checkpoint")
            previous = None
            continue
        try:
            public.verify(signature, _message(seq, head_hash, signed_at, prev))
            ok = True
        except InvalidSignature:
            ok = False
        checkpoint = Checkpoint(line_no, seq, head_hash, signed_at, ok, prev, line_hash(item))
        problems.extend(_link_problems(checkpoint, previous, line_no))
        found.append(checkpoint)
        previous = checkpoint
    return found, problems


def _link_problems(cp: Checkpoint, previous: Checkpoint | None, line_no: int) -> list[str]:
    if cp.prev is None:  # legacy, unchained: only before the first chained line
        if previous is not None and previous.prev is not None:
            return [f"checkpoint line {line_no}: unchained checkpoint after chained ones (inserted)"]
        return []
    expected = GENESIS if previous is None else previous.line_hash
    if cp.prev == expected:
        return []
    if previous is None:
        return [
            f"checkpoint line {line_no} (entry {cp.seq}): the first checkpoint does not start the "
            "chain of checkpoints (earlier checkpoints deleted)"
        ]
    return [
        f"checkpoint line {line_no} (entry {cp.seq}): does not link to checkpoint line "
        f"{previous.line_no} (a checkpoint was deleted or inserted)"
    ]


def latest_checkpoint(data_dir: Path) -> Checkpoint | None:
    checkpoints, _ = read_checkpoints(data_dir)
    valid = [c for c in checkpoints if c.signature_ok]
    return max(valid, key=lambda c: c.seq) if valid else None


def anchor_record(data_dir: Path) -> dict | None:
    """The newest checkpoint line as written, with the public key that verifies it: what to
    copy outside the data directory (the transparency register, a URL, paper)."""
    path = checkpoint_path(data_dir)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        last = _last_line(fd)
    finally:
        os.close(fd)
    if last is None:
        return None
    public = signing_key(data_dir).public_key()
    return {**last, "line_hash": line_hash(last), "public_key": public_key_hex(public)}
