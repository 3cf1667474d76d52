"""The home page in a real browser."""

import pytest

pytestmark = pytest.mark.browser


def test_home_page_loads_with_stylesheet_and_journeys(page, live_server):
    response = page.goto(live_server.url + "/")
    assert response is not None and response.status == 200
    assert "PHTA" in page.title()
    assert page.locator("h1").inner_text() == "Health data innovation for the Midlands"
    # The project's own stylesheet is applied (header background is the brand colour).
    header_bg = page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(0, 80, 122)"
    # Keyboard users get a skip link first.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
