"""Ed25519 key pairs of the hub and of each node, kept with the platform's key-file machinery
(``<data_dir>/keys/``, mode 0600, created atomically, never logged), and the hub key a node pins."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from phta.federation.protocol import ProtocolError, public_key_from_text, public_key_text
from phta.store.keyfiles import keys_dir, load_or_create_key

HUB_KEY = "federation-hub.ed25519"
NODE_KEY = "federation-node.ed25519"
PINNED_HUB_KEY = "federation-hub.pub"


def _new_private_bytes() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def signing_key(data_dir: Path, name: str) -> Ed25519PrivateKey:
    """The key pair ``name`` in ``data_dir``, generated on first use."""
    raw = load_or_create_key(data_dir, name, _new_private_bytes)
    return Ed25519PrivateKey.from_private_bytes(raw)


def hub_key(data_dir: Path) -> Ed25519PrivateKey:
    return signing_key(data_dir, HUB_KEY)


def node_key(data_dir: Path) -> Ed25519PrivateKey:
    return signing_key(data_dir, NODE_KEY)


def pin_hub_key(data_dir: Path, public_key: str) -> Ed25519PublicKey:
    """Pin the hub's public key at a node. Pinning is once: a different key is refused, so a
    node cannot be silently moved to another hub (rotation is an explicit custodian step:
    remove the pin file, then pin the new key; docs/deployment.md)."""
    key = public_key_from_text(public_key)
    path = keys_dir(data_dir) / PINNED_HUB_KEY
    existing = load_or_create_key(data_dir, PINNED_HUB_KEY, lambda: public_key.encode("ascii")).decode("ascii")
    if existing.strip() != public_key_text(key):
        raise ProtocolError(f"a different hub key is already pinned in {path.name}; remove it to re-enrol")
    return key


def pinned_hub_key(data_dir: Path) -> Ed25519PublicKey | None:
    path = keys_dir(data_dir) / PINNED_HUB_KEY
    return public_key_from_text(path.read_text(encoding="ascii").strip()) if path.is_file() else None
