"""A researcher follows the nav link to concept search, finds type 2 diabetes despite a typo,
opens its page (hierarchy, mapped ICD-10 code), asks for the protected person count, and starts a
concept set from it; all plain links and form posts (no JavaScript needed)."""

from __future__ import annotations

import pytest

from tests.browser.signing import sign_in
from tests.governance_support import make_user

pytestmark = pytest.mark.browser


def test_search_to_concept_page_to_protected_count_and_set(page, region_server, region_settings):
    base = region_server.url
    sign_in(page, base, make_user(region_settings, "researcher"))

    page.get_by_role("link", name="Concepts").click()
    assert page.get_by_role("heading", name="Concepts", exact=True).is_visible()
    page.get_by_label("Words or code").fill("diabtes type 2")
    page.get_by_role("button", name="Search").click()

    results = page.locator("#results")
    assert results.get_by_role("link").first.inner_text() == "Type 2 diabetes mellitus"
    results.get_by_role("link", name="Type 2 diabetes mellitus").first.click()

    assert page.get_by_role("heading", name="Type 2 diabetes mellitus", level=1).is_visible()
    assert page.locator("#concept-code").inner_text() == "SNOMED:44054006"
    assert page.locator("#parents").get_by_role("link", name="Diabetes mellitus").is_visible()
    assert page.locator("#mapped-from").get_by_text("ICD10:E11").is_visible()

    page.get_by_role("button", name="Count persons (protected)").click()
    assert page.get_by_role("heading", name="Protected counts").is_visible()
    total = page.locator("#network-total").inner_text()
    assert total.startswith("suppressed (<10)") or int(total.split()[0].replace(",", "")) % 5 == 0

    page.get_by_role("link", name="Start a concept set with this concept").click()
    assert page.get_by_role("heading", name="Concept set builder").is_visible()
    page.get_by_label("Concept id or code (e.g. SNOMED:44054006)").fill("ICD10:E11")
    page.get_by_role("button", name="Add").click()
    assert page.locator("#resolved").get_by_text("E11", exact=True).is_visible()
