"""The issue's walk in a real browser: a researcher drafts and submits a data access request,
two committee members (one a lay member) approve it, and it appears on the public register."""

from __future__ import annotations

import pytest

from tests.browser.signing import sign_in, sign_out
from tests.governance_support import (
    complete_request,
    make_user,
    register_nodes,
)

pytestmark = pytest.mark.browser


def _fill(page, answers):
    for name, value in answers.items():
        field = page.locator(f"[name='{name}']")
        if name in ("tre_only", "pseudonymised"):
            page.locator(f"#q-{name}").check()
        elif name in ("task_types", "datasets", "nodes"):
            for v in value.split(", ") if isinstance(value, str) else value:
                page.locator(f"#q-{name}-{v}").check()
        elif name in ("article6", "article9", "common_law", "ethics", "dpia", "commercial"):
            field.select_option(value)
        else:
            field.fill(value)


def test_researcher_submits_two_reviewers_approve_project_is_public(page, live_server, settings):
    register_nodes(settings)
    base = live_server.url
    researcher = make_user(settings, "researcher", organisation="University of Birmingham", name="Ravi")
    expert = make_user(settings, "committee_member", email="expert@hub.example", organisation="PHTA Hub")
    lay = make_user(settings, "committee_member", email="lay@public.example", lay_member=True)
    answers = complete_request("Heart failure readmissions")

    sign_in(page, base, researcher)
    page.get_by_role("link", name="My projects").click()
    page.get_by_role("link", name="Start a data access request").click()
    page.get_by_label("Project title").fill(answers["title"])
    page.get_by_role("button", name="Save draft").click()
    assert page.get_by_role("status").inner_text() == "Draft saved."
    # submitting half-filled shows each problem next to its field
    page.get_by_role("button", name="Submit for review").click()
    assert page.locator("#err-lay_summary").inner_text() == "Lay summary: required"
    _fill(page, {k: v for k, v in answers.items() if k != "title"})
    page.get_by_role("button", name="Submit for review").click()
    assert page.locator("#project-state").inner_text() == "Submitted"
    sign_out(page)

    for reviewer in (expert, lay):
        sign_in(page, base, reviewer, totp=True)
        page.get_by_role("link", name="Review").click()
        page.get_by_role("link", name=answers["title"]).click()
        page.get_by_label("Approve", exact=True).check()
        page.get_by_role("button", name="Record my decision").click()
        sign_out(page)
    # the second approval (with the lay member) decides it

    page.goto(base + "/")
    page.get_by_role("link", name="Transparency register").click()
    row = page.locator("table tbody tr").first
    assert answers["title"] in row.inner_text() and "University of Birmingham" in row.inner_text()
    assert "CAG 21/CAG/0001" in row.inner_text()
    row.get_by_role("link", name=answers["title"]).click()
    assert page.locator("h1").inner_text() == answers["title"]
    assert "No queries yet." in page.content()
