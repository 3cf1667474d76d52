"""The web app over real HTTP: health endpoint, home page, stylesheet, OpenAPI."""

import httpx

from phta import __version__


def test_health_endpoint(live_server):
    r = httpx.get(live_server.url + "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


def test_home_page_is_html_that_works_without_javascript(live_server):
    r = httpx.get(live_server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<script" not in r.text
    assert 'lang="en-GB"' in r.text and 'href="/static/phta.css"' in r.text


def test_stylesheet_and_openapi_are_served(live_server):
    assert httpx.get(live_server.url + "/static/phta.css").status_code == 200
    spec = httpx.get(live_server.url + "/openapi.json").json()
    assert "/health" in spec["paths"]
