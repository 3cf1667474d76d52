"""A simple cohort from a few choices: a condition, optionally a drug, an age range, a sex and a
germline variant.

What the feasibility form builds (and anyone can build by hand as JSON IR): index date = the
first record of the condition (or any descendant); rules for the drug (ever prescribed), the age
at the index date, the sex and a pathogenic or likely pathogenic germline variant in the chosen
gene(s); strata by sex, age band, ethnic group and IMD quintile. Choices are the embedded
vocabulary's standard conditions and drug ingredients, offered by name (medicines by their UK
names, ``phta.cdm.vocabulary.uk_names``), and the genes the region
sequences (the synthetic region's variant list, ``phta.cdm.synth`` parameters).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache

import yaml

from phta.cdm.synth.params import PARAMS_FILE
from phta.cdm.vocabulary import TABLE_FILES
from phta.cdm.vocabulary.uk_names import display_name
from phta.query import ir

FEASIBILITY_STRATA = ("sex", "age_band", "ethnic_group", "imd_quintile")
SEXES = ("female", "male")


@dataclass(frozen=True)
class Choice:
    concept_id: int
    name: str
    code: str  # vocabulary:code, for people who think in codes


@cache
def _standard(domain: str, concept_class: str | None = None) -> tuple[Choice, ...]:
    with TABLE_FILES["concept"].open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if r["domain_id"] == domain and r["standard_concept"] == "S"
                and (concept_class is None or r["concept_class_id"] == concept_class)]
    return tuple(sorted((Choice(int(r["concept_id"]), r["concept_name"], f"{r['vocabulary_id']}:{r['concept_code']}")
                         for r in rows), key=lambda c: c.name.lower()))


def conditions() -> tuple[Choice, ...]:
    return _standard("Condition")


@cache
def drugs() -> tuple[Choice, ...]:
    """Drug ingredients by their UK (dm+d) names: salbutamol, not RxNorm's albuterol."""
    return tuple(sorted((replace(c, name=display_name(c.name)) for c in _standard("Drug", "Ingredient")),
                        key=lambda c: c.name.lower()))


# ClinVar's words for P/LP, including its aggregate "Pathogenic/Likely pathogenic" (submitters
# disagreeing between the two), a word of its own in the table.
PATHOGENIC = ("Pathogenic", "Likely pathogenic", "Pathogenic/Likely pathogenic")


@dataclass(frozen=True)
class VariantChoice:
    key: str  # the form's value: the genes joined by "+"
    genes: tuple[str, ...]
    name: str


@cache
def variant_choices() -> tuple[VariantChoice, ...]:
    """Pathogenic or likely pathogenic variants in the genes the region's trusts sequence: BRCA1
    and BRCA2 together (the usual hereditary breast and ovarian cancer question), then each gene."""
    raw = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
    genes = sorted({v["gene"] for v in raw.get("variants", [])})
    sets = ([("BRCA1", "BRCA2")] if {"BRCA1", "BRCA2"} <= set(genes) else []) + [(g,) for g in genes]
    return tuple(VariantChoice("+".join(s), s, f"{' or '.join(s)}, pathogenic or likely pathogenic") for s in sets)


class ChoiceError(ValueError):
    """A form choice is not valid; the message names the field."""


def _pick(choices: tuple[Choice, ...], concept_id: int, field: str) -> Choice:
    for c in choices:
        if c.concept_id == concept_id:
            return c
    raise ChoiceError(f"{field}: {concept_id} is not one of the offered concepts")


def _concepts(concept_id: int) -> ir.ConceptSet:
    return ir.ConceptSet((ir.ConceptItem(concept_id, descendants=True),))


def build_cohort(condition_id: int, *, drug_id: int | None = None, age_min: int | None = None,
                 age_max: int | None = None, sex: str | None = None, variant: str | None = None) -> ir.Cohort:
    """The cohort for these choices (validated: unknown concepts, bad ages or sex raise ChoiceError)."""
    condition = _pick(conditions(), condition_id, "condition")
    rules: list[ir.Rule] = []
    if drug_id is not None:
        drug = _pick(drugs(), drug_id, "drug")
        rules.append(ir.Rule(f"ever prescribed {drug.name}",
                             ir.Exists(ir.WhereConcepts(ir.Events("drug"), _concepts(drug.concept_id)))))
    for bound, op, words in ((age_min, "ge", "at least"), (age_max, "le", "at most")):
        if bound is None:
            continue
        if not 0 <= bound <= 120:
            raise ChoiceError(f"age: {bound} is outside 0..120")
        rules.append(ir.Rule(f"aged {words} {bound} at index",
                             ir.Compare(op, ir.AgeAt(ir.IndexDate()), ir.Literal("int", bound))))
    if age_min is not None and age_max is not None and age_min > age_max:
        raise ChoiceError("age: the minimum is above the maximum")
    if sex is not None:
        if sex not in SEXES:
            raise ChoiceError(f"sex: must be one of {SEXES}")
        rules.append(ir.Rule(f"sex {sex}", ir.Compare("eq", ir.Sex(), ir.Literal("str", sex))))
    if variant is not None:
        chosen = next((v for v in variant_choices() if v.key == variant), None)
        if chosen is None:
            raise ChoiceError(f"germline variant: {variant!r} is not one of the offered genes")
        rules.append(ir.Rule(f"germline variant in {' or '.join(chosen.genes)} (pathogenic or likely pathogenic)",
                             ir.HasVariant(chosen.genes, PATHOGENIC)))
    index = ir.FirstDate(ir.WhereConcepts(ir.Events("condition"), _concepts(condition.concept_id)))
    return ir.Cohort(index_date=index, rules=tuple(rules), strata=FEASIBILITY_STRATA)
