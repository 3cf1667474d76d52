"""The airlock releases exactly the bytes that were approved, over real HTTP.

The fault this guards against: checkers wrote "release the protected version only", the page
showed "After the rules: suppressed", and the researcher still downloaded the original file with
its small cell. Now a checker approves either the file as it is (only when every automatic check
passes) or the protected version the rules produced, a separate content-addressed file; that is
what the researcher downloads and what the public log lists by SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from phta.governance import airlock_review
from phta.governance.working_days import working_days
from phta.store import open_database
from tests.airlock_support import SAFE_CSV, approved_project, decide, principal, submit
from tests.governance_support import make_user, sign_in

SIX_CSV = b"age \\ sex,F,M,Total\n18-49,6,24,30\n50-69,48,61,109\nTotal,54,85,139\n"
LONG_CSV = b"age_band,sex,n_patients\n18-49,F,7\n18-49,M,24\n50-69,F,40\n50-69,M,45\n"
NOT_A_TABLE = b"drug,notes\nsalbutamol,fine\nmetformin,good\n"


@pytest.fixture
def people(settings):
    return {
        "researcher": make_user(settings, "researcher", organisation="University of Birmingham"),
        "checker1": make_user(settings, "output_checker", email="c1@hub.example", organisation="PHTA Hub"),
        "checker2": make_user(settings, "output_checker", email="c2@other.example", organisation="Keele"),
        "checker3": make_user(settings, "output_checker", email="c3@third.example"),
        "lead": make_user(settings, "output_checking_lead", email="lead@hub.example", organisation="Aston"),
    }


@contextmanager
def client_for(live_server, email) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        assert sign_in(client, email).status_code == 303
        yield client


def released_file(client, rid, name):
    body = client.get(f"/api/v1/outputs/{rid}").json()
    return next(f for f in body["files"] if f["file_name"] == name)


def test_the_researcher_downloads_the_protected_bytes_never_the_cell_of_6(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SIX_CSV, "Readmissions")]).json()["id"]
        # as it is: refused, whatever the comment; the protected version: fine
        assert decide(c1, rid, "approve", "it is only a 6").status_code == 400
        protected = c1.get(f"/api/v1/outputs/{rid}/files/{released_file(c1, rid, 'table.csv')['id']}",
                           params={"version": "protected"})
        assert protected.status_code == 200 and b"[c]" in protected.content and b",6," not in protected.content
        decide(c1, rid, "approve_protected", "Release the protected version only")
        assert decide(c2, rid, "approve_protected").json()["state"] == "released"
        f = released_file(r, rid, "table.csv")
        assert f["released_name"] == "table.protected.csv"
        got = r.get(f"/api/v1/outputs/{rid}/files/{f['id']}")
        assert got.status_code == 200
        assert got.content == protected.content  # exactly the approved bytes
        assert b",6," not in got.content and b"[c]" in got.content
        assert got.headers["x-checksum-sha256"] == hashlib.sha256(got.content).hexdigest() == f["released_sha256"]
        assert 'filename="table.protected.csv"' in got.headers["content-disposition"]
        # the researcher cannot ask for the original instead
        for version in ("submitted", "protected"):
            again = r.get(f"/api/v1/outputs/{rid}/files/{f['id']}", params={"version": version})
            assert again.content == got.content
        # the page and the public log publish the released bytes' SHA-256, not the original's
        assert f["released_sha256"] in r.get(f"/outputs/{rid}").text
        log = r.get(f"/register/{pid}").text
        assert f["released_sha256"] in log and hashlib.sha256(SIX_CSV).hexdigest() not in log


def test_a_file_that_passes_every_check_is_released_as_it_is(live_server, settings, people):
    """Control: a clean table approved as it is goes out byte for byte."""
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        assert released_file(r, rid, "table.csv")["protected_sha256"] is None  # nothing to protect
        decide(c1, rid, "approve")
        assert decide(c2, rid, "approve").json()["state"] == "released"
        f = released_file(r, rid, "table.csv")
        assert r.get(f"/api/v1/outputs/{rid}/files/{f['id']}").content == SAFE_CSV
        assert f["released_sha256"] == hashlib.sha256(SAFE_CSV).hexdigest()


def test_one_approval_of_the_protected_version_means_the_protected_version_goes(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("long.csv", LONG_CSV, "Readmissions, long format")]).json()["id"]
        f = released_file(r, rid, "long.csv")
        assert f["check_status"] == "suppressed"  # the long-format table was read: the 7 fails
        decide(c1, rid, "approve_protected")
        assert decide(c2, rid, "approve_protected").json()["state"] == "released"
        got = r.get(f"/api/v1/outputs/{rid}/files/{f['id']}").content
        assert got.decode().splitlines()[:2] == ["age_band,sex,n_patients", "18-49,F,[c]"]


def test_a_table_that_cannot_be_read_fails_and_can_only_be_returned(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("notes.csv", NOT_A_TABLE, "Notes")]).json()["id"]
        queue = c1.get("/checking").text
        assert "could not be read as a table" in queue and "no failing cells" not in queue.lower()
        assert released_file(c1, rid, "notes.csv")["check_status"] == "unreadable"
        for decision in ("approve", "approve_protected"):
            refused = decide(c1, rid, decision, "looks fine")
            assert refused.status_code == 400, decision
        decide(c1, rid, "return", "Send a table of counts")
        assert decide(c2, rid, "return", "Not a table").json()["state"] == "returned"


def _working_days_later(start: datetime, days: int) -> datetime:
    moment = start
    while working_days(start, moment) < days:
        moment += timedelta(days=1)
    return moment


def test_a_disagreement_escalates_to_the_output_checking_lead_after_n_working_days(live_server, settings, people):
    db = open_database(settings)
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2, client_for(live_server, people["lead"]) as lead, \
            client_for(live_server, people["checker3"]) as c3:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        decide(c1, rid, "approve")
        assert decide(c2, rid, "reject", "Could identify a ward").json()["state"] == "needs_third_checker"
        page = r.get(f"/outputs/{rid}").text
        assert "No decisions to show yet" not in page and "waiting for a third checker" in page
        assert lead.get("/api/v1/outputs/queue").json() == []  # not the lead's yet
        now = datetime.now(UTC)
        days = settings.airlock_escalation_days
        assert airlock_review.escalate_overdue(db, after_working_days=days,
                                               now=_working_days_later(now, days - 1)) == []  # control
        when = _working_days_later(now, days)
        assert airlock_review.escalate_overdue(db, after_working_days=days, now=when) == [rid]
        page = r.get(f"/outputs/{rid}").text
        assert f"escalated to the output-checking lead on {when:%-d %B %Y}" in page
        assert "No decisions to show yet" not in page
        assert r.get(f"/api/v1/outputs/{rid}").json()["state"] == "escalated"
        # no ordinary checker settles it now; the lead does
        assert rid not in [q["id"] for q in c3.get("/api/v1/outputs/queue").json()]
        assert decide(c3, rid, "approve").status_code == 400
        assert [q["id"] for q in lead.get("/api/v1/outputs/queue").json()] == [rid]
        assert decide(lead, rid, "approve", "No ward-level detail").json()["state"] == "released"
    assert airlock_review.escalate_overdue(db, after_working_days=days, now=when + timedelta(days=30)) == []


def test_co_applicants_and_their_organisations_may_not_check(live_server, settings, people):
    """The committee's independence rule, reused: a co-applicant, or a checker from a
    co-applicant's organisation, is not independent of the project's outputs."""
    from phta.governance import coapplicants, projects
    from tests.governance_support import complete_request

    db = open_database(settings)
    co = make_user(settings, "researcher", email="co@wolverhampton.example", organisation="University of Wolverhampton")
    colleague = make_user(settings, "output_checker", email="checker@wolverhampton.example",
                          organisation="University of Wolverhampton")
    lead_applicant = principal(settings, people["researcher"])
    pid = projects.create_draft(db, lead_applicant, complete_request("With a co-applicant"))
    coapplicants.add(db, lead_applicant, pid, co)
    from phta.governance import review
    expert = make_user(settings, "committee_member", email="expert@hub.example", organisation="PHTA Hub")
    lay = make_user(settings, "committee_member", email="lay@public.example", lay_member=True)
    projects.save(db, lead_applicant, pid, complete_request("With a co-applicant"), submit=True)
    review.record_review(db, principal(settings, expert), pid, "approve")
    review.record_review(db, principal(settings, lay), pid, "approve")
    with client_for(live_server, people["researcher"]) as r:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
    with client_for(live_server, colleague) as col:
        assert col.get("/api/v1/outputs/queue").json() == []
        refused = decide(col, rid, "approve")
        assert refused.status_code == 400 and "organisation" in refused.json()["detail"]
    with client_for(live_server, people["checker1"]) as c1:  # control: an independent checker
        assert [q["id"] for q in c1.get("/api/v1/outputs/queue").json()] == [rid]
