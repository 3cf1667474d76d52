"""The transparency register as a member of the public reads it: the companies involved, the
committee's conditions, the legal basis in plain English, dates in words on the page (ISO in the
downloads)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import httpx

from phta.governance import coapplicants, projects, register, request_form, review
from phta.store import open_database
from tests.governance_support import complete_request, make_principal


def _text(page: str) -> str:
    """The page as read: tags removed, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _approved_project(settings, *, commercial: dict | None = None, conditions: str = "") -> int:
    db = open_database(settings)
    lead = make_principal(db, "lead@uni.example", "researcher", "Uni A")
    make_principal(db, "co@medtech.example", "innovator", "MedTech B Ltd")
    make_principal(db, "colleague@uni2.example", "researcher", "Uni C")  # a co-applicant, not a company
    pid = projects.create_draft(db, lead, complete_request("Readmissions") | (commercial or {}))
    coapplicants.add(db, lead, pid, "co@medtech.example")
    coapplicants.add(db, lead, pid, "colleague@uni2.example")
    projects.save(db, lead, pid, complete_request("Readmissions") | (commercial or {}), submit=True)
    lay = make_principal(db, "lay@example.org", "committee_member", lay=True)
    expert = make_principal(db, "expert@example.org", "committee_member", "Hub")
    review.record_review(db, lay, pid, "approve_with_conditions" if conditions else "approve", conditions=conditions)
    review.record_review(db, expert, pid, "approve")
    return pid


def test_companies_conditions_and_plain_legal_basis_are_on_the_register(live_server, settings):
    pid = _approved_project(settings, conditions="Publish the code openly.",
                            commercial={"commercial": "yes", "commercial_organisation": "Funder Pharma plc",
                                        "commercial_nature": "Funds the study; sees aggregate results only"})
    with httpx.Client(base_url=live_server.url) as anonymous:
        page = _text(anonymous.get("/register").text)
        detail = _text(anonymous.get(f"/register/{pid}").text)
        data = anonymous.get("/register.json").json()[0]
    assert "Commercial: Funder Pharma plc, MedTech B Ltd" in page  # the company co-applicant's and the named one
    assert "Uni C" not in page  # a university co-applicant is not a commercial organisation
    assert "Conditions: Publish the code openly." in page and "Publish the code openly." in detail
    assert "Funds the study; sees aggregate results only" in detail
    assert register.PLAIN_LEGAL_BASIS["s251"] in detail and register.PLAIN_LEGAL_BASIS["9(2)(j)"] in detail
    assert "What the legal bases mean" in page and register.PLAIN_LEGAL_BASIS["6(1)(e)"] in page
    assert data["commercial_organisations"] == ["Funder Pharma plc", "MedTech B Ltd"]
    assert data["conditions"] == "Publish the code openly."


def test_a_project_without_companies_or_conditions_says_none(live_server, settings):
    pid = _approved_project(settings)
    db = open_database(settings)
    company = next(c.id for c in projects.get(db, pid).coapplicants if c.email == "co@medtech.example")
    coapplicants.remove(db, make_lead(db), pid, company)
    with httpx.Client(base_url=live_server.url) as anonymous:
        page = _text(anonymous.get("/register").text)
        detail = _text(anonymous.get(f"/register/{pid}").text)
    assert "Commercial:" not in page and "Conditions:" not in page
    assert "Commercial organisations involved None" in detail and "Conditions of approval None" in detail


def make_lead(db):
    from phta.governance.principal import Principal

    uid = _user_id(db, "lead@uni.example")
    return Principal(uid, "lead@uni.example", "lead@uni.example", frozenset({"researcher"}), "Uni A")


def _user_id(db, email: str) -> int:
    from phta.governance.accounts import list_users

    return next(u.id for u in list_users(db) if u.email == email)


def test_dates_read_as_words_on_the_page_and_iso_in_the_downloads(live_server, settings):
    _approved_project(settings)
    today = dt.datetime.now(dt.UTC).date()
    words = f"{today.day} {today:%B %Y}"
    with httpx.Client(base_url=live_server.url) as anonymous:
        page = anonymous.get("/register").text
        rows = list(csv.DictReader(io.StringIO(anonymous.get("/register.csv").text)))
        data = anonymous.get("/register.json").json()
    assert f'<span class="date">{words}</span>' in page and today.isoformat() not in page
    assert rows[0]["approved"] == today.isoformat() and data[0]["submitted"] == today.isoformat()
    assert rows[0]["commercial_organisations"] == "MedTech B Ltd"  # lists joined in the CSV


def test_every_legal_basis_the_form_offers_has_a_plain_english_sentence():
    codes = [*request_form.ARTICLE_6, *request_form.ARTICLE_9, *request_form.COMMON_LAW]
    assert sorted(codes) == sorted(register.PLAIN_LEGAL_BASIS)
    assert all(sentence.endswith(".") and len(sentence) > 40 for sentence in register.PLAIN_LEGAL_BASIS.values())


def test_the_demo_project_shows_its_company_and_conditions_on_the_register(live_server, settings):
    from phta.governance.demo_users import seed_demo_project, seed_demo_users

    db = open_database(settings)
    seed_demo_users(db)
    seed_demo_project(db)
    with httpx.Client(base_url=live_server.url) as anonymous:
        page = _text(anonymous.get("/register").text)
        entry = anonymous.get("/register.json").json()[0]
    assert "Commercial: Midlands MedTech Ltd" in page and "Conditions: Publish the results openly" in page
    assert entry["status"] == "active"  # the demo accepted its conditions, so its grant works
