"""In a real browser, under the Content-Security-Policy: the API docs render from the package's
own files, and no page asks for anything from another origin or breaks a CSP rule."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def _watch(page, origin: str) -> tuple[list[str], list[str]]:
    elsewhere: list[str] = []
    violations: list[str] = []
    page.on("request", lambda req: elsewhere.append(req.url)
            if urlsplit(req.url).netloc not in ("", urlsplit(origin).netloc) and not req.url.startswith("data:")
            else None)
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
    return elsewhere, violations


def test_api_docs_render_offline_under_the_policy(page, live_server):
    elsewhere, violations = _watch(page, live_server.url)
    response = page.goto(live_server.url + "/docs")
    assert response is not None and response.status == 200
    page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI drew the operations
    assert page.locator(".opblock-summary-path", has_text="/api/v1/feasibility").count() >= 1
    assert not elsewhere, elsewhere
    assert not violations, violations


@pytest.mark.parametrize("path", ["/", "/sign-in", "/register", "/library", "/no-such-page"])
def test_pages_break_no_policy_rule(page, live_server, path):
    elsewhere, violations = _watch(page, live_server.url)
    page.goto(live_server.url + path)
    page.wait_for_load_state("load")
    header_bg = page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(0, 80, 122)"  # the stylesheet applies under the policy
    assert not elsewhere and not violations, (elsewhere, violations)


def test_a_page_cannot_be_framed(page, live_server):
    # frame-ancestors 'none': another page that frames ours gets an empty frame
    page.goto(live_server.url + "/health")
    # the parent's load event waits for the frame (loaded, or refused)
    page.set_content(f'<iframe id="f" src="{live_server.url}/sign-in"></iframe>', wait_until="load")
    frame = page.frame_locator("#f")
    assert frame.locator("input[name=password]").count() == 0, frame.locator("body").inner_text()
