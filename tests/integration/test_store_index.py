"""``phta store index``: the physical design is recorded, used while fresh, ignored once stale,
and never changes a result."""

from __future__ import annotations

from typer.testing import CliRunner

from phta.cdm.physical import FACTS_TABLE, index_status
from phta.cli.main import app
from phta.query import ir
from phta.query.dsl import codes, cohort, conditions, index_date, patients
from tests.spec.cohort import harness

T2DM, IMD = 2001000010, 2000000001


def _tables():
    return harness.complete({
        "person": [harness.person(1, "1950-05-01"), harness.person(2, "1990-01-01", sex="M"),
                   harness.person(3, "1960-01-01")],
        "concept": harness.concepts(T2DM, IMD),
        "concept_ancestor": [{"ancestor_concept_id": T2DM, "descendant_concept_id": T2DM}],
        "condition_occurrence": [
            {"person_id": 1, "condition_concept_id": T2DM, "condition_start_date": harness.d("2020-01-01")},
            {"person_id": 2, "condition_concept_id": T2DM, "condition_start_date": harness.d("2021-06-01")},
        ],
        "observation": [
            {"person_id": 1, "observation_concept_id": IMD, "observation_date": harness.d("2019-01-01"),
             "value_as_number": 2.0},
            {"person_id": 1, "observation_concept_id": IMD, "observation_date": harness.d("2022-01-01"),
             "value_as_number": 4.0},
        ],
    })


def _cohort() -> ir.Cohort:
    return cohort(index_date=conditions.where(codes(T2DM, descendants=True)).first_date(),
                  rules={"adult": patients.age_at(index_date) >= 18},
                  strata=["sex", "imd_quintile", "age_band"])


def test_cli_indexes_a_store_and_results_do_not_change(tmp_path):
    tables = _tables()
    store = harness.build_store(tmp_path / "s", tables)
    before = harness.cohort_result(store, _cohort())
    result = CliRunner().invoke(app, ["store", "index", str(store.path)])
    assert result.exit_code == 0, result.output
    assert "indexed 3 persons" in result.output
    assert index_status(store) == {"clustered_events", "person_facts"}
    with store.connect(read_only=True) as con:
        assert con.execute(f"SELECT imd_quintile FROM {FACTS_TABLE} WHERE person_id = 1").fetchone() == (4,)
    after = harness.cohort_result(store, _cohort())
    assert after.membership == before.membership
    assert after.strata == before.strata
    assert after.attrition == before.attrition
    assert after.strata == harness.reference_cohort(tables, _cohort()).strata


def test_a_stale_index_is_ignored(tmp_path):
    store = harness.build_indexed_store(tmp_path / "s", _tables())
    with store.connect() as con:  # a later change the index does not know about
        con.execute("INSERT INTO observation (observation_id, person_id, observation_concept_id, observation_date, "
                    "observation_type_concept_id, value_as_number) VALUES (99, 2, ?, DATE '2023-01-01', 0, 1)", [IMD])
    assert index_status(store) == set()
    result = harness.cohort_result(store, _cohort())
    assert ("imd_quintile", "1") in {(s.stratum, s.value) for s in result.strata}


def test_cli_rejects_a_missing_store(tmp_path):
    result = CliRunner().invoke(app, ["store", "index", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no store" in result.output
