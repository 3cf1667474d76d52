"""Triage: declarative rules match an enquiry to pathways, assets and partners, with reasons.

The rules are data (YAML text the hub operator edits in a page, parsed with ``yaml.safe_load``
into plain values and validated here); nothing in them is executed. A rule names what it needs
(``needs_any``, ``stages_any``, ``sectors_any``, ``words_any``) and what it suggests; every
condition given must hold. Validation names the rule and the field, so an operator's typo is an
error on the page rather than a rule that silently never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from phta.frontdoor.vocabulary import NEEDS, SECTORS, STAGES

DEFAULT_RULES_FILE = Path(__file__).with_name("triage_rules.yaml")
MAX_SOURCE_CHARS = 50_000
FALLBACK_PATHWAY = "general"
_WHEN_FIELDS = {"needs_any": NEEDS, "stages_any": STAGES, "sectors_any": SECTORS, "words_any": None}
_SUGGEST_FIELDS = {"pathway", "assets", "partners"}


class RulesError(ValueError):
    """The rules text is not valid; the message names the rule (by number and name) and field."""


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict[str, tuple[str, ...]]
    pathway: str | None
    assets: tuple[str, ...]
    partners: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Enquiry:
    """What triage looks at (the stored enquiry, as plain values)."""

    needs: frozenset[str]
    stage: str
    sector: str
    text: str = ""


@dataclass
class Suggestions:
    """Pathways, assets and partners, each with the reasons (rule name: why) it was suggested."""

    pathways: dict[str, list[str]] = field(default_factory=dict)
    assets: dict[str, list[str]] = field(default_factory=dict)
    partners: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pathway(self) -> str:
        """The case's pathway: that of the first matching rule, else general enquiries."""
        return next(iter(self.pathways), FALLBACK_PATHWAY)

    def as_dict(self) -> dict:
        return {"pathway": self.pathway, "pathways": self.pathways, "assets": self.assets,
                "partners": self.partners}


def _strings(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulesError(f"{where}: expected a list of words")
    return tuple(v.strip() for v in value)


def parse_rules(source: str, known: dict[str, set[str]] | None = None) -> list[Rule]:
    """Parse and validate rules text. ``known`` (``pathways``/``assets``/``partners`` -> slugs)
    checks that what a rule suggests exists."""
    if len(source) > MAX_SOURCE_CHARS:
        raise RulesError(f"the rules are longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RulesError(f"the rules are not valid YAML{where}") from None
    if not data:
        raise RulesError("there are no rules: every enquiry would go to general enquiries unexplained")
    if not isinstance(data, list):
        raise RulesError("the rules must be a list (each rule starts with '- name: ...')")
    return [_parse_rule(i, raw, known) for i, raw in enumerate(data, start=1)]


def _parse_rule(number: int, raw, known) -> Rule:
    if not isinstance(raw, dict):
        raise RulesError(f"rule {number}: expected name, when, suggest and why")
    name = raw.get("name")
    where = f"rule {number} ({name!r})" if isinstance(name, str) else f"rule {number}"
    if not isinstance(name, str) or not name.strip():
        raise RulesError(f"{where}: name: give the rule a name")
    extra = set(raw) - {"name", "when", "suggest", "why"}
    if extra:
        raise RulesError(f"{where}: unknown field(s) {sorted(extra)}; use name, when, suggest, why")
    when_raw = raw.get("when") or {}
    if not isinstance(when_raw, dict) or not when_raw:
        raise RulesError(f"{where}: when: give at least one condition ({', '.join(_WHEN_FIELDS)})")
    when: dict[str, tuple[str, ...]] = {}
    for key, value in when_raw.items():
        if key not in _WHEN_FIELDS:
            raise RulesError(f"{where}: when.{key}: unknown condition; use {', '.join(_WHEN_FIELDS)}")
        words = _strings(value, f"{where}: when.{key}")
        vocabulary = _WHEN_FIELDS[key]
        if vocabulary is not None:
            unknown = [w for w in words if w not in vocabulary]
            if unknown:
                raise RulesError(f"{where}: when.{key}: unknown {unknown}; choose from {sorted(vocabulary)}")
        when[key] = tuple(w.lower() for w in words) if key == "words_any" else words
    suggest = raw.get("suggest") or {}
    if not isinstance(suggest, dict) or set(suggest) - _SUGGEST_FIELDS:
        raise RulesError(f"{where}: suggest: use pathway, assets and partners")
    pathway = suggest.get("pathway")
    if pathway is not None and not isinstance(pathway, str):
        raise RulesError(f"{where}: suggest.pathway: one pathway's short name")
    assets = _strings(suggest.get("assets") or [], f"{where}: suggest.assets")
    partners = _strings(suggest.get("partners") or [], f"{where}: suggest.partners")
    if not (pathway or assets or partners):
        raise RulesError(f"{where}: suggest: suggest a pathway, an asset or a partner")
    for kind, values in (("pathways", [pathway] if pathway else []), ("assets", assets), ("partners", partners)):
        if known is not None and kind in known:
            unknown = [v for v in values if v not in known[kind]]
            if unknown:
                raise RulesError(f"{where}: suggest: no such {kind[:-1]} {unknown}; known: {sorted(known[kind])}")
    why = raw.get("why")
    if not isinstance(why, str) or not why.strip():
        raise RulesError(f"{where}: why: say why the enquirer gets this suggestion")
    return Rule(name.strip(), when, pathway, assets, partners, why.strip())


def _words_match(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(re.search(rf"\b{re.escape(w)}\b", low) for w in words)


def matches(rule: Rule, enquiry: Enquiry) -> bool:
    checks = {
        "needs_any": lambda v: bool(enquiry.needs & set(v)),
        "stages_any": lambda v: enquiry.stage in v,
        "sectors_any": lambda v: enquiry.sector in v,
        "words_any": lambda v: _words_match(enquiry.text, v),
    }
    return all(checks[key](value) for key, value in rule.when.items())


def triage(rules: list[Rule], enquiry: Enquiry) -> Suggestions:
    """Every matching rule adds its suggestions, each with ``"<rule name>: <why>"``."""
    out = Suggestions()
    for rule in rules:
        if not matches(rule, enquiry):
            continue
        reason = f"{rule.name}: {rule.why}"
        if rule.pathway:
            out.pathways.setdefault(rule.pathway, []).append(reason)
        for slug in rule.assets:
            out.assets.setdefault(slug, []).append(reason)
        for slug in rule.partners:
            out.partners.setdefault(slug, []).append(reason)
    if not out.pathways:
        out.pathways[FALLBACK_PATHWAY] = ["No rule matched: an account manager will find the right route."]
    return out


def default_source() -> str:
    return DEFAULT_RULES_FILE.read_text(encoding="utf-8")
