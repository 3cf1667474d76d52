"""Signing in and out through the pages, as a person does (shared by the browser tests)."""

from __future__ import annotations

from tests.governance_support import PASSWORD, TOTP_SECRET, fresh_totp_code


def sign_in(page, base: str, email: str, totp: bool = False) -> None:
    """Sign ``email`` in at ``base`` (with the demo TOTP code when the role needs one)."""
    page.goto(base + "/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if totp:
        page.get_by_label("Six-digit code").fill(fresh_totp_code(TOTP_SECRET, f"{base}|{email}"))
        page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/account")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
