"""Data access requests on the Five Safes: drafts, validation, the committee decision rule,
grants, project purposes and the public register — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from phta.audit import record_event, record_query_run, verify_chain
from phta.governance import is_use_allowed, projects, register, review
from phta.governance.roles import Role
from tests.governance_support import complete_request, make_principal


@pytest.fixture
def people(database):
    return {
        "applicant": make_principal(database, "ravi@uni.example", Role.RESEARCHER, "University of Birmingham"),
        "other": make_principal(database, "other@uni.example", Role.RESEARCHER, "Elsewhere Ltd"),
        "colleague": make_principal(database, "col@uni.example", Role.COMMITTEE_MEMBER, "University of Birmingham"),
        "expert": make_principal(database, "expert@hub.example", Role.COMMITTEE_MEMBER, "PHTA Hub"),
        "expert2": make_principal(database, "expert2@hub.example", Role.COMMITTEE_MEMBER, "PHTA Hub"),
        "lay": make_principal(database, "lay@public.example", Role.COMMITTEE_MEMBER, None, True),
    }


def _submitted(db, applicant) -> int:
    pid = projects.create_draft(db, applicant, {"title": "Draft"})
    projects.save(db, applicant, pid, complete_request(), submit=True)
    return pid


def test_draft_saves_half_filled_but_submission_names_every_missing_field(database, people):
    applicant = people["applicant"]
    pid = projects.create_draft(database, applicant, {"title": "Half done", "nodes": "uhb"})
    assert projects.get(database, pid).state == "draft"
    with pytest.raises(projects.ValidationFailed) as failed:
        projects.save(database, applicant, pid, {"title": "Half done", "common_law": "s251", "duration_months": "99"},
                      submit=True)
    problems = failed.value.problems
    assert {"lay_summary", "tre_only", "pseudonymised", "task_types", "s251_reference", "duration_months"} <= set(problems)
    assert "required" in problems["lay_summary"] and "1 to 60" in problems["duration_months"]
    view = projects.get(database, pid)
    assert view.state == "draft" and view.answers["common_law"] == "s251"  # answers kept as a draft
    with pytest.raises(projects.ProjectError, match="only the applicant"):
        projects.save(database, people["other"], pid, complete_request(), submit=False)


def test_default_rule_two_reviewers_with_a_lay_member_unanimous(database, people):
    pid = _submitted(database, people["applicant"])
    with pytest.raises(review.ReviewError, match="applicant's organisation"):
        review.record_review(database, people["colleague"], pid, "approve")
    assert review.record_review(database, people["expert"], pid, "approve") == "in_review"
    with pytest.raises(review.ReviewError, match="already reviewed"):
        review.record_review(database, people["expert"], pid, "approve")
    # two experts but no lay member: still in review
    assert review.record_review(database, people["expert2"], pid, "approve") == "in_review"
    assert review.record_review(database, people["lay"], pid, "approve") == "approved"
    grant = review.grant_for(database, pid)
    assert grant.active and grant.nodes == ["uhb", "swbh"] and grant.task_types == ["feasibility", "characterisation"]
    history = [to for _at, _f, to, _n in projects.get(database, pid).history]
    assert history == ["draft", "submitted", "in_review", "approved"]
    assert verify_chain(database).ok


def test_feedback_round_trip_and_rejection(database, people):
    applicant = people["applicant"]
    pid = _submitted(database, applicant)
    with pytest.raises(review.ReviewError, match="say why"):
        review.record_review(database, people["lay"], pid, "request_feedback")
    assert review.record_review(database, people["lay"], pid, "request_feedback", comment="Explain the linkage") == "feedback_requested"
    projects.save(database, applicant, pid, complete_request() | {"linkage": "none"}, submit=True)
    view = projects.get(database, pid)
    assert view.state == "resubmitted" and view.round == 2
    # a new round: earlier reviews do not count, the same people may review again
    review.record_review(database, people["lay"], pid, "approve")
    assert review.record_review(database, people["expert"], pid, "reject", comment="Benefit unclear") == "rejected"
    assert review.grant_for(database, pid) is None
    assert [to for _a, _f, to, _n in projects.get(database, pid).history] == [
        "draft", "submitted", "in_review", "feedback_requested", "resubmitted", "in_review", "rejected"]


def test_conditions_must_be_acknowledged_before_the_grant_activates(database, people):
    applicant = people["applicant"]
    pid = _submitted(database, applicant)
    review.record_review(database, people["lay"], pid, "approve")
    state = review.record_review(database, people["expert"], pid, "approve_with_conditions",
                                 conditions="No linkage beyond the named datasets")
    assert state == "approved_with_conditions"
    decision = is_use_allowed(applicant, f"project:{pid}", node="uhb", task_type="feasibility", database=database)
    assert not decision.allowed and "acknowledge" in decision.reason
    with pytest.raises(projects.ProjectError):
        projects.acknowledge_conditions(database, people["other"], pid)
    projects.acknowledge_conditions(database, applicant, pid)
    assert is_use_allowed(applicant, f"project:{pid}", node="uhb", task_type="feasibility", database=database).allowed
    assert not is_use_allowed(applicant, f"project:{pid}", node="rwt", database=database).allowed
    assert not is_use_allowed(applicant, f"project:{pid}", task_type="evaluation", database=database).allowed
    assert not is_use_allowed(people["other"], f"project:{pid}", database=database).allowed
    assert not is_use_allowed(applicant, "project:999", database=database).allowed


def test_withdrawn_requests_cannot_be_reviewed(database, people):
    pid = _submitted(database, people["applicant"])
    projects.withdraw(database, people["applicant"], pid)
    with pytest.raises(review.ReviewError, match="not waiting"):
        review.record_review(database, people["lay"], pid, "approve")


def test_register_lists_approved_projects_with_their_public_log(database, people):
    applicant = people["applicant"]
    approved = _submitted(database, applicant)
    pending = _submitted(database, applicant)
    review.record_review(database, people["lay"], approved, "approve")
    review.record_review(database, people["expert"], approved, "approve")
    record_query_run(database, actor=applicant.actor, query_hash="c0ffee" * 8, purpose=f"project:{approved}", node="uhb")
    record_query_run(database, actor=applicant.actor, query_hash="beef" * 16, purpose="network_feasibility", node="uhb")
    record_event(database, actor="user:1", action="output.released", target=f"project:{approved}",
                 details={"file_name": "table1.csv", "sha256": "ab" * 32})
    entries = register.entries(database)
    assert [e.project_id for e in entries] == [approved] and pending not in [e.project_id for e in entries]
    entry = entries[0]
    assert entry.organisation == "University of Birmingham" and entry.nodes == ["uhb", "swbh"]
    assert "CAG 21/CAG/0001" in entry.legal_basis and "opt-out" in entry.opt_outs and entry.outputs_released == 1
    log = register.public_log(database, approved)
    assert [q["query_hash"] for q in log["queries"]] == ["c0ffee" * 8]
    assert log["releases"] == [{"at": log["releases"][0]["at"], "file_name": "table1.csv", "sha256": "ab" * 32}]


def test_register_shows_a_section_251_exemption_from_the_national_opt_out(database, people):
    applicant = people["applicant"]
    answers = {**complete_request("Exempt"), "common_law": "s251_exempt", "s251_reference": "23/CAG/0042",
               "opt_out_exemption": "Approval letter, condition 3"}
    pid = projects.create_draft(database, applicant, answers)
    projects.save(database, applicant, pid, answers, submit=True)
    review.record_review(database, people["lay"], pid, "approve")
    review.record_review(database, people["expert"], pid, "approve")
    entry = register.public_entry(database, pid)
    assert "exempting it from the national data opt-out" in entry.legal_basis and "23/CAG/0042" in entry.legal_basis
    assert entry.opt_outs == ("National data opt-out not applied (the section 251 approval exempts this project); "
                              "type 1 opt-outs applied to GP data")
