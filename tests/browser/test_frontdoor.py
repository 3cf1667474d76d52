"""The front door in a real browser: a company's enquiry, triaged with reasons, picked up by an
account manager who replies and opens a feasibility query; the company sees the reply. The public
portal pages load, filter and pass an axe-core accessibility scan; the enquiry form works with the
keyboard alone."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from phta.governance.roles import needs_totp
from tests.browser.signing import sign_in, sign_out
from tests.frontdoor_support import install
from tests.governance_support import make_user

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ["/", "/showcase", "/assets", "/assets?kind=incubator", "/opportunities", "/challenges",
                "/challenges/1", "/events", "/register", "/sign-in"]


def test_company_enquiry_to_account_manager_reply(page, live_server, settings):
    base = live_server.url
    install(live_server, settings)
    company = make_user(settings, "innovator", email="ceo@acme.example", name="Ada Acme", organisation="Acme Diagnostics")
    manager = make_user(settings, "account_manager", email="am@hub.example", name="Amir Manager")

    # 1. the company makes an enquiry
    sign_in(page, base, company)
    page.get_by_role("link", name="Front door").click()
    assert page.get_by_label("Organisation").input_value() == "Acme Diagnostics"
    page.get_by_label("Sector").select_option(label="AI and digital health")
    page.get_by_label("Clinical validation").check()
    page.get_by_label("Evaluate a device, diagnostic or AI").check()
    page.get_by_label("Access data").check()
    page.get_by_label("Tell us more (optional)").fill("Our AI reads chest X-rays for heart failure.")
    page.get_by_role("button", name="Send enquiry").click()

    # 2. triaged, with reasons, and a named contact
    assert page.get_by_role("status").get_by_text("received and triaged").is_visible()
    assert page.get_by_text("Pathway: Evaluate a product").is_visible()
    assert page.get_by_text(re.compile(r"Why: Evaluate a product: You asked to evaluate")).first.is_visible()
    assert page.get_by_text("Facility: Regional Test and Evaluation Centre for Diagnostics and AI").is_visible()
    assert page.get_by_text("Amir Manager (account manager)").is_visible()
    case_url = page.url.split("?")[0]
    sign_out(page)

    # 3. the account manager picks it up, replies and opens a feasibility query
    sign_in(page, base, manager, totp=needs_totp({"account_manager"}))
    page.get_by_role("link", name="Case queue").click()
    page.get_by_role("link", name=re.compile(r"Case \d+")).first.click()
    page.get_by_role("button", name="Pick up this case").click()
    assert page.get_by_text("Engaged").first.is_visible()
    page.get_by_label("Your message").fill("Hello Ada, let's count eligible patients first.")
    page.get_by_role("button", name="Send message").click()
    page.get_by_label("Condition (optional)").select_option(label="Heart failure")
    page.get_by_role("button", name="Open a feasibility query").click()
    assert page.get_by_role("link", name="Network feasibility query (pre-filled)").is_visible()
    page.get_by_role("button", name="Open a data access request").click()
    sign_out(page)

    # 4. the company sees the reply and continues where it was opened
    sign_in(page, base, company)
    page.get_by_role("link", name="My enquiries").click()
    page.get_by_role("link", name=re.compile(r"Case \d+")).click()
    assert page.url == case_url
    assert page.get_by_text("Hello Ada, let's count eligible patients first.").is_visible()
    assert page.get_by_text("First response").is_visible()
    page.get_by_role("link", name="Data access request (pre-filled)").click()
    assert "front door case" in page.get_by_label("Project title").input_value()
    page.go_back()
    page.get_by_role("link", name="Network feasibility query (pre-filled)").click()
    chosen = page.get_by_label("Condition (includes its sub-types)").locator("option:checked").inner_text()
    assert chosen == "Heart failure"


def test_public_pages_load_and_filter(page, live_server, settings):
    base = live_server.url
    install(live_server, settings)
    page.goto(base + "/")
    page.get_by_role("link", name="Facilities").click()
    page.get_by_label("Kind of asset").select_option(label="Genomics laboratory")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("status").inner_text() == "1 asset found."
    assert page.get_by_role("heading", name="West Midlands Genomic Laboratory").is_visible()
    page.get_by_label("Search").fill("bench")
    page.get_by_label("Kind of asset").select_option(label="Any kind")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("heading", name="Life Sciences Incubator").is_visible()
    page.get_by_role("link", name="Opportunities").click()
    page.get_by_label("Kind").select_option(label="Apprenticeship")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("heading", name="Health data analyst apprenticeship (level 4)").is_visible()
    assert page.get_by_role("heading", name=re.compile("Graduate data engineer")).count() == 0
    page.get_by_role("link", name="Events").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("iCalendar")).click()
    assert download.value.suggested_filename == "phta-events.ics"
    page.get_by_role("link", name="Showcase").click()
    assert page.get_by_role("heading", name="Patients covered across the network").is_visible()
    assert page.locator("svg.fd-chart").is_visible()


@pytest.fixture
def csp_free_page(browser):
    """axe-core is injected as a script; the app's Content-Security-Policy would rightly refuse it."""
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def _serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_scan_finds_a_serious_violation_when_there_is_one(csp_free_page):
    """Control: the scanner runs offline and reports what our pages must not have."""
    csp_free_page.set_content('<html lang="en"><body><main><img src="x.png"><input type="text"></main></body></html>')
    found = " ".join(_serious(Axe().run(csp_free_page)))
    assert "image-alt" in found and "label" in found


def test_every_public_page_passes_the_accessibility_scan(csp_free_page, live_server, settings):
    install(live_server, settings)
    axe, failures = Axe(), {}
    for path in PUBLIC_PAGES:
        csp_free_page.goto(live_server.url + path)
        found = _serious(axe.run(csp_free_page))
        if found:
            failures[path] = found
    assert not failures, failures


def test_the_signed_in_front_door_pages_pass_the_accessibility_scan(csp_free_page, live_server, settings):
    install(live_server, settings)
    sign_in(csp_free_page, live_server.url, make_user(settings, "innovator", organisation="Acme"))
    axe = Axe()
    csp_free_page.goto(live_server.url + "/enquire")
    assert not _serious(axe.run(csp_free_page))
    csp_free_page.get_by_role("button", name="Send enquiry").click()  # the page with every error shown
    assert not _serious(axe.run(csp_free_page))
    csp_free_page.get_by_label("Sector").select_option(label="Medical devices")
    csp_free_page.get_by_label("Idea").check()
    csp_free_page.get_by_label("Lab or office space").check()
    csp_free_page.get_by_role("button", name="Send enquiry").click()
    assert not _serious(axe.run(csp_free_page))  # the case page


def test_the_account_manager_and_operator_pages_pass_the_accessibility_scan(csp_free_page, live_server, settings):
    from phta.frontdoor import cases
    from phta.store import open_database
    from tests.governance_support import make_principal

    install(live_server, settings)
    db = open_database(settings)
    company = make_principal(db, "co@test.example", "innovator")
    cases.submit_enquiry(db, company, {"organisation": "Acme", "stage": "idea", "sector": "ai", "needs": ["data"]},
                         live_server.server.config.app.state.clock())
    admin = make_user(settings, "hub_admin")
    sign_in(csp_free_page, live_server.url, admin, totp=True)
    axe, failures = Axe(), {}
    for path in ["/cases", "/cases/1", "/operator", "/operator/triage-rules"]:
        csp_free_page.goto(live_server.url + path)
        found = _serious(axe.run(csp_free_page))
        if found:
            failures[path] = found
    assert not failures, failures


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ''")


def _tab_to(page, element_id: str, limit: int = 40) -> list[str]:
    visited = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        visited.append(_focused_id(page))
        if visited[-1] == element_id:
            return visited
    raise AssertionError(f"Tab never reached #{element_id}; went through {visited}")


def test_the_enquiry_form_with_the_keyboard_alone(page, live_server, settings):
    base = live_server.url
    install(live_server, settings)
    sign_in(page, base, make_user(settings, "innovator", organisation="Acme Keys"))
    page.goto(base + "/enquire")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")  # skip the navigation
    visited = _tab_to(page, "e-organisation")
    assert len(visited) <= 2, visited  # straight into the form after skipping the navigation
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("End")  # tabbing in selects the pre-filled text; keep it
    page.keyboard.type(" Ltd")
    _tab_to(page, "e-sector", limit=1)
    page.keyboard.type("Diag")  # a closed select picks the option typed
    _tab_to(page, "e-stage-idea", limit=1)
    page.keyboard.press("ArrowDown")  # radios: arrows move and choose
    assert _focused_id(page) == "e-stage-prototype"
    _tab_to(page, "e-needs-evaluate", limit=1)
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "e-needs-data"
    page.keyboard.press("Space")
    _tab_to(page, "e-text", limit=6)
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send enquiry"
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/cases/\d+\?submitted=1"))
    assert page.get_by_text("Acme Keys Ltd").first.is_visible()
    assert page.get_by_text("Diagnostics", exact=True).is_visible()
    assert page.get_by_text("Prototype", exact=True).is_visible()
    assert page.get_by_text("Evaluate a device, diagnostic or AI; Access data").is_visible()
