"""The variant search page in Chromium, under the site's Content-Security-Policy: the public get a
yes/no, a signed-in researcher protected counts by site and overall; a rare variant reads as
"fewer than 10", like an absent one; a bad position is an error on the page, not a traceback."""

from __future__ import annotations

import pytest

from phta.config import load_settings
from tests.beacon_region import make_region
from tests.browser.signing import sign_in
from tests.browser.test_content_security import _watch
from tests.conftest import LiveServer
from tests.governance_support import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def beacon_server(tmp_path):
    from phta.web.app import create_app

    settings = load_settings(tmp_path / "data", env={})
    settings.data_dir.mkdir(parents=True)
    make_region(settings.stores_dir)
    with LiveServer(create_app(settings)) as live:
        yield live, settings


def test_public_and_signed_in_variant_search(page, beacon_server):
    live, settings = beacon_server
    elsewhere, violations = _watch(page, live.url)
    page.goto(live.url + "/beacon")
    assert page.get_by_role("heading", name="Variant search").is_visible()
    page.get_by_label("Gene (optional)").fill("BRCA1")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#beacon-exists").inner_text().startswith("Yes")
    assert page.locator("#beacon-sites").count() == 0  # the public see no counts

    page.goto(live.url + "/beacon")
    page.get_by_label("Chromosome").fill("abc")
    page.get_by_label("Position (1-based)").fill("5")
    page.get_by_role("button", name="Search").click()
    assert "referenceName" in page.locator("#beacon-error").inner_text()

    sign_in(page, live.url, make_user(settings, "researcher"))
    page.goto(live.url + "/beacon")
    page.get_by_label("Chromosome").fill("17")
    page.get_by_label("Position (1-based)").fill("43124029")  # the deletion allele's last base
    page.get_by_role("button", name="Search").click()
    sites = page.locator("#beacon-sites")
    # protected counts (rounded to 10; in this tiny region a node's carriers may lie within the
    # threshold of its whole population, and then get the whole population's value)
    values = [int(sites.get_by_role("row", name=n).inner_text().split()[-1]) for n in ("NODEA", "NODEB")]
    assert all(v >= 10 and v % 10 == 0 for v in values)
    assert int(page.locator("#beacon-overall").inner_text().split()[-1]) == sum(values)

    page.goto(live.url + "/beacon?gene=BRCA2")  # carried by one person: below the threshold everywhere
    assert page.locator("#beacon-overall").inner_text().endswith("fewer than 10 at every site")
    assert not elsewhere and not violations, (elsewhere, violations)
