"""PHTA extension tables in a store, beside the OMOP CDM tables. Documented in
docs/uk-facts-in-omop.md.

``variant``: germline variants of sequenced persons, one row per person and allele.
VCF-style: GRCh38, ``pos`` 1-based, ``ref``/``alt`` as in a normalised VCF (indels carry the
preceding reference base), ``zygosity`` heterozygous / homozygous / hemizygous,
``clinical_significance`` in ClinVar's words (Pathogenic, Likely pathogenic, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from phta.cdm.store import Store

VARIANT_DDL = """CREATE TABLE IF NOT EXISTS variant (
    person_id BIGINT NOT NULL,
    chrom VARCHAR NOT NULL,
    pos BIGINT NOT NULL,
    ref VARCHAR NOT NULL,
    alt VARCHAR NOT NULL,
    gene VARCHAR,
    hgvs VARCHAR,
    zygosity VARCHAR NOT NULL,
    clinical_significance VARCHAR,
    CHECK (pos >= 1),
    CHECK (zygosity IN ('heterozygous', 'homozygous', 'hemizygous'))
)"""
VARIANT_COLUMNS = ("person_id", "chrom", "pos", "ref", "alt", "gene", "hgvs", "zygosity", "clinical_significance")
ASSEMBLY = "GRCh38"

EXTENSION_DDL = [VARIANT_DDL]


def ensure_extension_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in EXTENSION_DDL:
        con.execute(statement)


def has_variant_table(store: Store) -> bool:
    """Whether the store holds the ``variant`` table (read-only check). A store created by
    ``phta load omop --create`` from OMOP CSV has none; the generator's stores have one."""
    con = store.connect(read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'variant'"
        ).fetchone()
    finally:
        con.close()
    return bool(found and found[0])
