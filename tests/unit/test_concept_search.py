"""Vocabulary search (ranking, typos, codes, UK names), concept detail and concept sets, on a real
DuckDB store holding the embedded vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phta.cdm import vocabulary
from phta.cdm.store import Store
from phta.cdm.vocabulary import concept_sets as sets
from phta.cdm.vocabulary.concept_sets import ConceptSetDefinition, ConceptSetError, ConceptSetItem
from phta.cdm.vocabulary.search import SearchError, concept_detail, parse_code, search
from phta.cdm.vocabulary.search_index import build_index, index_schema

T2DM = "SNOMED:44054006"
DIABETES = "SNOMED:73211009"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    s = Store.create(tmp_path_factory.mktemp("vocab") / "store")
    vocabulary.load_into(s)
    return s


@pytest.fixture
def con(store: Store):
    with store.connect(read_only=True) as c:
        yield c


def refs(found) -> list[str]:
    return [c.ref for c in found]


def test_exact_name_ranks_first_and_standard_before_source(con):
    found = refs(search(con, "type 2 diabetes mellitus"))
    assert found[0] == T2DM  # standard SNOMED before the ICD-10 source code of the same name
    assert "ICD10:E11" in found


def test_general_word_ranks_the_shortest_exact_name_first(con):
    assert refs(search(con, "diabetes"))[0] == DIABETES


@pytest.mark.parametrize("typo", ["diabtes type 2", "type 2 diabetis", "tpye 2 diabetes"])
def test_typos_still_find_the_concept(con, typo):
    assert T2DM in refs(search(con, typo, limit=3))


def test_prefix_words_match(con):
    assert T2DM in refs(search(con, "type 2 diab"))


def test_uk_medicine_name_finds_the_rxnorm_concept(con):
    found = search(con, "salbutamol", limit=3)
    assert found and found[0].concept_name == "Albuterol" and found[0].display_name == "Salbutamol"


@pytest.mark.parametrize(("query", "expected"), [
    ("SNOMED:44054006", T2DM), ("snomed ct:44054006", T2DM), ("44054006", T2DM),
    ("ICD10:E11", "ICD10:E11"), ("icd-10:e11", "ICD10:E11"), ("E11", "ICD10:E11"),
])
def test_code_lookup(con, query, expected):
    assert refs(search(con, query))[0] == expected


def test_code_of_another_vocabulary_is_not_found(con):
    assert search(con, "ICD10:44054006") == []


def test_filters(con):
    assert all(c.vocabulary_id == "ICD10" for c in search(con, "diabetes", vocabulary="icd-10"))
    assert all(c.standard_concept == "S" for c in search(con, "diabetes", standard_only=True))


def test_nothing_matches_quietly(con):
    assert search(con, "zzzzqqq") == []


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201])
def test_bad_queries_are_named(con, bad):
    with pytest.raises(SearchError):
        search(con, bad)


def test_parse_code():
    assert parse_code("SNOMED CT:123") == ("SNOMED", "123")
    assert parse_code("dm+d:39113611000001102") == ("dm+d", "39113611000001102")
    assert parse_code("4548-4") == (None, "4548-4")
    assert parse_code("asthma") is None


_NAMES = sorted({r["concept_name"] for r in vocabulary.concepts().values()
                 if r["vocabulary_id"] == "SNOMED" and r["standard_concept"] == "S"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_NAMES), data=st.data())
def test_one_letter_dropped_from_a_long_word_still_finds_the_concept(con, name, data):
    words = name.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_words:
        return
    i = data.draw(st.sampled_from(long_words))
    j = data.draw(st.integers(1, len(words[i]) - 1))
    words[i] = words[i][:j] + words[i][j + 1:]
    assert name in [c.concept_name for c in search(con, " ".join(words), limit=10)]


def test_concept_detail_hierarchy_and_mapped_codes(con):
    d = concept_detail(con, vocabulary.concept_id(DIABETES))
    assert T2DM in refs(d.children)
    assert d.descendant_count >= 2
    t2 = concept_detail(con, vocabulary.concept_id(T2DM))
    assert DIABETES in refs(t2.parents)
    assert "ICD10:E11" in refs(t2.mapped_from)
    icd = concept_detail(con, vocabulary.concept_id("ICD10:E11"))
    assert refs(icd.maps_to) == [T2DM]


def test_stale_index_falls_back_to_a_temporary_one(tmp_path):
    s = Store.create(tmp_path / "s")
    vocabulary.load_into(s)
    with s.connect() as c:  # the vocabulary changes behind the index's back
        c.execute("INSERT INTO concept SELECT 42, 'Zebrafish bite', 'Condition', 'SNOMED', 'Clinical Finding', "
                  "'S', '42', DATE '2000-01-01', DATE '2099-12-31', NULL")
    with s.connect(read_only=True) as c:
        assert index_schema(c) == "temp"
        assert refs(search(c, "zebrafish")) == ["SNOMED:42"]
    build_index(s)
    with s.connect(read_only=True) as c:
        assert index_schema(c) == "main"


# --- concept sets -----------------------------------------------------------------------------------

def _set(*items) -> ConceptSetDefinition:
    return ConceptSetDefinition("test", tuple(items))


def test_resolution_with_descendants_exclusions_and_mapped(con):
    diabetes, t2, t1 = (vocabulary.concept_id(r) for r in (DIABETES, T2DM, "SNOMED:46635009"))
    assert refs(sets.resolve(con, _set(ConceptSetItem(diabetes)))) == [DIABETES]
    with_desc = refs(sets.resolve(con, _set(ConceptSetItem(diabetes, include_descendants=True))))
    assert {DIABETES, T2DM, "SNOMED:46635009"} <= set(with_desc)
    excluded = refs(sets.resolve(con, _set(ConceptSetItem(diabetes, include_descendants=True),
                                           ConceptSetItem(t1, excluded=True))))
    assert "SNOMED:46635009" not in excluded and T2DM in excluded
    mapped = refs(sets.resolve(con, _set(ConceptSetItem(t2, include_mapped=True))))
    assert set(mapped) == {T2DM, "ICD10:E11"}
    # excluding with mapped removes the source codes too
    assert refs(sets.resolve(con, _set(ConceptSetItem(t2, include_mapped=True),
                                       ConceptSetItem(t2, excluded=True, include_mapped=True)))) == []


def test_atlas_json_round_trip(con):
    original = _set(ConceptSetItem(vocabulary.concept_id(DIABETES), include_descendants=True),
                    ConceptSetItem(vocabulary.concept_id("SNOMED:46635009"), excluded=True, include_mapped=True))
    exported = sets.to_atlas(con, original)
    assert exported["expression"]["items"][0]["concept"]["CONCEPT_CODE"] == "73211009"
    again = sets.from_atlas_json(json.dumps(exported))
    assert again == original
    assert sets.from_atlas_json(json.dumps(exported["expression"])).items == original.items


def test_atlas_reference_concept_sets_read(reference_dir: Path):
    files = sorted((reference_dir).rglob("*.json"))
    read = 0
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        for cs in data.get("ConceptSets", []) if isinstance(data, dict) else []:
            parsed = sets.from_atlas_json(json.dumps(cs))
            assert len(parsed.items) == len(cs["expression"]["items"])
            read += 1
        if read > 50:
            break
    assert read > 0


@pytest.mark.parametrize(("text", "where"), [
    ("[1]", "JSON object"), ('{"items": 3}', "items"),
    ('{"items": [{"concept": {"CONCEPT_ID": "x"}}]}', "items[0].concept.CONCEPT_ID"),
    ('{"expression": {"items": [{"concept": {"CONCEPT_ID": 1}, "isExcluded": "yes"}]}}',
     "expression.items[0].isExcluded"),
    ("{", "line 1"),
])
def test_bad_atlas_json_names_the_place(text, where):
    with pytest.raises(ConceptSetError, match=__import__("re").escape(where)):
        sets.from_atlas_json(text)


def test_unknown_concepts_are_named(con):
    with pytest.raises(ConceptSetError, match=r"items\[1\] \(concept 999\)"):
        sets.check(con, _set(ConceptSetItem(vocabulary.concept_id(T2DM)), ConceptSetItem(999)))


def test_csv_round_trip(con):
    cs = _set(ConceptSetItem(vocabulary.concept_id(DIABETES), include_descendants=True))
    resolved = sets.resolve(con, cs)
    text = sets.to_csv(resolved)
    assert text.splitlines()[0] == "code,term"
    back = sets.resolve(con, sets.from_csv(con, text))
    assert refs(back) == refs(resolved)


def test_csv_spanning_vocabularies_carries_a_vocabulary_column(con):
    cs = _set(ConceptSetItem(vocabulary.concept_id(T2DM), include_mapped=True))
    text = sets.to_csv(sets.resolve(con, cs))
    assert text.splitlines()[0] == "code,term,vocabulary"
    assert refs(sets.resolve(con, sets.from_csv(con, text))) == refs(sets.resolve(con, cs))


@pytest.mark.parametrize(("text", "where"), [
    ("term\nx\n", "line 1"), ("code,term\n,\n", "line 2"), ("code,term\n44054006,x\nNOPE,y\n", "line 3"),
])
def test_bad_csv_names_the_line(con, text, where):
    with pytest.raises(ConceptSetError, match=where):
        sets.from_csv(con, text)


def test_an_athena_load_leaves_a_fresh_index(store: Store, tmp_path):
    from phta.cdm.vocabulary.athena import export_athena, load_athena

    export_athena(store, tmp_path / "athena")
    target = Store.create(tmp_path / "target")
    load_athena(tmp_path / "athena", target)
    with target.connect(read_only=True) as c:
        assert index_schema(c) == "main"
        assert refs(search(c, "diabtes type 2"))[0] == T2DM


@pytest.mark.parametrize("hostile", ["'; DROP TABLE concept; --", "diabetes' OR '1'='1", "SNOMED:' OR 1=1 --",
                                     "%", "_", "\\", "E11'); --"])
def test_hostile_text_is_a_value_never_sql(con, hostile):
    search(con, hostile, vocabulary=hostile, domain=hostile)  # no error, no effect
    assert search(con, hostile, vocabulary="'; DROP TABLE concept; --") == []
    assert con.execute("SELECT count(*) FROM concept").fetchone()[0] == len(vocabulary.concepts())
