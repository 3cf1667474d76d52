"""Which address a request came from, for throttling and the audit chain.

``X-Forwarded-For``, ``Forwarded`` and ``X-Real-IP`` are written by whoever sends the request, so
they are believed only when the connection itself comes from a configured reverse proxy
(``PHTA_TRUSTED_PROXIES``, default none). Otherwise the socket's peer address is the answer and
those headers are ignored: a client cannot give itself a fresh address for every guess, or put
someone else's address into the audit chain.

Behind trusted proxies the forwarded chain is read from the right (the hop nearest us), skipping
addresses that are themselves trusted proxies; the first other address is the client. Uvicorn's
own proxy-header handling is switched off (``SERVER_OPTIONS``), because it trusts 127.0.0.1 by
default and rewrites the peer address before the app can judge it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from fastapi import Request

# How ``phta serve``, ``phta demo`` and the tests run uvicorn: never let it rewrite the peer.
# No ``Server`` banner either (it names the server software and version to every scanner).
SERVER_OPTIONS: dict[str, object] = {"proxy_headers": False, "server_header": False}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("?)([^;",]+)\1', re.IGNORECASE)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from a header element: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def _forwarded_chain(request: Request) -> list[str]:
    """Hops named by the proxy headers, nearest client first (one header kind, in order of trust)."""
    forwarded = request.headers.getlist("forwarded")
    if forwarded:
        return [m.group(2) for part in ",".join(forwarded).split(",") for m in [_FOR.search(part)] if m]
    xff = request.headers.getlist("x-forwarded-for")
    if xff:
        return [hop for hop in ",".join(xff).split(",") if hop.strip()]
    real = request.headers.get("x-real-ip")
    return [real] if real else []


def client_address(request: Request, proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else None
    if peer is None:
        return "unknown"
    if not _trusted(_address(peer), proxies):
        return peer
    for hop in reversed(_forwarded_chain(request)):
        address = _address(hop)
        if address is None:
            return peer  # a malformed hop: believe nothing beyond it
        if not _trusted(address, proxies):
            return str(address)
    return peer


def came_over_https(request: Request, proxies: Sequence[Network]) -> bool:
    """Whether the client's connection was TLS: the request's own scheme, or ``X-Forwarded-Proto``
    from a trusted proxy (from anyone else it is ignored, like the forwarded address)."""
    if request.url.scheme == "https":
        return True
    peer = _address(request.client.host) if request.client else None
    if not _trusted(peer, proxies):
        return False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"
