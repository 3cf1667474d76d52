"""Naming co-applicants over the API and the page answers alike whether or not an address has
an account, so an applicant cannot use it to find out who holds a researcher account."""

from __future__ import annotations

import re

import httpx

from tests.governance_support import complete_request, csrf_token, make_user, sign_in


def _masked(response: httpx.Response, email: str) -> str:
    return response.text.replace(email, "<e-mail>")


def test_the_api_answers_alike_for_accounts_and_strangers(live_server, settings):
    lead = make_user(settings, "researcher", email="lead@uni.example")
    make_user(settings, "innovator", email="real@medtech.example")
    make_user(settings, "public", email="citizen@home.example")
    with httpx.Client(base_url=live_server.url) as a:
        sign_in(a, lead)
        headers = {"X-CSRF-Token": csrf_token(a, "/account")}
        pid = a.post("/api/v1/projects", headers=headers, json={"answers": complete_request() | {"tre_only": True, "pseudonymised": True}}).json()["id"]
        answers = {}
        for email in ("real@medtech.example", "nobody@nowhere.example", "citizen@home.example"):
            r = a.post(f"/api/v1/projects/{pid}/coapplicants", headers=headers, json={"email": email})
            added = r.json()["coapplicants"][-1]
            answers[email] = (r.status_code, sorted(r.headers), {k: v for k, v in added.items() if k != "id"})
            a.delete(f"/api/v1/projects/{pid}/coapplicants/{added['id']}", headers=headers)
    shapes = {(status, tuple(hdrs), tuple(sorted((k, v) for k, v in entry.items() if k != "email")))
              for status, hdrs, entry in answers.values()}
    assert len(shapes) == 1, answers
    assert next(iter(shapes))[0] == 200


def test_the_page_answers_alike_for_accounts_and_strangers(live_server, settings):
    lead = make_user(settings, "researcher", email="lead@uni.example")
    make_user(settings, "innovator", email="real@medtech.example")
    pages = {}
    with httpx.Client(base_url=live_server.url) as a:
        sign_in(a, lead)
        token = csrf_token(a, "/projects/new")
        r = a.post("/projects/new", data=complete_request() | {"action": "save", "csrf_token": token})
        pid = int(re.search(r"/projects/(\d+)", r.headers["location"]).group(1))
        for email in ("real@medtech.example", "nobody@nowhere.example"):
            r = a.post(f"/projects/{pid}/coapplicants", data={"email": email, "csrf_token": token})
            assert r.status_code == 303
            page = a.get(f"/projects/{pid}")
            pages[email] = _masked(page, email)
            entry = re.search(r'/coapplicants/(\d+)/remove', page.text).group(1)
            a.post(f"/projects/{pid}/coapplicants/{entry}/remove", data={"csrf_token": token})
    first, second = (re.sub(r'/coapplicants/\d+/remove', "/coapplicants/N/remove", p) for p in pages.values())
    first, second = (re.sub(r'value="[^"]{20,}"', 'value="csrf"', p) for p in (first, second))
    assert first == second
