"""custodian_quality checks only the nodes of the custodian's own organisation (the node setting
is the one node -> organisation mapping); a refusal names why and is in the audit chain."""

from __future__ import annotations

import pytest

from phta.audit import entries, verify_chain
from phta.execution import NotAuthorised
from phta.execution.governed import run_governed
from phta.governance import accounts, airlock, is_use_allowed
from phta.governance.principal import Principal
from phta.governance.roles import Role
from tests.integration.test_execution_path import COHORT
from tests.spec.cohort import harness

UHB = "University Hospitals Birmingham"
RWT = "Royal Wolverhampton NHS Trust"


def _custodian(db, email: str, org: str | None) -> Principal:
    uid = accounts.create_user(db, email=email, password="a-long-test-password", roles=[Role.DATA_CUSTODIAN],
                               organisation=org)
    return Principal(uid, email, email, frozenset({Role.DATA_CUSTODIAN}), org)


@pytest.fixture
def custodians(database):
    airlock.set_node_setting(database, "UHB", custodian_signoff=False, custodian_organisation=UHB, actor="test")
    airlock.set_node_setting(database, "spec", custodian_signoff=True, custodian_organisation=UHB, actor="test")
    return {"uhb": _custodian(database, "cara@uhb.example", UHB),
            "rwt": _custodian(database, "rob@rwt.example", RWT),
            "none": _custodian(database, "nobody@example.org", None)}


def test_a_custodian_checks_only_their_own_organisations_nodes(database, custodians):
    mine = is_use_allowed(custodians["uhb"], "custodian_quality", node="uhb", database=database)
    assert mine.allowed and mine.disclosure_policy == "custodian"
    assert is_use_allowed(custodians["uhb"], "custodian_quality", node=" UHB ", database=database).allowed
    theirs = is_use_allowed(custodians["rwt"], "custodian_quality", node="uhb", database=database)
    assert not theirs.allowed
    assert f"held by {UHB}" in theirs.reason and RWT in theirs.reason
    homeless = is_use_allowed(custodians["none"], "custodian_quality", node="uhb", database=database)
    assert not homeless.allowed and "no organisation" in homeless.reason


def test_unmapped_nodes_and_missing_arguments_are_refused_with_reasons(database, custodians):
    unmapped = is_use_allowed(custodians["uhb"], "custodian_quality", node="swbh", database=database)
    assert not unmapped.allowed and "no custodian organisation on record" in unmapped.reason
    assert "--custodian-organisation" in unmapped.reason
    no_node = is_use_allowed(custodians["uhb"], "custodian_quality", database=database)
    assert not no_node.allowed and "name it" in no_node.reason
    no_db = is_use_allowed(custodians["uhb"], "custodian_quality", node="uhb")
    assert not no_db.allowed and "operational database" in no_db.reason
    researcher = Principal(99, "r@x", "r", frozenset({Role.RESEARCHER}), UHB)
    assert not is_use_allowed(researcher, "custodian_quality", node="uhb", database=database).allowed
    token = Principal(custodians["uhb"].user_id, "c", "c", frozenset({Role.DATA_CUSTODIAN}), UHB,
                      scopes=frozenset({"outputs"}))
    assert "'query' scope" in is_use_allowed(token, "custodian_quality", node="uhb", database=database).reason


def test_the_governed_path_refuses_another_trusts_custodian_and_audits_it(database, backend_settings,
                                                                          custodians, tmp_path):
    people = [harness.person(i, sex="F") for i in range(1, 4)]
    conditions = [{"person_id": i, "condition_concept_id": 201826, "condition_start_date": harness.d("2020-01-01")}
                  for i in range(1, 4)]
    store = harness.build_store(tmp_path / "node", harness.complete(
        {"person": people, "condition_occurrence": conditions, "concept": harness.concepts(201826)}))
    with pytest.raises(NotAuthorised, match=f"held by {UHB}"):
        run_governed(backend_settings, database, custodians["rwt"], "custodian_quality", COHORT, store)
    result = run_governed(backend_settings, database, custodians["uhb"], "custodian_quality", COHORT, store)
    assert result.policy_name == "custodian" and result.total.suppressed  # 3 people: under the threshold
    runs = [e for e in entries(database) if e.action == "query.run"]
    assert [(r.actor, r.details["outcome"]) for r in runs] == [(custodians["rwt"].actor, "refused"),
                                                               (custodians["uhb"].actor, "completed")]
    assert f"held by {UHB}" in runs[0].details["reason"] and runs[0].details["node"] == "spec"
    assert verify_chain(database).ok
