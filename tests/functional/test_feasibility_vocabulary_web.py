"""The purpose's vocabulary and the daily query budget over real HTTP, on a generated keyed region.

Attack: the outside review's singling-out (date of birth equals the target's, sex equals the
target's, once per condition on the form; and in ATLAS JSON, the exact date of a first diagnosis)
is refused with 400 naming the query node and the purpose, before any node runs. Control: the
same question with an age band is answered. Budget: past the daily budget, 429 saying when it
resets, audited; the budget page and JSON show what is left; a new UTC day starts afresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from phta.audit import entries
from phta.execution import budget
from phta.query import ir, serial
from phta.query.simple_cohort import build_cohort, conditions
from phta.store import open_database
from tests import vocabulary_samples as samples
from tests.conftest import LiveServer
from tests.governance_support import csrf_token, make_user, sign_in

HYPERTENSION = 2001000002


@contextmanager
def _server(settings) -> Iterator[LiveServer]:
    from phta.web.app import create_app

    with LiveServer(create_app(settings)) as server:
        yield server


@contextmanager
def _researcher(server, settings, email: str = "researcher@test.example") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        assert sign_in(client, make_user(settings, "researcher", email=email)).status_code == 303
        yield client


def _post(client: httpx.Client, path: str, body: str) -> httpx.Response:
    token = csrf_token(client, "/feasibility")
    return client.post(path, content=body, headers={"X-CSRF-Token": token, "content-type": "application/json"})


def _singling_out(condition: int) -> ir.Cohort:
    base = build_cohort(condition)
    return dataclasses.replace(base, rules=(
        ir.Rule("born on the target's birthday", ir.Compare("eq", ir.DateOfBirth(), ir.Literal("date", dt.date(1961, 7, 23)))),
        ir.Rule("target's sex", ir.Compare("eq", ir.Sex(), ir.Literal("str", "female")))))


def test_the_reviewers_attack_is_refused_for_every_condition_and_the_age_band_question_answered(region_settings):
    with _server(region_settings) as server, _researcher(server, region_settings) as client:
        refusals = [_post(client, "/api/v1/feasibility", serial.to_json(_singling_out(c.concept_id)))
                    for c in conditions()]
        controls = [_post(client, "/api/v1/feasibility",
                          serial.to_json(build_cohort(c.concept_id, age_min=60, age_max=64, sex="female")))
                    for c in conditions()[:3]]
        budget_now = client.get("/api/v1/budget").json()
    for r in refusals:
        assert r.status_code == 400, r.text
        body = r.json()
        assert (body["purpose"], body["query_node"], body["feature"]) == (
            "network_feasibility", "DateOfBirth", "date_of_birth")
        assert body["path"] == "rules[0].condition.left" and "nodes" not in body
        assert "exact date of birth" in body["detail"] and "age in years" in body["detail"]
    for r in controls:
        assert r.status_code == 200, r.text
        assert len(r.json()["nodes"]) == 3
    log = entries(open_database(region_settings))
    assert len([e for e in log if e.action == "query.vocabulary_refused"]) == len(conditions())
    assert not [e for e in log if e.action == "query.run" and e.details["outcome"] == "refused"]  # no node asked
    (feasibility,) = [b for b in budget_now["budgets"] if b["purpose"] == "network_feasibility"]
    assert feasibility["used"] == 3 and feasibility["limit"] == 500  # refusals cost nothing


def test_atlas_exact_dates_are_refused_and_whole_months_answered(region_settings):
    exact, month = json.dumps(samples.ATLAS["exact_date"]), json.dumps(samples.ATLAS["calendar_month"])
    with _server(region_settings) as server, _researcher(server, region_settings) as client:
        refused = _post(client, "/api/v1/feasibility/atlas", exact)
        answered = _post(client, "/api/v1/feasibility/atlas", month)
        token = csrf_token(client, "/feasibility/atlas")
        page = client.post("/feasibility/atlas", data={"csrf_token": token, "definition": exact})
    assert refused.status_code == 400 and refused.json()["query_node"] == "DateFilter"
    assert refused.json()["path"] == "primary[0].filters[0]" and refused.json()["feature"] == "exact_date"
    assert answered.status_code == 200, answered.text
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "Not asked: DateFilter at primary[0].filters[0]" in text and "'network_feasibility'" in text


def test_past_the_budget_requests_get_429_audited_and_the_page_shows_what_is_left(region_settings, monkeypatch):
    settings = dataclasses.replace(region_settings, query_budget=2)
    day = dt.datetime(2026, 12, 7, 23, 50, tzinfo=dt.UTC)
    monkeypatch.setattr(budget, "clock", lambda: day)
    query = serial.to_json(build_cohort(HYPERTENSION))
    with _server(settings) as server, _researcher(server, settings) as client:
        assert 'href="/budget"' in client.get("/feasibility").text
        answers = [_post(client, "/api/v1/feasibility", query) for _ in range(3)]
        page = client.get("/budget")
        token = csrf_token(client, "/feasibility")
        form = client.post("/feasibility", data={"csrf_token": token, "condition": str(HYPERTENSION)})
        with _researcher(server, settings, "other@test.example") as other:  # control: another user
            assert _post(other, "/api/v1/feasibility", query).status_code == 200
        monkeypatch.setattr(budget, "clock", lambda: day + dt.timedelta(minutes=10))  # 00:00 UTC
        next_day = _post(client, "/api/v1/feasibility", query)
        after = client.get("/api/v1/budget").json()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["detail"] == ("daily query budget for network_feasibility used up: 2 of 2; "
                                           "resets at 00:00 UTC")
    assert answers[2].json()["budget"]["resets_at"] == "2026-12-08T00:00:00+00:00"
    assert page.status_code == 200
    row = html.unescape(page.text.split('id="budget-network_feasibility"')[1].split("</tr>")[0])
    assert [c.split(">")[-1] for c in row.split("</td>")[:3]] == ["2", "2", "0"]
    assert "2026-12-08 00:00 UTC" in row
    assert form.status_code == 429 and "used up: 2 of 2" in html.unescape(form.text)
    assert next_day.status_code == 200
    (feasibility,) = [b for b in after["budgets"] if b["purpose"] == "network_feasibility"]
    assert (feasibility["day"], feasibility["used"], feasibility["remaining"]) == ("2026-12-08", 1, 1)
    refusals = [e for e in entries(open_database(settings)) if e.action == "query.budget_refused"]
    assert len(refusals) == 2 and all(e.details["purpose"] == "network_feasibility" for e in refusals)
    assert all(not isinstance(v, int) for e in refusals for v in e.details.values())


@pytest.mark.parametrize("role", [None, "data_custodian"])
def test_the_budget_json_needs_a_sign_in_and_shows_the_users_purposes(region_settings, role):
    with _server(region_settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        if role is None:
            assert client.get("/api/v1/budget").status_code == 401
            return
        assert sign_in(client, make_user(region_settings, role)).status_code == 303
        budgets = {b["purpose"]: b for b in client.get("/api/v1/budget").json()["budgets"]}
    assert budgets["network_feasibility"]["limit"] == 500  # governance lets every registered role use it
    assert budgets["custodian_quality"]["limit"] is None and budgets["custodian_quality"]["remaining"] is None
