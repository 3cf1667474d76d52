"""Layout in a real browser: after a submit the results or the error message have the keyboard
focus, and at phone width (390 px) the key pages do not scroll sideways."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.airlock_support import SMALL_CELL_CSV, approved_project, submit
from tests.browser.signing import sign_in
from tests.governance_support import complete_request, csrf_token, make_user, register_nodes
from tests.governance_support import sign_in as sign_in_http

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser) -> Iterator:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page
    context.close()


def _focused(page, expected: str | None = None) -> str:
    """The id of the focused element, or of its nearest ancestor that has one (waiting a moment
    for ``expected``: the browser applies autofocus on its next rendering step after load)."""
    if expected is not None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):  # the assertion below reports what has the focus
            page.wait_for_function(f"document.activeElement && document.activeElement.id === {expected!r}",
                                   timeout=5000)
    return page.evaluate("(() => { let e = document.activeElement; while (e && !e.id) e = e.parentElement;"
                         " return e ? e.id : ''; })()")


def _no_sideways_scroll(page, what: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == PHONE["width"], f"{what}: page is {widths[0]} px wide at {widths[1]} px"


def _submitted_request(settings, base: str) -> int:
    register_nodes(settings)
    with httpx.Client(base_url=base) as client:
        sign_in_http(client, make_user(settings, "researcher", email="applicant@uni.example", organisation="Uni A"))
        r = client.post("/projects/new", data=complete_request("Readmissions after heart failure: a long title")
                        | {"action": "submit", "csrf_token": csrf_token(client, "/projects/new")})
        return int(re.search(r"/projects/(\d+)", r.headers["location"]).group(1))


def test_results_and_errors_take_the_focus_after_a_submit(page, region_server, region_settings):
    base = region_server.url
    sign_in(page, base, make_user(region_settings, "researcher"))
    page.goto(base + "/feasibility")
    page.get_by_label("Condition (includes its sub-types)").select_option(label="Hypertensive disorder")
    page.get_by_label("From (years)").fill("60")
    page.get_by_label("To (years)").fill("20")
    page.get_by_role("button", name="Count patients").click()
    assert _focused(page, "feasibility-error") == "feasibility-error"
    assert "minimum is above the maximum" in page.evaluate("document.activeElement.innerText")
    page.get_by_label("To (years)").fill("80")
    page.get_by_role("button", name="Count patients").click()
    assert _focused(page, "results-region") == "results-region"
    # control: a page opened without a submit leaves the focus at the top
    page.goto(base + "/feasibility")
    assert page.evaluate("document.activeElement === document.body")

    page.goto(base + "/projects/new")
    page.get_by_label("Project title").fill("Half a request")
    page.get_by_role("button", name="Submit for review").click()
    assert _focused(page, "form-problems") == "form-problems"


def test_the_committee_vote_confirmation_takes_the_focus(page, live_server, settings):
    pid = _submitted_request(settings, live_server.url)
    sign_in(page, live_server.url, make_user(settings, "committee_member", email="expert@hub.example",
                                             organisation="Hub"), totp=True)
    page.goto(f"{live_server.url}/review/{pid}")
    assert not page.get_by_label("Approve", exact=True).is_checked()  # nothing chosen for the reviewer
    page.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Record my decision").click()
    assert _focused(page, "review-recorded") == "review-recorded"


def test_key_pages_do_not_scroll_sideways_at_phone_width(phone, region_server, region_settings):
    base = region_server.url
    researcher = make_user(region_settings, "researcher", organisation="University of Birmingham")
    project_id = approved_project(region_settings, researcher, "Heart failure readmissions across the Black Country")
    with httpx.Client(base_url=base) as client:
        sign_in_http(client, researcher)
        assert submit(client, project_id, [("table1.csv", SMALL_CELL_CSV, "Readmissions by age band and sex")]
                      ).status_code == 201
    pid = _submitted_request(region_settings, base)

    for path in ("/", "/register", f"/register/{project_id}", "/opt-out", "/privacy"):
        phone.goto(base + path)
        _no_sideways_scroll(phone, path)

    sign_in(phone, base, researcher)
    phone.goto(base + "/feasibility")
    phone.get_by_label("Condition (includes its sub-types)").select_option(label="Hypertensive disorder")
    phone.get_by_role("button", name="Count patients").click()
    assert phone.locator("#network-total").is_visible()
    _no_sideways_scroll(phone, "feasibility result")
    phone.goto(base + "/projects/new")
    _no_sideways_scroll(phone, "request form")

    phone.context.clear_cookies()
    sign_in(phone, base, make_user(region_settings, "committee_member", email="expert@hub.example",
                                   organisation="Hub"), totp=True)
    phone.goto(f"{base}/review/{pid}")
    _no_sideways_scroll(phone, "review")

    phone.context.clear_cookies()
    sign_in(phone, base, make_user(region_settings, "output_checker", email="olu@hub.example",
                                   organisation="PHTA Hub"), totp=True)
    phone.goto(base + "/checking")
    phone.get_by_role("link", name="Readmissions by age and sex").click()
    assert phone.locator(".cell-fail").count() >= 1
    _no_sideways_scroll(phone, "output checking")
