"""Published values that say no more than they must: earlier answers reused, levels fixed.

Two helpers of the disclosure hooks (``phta.execution.governed.protect`` and
``phta.execution.circe_disclosure.protect_circe``):

* **reuse** — the release ledger (``phta.execution.ledger.plan_release``) matches a count cell
  whose persons lie within the threshold of an earlier released population (or of the node's
  whole population) with that population; the cell is then published as THAT population's
  protected value: its size and cell key run through the same policy, so the answer is exactly
  the earlier one. The difference of the two answers is zero whichever few persons differ, and
  nobody is refused. The cell's ``reasons`` say so (``same_as_earlier`` / ``same_as_node``), and
  pages label it.
* **reference levels** — under a policy where small counts look alike, a stratum lists the same
  levels whoever is in the cohort, so a level's absence cannot say "nobody here".
"""

from __future__ import annotations

from dataclasses import replace

from phta.cdm import uk
from phta.disclosure import Policy, ProtectedOutput, PublishedCell, check
from phta.disclosure.results import Dimension, FrequencyTable
from phta.execution.policy import Reuse
from phta.query import ir

#: the reason a reused cell carries, by where its value came from
REUSE_REASONS = {"earlier": "same_as_earlier", "node": "same_as_node"}


def protected_value(count: int, cell_key: float | None, policy: Policy) -> int | float | None:
    """What ``policy`` publishes for a population of ``count`` persons with this cell key."""
    perturbs = policy.perturbation == "cell_key"
    table = FrequencyTable(dimensions=(Dimension("cohort", ("all",)),), counts=(count,), publish_margins=False,
                           cell_keys=(cell_key,) if perturbs and cell_key is not None else None)
    return check(table, policy).cells[0].value


def reuse_cell(cell: PublishedCell, reuse: Reuse | None, policy: Policy) -> PublishedCell:
    """``cell`` published as the reused population's value (a suppressed cell stays suppressed)."""
    if reuse is None or cell.suppressed:
        return cell
    return replace(cell, value=protected_value(reuse.count, reuse.cell_key, policy),
                   reasons=(*cell.reasons, REUSE_REASONS[reuse.source]))


def reuse_cells(output: ProtectedOutput, reused: dict[tuple[str, ...], Reuse], policy: Policy,
                margin: PublishedCell | None = None) -> ProtectedOutput:
    """``output`` with each reused cell's value replaced; with ``margin`` (the cohort's published
    total), a one-way table's total margin repeats it, as the same persons must read the same."""
    cells = []
    for cell in output.cells:
        if cell.is_margin and margin is not None and not cell.suppressed and not margin.suppressed:
            cells.append(replace(cell, value=margin.value, reasons=margin.reasons))
        else:
            cells.append(reuse_cell(cell, reused.get(cell.cell), policy))
    # The decisions record exact values (the attacker's LP interval is computed on the true
    # counts; a "rounded" decision appears only where rounding changed the count): kept for an
    # output checker of project outputs, never shipped under a standing purpose.
    decisions = () if policy.small_counts_alike else output.decisions
    return replace(output, cells=tuple(cells), decisions=decisions)


def reference_levels(stratum: str, cohort: ir.Cohort | None) -> tuple[str, ...]:
    """The levels a stratum always lists under a small-counts-alike policy (levels seen in the
    cohort are added after them: "unknown" and sites, which have no fixed list)."""
    if stratum == "sex":
        return tuple(dict.fromkeys(uk.SEX_OF_GENDER.values()))
    if stratum == "imd_quintile":
        return tuple(str(q) for q in range(1, 6))
    if stratum == "ethnic_group":
        return uk.ONS_ETHNIC_GROUPS
    if stratum == "age_band":
        bounds = cohort.age_bands if cohort is not None else ir.Cohort.__dataclass_fields__["age_bands"].default
        ages = ([bounds[0] - 1] if bounds[0] > 0 else []) + list(bounds)
        return tuple(dict.fromkeys(ir.age_band_label(a, bounds) for a in ages))
    return ()
