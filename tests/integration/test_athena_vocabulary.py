"""``load_athena``: the embedded vocabulary exported in Athena's format, loaded into a copy of a
store, runs the same cohorts; the version is recorded; bad files leave the store unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phta.cdm.load_reports import load_report
from phta.cdm.store import Store
from phta.cdm.summary import summarise
from phta.cdm.synth.generate import generate
from phta.cdm.vocabulary.athena import (
    VocabularyLoadError,
    export_athena,
    load_athena,
    vocabulary_version,
)
from phta.query import dsl
from tests.spec.cohort.harness import run_cohort

VERSION = "v5.0 01-DEC-26"


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> tuple[Store, Store, Path]:
    base = tmp_path_factory.mktemp("athena")
    result = generate(base / "region", patients=400, sites=1, seed=3, key=b"a" * 32)
    embedded = Store.open(result.store_path(result.sites[0]))
    athena_dir = base / "athena"
    export_athena(embedded, athena_dir, version=VERSION)
    shutil.copytree(embedded.path, base / "copy")
    copy = Store.open(base / "copy")
    with copy.connect() as con:  # make sure nothing of the embedded vocabulary is left behind
        for table in ("concept", "concept_ancestor", "concept_relationship"):
            con.execute(f"DELETE FROM {table}")
    load_athena(athena_dir, copy)
    return embedded, copy, athena_dir


COHORTS = {
    "cardiovascular (descendants)": lambda: dsl.cohort(
        index_date=dsl.conditions.where(dsl.codes(2001000001, descendants=True)).first_date()),
    "type 2 diabetes, adults": lambda: dsl.cohort(
        index_date=dsl.conditions.where(dsl.codes(2001000010, descendants=True)).first_date(),
        rules={"adult": dsl.patients.age_at(dsl.index_date) >= 18}),
}


@pytest.mark.parametrize("name", list(COHORTS))
def test_same_cohorts_on_athena_and_embedded_vocabulary(stores, name):
    embedded, copy, _ = stores
    cohort = COHORTS[name]()
    on_embedded = run_cohort(embedded, cohort, outputs=("count", "membership"))
    on_athena = run_cohort(copy, cohort, outputs=("count", "membership"))
    assert on_embedded.membership == on_athena.membership
    assert len(on_embedded.membership) > 0


def test_version_recorded_and_shown(stores):
    embedded, copy, _ = stores
    assert vocabulary_version(copy) == VERSION
    assert summarise(copy)["vocabulary_version"] == VERSION
    assert summarise(embedded)["vocabulary_version"] == "PHTA embedded vocabulary"
    with copy.connect(read_only=True) as con:
        assert con.execute("SELECT vocabulary_version FROM cdm_source").fetchall() in ([], [(VERSION,)])


def test_unquoted_double_quotes_and_yyyymmdd_dates(tmp_path, stores):
    _, _, athena_dir = stores
    src = tmp_path / "athena"
    shutil.copytree(athena_dir, src)
    with (src / "CONCEPT.csv").open("a", encoding="utf-8") as fh:
        fh.write('9999999\tBrand "X" 5 mg\tDrug\tRxNorm\tBranded Drug\t\tX1\t20200131\t20991231\t\n')
    store = Store.create(tmp_path / "s")
    load_athena(src, store)
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT concept_name, valid_start_date::VARCHAR FROM concept "
                           "WHERE concept_id = 9999999").fetchall() == [('Brand "X" 5 mg', "2020-01-31")]


@pytest.mark.parametrize("damage", ["header", "date", "missing"])
def test_bad_download_refused_and_store_unchanged(tmp_path, stores, damage):
    _, _, athena_dir = stores
    src = tmp_path / "athena"
    shutil.copytree(athena_dir, src)
    concept = src / "CONCEPT.csv"
    if damage == "header":
        concept.write_text(concept.read_text().replace("concept_name", "name", 1))
    elif damage == "date":
        with concept.open("a", encoding="utf-8") as fh:
            fh.write("9999998\tX\tDrug\tRxNorm\tBranded Drug\t\tX2\t2020-13-45\t20991231\t\n")
    else:
        concept.unlink()
    store = Store.create(tmp_path / "s")
    with pytest.raises(VocabularyLoadError, match="CONCEPT"):
        load_athena(src, store)
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM concept").fetchall() == [(0,)]
    assert vocabulary_version(store) is None


def test_load_reports_name_the_vocabulary_codes_were_mapped_with(stores):
    _, copy, _ = stores
    report = load_report(copy)
    assert report["store_vocabulary_version"] == VERSION
