"""The embedded vocabulary: in sync with its source, ids from Eunomia where Eunomia has the
concept (else local >= 2,000,000,000), hierarchies that make descendant queries meaningful."""

import csv
from pathlib import Path

import duckdb
import pytest

from phta.cdm import uk, vocabulary
from phta.cdm.store import Store
from phta.cdm.vocabulary import build


def test_committed_csvs_match_a_rebuild_from_the_source():
    for path, text in build.rendered().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python -m phta.cdm.vocabulary.build"


def test_ids_match_eunomia_where_eunomia_holds_the_concept():
    with duckdb.connect(str(build.default_eunomia_db()), read_only=True) as con:
        eunomia = {f"{v}:{c}": (i, n) for v, c, i, n in con.execute(
            "SELECT vocabulary_id, concept_code, concept_id, concept_name FROM concept").fetchall()}
    matched = 0
    fixed = {r.ref for r in build.read_source() if r.fixed_id is not None}
    for ref, row in vocabulary.concepts().items():
        if ref in eunomia:
            assert row["concept_id"] == eunomia[ref][0], ref
            matched += 1
        elif ref not in fixed:
            assert row["concept_id"] >= uk.LOCAL_CONCEPT_BASE, ref
    assert matched >= 15  # asthma, AF, MI, stroke, PCI, CABG, visits, statins, warfarin, ...


def test_uk_fact_concepts_agree_with_uk_py():
    assert vocabulary.concept_id("PHTA:IMD-QUINTILE") == uk.IMD_QUINTILE_CONCEPT_ID
    for code, cid in uk.NHS_ETHNIC_CATEGORY_CONCEPT.items():
        assert vocabulary.concept_id(f"NHS Ethnic Category:{code}") == cid


def _descendants(con, ref):
    rows = con.execute(
        "SELECT c.vocabulary_id || ':' || c.concept_code FROM concept_ancestor a "
        "JOIN concept c ON c.concept_id = a.descendant_concept_id WHERE a.ancestor_concept_id = ?",
        [vocabulary.concept_id(ref)]).fetchall()
    return {r[0] for r in rows}


@pytest.fixture(scope="module")
def vocab_store(tmp_path_factory):
    store = Store.create(tmp_path_factory.mktemp("vocab") / "s", node_name="t")
    counts = vocabulary.load_into(store)
    assert counts["concept"] == len(vocabulary.concepts())
    return store


def test_descendant_queries_are_meaningful(vocab_store):
    with vocab_store.connect(read_only=True) as con:
        assert "SNOMED:44054006" in _descendants(con, "SNOMED:73211009")  # T2DM under diabetes
        assert {"RxNorm:861007", "RxNorm:860975"} <= _descendants(con, "RxNorm:6809")  # metformin products
        assert {"SNOMED:433144002", "SNOMED:431857002", "SNOMED:433146000"} <= _descendants(con, "SNOMED:709044004")
        assert "dm+d:42206511000001102" in _descendants(con, "RxNorm:1364430")
        assert "SNOMED:57054005" in _descendants(con, "SNOMED:49601007")  # acute MI under cardiovascular
        assert "SNOMED:73211009" in _descendants(con, "SNOMED:73211009")  # self at level 0


def test_icd10_codes_map_to_standard_snomed():
    assert vocabulary.standard_id("ICD10:E11") == vocabulary.concept_id("SNOMED:44054006")
    assert vocabulary.standard_id("ICD10:N18.4") == vocabulary.concept_id("SNOMED:431857002")
    assert vocabulary.standard_id("SNOMED:44054006") == vocabulary.concept_id("SNOMED:44054006")


def test_every_unit_is_ucum_and_every_vocabulary_has_a_source_row_in_the_readme():
    readme = (Path(vocabulary.__file__).parent / "README.md").read_text(encoding="utf-8")
    with (Path(vocabulary.__file__).parent / "concept.csv").open(encoding="utf-8") as f:
        vocabs = {r["vocabulary_id"] for r in csv.DictReader(f)}
    for v in vocabs:
        assert f"| {v} |" in readme, f"vocabulary {v} has no row in the README's table of sources"


def test_unknown_code_names_it():
    with pytest.raises(vocabulary.UnknownConceptError, match="SNOMED:1"):
        vocabulary.concept_id("SNOMED:1")
