"""Co-applicants: named while the request can be edited, reviewed as safe people, and once the
request is approved they see the project and use its grant like the lead applicant — not
before; removing them ends it. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.audit import entries, verify_chain
from phta.governance import airlock, authz, coapplicants, is_use_allowed, projects, review
from phta.governance.principal import Principal
from phta.governance.roles import Role
from tests.governance_support import complete_request, make_principal


@pytest.fixture
def people(database):
    return {
        "lead": make_principal(database, "ravi@uni.example", Role.RESEARCHER, "University of Birmingham"),
        "co": make_principal(database, "ines@medtech.example", Role.INNOVATOR, "Midlands MedTech Ltd"),
        "stranger": make_principal(database, "sam@else.example", Role.RESEARCHER, "Elsewhere Ltd"),
        "medtech_reviewer": make_principal(database, "mo@medtech.example", Role.COMMITTEE_MEMBER, "Midlands MedTech Ltd"),
        "expert": make_principal(database, "expert@hub.example", Role.COMMITTEE_MEMBER, "PHTA Hub"),
        "lay": make_principal(database, "lay@public.example", Role.COMMITTEE_MEMBER, None, True),
    }


def _can_use(db, who: Principal, pid: int) -> bool:
    return is_use_allowed(who, f"project:{pid}", node="uhb", task_type="feasibility", database=db).allowed


def _sees(db, who: Principal, pid: int) -> bool:
    return authz.allowed(who, "projects.view", projects.get(db, pid)) and pid in [
        p.id for p in projects.list_for_applicant(db, who)]


def _draft_with_coapplicant(db, people) -> int:
    pid = projects.create_draft(db, people["lead"], complete_request())
    entry = coapplicants.add(db, people["lead"], pid, " Ines@MedTech.example ")
    assert [(c.id, c.user_id) for c in projects.get(db, pid).coapplicants] == [(entry, people["co"].user_id)]
    return pid


def test_coapplicants_get_access_only_once_approved_and_lose_it_when_removed(database, people):
    lead, co = people["lead"], people["co"]
    pid = _draft_with_coapplicant(database, people)
    entry = projects.get(database, pid).coapplicants[0].id
    projects.submit(database, lead, pid, resubmission=False)
    assert not _sees(database, co, pid) and not _can_use(database, co, pid)  # not before approval
    review.record_review(database, people["lay"], pid, "approve")
    assert review.record_review(database, people["expert"], pid, "approve") == "approved"
    assert _sees(database, co, pid) and _can_use(database, co, pid)  # exactly like the lead applicant
    assert _sees(database, lead, pid) and _can_use(database, lead, pid)
    assert airlock.project_nodes(database, co, pid) == ["uhb", "swbh"]
    assert [p[0] for p in airlock.approved_projects(database, co)] == [pid]
    assert not _sees(database, people["stranger"], pid) and not _can_use(database, people["stranger"], pid)
    # co-applicants use the project; only the lead applicant steers the request
    with pytest.raises(projects.NotApplicant):
        projects.withdraw(database, co, pid)
    with pytest.raises(projects.NotApplicant):
        coapplicants.remove(database, co, pid, entry)
    coapplicants.remove(database, lead, pid, entry)
    assert not _sees(database, co, pid) and not _can_use(database, co, pid)
    assert airlock.project_nodes(database, co, pid) == [] and airlock.approved_projects(database, co) == []
    assert _can_use(database, lead, pid)
    changes = [(e.action, e.details["user_id"]) for e in entries(database) if e.action.startswith("project.coapp")]
    assert changes == [("project.coapplicant_added", co.user_id), ("project.coapplicant_removed", co.user_id)]
    assert verify_chain(database).ok


def test_conditions_hold_for_coapplicants_until_the_lead_accepts_them(database, people):
    lead, co = people["lead"], people["co"]
    pid = _draft_with_coapplicant(database, people)
    projects.submit(database, lead, pid, resubmission=False)
    review.record_review(database, people["lay"], pid, "approve_with_conditions", conditions="No linkage")
    assert review.record_review(database, people["expert"], pid, "approve") == "approved_with_conditions"
    assert _sees(database, co, pid)
    assert "acknowledge" in is_use_allowed(co, f"project:{pid}", node="uhb", database=database).reason
    with pytest.raises(projects.NotApplicant):
        projects.acknowledge_conditions(database, co, pid)
    projects.acknowledge_conditions(database, lead, pid)
    assert _can_use(database, co, pid)


def test_coapplicants_are_named_only_while_the_request_can_be_edited(database, people):
    lead = people["lead"]
    pid = projects.create_draft(database, lead, complete_request())
    for email, message in [("ravi@uni.example", "lead applicant"),
                           ("not-an-email", "not an e-mail address")]:
        with pytest.raises(coapplicants.CoapplicantError, match=message) as failed:
            coapplicants.add(database, lead, pid, email)
        assert failed.value.field == "email"
    with pytest.raises(projects.NotApplicant):
        coapplicants.add(database, people["stranger"], pid, "ines@medtech.example")
    coapplicants.add(database, lead, pid, "ines@medtech.example")
    with pytest.raises(coapplicants.CoapplicantError, match="already"):
        coapplicants.add(database, lead, pid, "ines@medtech.example")
    projects.submit(database, lead, pid, resubmission=False)
    with pytest.raises(projects.ProjectError, match="committee reviews them"):
        coapplicants.add(database, lead, pid, "sam@else.example")
    with pytest.raises(coapplicants.CoapplicantError, match="not a co-applicant") as failed:
        coapplicants.remove(database, lead, pid, 999999)
    assert failed.value.field == "coapplicant_id"


def test_a_reviewer_from_a_coapplicants_organisation_is_not_independent(database, people):
    pid = _draft_with_coapplicant(database, people)
    projects.submit(database, people["lead"], pid, resubmission=False)
    with pytest.raises(review.ReviewNotAllowed, match="applicant's organisation"):
        review.record_review(database, people["medtech_reviewer"], pid, "approve")


def test_submit_and_resubmit_name_the_step_they_mean(database, people):
    lead = people["lead"]
    pid = projects.create_draft(database, lead, {"title": "Half"})
    with pytest.raises(projects.ProjectError, match="cannot be resubmitted"):
        projects.submit(database, lead, pid, resubmission=True)
    with pytest.raises(projects.ValidationFailed):
        projects.submit(database, lead, pid, resubmission=False)  # the saved answers are incomplete
    projects.submit(database, lead, pid, complete_request(), resubmission=False)
    review.record_review(database, people["lay"], pid, "request_feedback", comment="Say more")
    with pytest.raises(projects.ProjectError, match="cannot be submitted"):
        projects.submit(database, lead, pid, resubmission=False)
    projects.submit(database, lead, pid, resubmission=True)
    assert projects.get(database, pid).state == "resubmitted" and projects.get(database, pid).round == 2


OPS = st.lists(st.one_of(st.tuples(st.sampled_from(["add", "remove"]), st.sampled_from(["co", "stranger"])),
                         st.just(("approve", None))), max_size=8)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_access_is_exactly_approved_and_currently_named(database, people, ops):
    """Whatever the order of naming, removing and approval: a user sees the project and may use
    its grant iff they are the lead applicant, or the request is approved and they are named now."""
    lead = people["lead"]
    pid = projects.create_draft(database, lead, complete_request())
    named: dict[str, int] = {}
    approved = False
    for op, who in ops:
        if op == "approve":
            if approved:
                continue
            projects.submit(database, lead, pid, resubmission=False)
            review.record_review(database, people["lay"], pid, "approve")
            review.record_review(database, people["expert"], pid, "approve")
            approved = True
        elif op == "add":
            if approved or who in named:
                with pytest.raises(projects.ProjectError):
                    coapplicants.add(database, lead, pid, people[who].email)
            else:
                named[who] = coapplicants.add(database, lead, pid, people[who].email)
        else:
            if who in named:
                coapplicants.remove(database, lead, pid, named.pop(who))
            else:
                with pytest.raises(coapplicants.CoapplicantError):
                    coapplicants.remove(database, lead, pid, 999999)
        for name in ("co", "stranger"):
            expected = approved and name in named
            assert _sees(database, people[name], pid) == expected, (ops, name)
            assert _can_use(database, people[name], pid) == expected, (ops, name)
        assert _sees(database, lead, pid) and _can_use(database, lead, pid) == approved


def _statements(db, action) -> list[str]:
    """The SQL statements ``action`` runs (their text without values): the shape of its work."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def test_naming_a_coapplicant_does_not_reveal_which_addresses_are_accounts(database, people):
    """Attack: an applicant names address after address to learn who has a researcher account."""
    lead = people["lead"]
    pid = projects.create_draft(database, lead, complete_request())
    work = {}
    for label, email in [("researcher account", "sam@else.example"), ("no account", "nobody@nowhere.example"),
                         ("committee account", "expert@hub.example")]:
        work[label] = _statements(database, lambda email=email: coapplicants.add(database, lead, pid, email))
    assert work["researcher account"] == work["no account"] == work["committee account"]
    shown = coapplicants.shown_to(lead, projects.get(database, pid))
    assert [(c["email"], c["name"], c["account"]) for c in shown] == [
        ("sam@else.example", None, None), ("nobody@nowhere.example", None, None), ("expert@hub.example", None, None)]


def test_the_committee_sees_which_named_addresses_are_accounts_and_only_accounts_get_access(database, people):
    """Control: the committee reviews safe people with the facts; an unresolved address gets nothing."""
    lead = people["lead"]
    pid = projects.create_draft(database, lead, complete_request())
    coapplicants.add(database, lead, pid, "ines@medtech.example")
    coapplicants.add(database, lead, pid, "expert@hub.example")  # a committee member: not eligible
    projects.submit(database, lead, pid, resubmission=False)
    seen = coapplicants.shown_to(people["lay"], projects.get(database, pid))
    assert [(c["email"], c["account"]) for c in seen] == [("ines@medtech.example", True), ("expert@hub.example", False)]
    review.record_review(database, people["lay"], pid, "approve")
    assert review.record_review(database, people["expert"], pid, "approve") == "approved"
    view = projects.get(database, pid)
    assert view.member_user_ids == {lead.user_id, people["co"].user_id}
    shown = coapplicants.shown_to(lead, view)  # once approved the applicants are told too
    assert [(c["email"], c["account"]) for c in shown] == [("ines@medtech.example", True), ("expert@hub.example", False)]
