"""Chapter: germline variants."""

from tests.spec.cohort.harness import Case, d, person, variant

TITLE = "Germline variants"
INTRO = """`has_variant(*genes, significance=..., zygosity=..., allele=..., hgvs=...)` is true for a
patient with at least one row in PHTA's `variant` extension table (germline variants of
sequenced patients, [docs/uk-facts-in-omop.md](uk-facts-in-omop.md)) that matches every
criterion given, all on the same row:

- `genes` (at least one): HGNC gene symbols, compared exactly and case-sensitively (`"BRCA1"`,
  never `"brca1"`); any of them matches.
- `significance`: ClinVar classification word(s) (`"Pathogenic"`, `"Likely pathogenic"`, ...),
  any of which matches. Left out, any classification matches, a missing one included.
- `zygosity`: `"heterozygous"`, `"homozygous"` and/or `"hemizygous"`.
- `allele`: an exact VCF allele `(chrom, pos, ref, alt)` on GRCh38 (chromosome without `chr`,
  1-based position, indels with their anchor base).
- `hgvs`: the row's HGVS description equals it, or starts with it followed by a space (the table
  may add the protein change in brackets).

A patient without a matching row is **false**, never missing: that includes a patient who was
never sequenced. "Not a carrier" therefore does not mean "tested negative"; to ask for tested
patients, require a variant row of any kind in the genes tested by the panel.
A store with no `variant` table at all (for example one loaded from OMOP CSV) cannot answer a
variant criterion: the execution path refuses the query with an error naming the table."""

PEOPLE = [person(i, born="1970-05-01", sex="M" if i == 2 else "F") for i in range(1, 8)]
BRCA1_ALLELE = {"chrom": "17", "pos": 43124027, "ref": "ACT", "alt": "A",
                "hgvs": "NM_007294.4:c.68_69del (p.Glu23fs)"}
VARIANTS = [
    variant(1, "BRCA1", "Pathogenic", **BRCA1_ALLELE),
    variant(2, "BRCA2", "Likely pathogenic", chrom="13", pos=32340300, ref="GT", alt="G"),
    variant(3, "BRCA1", "Uncertain significance", chrom="17", pos=43057062, ref="T", alt="TG"),
    variant(4, "brca1", "Pathogenic"),
    variant(5, "MLH1", "Pathogenic", "homozygous", chrom="3", pos=37048903, ref="G", alt="C"),
    variant(5, "BRCA2", "Benign", chrom="13", pos=32340301, ref="T", alt="C"),
    variant(7, "LDLR", None, chrom="19", pos=11089549, ref="A", alt="T"),
]
# person 6 was never sequenced: no variant rows
TABLES = {"person": PEOPLE, "variant": VARIANTS}
NOBODY = {i: False for i in range(1, 8)}

CASES = [
    Case("a gene, any classification", TABLES, 'has_variant("BRCA1")',
         {**NOBODY, 1: True, 3: True},
         explanation="Gene symbols are compared exactly: person 4's `brca1` is not BRCA1."),
    Case("pathogenic or likely pathogenic in BRCA1 or BRCA2", TABLES,
         'has_variant("BRCA1", "BRCA2", significance=["Pathogenic", "Likely pathogenic"])',
         {**NOBODY, 1: True, 2: True}),
    Case("every criterion on the same row", TABLES, 'has_variant("BRCA2", significance="Pathogenic")',
         NOBODY,
         explanation="Person 5 has a pathogenic MLH1 variant and a benign BRCA2 variant: no one row matches."),
    Case("zygosity", TABLES, 'has_variant("MLH1", "BRCA2", zygosity="homozygous")', {**NOBODY, 5: True}),
    Case("an exact VCF allele", TABLES, 'has_variant("BRCA1", allele=("17", 43124027, "ACT", "A"))',
         {**NOBODY, 1: True}),
    Case("an HGVS description without the protein change", TABLES,
         'has_variant("BRCA1", hgvs="NM_007294.4:c.68_69del")', {**NOBODY, 1: True}),
    Case("an HGVS prefix that is not a whole description does not match", TABLES,
         'has_variant("BRCA1", hgvs="NM_007294.4:c.68")', NOBODY),
    Case("a missing classification matches only when none is asked for", TABLES,
         'has_variant("LDLR") & ~has_variant("LDLR", significance="Pathogenic")', {**NOBODY, 7: True}),
    Case("not a carrier is true for a person never sequenced", TABLES,
         '~has_variant("BRCA1", "BRCA2", significance=["Pathogenic", "Likely pathogenic"])',
         {1: False, 2: False, 3: True, 4: True, 5: True, 6: True, 7: True}),
    Case("women with a BRCA1/2 pathogenic variant", TABLES,
         'cohort(index_date=date("2021-01-01"), rules={"female": patients.sex == "female", '
         '"BRCA1/2 P/LP": has_variant("BRCA1", "BRCA2", significance=["Pathogenic", "Likely pathogenic"])}, '
         'strata=["sex"])',
         expected_members=[(1, d("2021-01-01"), None)], expected_attrition=[7, 6, 1],
         expected_strata={"sex": {"female": 1}}),
    Case("an empty variant table: nobody is a carrier", {"person": PEOPLE, "variant": []},
         'has_variant("BRCA1")', NOBODY),
]
