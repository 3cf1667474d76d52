"""The query vocabulary of each purpose, as data: which features of a query each purpose allows.

A *feature* is something a query can say about a person that matters for singling them out
(docs/disclosure-control.md, "A query language sized to the purpose"). Which IR nodes (PHTA and
Circe) count as which feature is decided by :mod:`phta.query.vocabulary_check`; this module is
only the table, so the docs table and the tests are generated from the same data.

Standing purposes answer anyone registered (or anyone at all), so their vocabulary leaves out
what names a person: an exact date of birth, exact (day-precision) dates, person ids, free text
and detailed ethnic category. Dates of birth are available as age in years and age bands; event
dates as windows relative to the index date or other events, or as whole calendar months and
years. Project purposes (``project:<id>``) get what their grant allows: the grant's task types
are checked by governance (phta.governance.purposes), and the vocabulary itself is permissive
except for person ids, which no requested query may use (only the execution path's own
governance rewrites, such as opt-outs, select persons by id).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    title: str  # how the docs table and error messages name it
    why: str  # why a purpose might refuse it (shown in refusals)
    instead: str  # what to use instead (shown in refusals)


FEATURES: dict[str, Feature] = {f.name: f for f in (
    Feature("person_ids", "person ids (PersonIn)",
            "naming persons by id lets a caller test whether a chosen person is in a population",
            "describe the population by criteria"),
    Feature("date_of_birth", "exact date of birth (DateOfBirth)",
            "a date of birth with sex and a site names one person as well as a person id does",
            "use age in years (AgeAt, YearAgeAt) or the age_band stratum"),
    Feature("exact_date", "exact calendar dates (day precision)",
            "a day-precision date (a date literal, a window on a fixed date, or days from a fixed date) "
            "singles out a person's event or birth",
            "use windows relative to the index date or another event, or whole calendar months and years "
            "(on or after the 1st of a month, before the 1st of a later month)"),
    Feature("calendar_month", "calendar months and years",
            "", ""),
    Feature("age_in_years", "age in years and age bands",
            "", ""),
    Feature("relative_window", "date windows relative to the index date or another event",
            "", ""),
    Feature("ethnic_group", "ethnic group (ONS 5 groups)",
            "", ""),
    Feature("ethnic_category", "detailed ethnic category (NHS 19 categories; Circe Race/Ethnicity)",
            "a detailed ethnic category is a rare attribute within one site or age group",
            "use the ethnic group (EthnicGroup, the ethnic_group stratum)"),
    Feature("site", "registered site (ODS code; Site, the site stratum)",
            "a site narrows a population to one practice or trust",
            "ask across the node (each node already answers separately)"),
    Feature("free_text", "free-text and identifier columns (Circe text filters)",
            "free text and device or specimen identifiers can name a person or a record",
            "use concepts"),
    Feature("variant_gene", "germline variants by gene and clinical significance",
            "", ""),
    Feature("variant_allele", "germline variants by exact allele or HGVS description",
            "an exact allele can be private to one family",
            "ask by gene and clinical significance"),
)}

_ALL = frozenset(FEATURES)
_IDENTIFYING = frozenset({"person_ids", "date_of_birth", "exact_date", "ethnic_category", "free_text"})

#: purpose -> the features its queries may use. ``project`` stands for every ``project:<id>``.
VOCABULARY: dict[str, frozenset[str]] = {
    # registered researchers and innovators, every node: feasibility needs sites and variant alleles
    # (recruitment at a site; a known pathogenic allele), never identifying detail.
    "network_feasibility": _ALL - _IDENTIFYING,
    # anyone, signed in or not: coarser still (no site, no exact allele).
    "public_statistics": _ALL - _IDENTIFYING - {"site", "variant_allele"},
    # the public Beacon answers allele queries by design (GA4GH Beacon v2), nothing else identifying.
    "public_beacon": _ALL - _IDENTIFYING - {"site"},
    # the controller's own staff checking their own node; nothing leaves the node.
    "custodian_quality": _ALL - {"person_ids"},
    # an approved project: what the grant allows (governance checks the grant), never person ids.
    "project": _ALL - {"person_ids"},
}

#: the vocabulary of a purpose this table does not name (governance refuses such purposes anyway):
#: the strictest there is, so a new purpose is never more permissive by accident.
STRICTEST = frozenset.intersection(*VOCABULARY.values())


def vocabulary_key(purpose: str) -> str | None:
    """The row of VOCABULARY for a purpose code (``project:7`` -> ``project``); None if none."""
    if purpose.startswith("project:"):
        return "project"
    return purpose if purpose in VOCABULARY else None


def allowed_features(purpose: str) -> frozenset[str]:
    key = vocabulary_key(purpose)
    return VOCABULARY[key] if key is not None else STRICTEST


def markdown_table() -> str:
    """The vocabulary as a Markdown table (docs/disclosure-control.md holds it; a test compares)."""
    purposes = list(VOCABULARY)
    lines = ["| feature | " + " | ".join(f"`{p}`" for p in purposes) + " |",
             "| --- |" + " :---: |" * len(purposes)]
    for name, feature in FEATURES.items():
        marks = " | ".join("yes" if name in VOCABULARY[p] else "**no**" for p in purposes)
        lines.append(f"| {feature.title} (`{name}`) | {marks} |")
    return "\n".join(lines)
