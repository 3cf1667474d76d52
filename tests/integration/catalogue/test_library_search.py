"""Library search on the store's own full-text engine (SQLite FTS5; PostgreSQL tsvector)."""

from __future__ import annotations

import pytest

from phta.catalogue import library, search
from phta.catalogue.records import RecordInvalid, new_record
from phta.catalogue.search import SearchError


def _save(database, title, abstract, custodian, node, **kw):
    record = new_record(title=title, abstract=abstract, custodian=custodian, contact="data@example.nhs.uk", **kw)
    return library.save(database, record, node=node)


@pytest.fixture
def shelf(database):
    a = _save(database, "Birmingham diabetes registry", "Adults with type 2 diabetes and their HbA1c results",
              "UHB", "uhb", start_date="2015-03-01", end_date="2017-12-01", population_size=25_000)
    b = _save(database, "Coventry asthma cohort", "Children with asthma, inhalers and admissions",
              "UHCW", "uhcw", start_date="2018-01-01", access_service="Open access")
    c = _save(database, "Black Country diabetes eye screening", "Retinal screening of people with diabetes",
              "Black Country ICB", "bc", start_date="2019-06-01", population_size=600)
    return a, b, c


def test_full_text_ranks_title_matches_first_and_highlights_them(database, shelf):
    a, _b, c = shelf
    found = search.search(database, "diabetes")
    assert found.total == 2
    assert {h.id for h in found.hits} == {a.id, c.id}
    assert all("<mark>" in str(h.highlighted()).lower() for h in found.hits)
    assert search.search(database, "diabet").total == 2  # prefixes match while typing
    assert search.search(database, "asthma inhalers").total == 1


def test_facets_count_the_matches_and_filter_them(database, shelf):
    found = search.search(database, "")
    assert found.facets["custodian"] == {"Black Country ICB": 1, "UHB": 1, "UHCW": 1}
    assert found.facets["coverage_year"]["2016"] == 1
    assert found.facets["population"]["10,000-99,999"] == 1
    assert found.facets["access_route"]["Open access"] == 1
    only = search.search(database, "diabetes", filters={"node": ["uhb"]})
    assert [h.title for h in only.hits] == ["Birmingham diabetes registry"]
    assert only.facets["custodian"] == {"UHB": 1}


def test_sorting(database, shelf):
    assert next(h.title for h in search.search(database, "", sort="title").hits) == "Birmingham diabetes registry"
    assert [h.population_size for h in search.search(database, "", sort="population").hits] == [25_000, 600, None]


@pytest.mark.parametrize("attack", ['diabetes" OR title:*', "NEAR(diabetes asthma)", "'; DROP TABLE dataset_record; --",
                                    "title:diabetes", "\"\"\"\"", "*"])
def test_query_syntax_cannot_be_injected(database, shelf, attack):
    found = search.search(database, attack)  # words only, each quoted: no error, no syntax
    assert found.total <= 3
    assert search.search(database, "").total == 3  # the table is still there


def test_record_text_is_escaped_in_highlights(database):
    _save(database, "Script test dataset", "<script>alert(1)</script> diabetes", "UHB", "uhb")
    hit = search.search(database, "diabetes").hits[0]
    assert "<script>" not in str(hit.highlighted())
    # SQLite keeps the text and it is escaped; PostgreSQL's ts_headline drops tags itself
    assert "&lt;script&gt;" in str(hit.highlighted()) or "alert(1)" in str(hit.highlighted())


def test_record_text_cannot_forge_a_highlight(database):
    _save(database, "Marker test dataset", "diabetes \x02<img src=x onerror=alert(1)>\x03", "UHB", "uhb")
    assert "<img" not in str(search.search(database, "diabetes").hits[0].highlighted())


def test_bad_requests_name_the_parameter(database):
    with pytest.raises(SearchError, match="unknown facet 'colour'"):
        search.search(database, "", filters={"colour": ["red"]})
    with pytest.raises(SearchError, match="sort"):
        search.search(database, "", sort="random")


def test_edits_reindex_and_invalid_records_are_not_stored(database, shelf):
    a = shelf[0]
    record = dict(a.record, summary=dict(a.record["summary"], title="Birmingham kidney registry"))
    library.save(database, record, node="uhb", dataset_id=a.id)
    assert search.search(database, "kidney").total == 1
    bad = dict(record, summary=dict(record["summary"], title="x"))
    with pytest.raises(RecordInvalid, match=r"summary\.title"):
        library.save(database, bad, node="uhb", dataset_id=a.id)
    assert library.dataset(database, a.id).title == "Birmingham kidney registry"
    library.remove(database, a.id)
    assert search.search(database, "kidney").total == 0
