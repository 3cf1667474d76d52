"""The opt-out decision table in code matches the one documented in docs/opt-outs.md, row by row."""

from __future__ import annotations

import re

import pytest

from phta.governance import optouts
from tests.components import REPO_ROOT

ROW = re.compile(r"^\| (?P<purpose>[^|]+) \| (?P<route>[^|]+) \| (?P<national>[^|]+) \| (?P<type1>[^|]+) \|$")


def documented_rows():
    text = (REPO_ROOT / "docs" / "opt-outs.md").read_text(encoding="utf-8")
    table = text.split("## What applies when", 1)[1].split("###", 1)[0]
    rows = []
    for line in table.splitlines():
        m = ROW.match(line.strip())
        if not m or m["purpose"].strip() in ("purpose", "---"):
            continue
        codes = re.findall(r"`([^`]+)`", m["purpose"])
        if m["purpose"].strip().startswith("project"):
            codes = ["project:<id>"]
        route = re.findall(r"`([^`]+)`", m["route"])
        rows.append((codes, route[0] if route else None, "yes" in m["national"], "yes" in m["type1"]))
    return rows


def test_the_doc_table_has_every_rule():
    assert len(documented_rows()) == len(optouts.DECISION_TABLE) + 1  # + the fail-safe row


@pytest.mark.parametrize("codes, route, national, type1", documented_rows())
def test_code_matches_the_documented_row(codes, route, national, type1):
    if not codes:  # the "anything else" row
        codes = ["no-such-purpose", "project:1"]
        route = None
    for code in codes:
        code = "project:7" if code == "project:<id>" else code
        rule = optouts.rule_for(code, route if code.startswith("project:") else None)
        assert (rule.national, rule.type1) == (national, type1), (code, route)


@pytest.mark.parametrize("gp", [True, False])
def test_type1_applies_only_to_gp_sourced_stores(gp):
    assert ("type1" in optouts.applicable("feasibility", gp_sourced=gp).kinds) is gp
    assert optouts.applicable("project:3", route="consent", gp_sourced=gp).kinds == (("type1",) if gp else ())
    assert optouts.applicable("custodian-quality", gp_sourced=gp).kinds == ()


def test_project_routes_come_from_the_request(settings):
    import datetime as dt
    import json

    from phta.governance import accounts
    from phta.governance.roles import Role
    from phta.store import open_database
    from phta.store.models import Project

    db = open_database(settings)
    user = accounts.create_user(db, email="a@test.example", password="a-long-test-password", roles=[Role.RESEARCHER])
    with db.session() as session:
        p = Project(applicant_user_id=user, title="t", state="draft", round=1,
                    form=json.dumps({"common_law": "consent"}), created_at=dt.datetime.now(dt.UTC))
        session.add(p)
        session.flush()
        pid = p.id
    assert optouts.project_route(db, f"project:{pid}") == "consent"
    assert optouts.project_route(db, "project:9999") is None
    assert optouts.project_route(db, "project:x") is None


def test_every_route_on_the_request_form_has_its_own_rule():
    from phta.governance import request_form

    for route in request_form.COMMON_LAW:
        assert optouts.rule_for("project:1", route).route == route, route


@pytest.mark.parametrize("gp", [True, False])
def test_section_251_exemption_lifts_the_national_opt_out_but_not_type1(gp):
    assert optouts.applicable("project:3", route="s251_exempt", gp_sourced=gp).kinds == (("type1",) if gp else ())
    assert optouts.applicable("project:3", route="s251", gp_sourced=gp).kinds == (
        ("national", "type1") if gp else ("national",))


def test_the_register_says_which_opt_outs_applied():
    assert optouts.public_statement("project", "s251") == (
        "National data opt-out applied; type 1 opt-outs applied to GP data")
    assert optouts.public_statement("project", "s251_exempt") == (
        "National data opt-out not applied (the section 251 approval exempts this project); "
        "type 1 opt-outs applied to GP data")
    assert optouts.public_statement("project", "consent").startswith("National data opt-out not applied (explicit consent)")
    assert optouts.public_statement("project", None).startswith("National data opt-out applied")  # fail safe
