"""Circe's negative-control outcome cohorts (``OutcomeCohortExpression``) as IR and SQL.

A negative-control outcome cohort is simpler than a cohort expression: every occurrence (or each
person's first) of the outcome concepts in the chosen domains, one day long (start = end = the
event date), with no observation-period requirement. ``descendants`` follows ``concept_ancestor``
only (the concept itself counts only through its own ancestor row), as Circe's fixtures show.

Circe's JSON form (``OutcomeCohortExpression.fromJson``) holds the settings only:
``{"occurrenceType": "FIRST" | "ALL", "detectOnDescendants": true, "domains": ["condition", ...]}``
(keys case-insensitive, ``detectOnDescendants`` true when absent, a missing ``occurrenceType`` means
all occurrences). The outcome concept ids are a parameter of the generated SQL (``@outcome_ids``)
and each outcome id is its own cohort (``cohort_definition_id`` = the outcome concept id), so
:func:`import_outcome_expression` takes the ids beside the JSON and returns one node per outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from phta.query.circe import trees as t
from phta.query.circe.criteria_sql import Params
from phta.query.compiler import Statement
from phta.query.dialects import get_dialect
from phta.query.ir import Node

DOMAIN_TABLES = {
    "CONDITION": ("condition_occurrence", "condition_concept_id", "condition_start_date"),
    "DRUG": ("drug_exposure", "drug_concept_id", "drug_exposure_start_date"),
    "DEVICE": ("device_exposure", "device_concept_id", "device_exposure_start_date"),
    "MEASUREMENT": ("measurement", "measurement_concept_id", "measurement_date"),
    "OBSERVATION": ("observation", "observation_concept_id", "observation_date"),
    "PROCEDURE": ("procedure_occurrence", "procedure_concept_id", "procedure_date"),
    "VISIT": ("visit_occurrence", "visit_concept_id", "visit_start_date"),
}


@dataclass(frozen=True)
class NegativeControlOutcome(Node):
    concept_ids: tuple[int, ...]
    domains: tuple[str, ...]
    occurrence: str = "ALL"  # ALL or FIRST
    descendants: bool = True

    def __post_init__(self):
        self._expect("concept_ids", self.concept_ids, tuple)
        if not self.concept_ids:
            self._fail("concept_ids", "give at least one outcome concept")
        for cid in self.concept_ids:
            self._expect("concept_ids", cid, int)
        self._expect("domains", self.domains, tuple)
        if not self.domains:
            self._fail("domains", "give at least one domain")
        for d in self.domains:
            if d not in DOMAIN_TABLES:
                self._fail("domains", f"unknown domain {d!r}; known: {sorted(DOMAIN_TABLES)}")
        if self.occurrence not in ("ALL", "FIRST"):
            self._fail("occurrence", "expected ALL or FIRST")
        self._expect("descendants", self.descendants, bool)


def compile_negative_control(node: NegativeControlOutcome, dialect: str = "duckdb") -> Statement:
    """person_id, start_date, end_date rows of the outcome cohort, values bound (a SQLGlot tree)."""
    p = Params(get_dialect(dialect))
    if node.descendants:
        concepts = t.select([t.col("descendant_concept_id")], t.table("concept_ancestor"),
                            where=t.in_list(t.col("ancestor_concept_id"), p.ids(node.concept_ids)))
    else:
        concepts = t.select([t.col("concept_id")], t.table("concept"),
                            where=t.in_list(t.col("concept_id"), p.ids(node.concept_ids)))
    parts = [t.select([t.col("person_id", "t"), t.alias(t.col(start, "t"), "start_date")], t.table(table, "t"),
                      where=t.in_query(t.col(concept, "t"), concepts.copy()))
             for table, concept, start in (DOMAIN_TABLES[d] for d in node.domains)]
    ordinal = t.row_number([t.col("person_id")], [t.ordered(t.col("start_date"))])
    numbered = t.select([t.col("person_id"), t.col("start_date"), t.alias(ordinal, "ordinal")],
                        t.sub(t.union_all(parts), "E"))
    tree = t.select([t.col("person_id"), t.col("start_date"), t.alias(t.col("start_date"), "end_date")],
                    t.sub(numbered, "X"),
                    where=t.eq(t.col("ordinal", "X"), t.num(1)) if node.occurrence == "FIRST" else None,
                    order=[t.ordered(t.col("person_id")), t.ordered(t.col("start_date"))])
    return Statement(tree, dict(p.values), dialect)


_SETTINGS = {"occurrencetype": "occurrenceType", "detectondescendants": "detectOnDescendants", "domains": "domains"}


def import_outcome_expression(doc: str | bytes | dict, outcome_ids) -> dict[int, NegativeControlOutcome]:
    """Circe's negative-control JSON + outcome concept ids -> one outcome cohort per outcome id.

    Strict where Circe is lenient: an unknown key (Circe ignores it), an unknown domain or occurrence
    type, or no domains raise :class:`~phta.query.circe.importer.CirceImportError` naming the JSON path."""
    from phta.query.circe.importer import (
        CirceImportError,  # the importer's error type; late to keep this small
    )

    if isinstance(doc, str | bytes):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as e:
            raise CirceImportError("$", f"not valid JSON: {e.msg} (line {e.lineno})") from None
    if not isinstance(doc, dict):
        raise CirceImportError("$", "expected an object with occurrenceType, detectOnDescendants and domains")
    body = {}
    for key, value in doc.items():
        name = _SETTINGS.get(key.lower())
        if name is None:
            raise CirceImportError(f"$.{key}", f"unsupported negative-control setting {key!r}")
        body[name] = value
    occurrence = body.get("occurrenceType") or "ALL"
    if occurrence not in ("FIRST", "ALL"):
        raise CirceImportError("$.occurrenceType", f"expected FIRST or ALL, got {occurrence!r}")
    descendants = body.get("detectOnDescendants")
    if descendants is None:
        descendants = True  # Circe's default
    if not isinstance(descendants, bool):
        raise CirceImportError("$.detectOnDescendants", f"expected true or false, got {descendants!r}")
    domains = body.get("domains") or []
    if not isinstance(domains, list) or not domains:
        raise CirceImportError("$.domains", "give one or more domains (Circe refuses an empty list)")
    names = []
    for i, d in enumerate(domains):
        if not isinstance(d, str) or d.upper() not in DOMAIN_TABLES:
            raise CirceImportError(f"$.domains[{i}]", f"domain {d!r} not supported; known: {sorted(DOMAIN_TABLES)}")
        names.append(d.upper())
    ids = list(outcome_ids)
    if not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise CirceImportError("$", f"outcome concept ids must be one or more integers, got {ids!r}")
    return {i: NegativeControlOutcome((i,), tuple(names), occurrence, descendants) for i in ids}
