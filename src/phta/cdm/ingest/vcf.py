"""``load_vcf``: germline variants from a VCF 4.x file (plain or bgzipped) into the ``variant`` table.

Read with pysam (htslib), never a hand-written parser. Each record's ALT alleles are split into
one row each and trimmed of their common suffix, then prefix (the position moves with the
prefix), keeping at least one base on each side: the normal form VCF normalisers write, found
without a reference genome (no left shift, which would need one). Contigs must be GRCh38
chromosomes (``chr1``..``chr22``, ``X``, ``Y``, ``M``/``MT``, with or without ``chr``), stored
as ``1``..``22``, ``X``, ``Y``, ``MT`` like the generator's; a header that declares a chromosome
with a GRCh37 length stops the load. Samples are persons through a linkage file; each
genotype carrying an allele gives one row (heterozygous, homozygous, or hemizygous when haploid).

Reconciliation per kind: VCF records read = loaded + quarantined; linkage rows likewise.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from pathlib import Path

import pysam

from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.ingest.csv_source import LoadError
from phta.cdm.ingest.session import IngestReport, LoadSession
from phta.cdm.pseudonymise import NHSNumberError, Pseudonymiser

Observer = Callable[[int], None]  # records done

# GRCh38 primary assembly chromosome lengths (GRC, GCA_000001405.15).
GRCH38_LENGTHS = {
    "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259,
    "6": 170805979, "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422,
    "11": 135086622, "12": 133275309, "13": 114364328, "14": 107043718, "15": 101991189,
    "16": 90338345, "17": 83257441, "18": 80373285, "19": 58617616, "20": 64444167,
    "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415, "MT": 16569,
}
_BASES = frozenset("ACGTN")
RECORDS, LINKAGE = "VCF records", "linkage rows"


def grch38_chromosome(contig: str) -> str | None:
    """``chr17``/``17`` -> ``17``; ``chrM``/``MT`` -> ``MT``; None for anything else."""
    name = contig[3:] if contig.lower().startswith("chr") else contig
    name = name.upper() if name.upper() in ("X", "Y", "M", "MT") else name
    name = "MT" if name == "M" else name
    return name if name in GRCH38_LENGTHS else None


def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Remove the common suffix, then the common prefix (moving ``pos``), keeping >= 1 base each."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def zygosity(genotype: tuple, allele: int) -> str | None:
    called = [a for a in genotype if a is not None]
    copies = called.count(allele)
    if not copies:
        return None
    if len(genotype) == 1:
        return "hemizygous"
    return "homozygous" if copies == len(genotype) else "heterozygous"


def read_linkage(session: LoadSession, path: Path, pseudonymiser: Pseudonymiser | None) -> dict[str, int]:
    """sample id -> person_id, from a CSV with ``sample_id`` and ``person_id`` or ``nhs_number``."""
    counts = session.report.counts(LINKAGE)
    out: dict[str, int] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            if "sample_id" not in header or not ({"person_id", "nhs_number"} & set(header)):
                raise LoadError(f"{path.name}, line 1: the linkage file needs columns sample_id and "
                                "person_id or nhs_number")
            reader.fieldnames = header
            for row in reader:
                counts.read += 1
                line = reader.line_num
                person = _linked_person(session, row, pseudonymiser, path.name, line)
                if person is not None:
                    out[row["sample_id"].strip()] = person
                    counts.loaded += 1
    except UnicodeDecodeError:
        raise LoadError(f"{path.name}: not UTF-8 text") from None
    return out


def _linked_person(session: LoadSession, row: dict, pseudonymiser: Pseudonymiser | None,
                   file: str, line: int) -> int | None:
    if row.get("nhs_number"):
        if pseudonymiser is None:
            raise LoadError("the linkage file holds NHS numbers but no linkage key was given")
        try:
            pseudonym = pseudonymiser.pseudonym(row["nhs_number"], where="nhs_number")
        except NHSNumberError:
            session.quarantine(LINKAGE, file, line, "nhs_number", "invalid NHS number (modulus-11 check failed)")
            return None
        found = session.con.execute("SELECT min(person_id) FROM person WHERE person_source_value = ?",
                                    [pseudonym]).fetchall()[0][0]
        field = "nhs_number"
    else:
        value = (row.get("person_id") or "").strip()
        found = None
        if value.isdigit():
            found = session.con.execute("SELECT min(person_id) FROM person WHERE person_id = ?",
                                        [int(value)]).fetchall()[0][0]
        field = "person_id"
    if found is None:
        session.quarantine(LINKAGE, file, line, field, "no person in the store for this linkage row")
        return None
    return int(found)


def _check_header(vcf: pysam.VariantFile, name: str) -> None:
    for contig, record in vcf.header.contigs.items():
        chrom = grch38_chromosome(contig)
        if chrom is not None and record.length is not None and record.length != GRCH38_LENGTHS[chrom]:
            raise LoadError(f"{name}: the header declares contig {contig} of length {record.length}, "
                            f"not GRCh38's {GRCH38_LENGTHS[chrom]} (is this GRCh37?); nothing loaded")


def _header_line_count(path: Path) -> int:
    """Lines before the first record, read from the file itself (pysam's header text adds lines
    htslib implies, so its count would misplace quarantine line numbers). BGZF is gzip."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    count = 0
    with opener(path, "rb") as fh:
        for line in fh:
            if not line.startswith(b"#"):
                break
            count += 1
    return count


def _info(record: pysam.VariantRecord, key: str) -> str | None:
    try:
        value = record.info.get(key)
    except (KeyError, ValueError):
        return None
    if isinstance(value, tuple):
        value = value[0] if value else None
    return str(value) if value is not None else None


class VcfLoader:
    def __init__(self, session: LoadSession, persons: dict[str, int]) -> None:
        self.s = session
        self.persons = persons

    def load(self, path: Path, observer: Observer | None) -> None:
        counts = self.s.report.counts(RECORDS)
        try:
            vcf = pysam.VariantFile(str(path))
        except (OSError, ValueError):
            raise LoadError(f"{path.name}: not a readable VCF (plain or bgzipped)") from None
        with vcf:
            _check_header(vcf, path.name)
            header_lines = _header_line_count(path)
            samples = list(vcf.header.samples)
            unlinked = [i + 1 for i, sample in enumerate(samples) if sample not in self.persons]
            if unlinked:
                self.s.report.notes.append(
                    f"{len(unlinked)} sample column(s) have no person in the linkage file "
                    f"(sample positions {', '.join(map(str, unlinked[:20]))}); their genotypes are not loaded")
            linked = [(sample, self.persons[sample]) for sample in samples if sample in self.persons]
            records = iter(vcf)
            index = 0
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                except (OSError, ValueError):
                    raise LoadError(f"{path.name}, line {header_lines + index + 1}: htslib cannot "
                                    "parse this record; nothing loaded") from None
                index += 1
                counts.read += 1
                reason = self._record(record, linked)
                if reason is None:
                    counts.loaded += 1
                else:
                    self.s.quarantine(RECORDS, path.name, header_lines + index, reason[0], reason[1])
                if observer and index % 1000 == 0:
                    observer(index)

    def _record(self, record: pysam.VariantRecord, linked: list[tuple[str, int]]) -> tuple[str, str] | None:
        chrom = grch38_chromosome(record.chrom)
        if chrom is None:
            return "CHROM", "contig is not a GRCh38 chromosome (1-22, X, Y, MT)"
        ref = (record.ref or "").upper()
        if not ref or not set(ref) <= _BASES:
            return "REF", "REF is not a sequence of bases"
        if record.pos < 1 or record.pos + len(ref) - 1 > GRCH38_LENGTHS[chrom]:
            return "POS", f"position outside GRCh38 chromosome {chrom}"
        alts = [(i, a.upper()) for i, a in enumerate(record.alts or (), start=1)
                if a and set(a.upper()) <= _BASES and a.upper() != ref]
        if not alts:
            return "ALT", "no sequence-resolved ALT allele (symbolic, '*' or missing)"
        gene = _info(record, "GENEINFO") or _info(record, "GENE")
        gene = gene.split(":")[0] if gene else None
        significance = _info(record, "CLNSIG")
        significance = significance.replace("_", " ") if significance else None
        rows = 0
        for allele, alt in alts:
            pos, r, a = trim(record.pos, ref, alt)
            for sample, person_id in linked:
                genotype = record.samples[sample].get("GT") or ()
                zyg = zygosity(tuple(genotype), allele)
                if zyg is None:
                    continue
                self.s.add_row("variant", {
                    "person_id": person_id, "chrom": chrom, "pos": pos, "ref": r, "alt": a,
                    "gene": gene, "hgvs": None, "zygosity": zyg, "clinical_significance": significance,
                })
                rows += 1
        counts = self.s.report.counts(RECORDS)
        counts.rows_by_table["variant"] = counts.rows_by_table.get("variant", 0) + rows
        return None


def load_vcf(path: str | Path, store_dir: str | Path, *, linkage: str | Path,
             pseudonymiser: Pseudonymiser | None, observer: Observer | None = None) -> IngestReport:
    """Load one VCF into the store's ``variant`` table in one transaction; returns the report."""
    vcf_path, linkage_path = Path(path).resolve(), Path(linkage).resolve()
    for p in (vcf_path, linkage_path):
        if not p.is_file():
            raise LoadError(f"{p}: no such file")
    with LoadSession(store_dir, str(vcf_path), "vcf") as session:
        ensure_extension_tables(session.con)
        persons = read_linkage(session, linkage_path, pseudonymiser)
        VcfLoader(session, persons).load(vcf_path, observer)
        return session.finish()

