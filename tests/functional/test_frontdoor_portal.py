"""The public portal over real HTTP: pages load without sign-in, filter, close on their dates,
export iCalendar; the showcase's patient figure comes through the execution path, protected."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from icalendar import Calendar

from phta import audit
from phta.frontdoor import showcase
from phta.store import open_database
from tests.frontdoor_support import client_for, install

PUBLIC_PAGES = ["/showcase", "/assets", "/opportunities", "/challenges", "/challenges/1", "/events"]


def test_public_pages_load_without_sign_in_and_mark_sample_data(live_server, settings):
    install(live_server, settings)
    with httpx.Client(base_url=live_server.url) as client:
        for path in PUBLIC_PAGES:
            r = client.get(path)
            assert r.status_code == 200, path
            if path != "/showcase":
                assert "Sample data" in r.text, path


def test_the_asset_directory_searches_and_filters(live_server, settings):
    install(live_server, settings)
    with httpx.Client(base_url=live_server.url) as client:
        everything = client.get("/api/v1/assets").json()
        assert {a["kind"] for a in everything} >= {"test_evaluation", "attc", "crf", "trials_unit", "genomics_lab",
                                                   "incubator", "park_space"}
        assert [a["slug"] for a in client.get("/api/v1/assets?kind=incubator").json()] == ["health-incubator"]
        found = client.get("/api/v1/assets", params={"q": "sequencing"}).json()
        assert [a["slug"] for a in found] == ["genomic-laboratory-hub"]
        genomics = {a["slug"] for a in client.get("/api/v1/assets?sector=genomics").json()}
        assert "genomic-laboratory-hub" in genomics and "health-incubator" not in genomics
        page = client.get("/assets?kind=park_space").text
        assert "Life Sciences Park" in page and "Labs: 2 units" in page and "Clinical Research Facility" not in page
        assert client.get("/assets?kind=<script>").status_code == 200  # unknown filter: ignored, not an error


def test_listings_close_on_their_closing_date(live_server, settings):
    clock = install(live_server, settings, datetime(2027, 3, 31, 12, tzinfo=UTC))
    with httpx.Client(base_url=live_server.url) as client:
        assert "heart failure readmissions on the synthetic sandbox" in client.get("/opportunities").text
        assert "diabetes care pathways (closed)" not in client.get("/opportunities").text
        clock.now = datetime(2027, 4, 1, 0, 1, tzinfo=UTC)
        assert "heart failure readmissions on the synthetic sandbox" not in client.get("/opportunities").text
        only = client.get("/opportunities?kind=training_pathway").text
        assert "From entry level to health data analyst" in only and "Summer internship" not in only
        clock.now = datetime(2027, 3, 2, tzinfo=UTC)
        assert client.get("/challenges/1").status_code == 404  # closed on 1 March
        assert "Predicting and preventing missed" not in client.get("/challenges").text


def test_events_export_as_icalendar_and_drop_off_when_registration_closes(live_server, settings):
    clock = install(live_server, settings)
    with httpx.Client(base_url=live_server.url) as client:
        r = client.get("/events.ics")
        assert r.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(r.content).walk("VEVENT")
        assert sorted(str(e["summary"]) for e in events) == [
            "Careers in health data — an inspiration day for students", "Midlands MedTech Congress"]
        assert all(str(e["uid"]).endswith("@127.0.0.1") for e in events)
        clock.now = datetime(2027, 2, 2, tzinfo=UTC)
        events = Calendar.from_ical(client.get("/events.ics").content).walk("VEVENT")
        assert [str(e["summary"]) for e in events] == ["Midlands MedTech Congress"]


def test_the_showcase_without_node_stores_says_so(live_server, settings):
    install(live_server, settings)
    showcase.clear_cache()
    with httpx.Client(base_url=live_server.url) as client:
        figures = client.get("/api/v1/showcase").json()
    assert figures["patients_covered"]["value"] is None
    assert "No node stores" in figures["patients_covered"]["note"]
    assert figures["evaluations_completed"] == 0


def test_the_showcase_counts_patients_through_the_execution_path_protected(region_server, region_settings):
    install(region_server, region_settings)
    showcase.clear_cache()
    with httpx.Client(base_url=region_server.url) as client:
        figures = client.get("/api/v1/showcase").json()
        again = client.get("/api/v1/showcase").json()
    patients = figures["patients_covered"]
    assert patients["purpose"] == "public_statistics"
    assert patients["value"] > 0 and patients["value"] % 10 == 0  # the public policy rounds to 10
    assert again == figures
    runs = [e for e in audit.entries(open_database(region_settings)) if e.action == "query.run"]
    assert {e.details["purpose"] for e in runs} == {"public_statistics"}
    assert len(runs) == 3  # one per node, once: the second view came from the cache
    assert figures["datasets"] == 3


def test_the_enquiry_form_names_every_problem(live_server, settings):
    install(live_server, settings)
    client = client_for(live_server, settings, "innovator", organisation="Acme")
    r = client.post("/enquire", data={"organisation": "", "csrf_token": client.headers["X-CSRF-Token"]})
    assert r.status_code == 400
    for words in ("Organisation: say which", "Stage: choose", "Sector: choose", "Needs: tick"):
        assert words in r.text
    r = client.post("/enquire", data={"organisation": "Acme", "stage": "idea", "sector": "medtech",
                                      "needs": ["space", "funding"], "csrf_token": client.headers["X-CSRF-Token"]})
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
    page = client.get(r.headers["location"]).text
    assert "Life Sciences Incubator" in page and "Why: Space for early companies" in page
    client.close()
