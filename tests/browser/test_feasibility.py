"""A researcher signs in, follows the nav link to feasibility, counts patients across the network
and sees the protected table (no JavaScript needed: a plain form post)."""

from __future__ import annotations

import re

import pytest

from tests.browser.signing import sign_in
from tests.governance_support import make_user

pytestmark = pytest.mark.browser


def test_researcher_runs_a_feasibility_count(page, region_server, region_settings):
    base = region_server.url
    sign_in(page, base, make_user(region_settings, "researcher"))

    page.get_by_role("link", name="Feasibility").click()
    assert page.get_by_role("heading", name="Network feasibility").is_visible()
    page.get_by_label("Condition (includes its sub-types)").select_option(label="Hypertensive disorder")
    page.get_by_label("From (years)").fill("18")
    page.get_by_role("button", name="Count patients").click()

    assert page.get_by_role("heading", name="Protected counts").is_visible()
    total = page.locator("#network-total").inner_text()
    assert total.startswith("suppressed (<10)") or int(total.split()[0].replace(",", "")) % 5 == 0
    assert page.get_by_text("Disclosure policy applied:").is_visible()
    assert page.get_by_text(re.compile("was audited")).is_visible()
    sex_table = page.locator("table", has=page.locator("caption", has_text="Sex"))
    assert sex_table.get_by_role("row").count() >= 2


def test_researcher_counts_an_atlas_definition(page, region_server, region_settings):
    base = region_server.url
    sign_in(page, base, make_user(region_settings, "researcher"))

    page.goto(base + "/feasibility")
    page.get_by_role("link", name="Count it as it is").click()
    assert page.get_by_role("heading", name="Network feasibility from an ATLAS definition").is_visible()
    page.get_by_role("link", name="Fill in an example").click()
    assert "Hypertensive disorder" in page.get_by_label("ATLAS cohort definition (JSON)").input_value()
    page.get_by_role("button", name="Count patients").click()

    assert page.get_by_role("heading", name="Protected counts").is_visible()
    total = page.locator("#network-total").inner_text()
    assert total.startswith("suppressed (<10)") or int(total.split()[0].replace(",", "")) % 10 == 0
    rules = page.locator("table", has=page.locator("caption", has_text="Inclusion rules"))
    assert rules.get_by_role("row", name=re.compile("adult")).is_visible()
    assert page.get_by_text(re.compile("was audited")).is_visible()


def test_researcher_counts_brca_carriers_with_breast_cancer(page, region_server, region_settings):
    sign_in(page, region_server.url, make_user(region_settings, "researcher"))

    page.goto(region_server.url + "/feasibility")
    page.get_by_label("Condition (includes its sub-types)").select_option(label="Malignant neoplasm of breast")
    variant = page.get_by_label("Germline variant (optional)")
    variant.select_option(label="BRCA1 or BRCA2, pathogenic or likely pathogenic")
    assert page.get_by_text(re.compile("Patients never sequenced count as non-carriers")).is_visible()
    page.get_by_role("button", name="Count patients").click()

    assert page.get_by_role("heading", name="Protected counts").is_visible()
    total = page.locator("#network-total").inner_text()
    assert total.startswith("suppressed (<10)") or int(total.split()[0].replace(",", "")) % 5 == 0
    assert page.get_by_label("Germline variant (optional)").input_value() == "BRCA1+BRCA2"  # the choice is kept
    assert page.get_by_text(re.compile("did not take part")).count() == 0  # no node withheld
