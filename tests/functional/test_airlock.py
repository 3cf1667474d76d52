"""The output airlock over real HTTP: automatic checks, blinding, independence, return and
resubmit, rejection, disagreement, custodian sign-off, release to the public log, auditing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from phta.governance import accounts, airlock
from phta.governance.roles import Role
from phta.store import open_database
from phta.store.models import AuditEntry
from tests.airlock_support import (
    CLEAN_SVG,
    SAFE_CSV,
    SCRIPT_SVG,
    SMALL_CELL_CSV,
    approved_project,
    decide,
    resubmit,
    submit,
)
from tests.governance_support import PASSWORD, TOTP_SECRET, csrf_token, make_user, sign_in


@pytest.fixture
def people(settings):
    return {
        "researcher": make_user(settings, "researcher", organisation="University of Birmingham"),
        "checker1": make_user(settings, "output_checker", email="c1@hub.example", organisation="PHTA Hub"),
        "checker2": make_user(settings, "output_checker", email="c2@other.example", organisation="Keele"),
        "checker3": make_user(settings, "output_checker", email="c3@third.example"),
    }


@contextmanager
def client_for(live_server, email) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        r = sign_in(client, email)
        assert r.status_code == 303 and r.headers["location"] == "/account", r.text
        yield client


def audit_actions(settings, action):
    with open_database(settings).session() as session:
        rows = session.query(AuditEntry).filter_by(action=action).order_by(AuditEntry.seq).all()
        return [(r.actor, r.target, json.loads(r.details)) for r in rows]


def test_automatic_checks_refuse_scripts_and_highlight_failing_cells(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r:
        refused = submit(r, pid, [("figure.svg", SCRIPT_SVG, "A chart"), ("table.csv", SAFE_CSV, "Counts")])
        assert refused.status_code == 400
        findings = refused.json()["detail"]["findings"]
        assert any(f["file"] == "figure.svg" and f["rule"] == "script" for f in findings)
        assert r.get("/api/v1/outputs").json() == []  # nothing was created
        # a file over every limit is refused before it is read
        big = submit(r, pid, [("big.png", b"\x89PNG" + bytes(11 * 1024 * 1024), "A picture")])
        assert big.status_code == 400 and big.json()["detail"]["findings"][0]["rule"] == "size"

        ok = submit(r, pid, [("table.csv", SMALL_CELL_CSV, "Readmissions by age and sex"),
                             ("figure.svg", CLEAN_SVG, "The same as a chart")])
        assert ok.status_code == 201, ok.text
        body = ok.json()
        assert body["state"] == "submitted"
        table = next(f for f in body["files"] if f["file_name"] == "table.csv")
        assert table["check_status"] == "suppressed"
        assert table["sha256"] == hashlib.sha256(SMALL_CELL_CSV).hexdigest()
        failing = {c["cell"]: c for c in table["checks"]["table"]["cells"] if c["fails"]}
        assert failing["0-39 / F"]["submitted"] == 3
        assert any("fewer than 10" in reason for reason in failing["0-39 / F"]["reasons"])
        # stored content-addressed in the data directory, not in the database
        stored = settings.data_dir / "airlock" / "files" / table["sha256"][:2] / table["sha256"]
        assert stored.read_bytes() == SMALL_CELL_CSV
        # an unapproved node is refused
        assert submit(r, pid, [("t.csv", SAFE_CSV, "x")], node="rwt").status_code == 400

    with client_for(live_server, people["checker1"]) as c1:
        page = c1.get(f"/checking/{body['id']}")
        assert page.status_code == 200
        # failing cells highlighted, the reason beside each
        assert 'class="cell-fail"><td>0-39 / F</td>' in page.text
        assert "fewer than 10" in page.text
        # files with failing cells cannot be approved as they are, even with a reason; their
        # protected version can
        refused = decide(c1, body["id"], "approve", "The small cell is a known published figure")
        assert refused.status_code == 400 and "cannot be released as they are" in refused.json()["detail"]
        assert decide(c1, body["id"], "approve_protected").status_code == 200


def test_first_pass_is_blinded(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        assert [q["id"] for q in c1.get("/api/v1/outputs/queue").json()] == [rid]
        after_first = decide(c1, rid, "return", "Please merge the age bands").json()
        assert after_first["state"] == "in_review"
        assert [v["decision"] for v in after_first["reviews"]] == ["return"]  # their own only
        # the second checker cannot see the first decision before deciding, on the page or the API
        assert c2.get(f"/api/v1/outputs/{rid}").json()["reviews"] == []
        page = c2.get(f"/checking/{rid}").text
        assert 'id="blinded"' in page and "Please merge the age bands" not in page
        # nor can the researcher
        assert r.get(f"/api/v1/outputs/{rid}").json()["reviews"] == []
        # the first checker sees only their own decision, and the queue no longer offers it to them
        assert rid not in [q["id"] for q in c1.get("/api/v1/outputs/queue").json()]
        second = decide(c2, rid, "approve").json()
        assert second["state"] == "needs_third_checker"
        # once both have decided, both see both
        assert {v["decision"] for v in c1.get(f"/api/v1/outputs/{rid}").json()["reviews"]} == {"return", "approve"}
        assert decide(c1, rid, "approve").status_code == 400  # one decision per round


def test_no_one_checks_their_own_project_or_organisation(live_server, settings, people):
    db = open_database(settings)
    both = accounts.create_user(db, email="both@uni.example", password=PASSWORD,
                                roles=[Role.RESEARCHER, Role.OUTPUT_CHECKER], organisation="Aston University")
    accounts.set_totp_secret(db, both, TOTP_SECRET, actor="test")
    colleague = make_user(settings, "output_checker", email="colleague@aston.example", organisation="Aston University")
    pid = approved_project(settings, "both@uni.example", "Own project")
    with client_for(live_server, "both@uni.example") as own:
        rid = submit(own, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        assert own.get("/api/v1/outputs/queue").json() == []
        r = decide(own, rid, "approve")
        assert r.status_code == 400 and "own project" in r.json()["detail"]
        assert own.get(f"/checking/{rid}").status_code == 403
    with client_for(live_server, colleague) as col:
        assert col.get("/api/v1/outputs/queue").json() == []
        r = decide(col, rid, "approve")
        assert r.status_code == 400 and "organisation" in r.json()["detail"]
        assert col.get(f"/api/v1/outputs/{rid}").status_code == 403
        assert col.get(f"/checking/{rid}").status_code == 403


def test_return_with_comments_then_resubmit_and_release(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SMALL_CELL_CSV, "Counts")]).json()["id"]
        assert c1.get(f"/checking/{rid}").status_code == 200
        assert decide(c1, rid, "return").status_code == 400  # a comment is required
        decide(c1, rid, "return", "Merge the 0-39 band")
        assert decide(c2, rid, "return", "Cell 0-39/F is under 10").json()["state"] == "returned"
        mine = r.get(f"/api/v1/outputs/{rid}").json()
        assert mine["state"] == "returned"
        assert {v["comment"] for v in mine["reviews"]} == {"Merge the 0-39 band", "Cell 0-39/F is under 10"}
        assert {v["reviewer"] for v in mine["reviews"]} == {"Output checker"}  # not who
        page = r.get(f"/outputs/{rid}").text
        assert "Merge the 0-39 band" in page and "Resubmit for checking" in page
        # files are not the researcher's until released
        file_id = mine["files"][0]["id"]
        assert r.get(f"/api/v1/outputs/{rid}/files/{file_id}").status_code == 403

        again = resubmit(r, rid, [("table.csv", SAFE_CSV, "Counts, bands merged")])
        assert again.status_code == 200, again.text
        assert again.json()["state"] == "resubmitted" and again.json()["round"] == 2
        assert resubmit(r, rid, [("table.csv", SAFE_CSV, "x")]).status_code == 400  # not returned now
        assert c1.get(f"/api/v1/outputs/{rid}").json()["reviews"][-1]["round"] == 1  # new round, blinded again
        decide(c1, rid, "approve")
        released = decide(c2, rid, "approve").json()
        assert released["state"] == "released"
        new_file = next(f for f in released["files"] if f["round"] == 2)
        download = r.get(f"/api/v1/outputs/{rid}/files/{new_file['id']}")
        assert download.status_code == 200 and download.content == SAFE_CSV
        assert download.headers["x-checksum-sha256"] == hashlib.sha256(SAFE_CSV).hexdigest()
        assert download.headers["content-disposition"].startswith("attachment")
        # only the released round's file is on the public log, with its checksum
        log = r.get(f"/register/{pid}").text
        assert hashlib.sha256(SAFE_CSV).hexdigest() in log
        assert hashlib.sha256(SMALL_CELL_CSV).hexdigest() not in log
    releases = audit_actions(settings, "output.released")
    assert [(t, d["file_name"], d["sha256"]) for _a, t, d in releases] == [
        (f"project:{pid}", "table.csv", hashlib.sha256(SAFE_CSV).hexdigest())]
    # every view, download and decision is audited
    assert audit_actions(settings, "output.downloaded")
    assert len(audit_actions(settings, "output.reviewed")) == 4
    assert {d["page"] for _a, _t, d in audit_actions(settings, "output.viewed")} >= {"api", "check", "researcher"}


def test_reject(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        assert decide(c1, rid, "reject").status_code == 400  # a reason is required
        decide(c1, rid, "reject", "Not within the project's approved purpose")
        assert decide(c2, rid, "reject", "Out of scope").json()["state"] == "rejected"
        assert resubmit(r, rid, [("table.csv", SAFE_CSV, "x")]).status_code == 400
        assert r.get(f"/register/{pid}").text.count("table.csv") == 0
    assert audit_actions(settings, "output.released") == []


def test_disagreement_goes_to_a_third_checker(live_server, settings, people):
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2, client_for(live_server, people["checker3"]) as c3:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")]).json()["id"]
        decide(c1, rid, "approve")
        assert decide(c2, rid, "reject", "Could identify a ward").json()["state"] == "needs_third_checker"
        assert rid not in [q["id"] for q in c2.get("/api/v1/outputs/queue").json()]
        assert rid in [q["id"] for q in c3.get("/api/v1/outputs/queue").json()]
        # the third checker sees both decisions and settles it
        assert len(c3.get(f"/api/v1/outputs/{rid}").json()["reviews"]) == 2
        assert decide(c3, rid, "approve", "No ward-level detail").json()["state"] == "released"


def test_custodian_sign_off_where_the_node_requires_it(live_server, settings, people):
    db = open_database(settings)
    airlock.set_node_setting(db, "uhb", custodian_signoff=True,
                             custodian_organisation="University Hospitals Birmingham", actor="test")
    custodian = make_user(settings, "data_custodian", email="cara@uhb.example",
                          organisation="University Hospitals Birmingham")
    elsewhere = make_user(settings, "data_custodian", email="sam@swbh.example", organisation="Sandwell and West Birmingham")
    pid = approved_project(settings, people["researcher"])
    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        uhb = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")], node="uhb").json()["id"]
        swbh = submit(r, pid, [("other.csv", SAFE_CSV, "Counts")], node="swbh").json()["id"]
        for rid in (uhb, swbh):
            decide(c1, rid, "approve")
        assert decide(c2, uhb, "approve").json()["state"] == "awaiting_custodian"
        assert decide(c2, swbh, "approve").json()["state"] == "released"  # swbh needs no sign-off
    with client_for(live_server, elsewhere) as other:
        assert other.get("/api/v1/outputs/queue").status_code == 403
        r2 = decide(other, uhb, "approve", path="signoff")
        assert r2.status_code == 400 and "uhb" in r2.json()["detail"]
        assert other.get(f"/signoff/{uhb}").status_code == 403
    with client_for(live_server, custodian) as cara:
        assert f"/signoff/{uhb}" in cara.get("/signoff").text
        assert decide(cara, uhb, "reject", path="signoff").status_code == 400  # a reason is required
        assert decide(cara, uhb, "approve", path="signoff").json()["state"] == "released"
    assert [d["file_name"] for _a, _t, d in audit_actions(settings, "output.released")] == ["other.csv", "table.csv"]
    assert len(audit_actions(settings, "output.custodian_signoff")) == 1


def test_decision_forms_on_the_checking_and_sign_off_pages(live_server, settings, people):
    """The HTML forms (not the API): a refused decision shows the screen again with the reason and
    400, an unknown request is 404, a recorded one goes back to the screen."""
    db = open_database(settings)
    airlock.set_node_setting(db, "uhb", custodian_signoff=True,
                             custodian_organisation="University Hospitals Birmingham", actor="test")
    custodian = make_user(settings, "data_custodian", email="cara@uhb.example",
                          organisation="University Hospitals Birmingham")
    pid = approved_project(settings, people["researcher"])

    def post(client, path, decision, comment=""):
        token = csrf_token(client, "/account")
        return client.post(path, data={"csrf_token": token, "decision": decision, "comment": comment})

    with client_for(live_server, people["researcher"]) as r, client_for(live_server, people["checker1"]) as c1, \
            client_for(live_server, people["checker2"]) as c2:
        rid = submit(r, pid, [("table.csv", SAFE_CSV, "Counts")], node="uhb").json()["id"]
        assert post(c1, "/checking/999999", "approve").status_code == 404
        refused = post(c1, f"/checking/{rid}", "return")  # a comment is required
        assert refused.status_code == 400 and 'id="review-error"' in refused.text
        assert f'action="/checking/{rid}"' in refused.text
        for checker in (c1, c2):
            done = post(checker, f"/checking/{rid}", "approve")
            assert done.status_code == 303 and done.headers["location"] == f"/checking/{rid}"
    with client_for(live_server, custodian) as cara:
        assert post(cara, "/signoff/999999", "approve").status_code == 404
        refused = post(cara, f"/signoff/{rid}", "reject")  # a reason is required
        assert refused.status_code == 400 and 'id="review-error"' in refused.text
        assert f'action="/signoff/{rid}"' in refused.text
        done = post(cara, f"/signoff/{rid}", "approve", "Fine for release")
        assert done.status_code == 303 and done.headers["location"] == f"/signoff/{rid}"
        assert 'id="output-state"' in cara.get(f"/signoff/{rid}").text
    assert len(audit_actions(settings, "output.custodian_signoff")) == 1
