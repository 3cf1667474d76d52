"""Rows that cannot be represented are quarantined with file, physical line, field and reason;
the rest load; rows read = loaded + quarantined."""

from pathlib import Path

import pytest

from phta.cdm.ingest import load_omop_csv
from tests.omop_files import CONDITION, OBS_PERIOD, PERSON, quarantine, rows, valid_folder, write


def _load(src: Path, tmp_path: Path, **kw):
    store = tmp_path / "store"
    report = load_omop_csv(src, store, create=True, **kw)
    assert report.reconciled
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined
    return store, report


def _file(report, name):
    return next(f for f in report.files if f.file == name)


def test_valid_folder_loads_everything_with_no_quarantine(tmp_path):
    store, report = _load(valid_folder(tmp_path / "src"), tmp_path)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (10, 10, 0)
    assert quarantine(store) == []
    assert rows(store, "SELECT count(*) FROM person") == [(3,)]
    assert report.findings["condition_occurrence"] == {
        "duplicate_primary_key": 0, "unknown_person": 0, "outside_observation_period": 0,
        "over_length_text": 0,
    }


@pytest.mark.parametrize(
    ("line_text", "field", "reason"),
    [
        ("4,8507,19x0,0,0", "year_of_birth", "not a whole number (integer field)"),
        ("4,8507,1970.5,0,0", "year_of_birth", "not a whole number (integer field)"),
        ("4,,1970,0,0", "gender_concept_id", "missing required value"),
        (",8507,1970,0,0", "person_id", "missing required value"),
        ("4,8507,1970,0,   ", "ethnicity_concept_id", "missing required value"),
    ],
)
def test_bad_person_value_is_quarantined_with_file_line_field(tmp_path, line_text, field, reason):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\n2,8532,1980,0,0\n3,8532,1990,0,0\n" + line_text + "\n")
    store, report = _load(src, tmp_path)
    assert quarantine(store) == [("person.csv", 5, field, reason)]
    person = _file(report, "person.csv")
    assert (person.rows_read, person.rows_loaded, person.rows_quarantined) == (4, 3, 1)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("03/04/2020", "unparseable date (expected YYYY-MM-DD)"),
        ("yesterday", "unparseable date (expected YYYY-MM-DD)"),
        ("2020-02-30", "impossible date (no such day or time)"),
        ("2021-13-01", "impossible date (no such day or time)"),
        ("20210230", "impossible date (no such day or time)"),
    ],
)
def test_bad_dates_are_quarantined(tmp_path, value, reason):
    src = valid_folder(tmp_path / "src")
    write(src, "condition_occurrence.csv", CONDITION + "1,1,201826,2012-05-01,32817,E11\n"
          f"2,1,201826,{value},32817,E11\n")
    store, _ = _load(src, tmp_path)
    assert quarantine(store) == [("condition_occurrence.csv", 3, "condition_start_date", reason)]


def test_accepted_number_and_date_spellings_load(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "condition_occurrence.csv", CONDITION
          + "1.0,1,201826,20120501,32817,E11\n2, 1 ,201826,2012-05-01 10:30:00,32817,\n")
    store, _ = _load(src, tmp_path)
    assert quarantine(store) == []
    assert rows(store, "SELECT condition_occurrence_id, CAST(condition_start_date AS VARCHAR), "
                "condition_source_value FROM condition_occurrence ORDER BY 1") == [
        (1, "2012-05-01", "E11"), (2, "2012-05-01", None)]


def test_float_fields_reject_text_and_non_finite(tmp_path):
    src = valid_folder(tmp_path / "src")
    header = "measurement_id,person_id,measurement_concept_id,measurement_date,measurement_type_concept_id,value_as_number\n"
    write(src, "measurement.csv", header + "1,1,3004410,2012-01-01,32817,6.5\n"
          "2,1,3004410,2012-01-01,32817,high\n3,1,3004410,2012-01-01,32817,NaN\n"
          "4,1,3004410,2012-01-01,32817,\n")
    store, report = _load(src, tmp_path)
    assert quarantine(store) == [
        ("measurement.csv", 3, "value_as_number", "not a finite number"),
        ("measurement.csv", 4, "value_as_number", "not a finite number"),
    ]
    assert _file(report, "measurement.csv").rows_loaded == 2


def test_row_with_several_problems_has_one_entry_per_field_and_counts_once(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\nx,,19y0,0,0\n")
    store, report = _load(src, tmp_path)
    assert quarantine(store) == [
        ("person.csv", 3, "gender_concept_id", "missing required value"),
        ("person.csv", 3, "person_id", "not a whole number (integer field)"),
        ("person.csv", 3, "year_of_birth", "not a whole number (integer field)"),
    ]
    assert _file(report, "person.csv").rows_quarantined == 1


def test_unknown_column_quarantines_rows_with_a_value_and_loads_rows_without(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON.rstrip("\n") + ",shoe_size\n1,8507,1970,0,0,\n2,8532,1980,0,0,42\n")
    store, report = _load(src, tmp_path)
    assert quarantine(store) == [
        ("person.csv", 3, "shoe_size", "column shoe_size is not a field of table person in OMOP CDM v5.4")
    ]
    person = _file(report, "person.csv")
    assert person.unknown_columns == ["shoe_size"]
    assert (person.rows_loaded, person.rows_quarantined) == (1, 1)


def test_line_numbers_count_line_breaks_inside_quoted_values(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "condition_occurrence.csv", CONDITION
          + '1,1,201826,2012-05-01,32817,"two\nlines"\n'
          + '2,1,201826,2012-05-01,32817,"three\r\nline\nvalue"\n'
          + "3,1,201826,2012-02-31,32817,E11\n")
    store, _ = _load(src, tmp_path)
    assert quarantine(store) == [
        ("condition_occurrence.csv", 7, "condition_start_date", "impossible date (no such day or time)")
    ]


def test_line_numbers_count_blank_lines(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\n\n\n2,8532,1980,0,0\n\n3,8532,19z0,0,0\n")
    store, report = _load(src, tmp_path)
    assert quarantine(store) == [("person.csv", 7, "year_of_birth", "not a whole number (integer field)")]
    assert _file(report, "person.csv").rows_read == 3


def test_rows_of_a_v53_only_table_are_quarantined_not_dropped(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "attribute_definition.csv",
          "attribute_definition_id,attribute_name,attribute_type_concept_id\n1,a,0\n2,b,0\n")
    store, report = _load(src, tmp_path)
    assert report.source_cdm_version == "5.3"
    entries = quarantine(store)
    assert [(f, line, field) for f, line, field, _ in entries] == [
        ("attribute_definition.csv", 2, None), ("attribute_definition.csv", 3, None)]
    assert "exists only in OMOP CDM v5.3" in entries[0][3]


def test_quarantine_never_holds_the_rows_values(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "condition_occurrence.csv", CONDITION + "1,1,201826,SECRET-DATE,32817,SECRET-CODE\n")
    store, report = _load(src, tmp_path)
    dump = repr(rows(store, "SELECT * FROM phta_quarantine")) + report.to_json()
    assert "SECRET" not in dump


def test_case_insensitive_names_headers_and_tsv(tmp_path):
    src = tmp_path / "src"
    write(src, "PERSON.CSV", PERSON.upper() + "1,8507,1970,0,0\n")
    write(src, "Observation_Period.tsv", OBS_PERIOD.replace(",", "\t").title()
          + "1\t1\t2010-01-01\t2020-12-31\t32817\n")
    write(src, "Condition_Occurrence.csv", CONDITION.replace(",", "\t")
          + "1\t1\t201826\t2012-05-01\t32817\tE11\n")
    store, report = _load(src, tmp_path)
    assert {f.table: f.rows_loaded for f in report.files} == {
        "person": 1, "observation_period": 1, "condition_occurrence": 1}
    assert rows(store, "SELECT count(*) FROM observation_period") == [(1,)]


def test_header_columns_in_any_order_and_optional_columns_absent(tmp_path):
    src = tmp_path / "src"
    write(src, "person.csv", "ethnicity_concept_id,race_concept_id,year_of_birth,gender_concept_id,person_id\n"
          "0,0,1970,8507,9\n")
    store, _ = _load(src, tmp_path)
    assert rows(store, "SELECT person_id, year_of_birth, month_of_birth FROM person") == [(9, 1970, None)]


def test_line_numbers_hold_on_a_file_read_in_parallel(tmp_path):
    """DuckDB reads big files in parallel; record numbers must still follow file order."""
    import duckdb

    src = valid_folder(tmp_path / "src")
    target = src / "condition_occurrence.csv"
    duckdb.execute(
        f"""COPY (SELECT i AS condition_occurrence_id, 1 AS person_id, 201826 AS condition_concept_id,
              CASE WHEN i % 50000 = 0 THEN '2010-02-30' ELSE '2012-01-01' END AS condition_start_date,
              32817 AS condition_type_concept_id, 'E11' AS condition_source_value
           FROM range(1, 300001) t(i)) TO '{target}' (HEADER)"""
    )
    store, report = _load(src, tmp_path)
    assert [line for _, line, _, _ in quarantine(store)] == [50001, 100001, 150001, 200001, 250001, 300001]
    assert _file(report, "condition_occurrence.csv").rows_loaded == 300000 - 6


def test_bom_quoted_header_and_crlf_line_endings(tmp_path):
    src = valid_folder(tmp_path / "src")
    header = ",".join(f'"{h.upper()}"' for h in PERSON.strip().split(","))
    write(src, "person.csv", ("\ufeff" + header + "\r\n1,8507,1970,0,0\r\n2,8532,1980,0,x\r\n").encode())
    store, _ = _load(src, tmp_path)
    assert quarantine(store) == [("person.csv", 3, "ethnicity_concept_id", "not a whole number (integer field)")]
    assert rows(store, "SELECT person_id FROM person") == [(1,)]
