"""A researcher finds a dataset in the library, opens it, reads its quality tab, and starts an
access request that arrives pre-filled with the dataset's node and data."""

from __future__ import annotations

import json

import pytest

from phta.catalogue import library
from phta.catalogue.records import new_record
from phta.execution.network import region_stores
from phta.store import open_database
from tests.browser.signing import sign_in
from tests.governance_support import make_user

pytestmark = pytest.mark.browser


def test_search_open_quality_then_request_access(page, region_server, region_settings):
    database = open_database(region_settings)
    node = region_stores(region_settings)[0].code
    library.save(database, new_record(title="Black Country diabetes and kidney data",
                                      abstract="Adults with type 2 diabetes and chronic kidney disease",
                                      custodian="Black Country Trust", contact="data@bc.example",
                                      keywords=("diabetes", "eGFR")), node=node)
    base = region_server.url
    sign_in(page, base, make_user(region_settings, "researcher"))

    page.get_by_role("link", name="Data library").click()
    page.get_by_label("Search").fill("kidney")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#library-total").inner_text() == "1 dataset"
    assert page.locator("#library-results mark").first.inner_text().lower().startswith("kidney")

    page.get_by_role("link", name="Black Country diabetes and kidney data").click()
    assert page.get_by_role("heading", name="Black Country diabetes and kidney data").is_visible()
    jsonld = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert jsonld["@type"] == "Dataset"
    quality = page.locator("#quality-tab")
    assert quality.get_by_text("Metadata completeness").is_visible()

    page.get_by_role("link", name="Request access").click()
    assert page.url.startswith(base + "/projects/new")
    assert page.locator(f'input[name="nodes"][value="{node}"]').is_checked()
    assert page.locator('input[name="datasets"][value="diagnoses"]').is_checked()
