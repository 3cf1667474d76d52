"""Germline-variant criteria: persons carrying a variant, from PHTA's ``variant`` extension table.

The table (:mod:`phta.cdm.extensions`, docs/uk-facts-in-omop.md) holds one row per sequenced
person and allele: VCF-style GRCh38 coordinates, the HGNC gene symbol, an HGVS description, the
zygosity and ClinVar's clinical significance. :class:`HasVariant` is true for a person with at
least one row matching *every* given criterion (all on the same row).

Comparison is exact and case-sensitive: gene symbols are HGNC symbols (``BRCA1``, not ``brca1``),
clinical significance is ClinVar's wording (``Likely pathogenic``), zygosity the table's words.
Null semantics: a person with no matching row is false, never missing -- and that includes a
person who was never sequenced, so "not a carrier" does not mean "tested negative".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phta.query.nodes import IRError, Node, Series

VARIANT_TABLE = "variant"
# The words the table allows (phta.cdm.extensions' CHECK constraint).
ZYGOSITIES = ("heterozygous", "homozygous", "hemizygous")
# ClinVar's germline classification terms (aggregate and submitted), in ClinVar's own case.
CLINICAL_SIGNIFICANCES = (
    "Pathogenic", "Likely pathogenic", "Pathogenic/Likely pathogenic", "Uncertain significance",
    "Likely benign", "Benign", "Benign/Likely benign", "Conflicting classifications of pathogenicity",
    "Conflicting interpretations of pathogenicity", "Pathogenic, low penetrance",
    "Likely pathogenic, low penetrance", "Established risk allele", "Likely risk allele",
    "Uncertain risk allele", "risk factor", "drug response", "association", "protective", "Affects",
    "confers sensitivity", "other", "not provided",
)
CHROMOSOMES = (*(str(n) for n in range(1, 23)), "X", "Y", "MT")
_GENE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_ALLELE = re.compile(r"[ACGTN]+")


@dataclass(frozen=True)
class VariantAllele(Node):
    """One allele as a normalised VCF writes it: GRCh38 ``chrom`` without ``chr``, 1-based
    ``pos``, ``ref``/``alt`` in upper case (indels carry the preceding reference base)."""

    chrom: str
    pos: int
    ref: str
    alt: str

    def __post_init__(self):
        self._expect("chrom", self.chrom, str)
        if self.chrom not in CHROMOSOMES:
            hint = " (without the 'chr' prefix)" if self.chrom.lower().startswith("chr") else ""
            self._fail("chrom", f"expected a chromosome 1-22, X, Y or MT{hint}, got {self.chrom!r}")
        self._expect("pos", self.pos, int)
        if self.pos < 1:
            self._fail("pos", f"positions are 1-based (VCF), got {self.pos}")
        for name in ("ref", "alt"):
            value = getattr(self, name)
            self._expect(name, value, str)
            if not _ALLELE.fullmatch(value):
                self._fail(name, f"expected bases A, C, G, T or N in upper case, got {value!r}")
        if self.ref == self.alt:
            self._fail("alt", "the alternate allele equals the reference allele")


@dataclass(frozen=True)
class VariantRegion(Node):
    """Where on a GRCh38 chromosome a variant lies, as bounds on the 1-based positions of its
    first reference base (``pos``) and its last (``pos + len(ref) - 1``); a bound left None is
    open. A range query (overlap) bounds ``first_max`` and ``last_min``; a bracket query bounds all
    four. GA4GH Beacon's 0-based, half-open coordinates are converted by phta.beacon."""

    chrom: str
    first_min: int | None = None
    first_max: int | None = None
    last_min: int | None = None
    last_max: int | None = None

    def __post_init__(self):
        self._expect("chrom", self.chrom, str)
        if self.chrom not in CHROMOSOMES:
            self._fail("chrom", f"expected a chromosome 1-22, X, Y or MT, got {self.chrom!r}")
        bounds = ("first_min", "first_max", "last_min", "last_max")
        for name in bounds:
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, int) or isinstance(value, bool):
                    self._fail(name, f"expected a whole number or null, got {type(value).__name__}")
                if value < 1:
                    self._fail(name, f"positions are 1-based, got {value}")
        if all(getattr(self, name) is None for name in bounds):
            self._fail("first_min", "bound the region at least once (a whole chromosome is not a region)")
        for low, high in (("first_min", "first_max"), ("last_min", "last_max")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                self._fail(high, f"{high} {hi} is before {low} {lo}")


@dataclass(frozen=True)
class HasVariant(Series):
    """True if the person has a germline variant row matching every criterion given.

    ``genes``: HGNC symbols, any of which matches (required unless an allele or region is given). ``clinical_significance`` and
    ``zygosity`` (optional): any of these words matches; empty means any (a row whose
    significance is missing then matches too). ``allele`` (optional): this exact VCF allele.
    ``hgvs`` (optional): the row's HGVS description equals it, or begins with it followed by a
    space (the table may append the protein change: ``NM_007294.4:c.68_69del (p.Glu23fs)``)."""

    genes: tuple[str, ...] = ()
    clinical_significance: tuple[str, ...] = ()
    zygosity: tuple[str, ...] = ()
    allele: VariantAllele | None = None
    hgvs: str | None = None
    region: VariantRegion | None = None  # ``region``: the variant lies within these bounds

    def __post_init__(self):
        self._expect("genes", self.genes, tuple)
        if not self.genes and self.allele is None and self.region is None:
            self._fail("genes", "name at least one gene (HGNC symbol, e.g. 'BRCA1'), or an allele or region")
        for gene in self.genes:
            self._expect("genes", gene, str)
            if not _GENE.fullmatch(gene):
                self._fail("genes", f"not an HGNC gene symbol: {gene!r}")
        self._words("genes", self.genes, None)
        self._words("clinical_significance", self.clinical_significance, CLINICAL_SIGNIFICANCES)
        self._words("zygosity", self.zygosity, ZYGOSITIES)
        if self.allele is not None and not isinstance(self.allele, VariantAllele):
            self._fail("allele", f"expected VariantAllele, got {type(self.allele).__name__}")
        if self.region is not None and not isinstance(self.region, VariantRegion):
            self._fail("region", f"expected VariantRegion, got {type(self.region).__name__}")
        if self.hgvs is not None:
            self._expect("hgvs", self.hgvs, str)
            if not self.hgvs.strip() or self.hgvs != self.hgvs.strip():
                self._fail("hgvs", f"expected an HGVS description without surrounding spaces, got {self.hgvs!r}")

    def _words(self, field: str, values, known: tuple[str, ...] | None) -> None:
        self._expect(field, values, tuple)
        seen: set[str] = set()
        for v in values:
            self._expect(field, v, str)
            if known is not None and v not in known:
                close = [k for k in known if k.lower() == v.lower()]
                hint = f" (words are case-sensitive: {close[0]!r})" if close else f"; known: {list(known)}"
                self._fail(field, f"unknown word {v!r}{hint}")
            if v in seen:
                self._fail(field, f"{v!r} is listed twice")
            seen.add(v)

    @property
    def type(self) -> str:
        return "bool"


class MissingTable(IRError):
    """The data a query runs on lack a table it reads (a store without the ``variant`` extension
    table holds no sequencing data, so a variant criterion cannot be answered there)."""


def missing_variant_table(node: str = "HasVariant") -> MissingTable:
    return MissingTable(node, None, f"this store has no {VARIANT_TABLE!r} table: it holds no germline "
                                    "variants, so a variant criterion cannot be answered here")


def reads_variants(node: Node) -> bool:
    """Whether a query reads the ``variant`` extension table (so a store must have one)."""
    return any(isinstance(n, HasVariant) for n in node.walk())
