"""Disclosure control of ATLAS / Circe cohort results: the same policy objects and checks as
PHTA cohorts (:func:`phta.disclosure.check` on typed frequency tables, with cell keys).

What is published for a governed purpose:

- the number of persons in the cohort, as a one-cell table (like a PHTA cohort's total);
- the by-person inclusion-rule statistics as one N-way frequency table, an axis per rule with
  levels ``met`` / ``not met``: each cell is one of Circe's rule masks, and the margins are each
  rule's persons and the qualified base. As ONE table, secondary suppression sees every relation
  between the masks and the per-rule counts (published separately, a suppressed mask could be
  recovered from the rule counts).

Withheld, and said so on the result: Circe's event-mode statistics and the episode count (they
count records, not persons, so a threshold on them protects nobody), the persons lost to the
censor window (a difference of two released counts), and the rule table when a cohort has more
than :data:`MAX_TABLE_RULES` rules (3^n cells with margins are beyond the secondary-suppression
audit's reach).
"""

from __future__ import annotations

import itertools

from phta.disclosure import Policy, check
from phta.disclosure.results import Dimension, FrequencyTable
from phta.execution.circe_results import MET, NOT_MET, CirceResult, ProtectedCirceResult
from phta.execution.policy import TOTAL_CELL
from phta.execution.release_values import reuse_cell, reuse_cells

MAX_TABLE_RULES = 6

WITHHELD_ALWAYS = (
    "event-mode inclusion statistics and the episode count: they count records, not persons",
    "persons lost to the censor window: the difference of two counts",
)


def rule_axis_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Unique, non-empty axis names for rules (ATLAS allows repeated or blank rule names)."""
    return tuple(f"{i + 1}. {name}".rstrip(". ") if name else f"rule {i + 1}" for i, name in enumerate(names))


def inclusion_table(result: CirceResult, *, with_keys: bool) -> FrequencyTable:
    """The by-person rule masks as an N-way table; cell (l_0, .., l_n-1) has l_i = 0 when rule i is met."""
    names = tuple(r.rule for r in result.by_person.rules)
    n = len(names)
    counts = dict(result.by_person.masks)
    keys = dict(result.mask_keys or ())
    masks = [sum(1 << i for i, level in enumerate(cell) if level == 0)
             for cell in itertools.product(*([range(2)] * n))]  # row-major, the table's own order
    return FrequencyTable(
        dimensions=tuple(Dimension(axis, (MET, NOT_MET)) for axis in rule_axis_names(names)),
        counts=tuple(counts.get(m, 0) for m in masks), title="inclusion rules (by person)",
        cell_keys=tuple(keys.get(m, 0.0) for m in masks) if with_keys else None,
    )


def protect_circe(result: CirceResult, policy: Policy) -> ProtectedCirceResult:
    """Apply ``policy`` to a Circe result; raw counts, event-mode counts and cell keys do not survive."""
    perturbs = policy.perturbation == "cell_key"
    total = FrequencyTable(
        dimensions=(Dimension("cohort", ("persons",)),), counts=(result.person_count,), publish_margins=False,
        title="persons", cell_keys=(result.person_key,) if perturbs and result.person_key is not None else None,
    )
    names = tuple(r.rule for r in result.by_person.rules)
    reused = dict(result.reused)
    withheld = list(WITHHELD_ALWAYS)
    inclusion = None
    if len(names) > MAX_TABLE_RULES:
        withheld.append(f"the inclusion-rule table: {len(names)} rules, more than the {MAX_TABLE_RULES} "
                        "whose combinations disclosure control can audit")
    elif names:
        with_keys = perturbs and result.mask_keys is not None
        inclusion = reuse_cells(check(inclusion_table(result, with_keys=with_keys), policy), reused, policy)
    return ProtectedCirceResult(
        query_hash=result.query_hash, node=result.node, purpose=result.purpose,
        persons=reuse_cell(check(total, policy).cells[0], reused.get(TOTAL_CELL), policy),
        inclusion=inclusion, rule_names=names,
        disclosure=f"{policy.name} (sha256 {policy.sha256})", policy_name=policy.name,
        policy_sha256=policy.sha256, threshold=policy.threshold, opt_outs=result.opt_outs,
        withheld=tuple(withheld),
    )
