"""The germline-variant criterion (HasVariant): validation naming node and field, the JSON form,
the DSL, bound parameters in every dialect, and its words kept in step with the store's table."""

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phta.cdm.extensions import VARIANT_DDL
from phta.query import ir, serial
from phta.query.cohort_compiler import compile_cohort
from phta.query.compiler import compile_series_table
from phta.query.dsl import DSLError, has_variant
from phta.query.variants import ZYGOSITIES, reads_variants

BRCA = ir.HasVariant(("BRCA1", "BRCA2"), ("Pathogenic", "Likely pathogenic"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"genes": ()}, r"HasVariant\.genes: name at least one gene"),
    ({"genes": ("BRCA 1",)}, r"HasVariant\.genes: not an HGNC gene symbol: 'BRCA 1'"),
    ({"genes": ("BRCA1", "BRCA1")}, r"HasVariant\.genes: 'BRCA1' is listed twice"),
    ({"genes": ["BRCA1"]}, r"HasVariant\.genes: expected tuple, got list"),
    ({"genes": ("BRCA1",), "zygosity": ("het",)}, r"HasVariant\.zygosity: unknown word 'het'; known: \["),
    ({"genes": ("BRCA1",), "clinical_significance": ("pathogenic",)},
     r"HasVariant\.clinical_significance: unknown word 'pathogenic' \(words are case-sensitive: 'Pathogenic'\)"),
    ({"genes": ("BRCA1",), "hgvs": " NM_007294.4:c.68_69del"}, r"HasVariant\.hgvs: expected an HGVS description"),
    ({"genes": ("BRCA1",), "allele": "17:43124027"}, r"HasVariant\.allele: expected VariantAllele, got str"),
])
def test_bad_criteria_name_the_node_and_field(kwargs, message):
    with pytest.raises(ir.IRError, match=message):
        ir.HasVariant(**kwargs)


@pytest.mark.parametrize(("args", "message"), [
    (("chr17", 1, "A", "T"), r"VariantAllele\.chrom: .* \(without the 'chr' prefix\), got 'chr17'"),
    (("23", 1, "A", "T"), r"VariantAllele\.chrom: expected a chromosome 1-22, X, Y or MT, got '23'"),
    (("17", 0, "A", "T"), r"VariantAllele\.pos: positions are 1-based \(VCF\), got 0"),
    (("17", True, "A", "T"), r"VariantAllele\.pos: expected int, got bool"),
    (("17", 5, "a", "T"), r"VariantAllele\.ref: expected bases A, C, G, T or N in upper case, got 'a'"),
    (("17", 5, "A", ""), r"VariantAllele\.alt: expected bases"),
    (("17", 5, "A", "A"), r"VariantAllele\.alt: the alternate allele equals the reference allele"),
])
def test_bad_alleles_name_the_node_and_field(args, message):
    with pytest.raises(ir.IRError, match=message):
        ir.VariantAllele(*args)


def test_json_errors_carry_the_path():
    doc = {"phta_query": 1, "query": {"type": "HasVariant", "genes": ["BRCA1"],
                                      "allele": {"type": "VariantAllele", "chrom": "17", "pos": -3,
                                                 "ref": "A", "alt": "T"}}}
    with pytest.raises(ir.IRError, match=r"VariantAllele\.pos at \$\.query\.allele: positions are 1-based"):
        serial.from_json(doc)
    doc["query"] = {"type": "HasVariant", "genes": "BRCA1"}
    with pytest.raises(ir.IRError, match=r"HasVariant\.genes at \$\.query\.genes: expected a list"):
        serial.from_json(doc)


genes = st.lists(st.sampled_from(["BRCA1", "BRCA2", "MLH1", "LDLR", "APOB", "C1orf21", "HLA-B"]),
                 min_size=1, max_size=3, unique=True).map(tuple)
words = st.lists(st.sampled_from(["Pathogenic", "Likely pathogenic", "Benign"]), max_size=2, unique=True).map(tuple)
alleles = st.one_of(st.none(), st.builds(ir.VariantAllele, st.sampled_from(["1", "13", "X", "MT"]),
                                         st.integers(1, 10**9), st.sampled_from(["A", "GT"]), st.sampled_from(["C", "G"])))


@given(genes=genes, significance=words, zygosity=st.lists(st.sampled_from(ZYGOSITIES), max_size=2, unique=True),
       allele=alleles, hgvs=st.one_of(st.none(), st.just("NM_000059.4:c.5946del")))
def test_json_round_trips(genes, significance, zygosity, allele, hgvs):
    node = ir.HasVariant(genes, significance, tuple(zygosity), allele, hgvs)
    assert serial.from_json(serial.to_json(node)) == node
    assert serial.content_hash(serial.from_json(serial.to_json(node))) == serial.content_hash(node)


def test_dsl_builds_the_node():
    assert has_variant("BRCA1", "BRCA2", significance=["Pathogenic", "Likely pathogenic"]).node == BRCA
    built = has_variant(["MLH1"], zygosity="homozygous", allele=("3", 37048903, "G", "C"), hgvs="NM_000249.4:c.1990-1G>C")
    assert built.node == ir.HasVariant(("MLH1",), (), ("homozygous",), ir.VariantAllele("3", 37048903, "G", "C"),
                                       "NM_000249.4:c.1990-1G>C")
    with pytest.raises(DSLError, match=r"HasVariant\.genes: name at least one gene"):
        has_variant()
    with pytest.raises(DSLError, match=r"allele takes \(chrom, pos, ref, alt\)"):
        has_variant("BRCA1", allele=("17", 5))


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_every_value_is_a_bound_parameter(dialect):
    node = ir.HasVariant(("BRCA1",), ("Pathogenic",), ("heterozygous",), ir.VariantAllele("17", 43124027, "ACT", "A"),
                         "NM_007294.4:c.68_69del")
    stmt = compile_series_table({"v": node}, dialect)
    sql = stmt.sql()
    for value in ("BRCA1", "Pathogenic", "heterozygous", "43124027", "ACT", "c.68_69del"):
        assert value not in sql
    assert set(stmt.params.values()) >= {"BRCA1", "Pathogenic", "heterozygous", "17", 43124027, "ACT", "A",
                                         "NM_007294.4:c.68_69del", "NM_007294.4:c.68_69del "}
    assert re.search(r"\bFROM variant AS v\d+", sql)


def test_a_cohort_reads_variants_only_if_it_says_so():
    with_variant = ir.Cohort(ir.Literal("date", dt.date(2021, 1, 1)), (ir.Rule("BRCA", BRCA),))
    assert reads_variants(with_variant)
    assert not reads_variants(ir.Cohort(ir.FirstDate(ir.Events("condition"))))
    assert "variant" in compile_cohort(with_variant).attrition.sql()


def test_zygosity_words_are_those_the_table_allows():
    allowed = re.search(r"zygosity IN \(([^)]*)\)", VARIANT_DDL).group(1)
    assert tuple(w.strip(" '") for w in allowed.split(",")) == ZYGOSITIES
