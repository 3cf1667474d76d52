"""v5.3 sources are mapped to v5.4 (renames, defaults, recorded version); findings are counted
and the rows they concern are loaded."""

import datetime as dt

from phta.cdm.ingest import load_omop_csv
from phta.cdm.store import Store
from tests.omop_files import CONDITION, OBS_PERIOD, PERSON, quarantine, rows, valid_folder, write

VISIT53 = (
    "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_end_date,"
    "visit_type_concept_id,admitting_source_concept_id,admitting_source_value,"
    "discharge_to_concept_id,discharge_to_source_value\n"
    "1,1,9201,2012-01-01,2012-01-03,32817,8863,ED,8536,home\n"
)
DETAIL53 = (
    "visit_detail_id,person_id,visit_detail_concept_id,visit_detail_start_date,visit_detail_end_date,"
    "visit_detail_type_concept_id,visit_occurrence_id,visit_detail_parent_id,admitting_source_value\n"
    "10,1,9201,2012-01-01,2012-01-02,32817,1,,ward\n11,1,9201,2012-01-02,2012-01-03,32817,1,10,\n"
)
CDM_SOURCE53 = (
    "cdm_source_name,cdm_source_abbreviation,cdm_holder,source_description,"
    "source_documentation_reference,cdm_etl_reference,source_release_date,cdm_release_date,"
    "cdm_version,vocabulary_version\n"
    "A very long source name indeed for a hospital,,,,,,,2019-05-25,v5.3.1,\n"
)


def test_v53_renamed_fields_land_in_their_v54_names(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "visit_occurrence.csv", VISIT53)
    header, body = DETAIL53.split("\n", 1)
    write(src, "VISIT_DETAIL.csv", header.upper() + "\n" + body)
    report = load_omop_csv(src, tmp_path / "store", create=True)
    store = tmp_path / "store"
    assert report.source_cdm_version == "5.3"
    assert report.version_evidence.startswith("v5.3-only VISIT_DETAIL.csv column ")
    assert rows(store, "SELECT admitted_from_concept_id, admitted_from_source_value, "
                "discharged_to_concept_id, discharged_to_source_value FROM visit_occurrence") == [
        (8863, "ED", 8536, "home")]
    assert rows(store, "SELECT visit_detail_id, parent_visit_detail_id, admitted_from_source_value "
                "FROM visit_detail ORDER BY 1") == [(10, None, "ward"), (11, 10, None)]
    assert quarantine(store) == []
    history = Store.open(store).load_history()
    assert history[-1]["source_cdm_version"] == "5.3"


def test_v53_cdm_source_gets_documented_defaults(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "cdm_source.csv", CDM_SOURCE53)
    report = load_omop_csv(src, tmp_path / "store", create=True)
    assert report.source_cdm_version == "5.3"
    assert report.version_evidence == "cdm_source.csv cdm_version"
    (row,) = rows(tmp_path / "store", "SELECT cdm_source_abbreviation, cdm_holder, source_release_date, "
                  "cdm_release_date, cdm_version, cdm_version_concept_id, vocabulary_version FROM cdm_source")
    assert row == ("A very long source name i", "unknown", dt.date(2019, 5, 25), dt.date(2019, 5, 25),
                   "v5.3.1", 756265, "unknown")
    cdm_source = next(f for f in report.files if f.table == "cdm_source")
    assert cdm_source.defaulted_rows == {
        "cdm_source_abbreviation": 1, "cdm_holder": 1, "source_release_date": 1,
        "cdm_version_concept_id": 1, "vocabulary_version": 1}


def test_v54_source_gets_no_defaults_missing_required_is_quarantined(tmp_path):
    src = valid_folder(tmp_path / "src")
    header = CDM_SOURCE53.splitlines()[0].replace("cdm_version,", "cdm_version,cdm_version_concept_id,")
    write(src, "cdm_source.csv", header + "\nX,X,X,,,,2019-05-25,2019-05-25,v5.4,,v5.0\n")
    report = load_omop_csv(src, tmp_path / "store", create=True)
    assert report.source_cdm_version == "5.4"
    assert quarantine(tmp_path / "store") == [
        ("cdm_source.csv", 2, "cdm_version_concept_id", "missing required value")]


def test_cdm_version_override_wins(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "visit_occurrence.csv", VISIT53)
    report = load_omop_csv(src, tmp_path / "store", create=True, cdm_version="5.4")
    assert (report.source_cdm_version, report.version_evidence) == ("5.4", "given with --cdm-version")
    # Under v5.4 the v5.3 columns are unknown: their values are quarantined, not lost.
    fields = {f for _, _, f, _ in quarantine(tmp_path / "store")}
    assert fields == {"admitting_source_concept_id", "admitting_source_value",
                      "discharge_to_concept_id", "discharge_to_source_value"}


def test_no_evidence_means_v54(tmp_path):
    report = load_omop_csv(valid_folder(tmp_path / "src"), tmp_path / "store", create=True)
    assert report.source_cdm_version == "5.4"
    assert "assumed" in report.version_evidence


def test_findings_are_counted_and_their_rows_loaded(tmp_path):
    src = tmp_path / "src"
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\n1,8507,1970,0,0\n2,8532,1980,0,0\n")
    write(src, "observation_period.csv", OBS_PERIOD + "1,1,2010-01-01,2010-12-31,32817\n"
          "2,99,2010-01-01,2010-12-31,32817\n")
    write(src, "condition_occurrence.csv", CONDITION
          + "1,1,201826,2010-05-01,32817,E11\n"   # inside
          + "2,1,201826,2011-05-01,32817,E11\n"   # outside the period of person 1
          + "3,2,201826,2010-05-01,32817,E11\n"   # person 2 has no period: outside
          + "3,77,201826,2010-05-01,32817," + "x" * 60 + "\n")  # unknown person, dup key, too long
    store = tmp_path / "store"
    report = load_omop_csv(src, store, create=True)
    assert report.rows_quarantined == 0
    assert rows(store, "SELECT count(*) FROM condition_occurrence") == [(4,)]
    assert report.findings["person"]["duplicate_primary_key"] == 2
    assert report.findings["observation_period"]["unknown_person"] == 1
    assert report.findings["condition_occurrence"] == {
        "duplicate_primary_key": 2, "unknown_person": 1, "outside_observation_period": 2,
        "over_length_text": 1,
    }
    stored = Store.open(store).load_history()[-1]["report"]
    assert stored["findings"]["condition_occurrence"]["outside_observation_period"] == 2
    assert stored["reconciled"] is True


def test_second_load_appends_and_history_records_both(tmp_path):
    store = tmp_path / "store"
    load_omop_csv(valid_folder(tmp_path / "a"), store, create=True, node_name="Node A")
    src = tmp_path / "b"
    write(src, "person.csv", PERSON + "4,8507,1970,0,0\n")
    report = load_omop_csv(src, store)
    assert rows(store, "SELECT count(*) FROM person") == [(4,)]
    history = Store.open(store).load_history()
    assert [h["load_id"] for h in history] == [1, report.load_id] == [1, 2]
    assert [h["rows_loaded"] for h in history] == [10, 1]
    assert Store.open(store).info()["node_name"] == "Node A"
