"""The federation wire protocol: canonical JSON envelopes for tasks and results, signed with Ed25519.

A task is what the hub asks one node to do; it carries only declarative queries (PHTA JSON IR or
ATLAS JSON), never code. A result is what the node answers; it carries only protected aggregates.
Both are signed over their *canonical* JSON (sorted keys, no whitespace, UTF-8, no NaN), so the
bytes that are signed are a function of the content alone and any change to any field — a
purpose, a threshold, an expiry, a count — breaks the signature.

Parsing is strict: an unknown protocol version is refused naming the versions this side speaks;
a missing or mistyped field is refused naming the field. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROTOCOL_VERSION = "phta-federation/1"
SUPPORTED_VERSIONS = frozenset({PROTOCOL_VERSION})
TASK_TYPES = frozenset({"feasibility_count"})
QUERY_FORMATS = frozenset({"phta-ir", "atlas"})
#: a task's lifetime is bounded so that a captured task cannot be held back and replayed later
MAX_TASK_LIFETIME = dt.timedelta(hours=24)


class ProtocolError(ValueError):
    """An envelope this side refuses; the message names the field (never a data value)."""


def canonical(value: Any) -> bytes:
    """The one byte form of a JSON value that is signed and verified."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, name: str) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError(f"{name}: expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError(f"{name}: not valid base64") from None


def sign(private_key: Ed25519PrivateKey, body: dict) -> dict:
    """``{"body": body, "signature": ...}``: the signature covers ``canonical(body)``."""
    return {"body": body, "signature": _b64(private_key.sign(canonical(body)))}


def verify(public_key: Ed25519PublicKey, signed: object, what: str) -> dict:
    """The body of ``signed`` if its signature is ``public_key``'s; ProtocolError otherwise."""
    if not isinstance(signed, dict) or set(signed) != {"body", "signature"} or not isinstance(signed["body"], dict):
        raise ProtocolError(f"{what}: expected an object with exactly 'body' and 'signature'")
    signature = _unb64(signed["signature"], f"{what}.signature")
    try:
        public_key.verify(signature, canonical(signed["body"]))
    except InvalidSignature:
        raise ProtocolError(f"{what}: the signature does not verify (tampered, or signed by another key)") from None
    return signed["body"]


def check_version(body: dict, what: str) -> None:
    version = body.get("protocol")
    if version not in SUPPORTED_VERSIONS:
        raise ProtocolError(f"{what}: protocol version {version!r} is not spoken here "
                            f"(this side speaks {', '.join(sorted(SUPPORTED_VERSIONS))})")


def _utc(text: object, name: str) -> dt.datetime:
    if not isinstance(text, str):
        raise ProtocolError(f"{name}: expected an ISO 8601 time")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ProtocolError(f"{name}: not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ProtocolError(f"{name}: the time must carry its UTC offset")
    return when.astimezone(dt.UTC)


def _text(body: dict, name: str, what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{what}.{name}: expected non-empty text")
    return value


def _object(body: dict, name: str, what: str) -> dict:
    value = body.get(name)
    if not isinstance(value, dict):
        raise ProtocolError(f"{what}.{name}: expected an object")
    return value


@dataclass(frozen=True)
class Task:
    """One task for one node. ``query`` is ``{"format": "phta-ir"|"atlas", "definition": {...}}``;
    ``grant`` says who asks and under what (``requester``, ``roles``, ``project``); ``privacy`` the
    disclosure floors the hub asks for (a node may only tighten them)."""

    task_id: str
    task_type: str
    target_node: str
    query: dict
    purpose: str
    grant: dict
    privacy: dict
    issued_at: str
    expires_at: str
    nonce: str
    protocol: str = PROTOCOL_VERSION

    @classmethod
    def new(cls, *, task_type: str, target_node: str, query: dict, purpose: str, grant: dict,
            privacy: dict | None = None, lifetime: dt.timedelta = dt.timedelta(minutes=10),
            now: dt.datetime | None = None, task_id: str | None = None) -> Task:
        now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        task = cls(task_id=task_id or str(uuid.uuid4()), task_type=task_type, target_node=target_node,
                   query=query, purpose=purpose, grant=grant, privacy=privacy or {},
                   issued_at=now.isoformat(), expires_at=(now + lifetime).isoformat(),
                   nonce=secrets.token_hex(16))
        return cls.from_body(task.to_body())  # the same checks as a node applies

    def to_body(self) -> dict:
        return asdict(self)

    @classmethod
    def from_body(cls, body: dict) -> Task:
        what = "task"
        check_version(body, what)
        unknown = set(body) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ProtocolError(f"{what}.{sorted(unknown)[0]}: unknown field")
        task = cls(**{name: body.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]
        for name in ("task_id", "task_type", "target_node", "purpose", "nonce"):
            _text(body, name, what)
        for name in ("query", "grant", "privacy"):
            _object(body, name, what)
        if task.task_type not in TASK_TYPES:
            raise ProtocolError(f"task.task_type: unknown task type {task.task_type!r} "
                                f"(known: {', '.join(sorted(TASK_TYPES))})")
        if task.query.get("format") not in QUERY_FORMATS or not isinstance(task.query.get("definition"), dict):
            raise ProtocolError("task.query: expected {\"format\": \"phta-ir\"|\"atlas\", \"definition\": {...}}")
        issued, expires = task.issued, task.expires
        if not issued < expires <= issued + MAX_TASK_LIFETIME:
            raise ProtocolError(f"task.expires_at: must be after issued_at and within {MAX_TASK_LIFETIME}")
        return task

    @property
    def issued(self) -> dt.datetime:
        return _utc(self.issued_at, "task.issued_at")

    @property
    def expires(self) -> dt.datetime:
        return _utc(self.expires_at, "task.expires_at")


@dataclass(frozen=True)
class Result:
    """A node's answer to one task, signed by the node. ``status`` is ``completed`` (``answer``
    holds protected values only), ``refused`` (``reason`` says why, naming no data), or
    ``not_taken_part`` (the node could not run the query; ``reason`` says why)."""

    task_id: str
    node: str
    status: str
    answer: dict = field(default_factory=dict)
    reason: str = ""
    protocol: str = PROTOCOL_VERSION

    def to_body(self) -> dict:
        return asdict(self)

    @classmethod
    def from_body(cls, body: dict) -> Result:
        what = "result"
        check_version(body, what)
        unknown = set(body) - set(cls.__dataclass_fields__)
        if unknown:
            raise ProtocolError(f"{what}.{sorted(unknown)[0]}: unknown field")
        for name in ("task_id", "node", "status"):
            _text(body, name, what)
        if body["status"] not in ("completed", "refused", "not_taken_part"):
            raise ProtocolError(f"result.status: unknown status {body['status']!r}")
        _object(body, "answer", what)
        if not isinstance(body.get("reason", ""), str):
            raise ProtocolError("result.reason: expected text")
        return cls(**{name: body[name] for name in cls.__dataclass_fields__ if name in body})


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key as base64: what enrolment exchanges and an admin compares."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    raw = _unb64(text, "public_key")
    if len(raw) != 32:
        raise ProtocolError("public_key: an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """A short, comparable name for a public key (SHA-256 of its raw bytes, first 16 hex digits)."""
    import hashlib

    return hashlib.sha256(_unb64(public_key_text(key), "public_key")).hexdigest()[:16]
