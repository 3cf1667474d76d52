"""Committee review over real HTTP: blinded until both reviewers have decided (pages and API),
no decision chosen for the reviewer, and a confirmation once the vote is recorded."""

from __future__ import annotations

import html
import re

import httpx

from tests.governance_support import (
    complete_request,
    csrf_token,
    make_user,
    register_nodes,
    sign_in,
)

SECRET_COMMENT = "Expert view: the linkage plan is sound"


def _submitted(client: httpx.Client) -> int:
    token = csrf_token(client, "/projects/new")
    r = client.post("/projects/new", data=complete_request() | {"action": "submit", "csrf_token": token})
    assert r.status_code == 303, r.text
    return int(re.search(r"/projects/(\d+)", r.headers["location"]).group(1))


def _vote(client: httpx.Client, pid: int, **form) -> httpx.Response:
    return client.post(f"/review/{pid}", data=form | {"csrf_token": csrf_token(client, f"/review/{pid}")})


def test_reviewers_decide_blind_and_see_each_other_once_both_have_decided(live_server, settings):
    register_nodes(settings)
    applicant = make_user(settings, "researcher", organisation="Uni A")
    expert = make_user(settings, "committee_member", email="expert@hub.example", name="Erin Expert", organisation="Hub")
    lay = make_user(settings, "committee_member", email="lay@public.example", name="Lee Lay", lay_member=True)
    with (httpx.Client(base_url=live_server.url) as a, httpx.Client(base_url=live_server.url) as e,
          httpx.Client(base_url=live_server.url) as lay_client):
        sign_in(a, applicant)
        sign_in(e, expert)
        sign_in(lay_client, lay)
        pid = _submitted(a)
        assert _vote(e, pid, decision="approve", comment=SECRET_COMMENT).status_code == 303

        # the lay member has not decided: the expert's decision and comment are hidden, page and API
        before = lay_client.get(f"/review/{pid}").text
        assert SECRET_COMMENT not in before and "Erin Expert" not in before
        assert "1 other committee member has decided this round" in " ".join(html.unescape(before).split())
        header = {"X-CSRF-Token": csrf_token(lay_client, f"/review/{pid}")}
        assert lay_client.get(f"/api/v1/projects/{pid}", headers=header).json()["reviews"] == []
        # nor does the applicant see a half-decided round
        assert SECRET_COMMENT not in a.get(f"/projects/{pid}").text
        assert a.get(f"/api/v1/projects/{pid}").json()["reviews"] == []
        # control: the expert sees their own review
        assert SECRET_COMMENT in e.get(f"/review/{pid}").text

        # no decision is chosen for the reviewer; submitting none is refused with a clear message
        assert not re.search(r'name="decision"[^>]*checked', before)
        refused = _vote(lay_client, pid, comment="")
        assert refused.status_code == 400 and "choose a decision" in refused.text

        voted = _vote(lay_client, pid, decision="approve")
        assert voted.status_code == 303 and voted.headers["location"] == f"/review/{pid}?recorded=1"
        after = html.unescape(lay_client.get(voted.headers["location"]).text)
        assert 'id="review-recorded"' in after and "Your decision is recorded: Approve." in after
        assert "The request is now approved." in after
        assert SECRET_COMMENT in after and "Erin Expert" in after  # both decided: both shown
        reviews = a.get(f"/api/v1/projects/{pid}").json()["reviews"]
        assert sorted(r["reviewer"] for r in reviews) == ["Erin Expert", "Lee Lay"]
        # a reload of the confirmation does not vote again, and the form is gone
        assert 'action="/review/' not in lay_client.get(f"/review/{pid}?recorded=1").text


def test_the_confirmation_is_only_shown_to_someone_who_voted(live_server, settings):
    register_nodes(settings)
    applicant = make_user(settings, "researcher", organisation="Uni A")
    expert = make_user(settings, "committee_member", email="expert@hub.example", organisation="Hub")
    with httpx.Client(base_url=live_server.url) as a, httpx.Client(base_url=live_server.url) as e:
        sign_in(a, applicant)
        sign_in(e, expert)
        pid = _submitted(a)
        page = e.get(f"/review/{pid}?recorded=1").text
    assert 'id="review-recorded"' not in page and 'name="decision"' in page
