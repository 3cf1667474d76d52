"""A node's signed poll: who is asking for tasks, when, and its health, signed by the node's key.

The hub accepts a poll only from an approved node whose signature verifies and whose clock is
within ``SKEW`` of the hub's. A captured poll replayed within that window can only fetch tasks
signed for that node — which only that node can answer — so the window needs no nonce."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phta.federation.protocol import PROTOCOL_VERSION, ProtocolError, check_version, sign, verify

SKEW = dt.timedelta(minutes=2)


def signed_poll(key: Ed25519PrivateKey, node: str, *, version: str, store_fingerprint: str) -> dict:
    return sign(key, {"protocol": PROTOCOL_VERSION, "node": node, "at": dt.datetime.now(dt.UTC).isoformat(),
                      "version": version, "store_fingerprint": store_fingerprint})


def verified_poll(signed: object, keys: dict[str, Ed25519PublicKey]) -> dict:
    """The poll's body; ProtocolError naming what is wrong otherwise."""
    if not isinstance(signed, dict) or not isinstance(signed.get("body"), dict):
        raise ProtocolError("poll: expected a signed envelope")
    body = signed["body"]
    check_version(body, "poll")
    node = body.get("node")
    if not isinstance(node, str) or node not in keys:
        raise ProtocolError(f"poll: node {node!r} is not an approved node")
    body = verify(keys[node], signed, "poll")
    try:
        at = dt.datetime.fromisoformat(str(body.get("at")))
    except ValueError:
        raise ProtocolError("poll.at: not an ISO 8601 time") from None
    if at.tzinfo is None or abs(dt.datetime.now(dt.UTC) - at) > SKEW:
        raise ProtocolError(f"poll.at: more than {SKEW} from the hub's clock")
    return body
