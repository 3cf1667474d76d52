"""The airlock in a real browser: a researcher submits an output release request, two output
checkers (signed in with TOTP) approve it, and the released file is listed on the project's
public log with its SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from phta.governance import airlock, projects, review
from phta.store import open_database
from tests.airlock_support import SMALL_CELL_CSV, approved_project, principal
from tests.browser.signing import sign_in, sign_out
from tests.governance_support import complete_request, make_user

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
        page.get_by_role("radio", name="Approve the files as they are").check()  # every automatic check passed
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


SIX = b"age \\ sex,F,M,Total\n18-49,6,24,30\n50-69,48,61,109\nTotal,54,85,139\n"


def _xt001_project(settings, researcher: str) -> int:
    """An approved project whose grant names node XT001 as the demo region does (upper case)."""
    db = open_database(settings)
    answers = {**complete_request("Readmissions at UHB"), "nodes": "XT001, XT002"}
    applicant = principal(settings, researcher)
    pid = projects.create_draft(db, applicant, answers)
    projects.save(db, applicant, pid, answers, submit=True)
    for email, lay in (("expert@hub.example", False), ("lay@public.example", True)):
        member = make_user(settings, "committee_member", email=email, organisation=None if lay else "PHTA Hub",
                           lay_member=lay)
        review.record_review(db, principal(settings, member), pid, "approve")
    return pid


def test_protected_version_then_uhb_custodian_sign_off_then_download(page, live_server, settings):
    """XT001 requires its custodian's sign-off (the setting is stored as ``xt001``): after two
    checkers approve the protected version, the UHB custodian sees the request and signs it off,
    and the researcher downloads the protected bytes, never the cell of 6."""
    base = live_server.url
    airlock.set_node_setting(open_database(settings), "XT001", custodian_signoff=True,
                             custodian_organisation="University Hospitals Birmingham", actor="test")
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    checkers = [make_user(settings, "output_checker", email="olu@hub.example", organisation="PHTA Hub"),
                make_user(settings, "output_checker", email="kim@keele.example", organisation="Keele University")]
    custodian = make_user(settings, "data_custodian", email="cara@uhb.example",
                          organisation="University Hospitals Birmingham")
    project_id = _xt001_project(settings, researcher)
    title = "Readmissions with a small cell"

    sign_in(page, base, researcher)
    page.goto(base + "/outputs/new")
    page.get_by_label("Project and node the outputs come from").select_option(f"{project_id}:XT001")
    for label, value in [("Title", title), ("What the outputs are and why they are needed", "Table 1"),
                         ("The population the outputs describe", "Adults"), ("The disclosure controls you applied", "None")]:
        page.get_by_label(label).fill(value)
    page.get_by_label("File 1", exact=True).set_input_files(
        files=[{"name": "table1.csv", "mimeType": "text/csv", "buffer": SIX}])
    page.get_by_label("What file 1 shows").fill("Readmissions by age band and sex")
    page.get_by_role("button", name="Submit for checking").click()
    assert page.locator("#output-state").inner_text() == "Submitted"
    sign_out(page)

    for checker in checkers:
        sign_in(page, base, checker, totp=True)
        page.get_by_role("link", name="Output checking").click()
        page.get_by_role("link", name=title).click()
        assert page.locator(".protected-version").is_visible()
        page.get_by_role("radio", name="Approve the protected version").check()
        page.get_by_role("textbox", name="Comment").fill("Release the protected version only")
        page.get_by_role("button", name="Record my decision").click()
        assert page.locator("#already-decided").is_visible()
        sign_out(page)

    sign_in(page, base, custodian, totp=True)
    page.goto(base + "/signoff")
    page.get_by_role("link", name=title).click()
    assert "the protected version" in page.locator("#approved-version").inner_text()
    page.get_by_role("radio", name="Sign off the release").check()
    page.get_by_role("button", name="Record my decision").click()
    assert page.locator("#output-state").inner_text() == "Released"
    sign_out(page)

    sign_in(page, base, researcher)
    page.goto(base + "/outputs")
    page.get_by_role("link", name=title).click()
    released_sha = page.locator(".released-sha256").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download table1.protected.csv").click()
    got = Path(download.value.path()).read_bytes()
    assert b",6," not in got and b"[c]" in got
    assert hashlib.sha256(got).hexdigest() == released_sha
    page.goto(base + f"/register/{project_id}")
    assert released_sha in page.content() and hashlib.sha256(SIX).hexdigest() not in page.content()
