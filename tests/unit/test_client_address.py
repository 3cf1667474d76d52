"""Which address a request came from: forwarded headers only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from phta.config import SettingsError, load_settings
from phta.web.client_address import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64"))


def _request(peer: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "client": (peer, 5000), "headers": raw, "method": "GET", "path": "/"})


@given(st.ip_addresses().map(str), st.sampled_from(["x-forwarded-for", "x-real-ip", "forwarded"]))
@settings(max_examples=50)
def test_headers_from_an_untrusted_peer_are_ignored(spoofed, header):
    value = f'for="{spoofed}"' if header == "forwarded" else spoofed
    assert client_address(_request("192.0.2.9", {header: value}), PROXIES) == "192.0.2.9"
    assert client_address(_request("192.0.2.9", {header: value}), ()) == "192.0.2.9"


@pytest.mark.parametrize(("headers", "expected"), [
    ({"x-forwarded-for": "198.51.100.1"}, "198.51.100.1"),
    ({"x-forwarded-for": "1.1.1.1, 198.51.100.1, 10.0.0.7"}, "198.51.100.1"),  # skip trusted hops
    ({"x-real-ip": "198.51.100.2"}, "198.51.100.2"),
    ({"forwarded": 'for=198.51.100.3;proto=https, for="[2001:db8::1]:4711"'}, "2001:db8::1"),
    ({"x-forwarded-for": "198.51.100.4:8080"}, "198.51.100.4"),
    ({"x-forwarded-for": "not-an-address"}, "10.0.0.5"),  # malformed: believe nothing beyond it
    ({}, "10.0.0.5"),
])
def test_a_trusted_proxy_is_believed(headers, expected):
    assert client_address(_request("10.0.0.5", headers), PROXIES) == expected


def test_the_setting_names_a_bad_entry():
    assert load_settings("/tmp/x", env={}).trusted_proxies == ()
    parsed = load_settings("/tmp/x", env={"PHTA_TRUSTED_PROXIES": "10.0.0.1, fd00::/64"}).trusted_proxies
    assert [str(n) for n in parsed] == ["10.0.0.1/32", "fd00::/64"]
    with pytest.raises(SettingsError, match=r"PHTA_TRUSTED_PROXIES: 'proxy\.local'"):
        load_settings("/tmp/x", env={"PHTA_TRUSTED_PROXIES": "proxy.local"})
