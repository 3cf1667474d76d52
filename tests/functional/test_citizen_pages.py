"""What a citizen comes for, over real HTTP: how to opt out and the privacy notice, reachable from
every page's footer, readable without signing in, and loading nothing from another site."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.governance_support import make_user, sign_in

FOOTER = ('href="/opt-out"', 'href="/privacy"')


@pytest.mark.parametrize("path", ["/opt-out", "/privacy"])
def test_citizen_pages_are_public_and_load_nothing_from_elsewhere(live_server, path):
    r = httpx.get(live_server.url + path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    # no external scripts, styles, frames or images: the NHS's service is named as text, not embedded
    assert not re.search(r'<(script|link|iframe|img)[^>]+(src|href)="(https?:)?//', r.text)
    assert "<script" not in r.text


def test_the_opt_out_page_explains_both_opt_outs_and_how(live_server):
    text = httpx.get(live_server.url + "/opt-out").text
    for words in ("national data opt-out", "type 1 opt-out", "What opting out does here",
                  "https://www.nhs.uk/your-nhs-data-matters/", "GP practice", 'href="/register"'):
        assert words.lower() in text.lower(), words


def test_the_privacy_notice_names_the_legal_basis_rights_and_the_regulator(live_server):
    text = httpx.get(live_server.url + "/privacy").text
    for words in ("Privacy notice", "Legal basis", "Information Commissioner", 'href="/opt-out"'):
        assert words in text, words


def test_every_page_links_both_from_its_footer(live_server, settings):
    anonymous_pages = ["/", "/sign-in", "/register", "/opt-out", "/privacy", "/projects"]  # /projects: 401 page
    with httpx.Client(base_url=live_server.url) as client:
        for path in anonymous_pages:
            footer = client.get(path).text.split('<footer', 1)[1]
            assert all(link in footer for link in FOOTER), path
        sign_in(client, make_user(settings, "researcher"))
        for path in ("/account", "/projects", "/projects/new", "/outputs"):
            page = client.get(path)
            assert page.status_code == 200 and all(link in page.text.split('<footer', 1)[1] for link in FOOTER), path
