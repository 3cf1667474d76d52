"""``load_vcf``: hand-written VCFs, plain and bgzipped; multi-allelic splitting and trimming;
GRCh38 contig checks; samples to persons through the linkage file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phta.cdm import vocabulary
from phta.cdm.ingest import LoadError
from phta.cdm.ingest.fhir import load_fhir
from phta.cdm.ingest.vcf import grch38_chromosome, load_vcf, trim, zygosity
from phta.cdm.pseudonymise import Pseudonymiser
from phta.cdm.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = Pseudonymiser(b"k" * 32)
EXPECTED = [
    (1, "13", 32340300, "GT", "G", "BRCA2", "heterozygous", None),  # GTT>GT: a deletion of T
    (1, "17", 43124027, "ACT", "A", "BRCA1", "heterozygous", "Pathogenic"),
    (1, "X", 100000, "C", "T", None, "hemizygous", None),  # haploid genotype
    (2, "13", 32340300, "G", "GT", "BRCA2", "heterozygous", None),  # GTT>GTTT: insertion of T (1/2)
    (2, "13", 32340300, "GT", "G", "BRCA2", "heterozygous", None),
    (2, "17", 43057062, "TC", "T", None, "heterozygous", None),  # phased 0|1
]


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store.create(tmp_path / "s")
    vocabulary.load_into(s)
    load_fhir(FIXTURES / "fhir" / "uk_core", s.path, pseudonymiser=KEY)  # persons 1 and 2
    return s


def _variants(store: Store) -> list[tuple]:
    with store.connect(read_only=True) as con:
        return con.execute("SELECT person_id, chrom, pos, ref, alt, gene, zygosity, clinical_significance "
                           "FROM variant ORDER BY ALL").fetchall()


def _quarantine(store: Store) -> list[tuple]:
    with store.connect(read_only=True) as con:
        return con.execute("SELECT file, line, field, reason FROM phta_quarantine "
                           "WHERE load_id = (SELECT max(load_id) FROM phta_quarantine) ORDER BY file, line").fetchall()


def _fixture_vcf(tmp_path: Path, bgzip: bool) -> Path:
    plain = tmp_path / "germline.vcf"
    shutil.copy(FIXTURES / "vcf" / "germline.vcf", plain)
    if not bgzip:
        return plain
    out = tmp_path / "germline.vcf.gz"
    pysam.tabix_compress(str(plain), str(out))
    return out


@pytest.mark.parametrize("bgzip", [False, True], ids=["plain", "bgzipped"])
def test_variants_split_trimmed_and_linked(store, tmp_path, bgzip):
    path = _fixture_vcf(tmp_path, bgzip)
    report = load_vcf(path, store.path, linkage=FIXTURES / "vcf" / "linkage.csv", pseudonymiser=KEY)
    variants = _variants(store)
    assert sorted(variants, key=str) == sorted(EXPECTED, key=str)
    records = report.resources["VCF records"]
    assert (records.read, records.loaded, records.quarantined) == (6, 4, 2)
    assert report.reconciled
    assert _quarantine(store) == [
        (path.name, 14, "CHROM", "contig is not a GRCh38 chromosome (1-22, X, Y, MT)"),
        (path.name, 15, "ALT", "no sequence-resolved ALT allele (symbolic, '*' or missing)"),
        ("linkage.csv", 4, "nhs_number", "invalid NHS number (modulus-11 check failed)"),
    ]
    assert any("no person in the linkage file" in n for n in report.notes)


def test_grch37_header_refused_and_store_unchanged(store, tmp_path):
    text = (FIXTURES / "vcf" / "germline.vcf").read_text()
    path = tmp_path / "b37.vcf"
    path.write_text(text.replace("##contig=<ID=chr17,length=83257441>", "##contig=<ID=chr17,length=81195210>"))
    with pytest.raises(LoadError, match="GRCh37"):
        load_vcf(path, store.path, linkage=FIXTURES / "vcf" / "linkage.csv", pseudonymiser=KEY)
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM phta_load_history WHERE source_format = 'vcf'").fetchall() == [(0,)]


def test_linkage_by_person_id_and_unknown_person_quarantined(store, tmp_path):
    linkage = tmp_path / "link.csv"
    linkage.write_text("sample_id,person_id\nS1,1\nS2,999\n")
    report = load_vcf(FIXTURES / "vcf" / "germline.vcf", store.path, linkage=linkage, pseudonymiser=None)
    assert {r[0] for r in _variants(store)} == {1}
    assert report.resources["linkage rows"].quarantine_reasons == {"no person in the store for this linkage row": 1}


def test_contig_names():
    assert [grch38_chromosome(c) for c in ("chr17", "17", "chrX", "x", "chrM", "MT", "chr23", "GL000192.1",
                                           "chr1_KI270706v1_random")] == [
        "17", "17", "X", "X", "MT", "MT", None, None, None]


@pytest.mark.parametrize(("pos", "ref", "alt", "expected"), [
    (100, "GTT", "GT", (100, "GT", "G")),
    (100, "GTT", "GTTT", (100, "G", "GT")),
    (100, "GTT", "CTT", (100, "G", "C")),
    (100, "CAGT", "CAAT", (102, "G", "A")),  # MNV-style: prefix and suffix both trimmed
    (100, "A", "G", (100, "A", "G")),
    (100, "ACGT", "ACGTCGT", (100, "A", "ACGT")),
])
def test_trimming_cases(pos, ref, alt, expected):
    assert trim(pos, ref, alt) == expected


@given(st.text("ACGT", min_size=1, max_size=6), st.text("ACGT", min_size=1, max_size=6),
       st.text("ACGT", max_size=4), st.text("ACGT", max_size=4))
def test_trimming_removes_shared_context_and_keeps_the_change(core_ref, core_alt, prefix, suffix):
    ref, alt = prefix + core_ref + suffix, prefix + core_alt + suffix
    if ref == alt:
        return
    pos, r, a = trim(1000, ref, alt)
    assert r and a and r != a
    # the trimmed alleles, put back into their context, give the original alleles
    lead = ref[: pos - 1000]
    assert ref.startswith(lead + r) and alt.startswith(lead + a)
    assert ref[len(lead) + len(r):] == alt[len(lead) + len(a):]
    # nothing more can be trimmed
    assert not (len(r) > 1 and len(a) > 1 and (r[0] == a[0] or r[-1] == a[-1]))


def test_zygosity():
    assert zygosity((0, 1), 1) == "heterozygous"
    assert zygosity((1, 1), 1) == "homozygous"
    assert zygosity((1,), 1) == "hemizygous"
    assert zygosity((1, 2), 2) == "heterozygous"
    assert zygosity((None, None), 1) is None
    assert zygosity((0, 0), 1) is None
