"""The hub Beacon through the governed path on two real DuckDB node stores (tests/beacon_region.py).

Coordinates: Beacon's 0-based, half-open positions against the store's 1-based VCF rows, at each
boundary of a 3-base allele. Granularity: the public get booleans, signed-in users protected
counts. Membership inference (attack): a variant carried by ONE person, asked again and again,
alone, with filters and in combination with other rare alleles, answers exactly as a variant
nobody carries does; control: a common variant is found and counted. Budgets: anonymous callers
are counted per client address; refusals are audited."""

from __future__ import annotations

import pytest

from phta.audit import entries
from phta.beacon.requests import BeaconRequest, cohort_of
from phta.beacon.responses import answer_document
from phta.beacon.service import answer, present_terms
from phta.config import load_settings
from phta.execution.budget import BudgetExhausted
from phta.governance.principal import Principal
from phta.store import open_database
from tests.beacon_region import COMMON, RARE_ONE, RARE_THREE, make_region

RESEARCHER = Principal(user_id=7, email="r@test.example", name="R", roles=frozenset({"researcher"}))


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    root = tmp_path_factory.mktemp("beacon")
    settings = load_settings(root / "data", env={"PHTA_QUERY_BUDGETS": "public_beacon=unlimited"})
    settings.data_dir.mkdir(parents=True)
    stores = make_region(settings.stores_dir)
    return settings, open_database(settings), stores


def _ask(region, parameters, filters=(), principal=None, granularity="count", address="192.0.2.1"):
    settings, database, stores = region
    request = BeaconRequest(parameters, tuple(filters), granularity)
    result = answer(settings, database, principal, cohort_of(request, need_variant=not filters),
                    requested=granularity, client_address=address, stores=stores)
    return request, result


def _exists(region, **parameters) -> bool:
    return _ask(region, parameters, principal=RESEARCHER)[1].exists


# COMMON: 17:43124027 ACT>A (1-based first base 43124027, last 43124029): 0-based [43124026, 43124029)
@pytest.mark.parametrize(("parameters", "found"), [
    ({"referenceName": "17", "start": "43124026", "referenceBases": "ACT", "alternateBases": "A"}, True),
    ({"referenceName": "17", "start": "43124027", "referenceBases": "ACT", "alternateBases": "A"}, False),
    ({"referenceName": "chr17", "start": "43124025", "referenceBases": "ACT", "alternateBases": "A"}, False),
    ({"referenceName": "17", "start": "43124028", "end": "43124029"}, True),   # the allele's last base
    ({"referenceName": "17", "start": "43124029", "end": "43124100"}, False),  # just after it
    ({"referenceName": "17", "start": "43124000", "end": "43124027"}, True),   # ends on its first base
    ({"referenceName": "17", "start": "43124000", "end": "43124026"}, False),  # ends just before it
    ({"referenceName": "13", "start": "43124000", "end": "43124100"}, False),  # another chromosome
    ({"referenceName": "17", "start": "43124026,43124026", "end": "43124029,43124029"}, True),  # bracket
    ({"referenceName": "17", "start": "43124020,43124030", "end": "43124030,43124040"}, False),
    ({"referenceName": "17", "start": "43124027,43124030", "end": "43124029,43124040"}, False),
    ({"geneId": "BRCA1"}, True),
    ({"geneId": "BRCA1", "referenceName": "17", "start": "43124000", "end": "43124100"}, True),
    ({"geneId": "TP53", "referenceName": "17", "start": "43124000", "end": "43124100"}, False),
])
def test_beacon_positions_are_0_based_half_open_against_the_1_based_store(region, parameters, found):
    assert _exists(region, **parameters) is found


def test_the_public_get_a_boolean_and_the_registered_protected_counts_by_site(region):
    common = {"referenceName": "17", "start": "43124026", "referenceBases": "ACT", "alternateBases": "A"}
    _, public = _ask(region, common)
    assert (public.granularity, public.exists, public.count, public.sites) == ("boolean", True, 0, ())
    _, registered = _ask(region, common, principal=RESEARCHER)
    assert registered.granularity == "count" and registered.count >= 20
    assert registered.count % 5 == 0  # the beacon policy rounds
    assert [s.name for s in registered.sites] == ["Node A", "Node B"]
    assert sum(s.count for s in registered.sites) == registered.count
    _, boolean = _ask(region, common, principal=RESEARCHER, granularity="boolean")
    assert boolean.granularity == "boolean"
    _, record = _ask(region, common, principal=RESEARCHER, granularity="record")
    assert record.granularity == "count"  # record-level is never given


def _sequence(allele) -> dict:
    chrom, pos, ref, alt, _ = allele
    return {"referenceName": chrom, "start": str(pos - 1), "referenceBases": ref, "alternateBases": alt}


def _document(region, parameters, filters=(), principal=None):
    request, result = _ask(region, parameters, filters, principal)
    document = answer_document("genomicVariant", request, result)
    document["meta"]["receivedRequestSummary"].pop("requestParameters", None)  # the echo differs, by design
    return document


@pytest.mark.parametrize("principal", [None, RESEARCHER], ids=["public", "registered"])
def test_repeated_single_allele_queries_for_one_carrier_reveal_nothing(region, principal):
    absent = ("13", 32340300, "G", "C", "BRCA2")  # nobody carries this allele
    baseline = _document(region, _sequence(absent), principal=principal)
    assert baseline["responseSummary"]["exists"] is False
    for _ in range(20):  # repetition: a fixed answer, nothing to average
        assert _document(region, _sequence(RARE_ONE), principal=principal) == baseline
    # with filters narrowing to the carrier's sex, and by gene, still the absent answer
    females = _document(region, _sequence(RARE_ONE), ("NCIT:C16576",), principal)
    assert females == _document(region, _sequence(absent), ("NCIT:C16576",), principal)
    assert females["responseSummary"]["exists"] is False
    assert _ask(region, {"geneId": "BRCA2"}, principal=principal)[1].exists is False


@pytest.mark.parametrize("principal", [None, RESEARCHER], ids=["public", "registered"])
def test_combinations_of_rare_alleles_reveal_nothing_beyond_below_threshold(region, principal):
    # A range spanning both rare alleles' chromosome-17 region, a bracket around each, and the rare
    # alleles one after another: every answer is the below-threshold answer an empty range gives.
    empty = {"referenceName": "17", "start": "1000", "end": "2000"}
    baseline = _document(region, empty, principal=principal)
    chrom, pos, *_ = RARE_THREE
    for parameters in (_sequence(RARE_THREE), _sequence(RARE_ONE),
                       {"referenceName": chrom, "start": str(pos - 10), "end": str(pos + 10)},
                       {"referenceName": chrom, "start": f"{pos - 1},{pos - 1}", "end": f"{pos},{pos}"},
                       {"geneId": "TP53"}):
        assert _document(region, parameters, principal=principal) == baseline


def test_control_the_common_allele_is_found_and_counted(region):
    document = _document(region, _sequence(COMMON), principal=RESEARCHER)
    assert document["responseSummary"] == {"exists": True, "numTotalResults": document["responseSummary"]["numTotalResults"]}
    assert document["responseSummary"]["numTotalResults"] >= 20


def _fresh_region(tmp_path, budgets: str = "public_beacon=unlimited"):
    settings = load_settings(tmp_path / "data", env={"PHTA_QUERY_BUDGETS": budgets})
    settings.data_dir.mkdir(parents=True)
    stores = make_region(settings.stores_dir)
    return settings, open_database(settings), stores


def test_individuals_filters_count_persons_with_a_condition_and_sex(tmp_path):
    # its own region: node A's 15 asthmatics include the 12 carriers the other tests ask about, so
    # after those, node A's release ledger would rightly withhold this answer (3 persons apart)
    region = _fresh_region(tmp_path)
    _, asthma = _ask(region, {}, ("SNOMED:195967001",), RESEARCHER)
    assert asthma.exists and asthma.count == 15
    _, both = _ask(region, {}, ("SNOMED:195967001", "NCIT:C20197"), RESEARCHER)
    assert not both.exists and both.count == 0  # no man has asthma here


def test_anonymous_budgets_are_per_client_address_and_refusals_audited(tmp_path):
    region = _fresh_region(tmp_path, "public_beacon=2")
    database = region[1]
    for _ in range(2):
        _ask(region, {"geneId": "BRCA1"}, address="198.51.100.1")
    with pytest.raises(BudgetExhausted):
        _ask(region, {"geneId": "BRCA1"}, address="198.51.100.1")
    assert _ask(region, {"geneId": "BRCA1"}, address="198.51.100.2")[1].exists  # another caller: own budget
    refused = [e for e in entries(database) if e.action == "query.budget_refused"]
    assert [e.actor for e in refused] == ["anonymous@198.51.100.1"]


def test_filtering_terms_list_only_terms_present_in_a_threshold_of_persons(tmp_path):
    settings, database, stores = _fresh_region(tmp_path)
    terms = present_terms(settings, database, stores=stores)
    # women (50), men (10: at the threshold), asthma (15) and the SNOMED ancestors asthma falls under
    assert {"NCIT:C16576", "NCIT:C20197", "SNOMED:195967001"} <= terms
    assert "SNOMED:57054005" not in terms  # no myocardial infarction anywhere
    assert all(t.startswith(("NCIT:", "SNOMED:")) for t in terms)
