"""Hygiene of every response over real HTTP: security headers, no Server banner, Secure cookies
behind TLS, no resource from another origin, API docs from the package, CSV formulas neutralised."""

from __future__ import annotations

import csv
import dataclasses
import io
import ipaddress
import re
from pathlib import Path

import httpx
import pytest

from phta.governance import projects, review
from phta.store import open_database
from phta.web.app import create_app
from tests.asgi_support import call
from tests.conftest import LiveServer
from tests.governance_support import complete_request, make_principal

TEMPLATES = Path(__file__).parents[2] / "src" / "phta" / "web" / "templates"
PUBLIC_PAGES = ["/", "/sign-in", "/register", "/docs", "/no-such-page"]


def _assert_security_headers(r: httpx.Response) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "server" not in r.headers, r.headers.get("server")


def test_every_kind_of_response_has_the_security_headers_and_no_server_banner(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        responses = [client.get(p) for p in [*PUBLIC_PAGES, "/health", "/static/phta.css", "/openapi.json",
                                             "/api/v1/me", "/api/v1/nowhere", "/register.csv"]]
        responses.append(client.post("/health"))
        responses.append(client.post("/api/v1/feasibility", content="[" * 200, headers={"content-type": "application/json"}))
    statuses = {r.status_code for r in responses}
    assert {200, 401, 404, 405, 400} <= statuses
    for r in responses:
        _assert_security_headers(r)


def test_cookies_are_secure_behind_tls_and_not_over_plain_http(settings):
    # attack: any client can send X-Forwarded-Proto; from a peer that is no configured proxy it is ignored
    with LiveServer(create_app(settings)) as server:
        spoofed = httpx.get(server.url + "/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in spoofed.headers["set-cookie"].lower()
    assert "strict-transport-security" not in spoofed.headers
    # a trusted proxy (loopback, listed in PHTA_TRUSTED_PROXIES) says the client used https: Secure
    trusting = dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    with LiveServer(create_app(trusting)) as server:
        plain = httpx.get(server.url + "/sign-in")
        proxied = httpx.get(server.url + "/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in plain.headers["set-cookie"].lower()  # control: http in development
    assert "; secure" in proxied.headers["set-cookie"].lower()
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    # PHTA_SECURE_COOKIES=true: Secure whatever the scheme (TLS ended by a proxy that says nothing)
    with LiveServer(create_app(dataclasses.replace(settings, secure_cookies=True))) as server:
        forced = httpx.get(server.url + "/sign-in")
    assert "; secure" in forced.headers["set-cookie"].lower()


_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_no_page_loads_anything_from_another_origin(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        for path in PUBLIC_PAGES:
            r = client.get(path)
            assert r.headers["content-type"].startswith("text/html"), path
            assert not _EXTERNAL.search(r.text), (path, _EXTERNAL.search(r.text).group(0))
            assert "<script>" not in r.text and " style=" not in r.text, path  # nothing inline either


def test_templates_have_no_inline_script_or_style():
    # the CSP refuses them, so one added later would silently not work
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        # a JSON-LD block (schema.org metadata) is data: browsers never run it, and CSP does not apply
        assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))', text), template.name
        assert not re.search(r"\sstyle=|<style", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name  # onclick= and friends
        assert not _EXTERNAL.search(text), template.name


def test_api_docs_come_from_the_package_and_can_be_turned_off(settings):
    app = create_app(settings)
    docs = call(app, "GET", "/docs")
    assert docs.status_code == 200 and not _EXTERNAL.search(docs.text)
    for src in re.findall(r'(?:src|href)="([^"]+)"', docs.text):
        asset = call(app, "GET", src)
        assert asset.status_code == 200 and len(asset.content) > 200, src
    assert call(app, "GET", "/redoc").status_code == 404  # FastAPI's CDN page is gone
    off = create_app(dataclasses.replace(settings, api_docs=False))
    assert call(off, "GET", "/docs").status_code == 404
    assert call(off, "GET", "/static/api-docs/swagger-ui-bundle.js").status_code == 404
    assert "/api/v1/feasibility" in call(off, "GET", "/openapi.json").json()["paths"]  # the contract stays


def _approved_project(settings, title: str) -> int:
    db = open_database(settings)
    owner = make_principal(db, "owner@example.org", "researcher", org="Uni A")
    pid = projects.create_draft(db, owner, complete_request(title))
    projects.submit(db, owner, pid, None, resubmission=False)
    for email, lay in (("lay@example.org", True), ("expert@example.org", False)):
        review.record_review(db, make_principal(db, email, "committee_member", lay=lay), pid, "approve")
    return pid


def test_register_csv_neutralises_formulas(settings):
    pid = _approved_project(settings, '=HYPERLINK("http://x")')
    r = call(create_app(settings), "GET", "/register.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(r.text)))
    assert row["title"] == '\'=HYPERLINK("http://x")'
    assert row["project_id"] == str(pid) and row["organisation"] == "Uni A"  # control: plain cells unchanged
    # the JSON register keeps the title as it was written: only the spreadsheet format needs this
    assert call(create_app(settings), "GET", "/register.json").json()[0]["title"] == '=HYPERLINK("http://x")'


@pytest.mark.parametrize("title", ["+1+1", "-2+3", "@SUM(A1)"])
def test_register_csv_neutralises_every_formula_start(settings, title):
    _approved_project(settings, title)
    (row,) = list(csv.DictReader(io.StringIO(call(create_app(settings), "GET", "/register.csv").text)))
    assert row["title"] == "'" + title
