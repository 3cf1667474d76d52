"""``VariantRegion``: bounds on a variant's first and last 1-based reference base. Bad bounds are
refused naming the field; a region round-trips through JSON; a region counts as allele-level in
the purpose vocabularies (refused for public statistics, allowed for the public Beacon); and the
reference interpreter agrees with the bounds at each edge."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.query import ir, serial
from phta.query.nodes import IRError
from phta.query.reference import _variant_matches
from phta.query.vocabulary_check import VocabularyRefused, check_vocabulary


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"chrom": "chr1", "first_min": 1}, r"VariantRegion\.chrom: expected a chromosome"),
    ({"chrom": "1"}, r"VariantRegion\.first_min: bound the region at least once"),
    ({"chrom": "1", "first_min": 0}, r"VariantRegion\.first_min: positions are 1-based"),
    ({"chrom": "1", "last_min": 10, "last_max": 5}, r"VariantRegion\.last_max: last_max 5 is before last_min 10"),
    ({"chrom": "1", "first_max": True}, r"VariantRegion\.first_max: expected a whole number"),
])
def test_bad_regions_are_refused_naming_the_field(kwargs, message):
    with pytest.raises(IRError, match=message):
        ir.VariantRegion(**kwargs)


def test_a_gene_allele_or_region_is_required():
    with pytest.raises(IRError, match=r"HasVariant\.genes: name at least one gene"):
        ir.HasVariant(())
    assert ir.HasVariant((), region=ir.VariantRegion("17", first_max=10)).genes == ()


def _cohort(region: ir.VariantRegion) -> ir.Cohort:
    return ir.Cohort(ir.Literal("date", dt.date(2100, 1, 1)), (ir.Rule("v", ir.HasVariant((), region=region)),))


def test_a_region_round_trips_and_is_allele_level_in_the_vocabularies():
    cohort = _cohort(ir.VariantRegion("17", first_min=5, first_max=9, last_min=7, last_max=20))
    assert serial.from_json(serial.to_json(cohort)) == cohort
    check_vocabulary(cohort, "public_beacon")  # control: the Beacon answers position queries
    with pytest.raises(VocabularyRefused):
        check_vocabulary(cohort, "public_statistics")  # a narrow range is as identifying as an allele


@settings(max_examples=60, deadline=None)
@given(pos=st.integers(1, 60), length=st.integers(1, 5), lo=st.integers(1, 60), span=st.integers(0, 20))
def test_the_reference_interpreter_applies_each_bound_inclusively(pos, length, lo, span):
    row = {"chrom": "17", "pos": pos, "ref": "A" * length, "alt": "A"}
    hi = lo + span
    last = pos + length - 1
    for field, value in (("first", pos), ("last", last)):
        region = ir.VariantRegion("17", **{f"{field}_min": lo, f"{field}_max": hi})
        assert _variant_matches(ir.HasVariant((), region=region), row) is (lo <= value <= hi)
    assert not _variant_matches(ir.HasVariant((), region=ir.VariantRegion("13", first_min=1)), row)
