"""In a real browser: a committee member signs in with password and TOTP, sees their account
page, creates an API token, and signs out."""

from __future__ import annotations

import pyotp
import pytest

from tests.governance_support import PASSWORD, TOTP_SECRET, make_user

pytestmark = pytest.mark.browser


def test_committee_member_signs_in_with_totp_and_sees_account(page, live_server, settings):
    email = make_user(settings, "committee_member", organisation="PHTA Hub", lay_member=True)
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/sign-in/totp")
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/account")
    assert page.locator("h1").inner_text() == "My account"
    assert page.locator("#account-email").inner_text() == email
    assert "committee member (lay member)" in page.locator("#account-roles").inner_text()

    page.get_by_label("Name").fill("my laptop")
    page.get_by_label("account:read — see your account").check()
    page.get_by_role("button", name="Create token").click()
    assert page.locator("#new-token").inner_text().startswith("phta_")
    page.get_by_role("button", name="Revoke token my laptop").click()
    assert "revoked" in page.locator("table").nth(1).inner_text()

    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("link", name="Sign in").is_visible()
    assert page.goto(live_server.url + "/account").status == 401


def test_wrong_password_shows_the_error_next_to_the_form(page, live_server, settings):
    email = make_user(settings, "researcher")
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That e-mail address and password")
    assert page.get_by_label("E-mail address").input_value() == email
