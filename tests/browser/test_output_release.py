"""The airlock in a real browser: a researcher submits an output release request, two output
checkers (signed in with TOTP) approve it, and the released file is listed on the project's
public log with its SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.airlock_support import SMALL_CELL_CSV, approved_project
from tests.browser.signing import sign_in, sign_out
from tests.governance_support import make_user

pytestmark = pytest.mark.browser
TABLE = b"age \\ sex,F,M,Total\n0-39,40,50,90\n40-59,40,45,85\nTotal,80,95,175\n"


def test_researcher_submits_two_checkers_approve_file_is_on_the_public_log(page, live_server, settings):
    base = live_server.url
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    checkers = [make_user(settings, "output_checker", email="olu@hub.example", organisation="PHTA Hub"),
                make_user(settings, "output_checker", email="kim@keele.example", organisation="Keele University")]
    project_id = approved_project(settings, researcher, "Heart failure outputs")
    title = "Readmissions by age band and sex"

    sign_in(page, base, researcher)
    page.get_by_role("link", name="My outputs").click()
    page.get_by_role("link", name="Request an output release").click()
    page.get_by_label("Project and node the outputs come from").select_option(f"{project_id}:uhb")
    page.get_by_label("Title").fill(title)
    page.get_by_label("What the outputs are and why they are needed").fill("Counts for the paper's table 1")
    page.get_by_label("The population the outputs describe").fill("Adults with heart failure, 2020-2025")
    page.get_by_label("The disclosure controls you applied").fill("Threshold 10, rounding to 5")
    page.get_by_label("File 1", exact=True).set_input_files(
        files=[{"name": "table1.csv", "mimeType": "text/csv", "buffer": TABLE}])
    page.get_by_label("What file 1 shows").fill("People readmitted within 30 days, by age band and sex")
    page.get_by_role("button", name="Submit for checking").click()
    assert page.locator("#output-state").inner_text() == "Submitted"
    assert hashlib.sha256(TABLE).hexdigest() in page.content()
    sign_out(page)

    for checker in checkers:
        sign_in(page, base, checker, totp=True)
        page.get_by_role("link", name="Output checking").click()
        page.get_by_role("link", name=title).click()
        assert page.locator("h1").inner_text() == f"Check: {title}"
        page.get_by_label("Approve release").check()
        page.get_by_role("button", name="Record my decision").click()
        assert page.locator("#already-decided").is_visible()
        sign_out(page)

    page.goto(base + "/register")
    page.get_by_role("link", name="Heart failure outputs").click()
    released = page.locator("table", has_text="SHA-256")
    assert "table1.csv" in released.inner_text()
    assert hashlib.sha256(TABLE).hexdigest() in released.inner_text()

    # the researcher can now download it
    sign_in(page, base, researcher)
    page.get_by_role("link", name="My outputs").click()
    page.get_by_role("link", name=title).click()
    assert page.locator("#output-state").inner_text() == "Released"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download table1.csv").click()
    assert Path(download.value.path()).read_bytes() == TABLE


def test_checker_sees_failing_cells_highlighted(page, live_server, settings):
    base = live_server.url
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    checker = make_user(settings, "output_checker", email="olu@hub.example", organisation="PHTA Hub")
    project_id = approved_project(settings, researcher, "Small cells")
    sign_in(page, base, researcher)
    page.goto(base + "/outputs/new")
    page.get_by_label("Project and node the outputs come from").select_option(f"{project_id}:uhb")
    for label, value in [("Title", "Small cell table"), ("What the outputs are and why they are needed", "x"),
                         ("The population the outputs describe", "y"), ("The disclosure controls you applied", "z")]:
        page.get_by_label(label).fill(value)
    page.get_by_label("File 1", exact=True).set_input_files(
        files=[{"name": "small.csv", "mimeType": "text/csv", "buffer": SMALL_CELL_CSV}])
    page.get_by_label("What file 1 shows").fill("Counts")
    page.get_by_role("button", name="Submit for checking").click()
    sign_out(page)
    sign_in(page, base, checker, totp=True)
    page.get_by_role("link", name="Output checking").click()
    page.get_by_role("link", name="Small cell table").click()
    failing = page.locator("tr.cell-fail")
    assert failing.count() >= 1
    first = failing.first.inner_text()
    assert "0-39 / F" in first and "fails" in first and "fewer than 10" in first
    assert page.locator("#blinded").is_visible()
