"""``load_fhir``: hand-written UK Core resources for every mapping, each kind of bad line
quarantined with its reason (and never its value), and reconciliation over generated mixes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.cdm import vocabulary
from phta.cdm.ingest import LoadError
from phta.cdm.ingest.fhir import load_fhir
from phta.cdm.pseudonymise import Pseudonymiser
from phta.cdm.store import Store
from phta.cdm.uk import GENDER_FEMALE, NHS_ETHNIC_CATEGORY_CONCEPT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
KEY = b"k" * 32


def _store(path: Path) -> Store:
    store = Store.create(path)
    vocabulary.load_into(store)
    return store


def _rows(store: Store, sql: str) -> list[tuple]:
    with store.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def loaded(tmp_path):
    store = _store(tmp_path / "s")
    report = load_fhir(FIXTURES / "uk_core", store.path, pseudonymiser=Pseudonymiser(KEY))
    return store, report


def test_patient_pseudonymised_with_ethnic_category_and_death(loaded):
    store, _ = loaded
    rows = _rows(store, "SELECT person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth, "
                        "race_concept_id, race_source_value, person_source_value, race_source_concept_id FROM person "
                        "ORDER BY person_id")
    first = rows[0]
    assert first[1:7] == (GENDER_FEMALE, 1956, 3, 14, NHS_ETHNIC_CATEGORY_CONCEPT["H"], "H")
    assert first[7] == Pseudonymiser(KEY).pseudonym("9990000018")
    assert first[8] == NHS_ETHNIC_CATEGORY_CONCEPT["H"]
    assert rows[1][3:5] == (11, None)  # a partial birth date keeps only what it states
    assert rows[1][7] == Pseudonymiser(KEY).pseudonym("9990000026")  # spaces in the number are fine
    every_text = json.dumps(_rows(store, "SELECT * FROM person"), default=str)
    assert "9990000018" not in every_text and "999 000 0026" not in every_text
    assert _rows(store, "SELECT person_id, death_date FROM death")[0][0] == rows[1][0]


def test_encounters_become_visits_by_class(loaded):
    store, _ = loaded
    assert _rows(store, "SELECT visit_concept_id, visit_start_date::VARCHAR, visit_end_date::VARCHAR "
                        "FROM visit_occurrence ORDER BY 1") == [
        (9201, "2023-05-01", "2023-05-04"), (9202, "2023-06-10", "2023-06-10")]


def test_table_chosen_by_the_concepts_domain(loaded):
    store, report = loaded
    t2dm = vocabulary.standard_id("SNOMED:44054006")
    hypertension_from_icd10 = vocabulary.standard_id("ICD10:I10")
    conditions = {r[0] for r in _rows(store, "SELECT condition_concept_id FROM condition_occurrence")}
    assert {t2dm, hypertension_from_icd10} <= conditions
    # a SNOMED procedure sent as a FHIR Condition lands in procedure_occurrence
    procedures = {r[0] for r in _rows(store, "SELECT procedure_source_value FROM procedure_occurrence")}
    assert procedures == {"73761001", "415070008"}
    assert report.resources["Condition"].rows_by_table == {"condition_occurrence": 3, "procedure_occurrence": 1}
    # the Condition row keeps its encounter as the visit
    assert _rows(store, "SELECT count(*) FROM condition_occurrence WHERE visit_occurrence_id IS NOT NULL") == [(1,)]


def test_observations_in_ucum_units_become_measurements(loaded):
    store, _ = loaded
    rows = _rows(store, "SELECT measurement_source_value, value_as_number, unit_concept_id, unit_source_value "
                        "FROM measurement ORDER BY 1")
    assert rows == [("59261-8", 53.0, vocabulary.concept_id("UCUM:mmol/mol"), "mmol/mol"),
                    ("8480-6", 142.0, vocabulary.concept_id("UCUM:mm[Hg]"), "mm[Hg]")]


def test_medicines_and_immunisations_become_drug_exposures(loaded):
    store, _ = loaded
    rows = _rows(store, "SELECT drug_source_value, drug_concept_id, drug_exposure_end_date::VARCHAR "
                        "FROM drug_exposure ORDER BY drug_exposure_start_date")
    by_code = {r[0]: r for r in rows}
    assert by_code["42206511000001102"][1] == vocabulary.concept_id("dm+d:42206511000001102")
    assert by_code["861007"][2] == "2022-06-30"  # MedicationStatement's period end
    assert by_code["39114911000001105"][1] == 0  # the vaccine code is not in the embedded vocabulary


def test_allergy_is_an_observation_and_unmapped_codes_are_kept_and_reported(loaded):
    store, report = loaded
    assert report.resources["AllergyIntolerance"].rows_by_table == {"observation": 1}
    kept = _rows(store, "SELECT observation_concept_id, observation_source_value FROM observation ORDER BY 2")
    assert ("0", "91936005") in {(str(c), s) for c, s in kept}
    unmapped = {(u["resource"], u["code"]) for u in report.unmapped_codes}
    assert unmapped == {("AllergyIntolerance", "91936005"), ("Condition", "1234567008"),
                        ("Immunization", "39114911000001105"), ("Observation", "999999999")}


def test_entered_in_error_not_loaded_but_counted(loaded):
    store, report = loaded
    assert report.resources["Condition"].not_loaded == {"entered-in-error": 1}
    assert report.resources["Observation"].not_loaded == {"entered-in-error": 1}
    assert _rows(store, "SELECT count(*) FROM measurement WHERE value_as_number = 14") == [(0,)]
    assert report.reconciled and report.rows_quarantined == 0


def test_observation_periods_cover_the_loaded_events(loaded):
    store, _ = loaded
    assert _rows(store, "SELECT person_id, observation_period_start_date::VARCHAR, "
                        "observation_period_end_date::VARCHAR FROM observation_period ORDER BY 1") == [
        (1, "2019-04-02", "2023-07-01"), (2, "2020-01-15", "2023-06-10")]


def test_report_saved_with_the_load(loaded):
    store, report = loaded
    history = store.load_history()[-1]
    assert history["source_format"] == "fhir-r4-ndjson"
    assert history["report"]["resources"]["Patient"]["loaded"] == 2
    assert history["report"]["reconciled"] is True
    assert history["rows_read"] == report.rows_read
    # findings counted over the store as load omop does (the fixture has none: explicit zeros)
    assert report.findings["person"]["duplicate_primary_key"] == 0
    assert report.findings["condition_occurrence"]["outside_observation_period"] == 0


def test_each_bad_line_quarantined_with_its_reason(tmp_path):
    store = _store(tmp_path / "s")
    report = load_fhir(FIXTURES / "bad", store.path, pseudonymiser=Pseudonymiser(KEY))
    quarantine = _rows(store, "SELECT file, line, field, reason FROM phta_quarantine ORDER BY file DESC, line")
    assert quarantine == [
        ("Patient.ndjson", 3, "identifier", "invalid NHS number (modulus-11 check failed)"),
        ("Patient.ndjson", 4, "birthDate", "invalid date"),
        ("Patient.ndjson", 5, None, "malformed NDJSON line (not one JSON object)"),
        ("Patient.ndjson", 6, "resourceType", "resourceType is not Patient (this file holds Patient resources)"),
        ("Condition.ndjson", 2, "subject", "reference to a Patient not in this export"),
        ("Condition.ndjson", 3, "encounter", "reference to an Encounter not in this export"),
        ("Condition.ndjson", 4, "onsetDateTime", "invalid date"),
        ("Condition.ndjson", 5, None, "malformed NDJSON line (not one JSON object)"),
        ("Condition.ndjson", 6, None, "malformed NDJSON line (not one JSON object)"),
    ]
    assert report.reconciled and (report.rows_read, report.rows_loaded, report.rows_quarantined) == (12, 3, 9)
    assert _rows(store, "SELECT count(*) FROM person") == [(2,)]


def test_quarantine_and_report_never_hold_values(tmp_path):
    """Attack: values that are record-level data (an NHS number, a name) put where the loader
    reports problems; neither the quarantine nor the saved report may repeat them."""
    src = tmp_path / "export"
    src.mkdir()
    secret = "9990000034"
    (src / "Patient.ndjson").write_text("\n".join([
        json.dumps({"resourceType": "Patient", "id": "a", "gender": secret, "birthDate": "1970-01-01"}),
        json.dumps({"resourceType": "Patient", "id": "b", "birthDate": f"{secret}",
                    "name": [{"family": "Smithers"}]}),
        json.dumps({"resourceType": f"Patient {secret} Smithers"}),
        json.dumps({"resourceType": "Patient", "id": "d", "birthDate": "1970-01-01", "Smithers": 1,
                    "name": [{"family": "x", f"n{secret}": 1}]}),
        json.dumps({"resourceType": "Patient", "id": "c", "birthDate": "1970-01-01",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000035"}]}),
    ]) + "\n", encoding="utf-8")
    store = _store(tmp_path / "s")
    report = load_fhir(src, store.path, pseudonymiser=Pseudonymiser(KEY))
    assert report.rows_quarantined == 5
    text = json.dumps(_rows(store, "SELECT * FROM phta_quarantine"), default=str)
    text += json.dumps(store.load_history(), default=str)
    for value in (secret, "9990000035", "Smithers"):
        assert value not in text


def test_harmless_control_a_clean_export_has_an_empty_quarantine(loaded):
    store, _ = loaded
    assert _rows(store, "SELECT count(*) FROM phta_quarantine") == [(0,)]


GOOD = json.dumps({"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                   "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                   "onsetDateTime": "2019-04-02"})
BAD = {
    "malformed": '{"resourceType": "Condition", ',
    "wrong type": json.dumps({"resourceType": "Procedure", "status": "completed",
                              "subject": {"reference": "Patient/p1"}}),
    "missing reference": GOOD.replace("Patient/p1", "Patient/zz"),
    "invalid date": GOOD.replace("2019-04-02", "2019-02-31"),
    "entered in error": GOOD[:-1] + ', "verificationStatus": {"coding": [{"code": "entered-in-error"}]}}',
}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from(["good", *BAD]), min_size=1, max_size=25))
def test_reconciliation_holds_for_any_mix(tmp_path_factory, lines):
    base = tmp_path_factory.mktemp("mix")
    src = base / "export"
    shutil.copytree(FIXTURES / "uk_core", src, ignore=shutil.ignore_patterns("[!P]*", "Procedure*"))
    (src / "Condition.ndjson").write_text(
        "".join((GOOD if kind == "good" else BAD[kind]) + "\n" for kind in lines), encoding="utf-8")
    store = _store(base / "s")
    report = load_fhir(src, store.path, pseudonymiser=Pseudonymiser(KEY))
    counts = report.resources["Condition"]
    assert report.reconciled
    assert counts.read == len(lines)
    assert counts.loaded == lines.count("good")
    assert counts.not_loaded.get("entered-in-error", 0) == lines.count("entered in error")
    assert counts.quarantined == len(lines) - lines.count("good") - lines.count("entered in error")
    assert _rows(store, "SELECT count(*) FROM condition_occurrence") == [(lines.count("good"),)]
    assert _rows(store, "SELECT count(*) FROM phta_quarantine WHERE file = 'Condition.ndjson'") == [
        (counts.quarantined,)]


def test_free_text_where_a_code_belongs_is_not_listed(tmp_path):
    """Attack: a name and a note sent as codes; the unmapped-code list withholds them (a real
    code shape is listed as the control)."""
    src = tmp_path / "export"
    shutil.copytree(FIXTURES / "uk_core", src, ignore=shutil.ignore_patterns("[!P]*", "Procedure*"))
    lines = [GOOD.replace("44054006", code) for code in ("Mrs Jane Smithers", "x" * 80, "R69.X")]
    (src / "Condition.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = _store(tmp_path / "s")
    report = load_fhir(src, store.path, pseudonymiser=Pseudonymiser(KEY))
    listed = {u["code"]: u["count"] for u in report.unmapped_codes}
    assert listed == {"(not shown: not shaped like a code)": 2, "R69.X": 1}
    assert "Smithers" not in json.dumps(store.load_history(), default=str)


def test_encounter_of_another_patient_is_quarantined(tmp_path):
    src = tmp_path / "export"
    shutil.copytree(FIXTURES / "uk_core", src, ignore=shutil.ignore_patterns("[!PE]*", "Procedure*"))
    (src / "Condition.ndjson").write_text(
        GOOD[:-1] + ', "encounter": {"reference": "Encounter/e2"}}\n'  # e2 is p2's
        + GOOD[:-1] + ', "encounter": {"reference": "Encounter/e1"}}\n', encoding="utf-8")
    store = _store(tmp_path / "s")
    report = load_fhir(src, store.path, pseudonymiser=Pseudonymiser(KEY))
    assert report.resources["Condition"].quarantine_reasons == {"the Encounter belongs to another Patient": 1}
    assert report.resources["Condition"].loaded == 1


def test_failed_load_into_a_new_store_leaves_no_store(tmp_path):
    """A load that stops (Patients with NHS numbers but no linkage key) removes the store it made."""
    with pytest.raises(LoadError, match="no linkage key"):
        load_fhir(FIXTURES / "uk_core", tmp_path / "new", pseudonymiser=None, create=True)
    assert not (tmp_path / "new").exists()


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(numbers=st.lists(st.integers(min_value=1_000_000_000, max_value=9_999_999_999), min_size=1, max_size=15))
def test_patient_loaded_exactly_when_its_nhs_number_passes_modulus_11(tmp_path_factory, numbers):
    from phta.cdm.pseudonymise import NHSNumberError, validate_nhs_number

    def valid(n: int) -> bool:
        try:
            validate_nhs_number(str(n))
        except NHSNumberError:
            return False
        return True

    base = tmp_path_factory.mktemp("nhs")
    src = base / "export"
    src.mkdir()
    (src / "Patient.ndjson").write_text("".join(
        json.dumps({"resourceType": "Patient", "id": f"p{i}", "birthDate": "1970-01-01",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": str(n)}]}) + "\n"
        for i, n in enumerate(numbers)), encoding="utf-8")
    store = _store(base / "s")
    report = load_fhir(src, store.path, pseudonymiser=Pseudonymiser(KEY))
    expected = [i + 1 for i, n in enumerate(numbers) if not valid(n)]
    assert [line for (line,) in _rows(store, "SELECT line FROM phta_quarantine ORDER BY line")] == expected
    assert report.resources["Patient"].loaded == len(numbers) - len(expected)
    assert report.reconciled
