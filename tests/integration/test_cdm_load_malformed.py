"""A malformed file stops the load with an error naming the file and line; nothing is
half-loaded: the store is exactly as before (and a store the load created is removed)."""

from pathlib import Path

import pytest

from phta.cdm.ingest import LoadError, MalformedFile, load_omop_csv
from tests.omop_files import PERSON, snapshot, valid_folder, write

GOOD = "1,8507,1970,0,0\n2,8532,1980,0,0\n"

# (file name, content, line, words in the problem)
MALFORMED = [
    ("person.csv", PERSON + GOOD + "3,8532", 4, "fewer columns than the header"),
    ("person.csv", PERSON + GOOD + "3,8532,1990,0,0,7\n", 4, "more columns than the header"),
    ("person.csv", PERSON + '1,8507,1970,0,"0\n2,8532,1980,0,0\n', 2, "quoted value is never closed"),
    ("person.csv", (PERSON + GOOD + "3,8532,1990,0,0\n").encode() + b"4,8532,1990,0,\xe9\n", 5, "not UTF-8"),
    ("person.csv", b"", 1, "empty"),
    ("person.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "binary content"),
    ("person.csv", "1,8507,1970,0,0\n2,8532,1980,0,0\n", 1, "not a field name; is the header line missing"),
    ("person.csv", "person_id,gender_concept_id,year_of_birth\n1,8507,1970\n", 1, "lacks required field race_concept_id"),
    ("person.csv", "name,shoe_size\nx,42\n", 1, "names no field of table person"),
    ("person.csv", PERSON.rstrip("\n") + ",person_id\n", 1, "person_id more than once"),
    ("person.csv", PERSON.rstrip("\n") + ",,\n", 1, "has no name"),
    ("person.csv", PERSON.encode("utf-16"), 1, ""),
    ("person.csv", PERSON + "1,8507,1970,0,0\r\n2,8532,1980,0,0\n", 2, "line ending differs"),
]


@pytest.mark.parametrize(("name", "content", "line", "words"), MALFORMED)
def test_malformed_file_error_names_file_and_line_and_store_is_unchanged(tmp_path, name, content, line, words):
    store = tmp_path / "store"
    load_omop_csv(valid_folder(tmp_path / "first"), store, create=True)
    before = snapshot(store)
    src = valid_folder(tmp_path / "src")
    write(src, name, content)
    with pytest.raises(MalformedFile) as err:
        load_omop_csv(src, store)
    assert err.value.file == name
    assert err.value.line == line
    assert str(err.value).startswith(f"{name}, line {line}: ")
    assert words in str(err.value)
    assert snapshot(store) == before


def test_error_in_a_later_file_rolls_back_earlier_files_of_the_same_load(tmp_path):
    store = tmp_path / "store"
    load_omop_csv(valid_folder(tmp_path / "first"), store, create=True)
    before = snapshot(store)
    src = valid_folder(tmp_path / "src")  # condition_occurrence, observation_period load first ...
    write(src, "visit_occurrence.csv",  # ... then the last file is truncated mid-row
          "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_end_date,"
          "visit_type_concept_id\n1,1,9201,2012-01-01,2012-01-03,32817\n2,1,9201,2012-0")
    with pytest.raises(MalformedFile, match=r"visit_occurrence.csv, line 3: "):
        load_omop_csv(src, store)
    assert snapshot(store) == before


def test_failed_load_into_a_new_store_leaves_no_store(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "zz_care_site.csv", "x\n")
    write(src, "visit_occurrence.csv", "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,"
          "visit_end_date,visit_type_concept_id\n1,1,9201,2012-01-01,2012-01-03\n")
    store = tmp_path / "new-store"
    with pytest.raises(MalformedFile, match=r"visit_occurrence.csv, line 2"):
        load_omop_csv(src, store, create=True, skip_unknown_files=True)
    assert not store.exists()


def test_message_never_quotes_the_file_contents(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", PERSON + "1,8507,1970,0,0\nSECRET,SECRET")
    with pytest.raises(MalformedFile) as err:
        load_omop_csv(src, tmp_path / "store", create=True)
    assert "SECRET" not in str(err.value)


def test_unknown_file_stops_the_load_unless_skipped(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "conditon_occurrence.csv", "a\n1\n")
    write(src, "README.md", "notes")
    with pytest.raises(LoadError, match=r"conditon_occurrence.csv: not OMOP CDM table names"):
        load_omop_csv(src, tmp_path / "store", create=True)
    assert not (tmp_path / "store").exists()
    report = load_omop_csv(src, tmp_path / "store", create=True, skip_unknown_files=True)
    assert report.skipped_unknown_files == ["conditon_occurrence.csv"]
    assert report.ignored_files == ["README.md"]


def test_two_files_for_one_table_stop_the_load(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "PERSON.tsv", PERSON.replace(",", "\t"))
    with pytest.raises(LoadError, match=r"PERSON.tsv and person.csv are both table person"):
        load_omop_csv(src, tmp_path / "store", create=True)


def test_no_store_without_create(tmp_path):
    with pytest.raises(LoadError, match=r"no store at .*pass --create"):
        load_omop_csv(valid_folder(tmp_path / "src"), tmp_path / "store")


def test_source_must_be_a_folder_with_table_files(tmp_path):
    with pytest.raises(LoadError, match=r"not a directory"):
        load_omop_csv(tmp_path / "missing", tmp_path / "store", create=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match=r"no OMOP table files"):
        load_omop_csv(tmp_path / "empty", tmp_path / "store", create=True)


def test_mixed_versions_stop_the_load(tmp_path):
    src = valid_folder(tmp_path / "src")
    write(src, "visit_occurrence.csv", "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,"
          "visit_end_date,visit_type_concept_id,admitting_source_value\n")
    write(src, "episode.csv", "episode_id,person_id\n")
    with pytest.raises(LoadError, match=r"mixes OMOP CDM versions: v5.3 only in visit_occurrence.csv "
                       r"column admitting_source_value but v5.4 only in episode.csv"):
        load_omop_csv(src, tmp_path / "store", create=True)


def test_unsupported_version_override(tmp_path):
    with pytest.raises(LoadError, match=r"--cdm-version '6.0' is not supported"):
        load_omop_csv(valid_folder(tmp_path / "src"), tmp_path / "store", create=True, cdm_version="6.0")


def test_no_partial_store_files_left_in_an_existing_empty_directory(tmp_path):
    store: Path = tmp_path / "store"
    store.mkdir()
    src = valid_folder(tmp_path / "src")
    write(src, "person.csv", b"")
    with pytest.raises(MalformedFile):
        load_omop_csv(src, store, create=True)
    assert store.is_dir()
    assert list(store.iterdir()) == []


def test_store_in_use_by_another_writer_is_a_clear_error(tmp_path):
    import subprocess
    import sys
    import time

    store = tmp_path / "store"
    load_omop_csv(valid_folder(tmp_path / "a"), store, create=True)
    before = snapshot(store)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(store / 'cdm.duckdb')!r}); print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LoadError, match=r"cannot open the store's database for writing"):
            load_omop_csv(valid_folder(tmp_path / "b"), store)
    finally:
        holder.kill()
        holder.communicate()
    time.sleep(0.1)
    assert snapshot(store) == before
