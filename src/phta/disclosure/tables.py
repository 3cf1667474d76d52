"""Protect frequency and magnitude tables: primary rules, secondary suppression, noise, rounding.

Order matters and is deliberate:
1. primary rules on every cell *and* every margin (a total of 3 persons is as disclosive as a
   cell of 3), computed from the unrounded data;
2. secondary suppression over cells and margins, audited by the LP attack (``secondary``);
3. cell-key perturbation of the published counts (if the policy asks for it);
4. rounding of every published count independently — totals are rounded from their exact
   value, not summed from rounded cells.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from phta.disclosure import secondary
from phta.disclosure.cellkey import PTable, cell_key, default_ptable, perturb
from phta.disclosure.decisions import Decision, ProtectedOutput, PublishedCell
from phta.disclosure.policy import Policy
from phta.disclosure.results import FrequencyTable, MagnitudeTable, ResultError

Cell = tuple[int, ...]


def _cells(shape: tuple[int, ...], margins: bool) -> list[Cell]:
    ranges = [range(n + 1 if margins else n) for n in shape]
    return list(itertools.product(*ranges))


def _label(table, cell: Cell) -> tuple[str, ...]:
    return table.labels(tuple(-1 if i == n else i for i, n in zip(cell, table.shape, strict=True)))


def _secondary(
    table, aug: np.ndarray, primary: set[Cell], required: dict[Cell, float], known: set[Cell],
    policy: Policy, lower_bound: float, decisions: list[Decision], reasons: dict[Cell, list[str]],
) -> set[Cell]:
    if not (table.publish_margins and policy.secondary_suppression and primary):
        return set(primary)
    hidden, intervals = secondary.protect(aug, primary, required, known=known, lower_bound=lower_bound)
    for cell in sorted(hidden - primary):
        low, high = intervals[cell]
        decisions.append(Decision(
            _label(table, cell), "secondary", {"required_width": required.get(cell, 0.0)}, "suppress",
            "suppressed to protect another suppressed cell: otherwise it could be recovered from the "
            "published totals",
        ))
        reasons[cell].append("secondary")
    for cell in sorted(hidden):
        low, high = intervals[cell]
        decisions.append(Decision(
            # JSON has no infinity: an unbounded end is null
            _label(table, cell), "lp_audit",
            {"min": _finite(low), "max": _finite(high), "required_width": required.get(cell, 0.0)},
            "suppress",
            f"an attacker using every published value can only place this cell between {low:g} and "
            f"{high:g}" + (" (unbounded)" if high == float("inf") else ""),
        ))
    return hidden


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def protect_frequency(table: FrequencyTable, policy: Policy, ptable: PTable | None = None) -> ProtectedOutput:
    shape, margins = table.shape, table.publish_margins
    values = np.array(table.counts, dtype=float).reshape(shape)
    aug = secondary.augment(values)
    known = {tuple(z) for z in table.structural_zeros}
    decisions: list[Decision] = []
    reasons: dict[Cell, list[str]] = {c: [] for c in _cells(shape, True)}
    primary: set[Cell] = set()
    t = policy.threshold
    for cell in _cells(shape, margins):
        count, label = int(aug[cell]), _label(table, cell)
        if cell in known:
            decisions.append(Decision(label, "structural_zero", {}, "publish",
                                      "a structural zero (an impossible combination) is public knowledge"))
        elif count == 0 and policy.zeros == "allow":
            decisions.append(Decision(label, "zeros", {"zeros": policy.zeros}, "publish",
                                      "a zero is published (policy allows sampling zeros)"))
        elif count < t:
            # With zeros suppressed a zero gets the very same decision as 1..t-1 (rule, words and
            # reasons): a different rule name would itself say "nobody" (an existence flag).
            decisions.append(Decision(label, "threshold", {"threshold": t}, "suppress",
                                      f"fewer than {t} persons: too few to publish"))
            primary.add(cell)
        for rule in [d.rule for d in decisions if d.cell == label and d.outcome == "suppress"]:
            reasons[cell].append(rule)
    required = {c: float(t) for c in _cells(shape, True)}
    hidden = _secondary(table, aug, primary, required, known, policy, 0.0, decisions, reasons)

    keys = None
    if policy.perturbation == "cell_key":
        if table.cell_keys is None:
            raise ResultError("frequency_table: the policy perturbs counts by cell key but the result has no cell_keys")
        keys_arr = np.array(table.cell_keys, dtype=float).reshape(shape)
        keys = {cell: cell_key(keys_arr[tuple(slice(None) if i == n else i for i, n in zip(cell, shape, strict=True))].ravel())
                for cell in _cells(shape, True)}
        ptable = ptable or default_ptable()

    published = []
    for cell in _cells(shape, margins):
        label, count = _label(table, cell), int(aug[cell])
        if cell in hidden:
            published.append(PublishedCell(label, None, True, secondary.is_total(cell, shape), tuple(reasons[cell])))
            continue
        value = count
        if keys is not None and cell not in known:
            value = perturb(count, keys[cell], ptable)
            decisions.append(Decision(label, "cell_key", {"method": "cell_key"}, "perturb",
                                      "noise fixed by the persons in the cell was added, so repeating the query gives the same answer"))
        rounded = value if cell in known else policy.round_count(value)
        if rounded != count:
            decisions.append(Decision(label, "rounding", {"rounding": policy.rounding, "base": policy.rounding_base}, "round",
                                      f"rounded ({policy.rounding}, base {policy.rounding_base}) from its exact value"))
        published.append(PublishedCell(label, rounded, False, secondary.is_total(cell, shape)))
    return ProtectedOutput(table.kind, table.title, tuple(d.name for d in table.dimensions), tuple(published),
                           tuple(decisions), policy.to_dict(), policy.sha256)


def _magnitude_margin(table: MagnitudeTable, cell: Cell) -> tuple[float, int, list[float], int]:
    """Sum, contributors, top values, negatives of a cell or margin (persons are in one cell each)."""
    shape = table.shape
    ranges = [range(n) if i == n else [i] for i, n in zip(cell, shape, strict=True)]
    total, n, tops, negatives = 0.0, 0, [], 0
    for inner in itertools.product(*ranges):
        at = table.flat(inner)
        total += table.sums[at]
        n += table.contributors[at]
        tops.extend(table.top_values[at])
        negatives += table.negative_contributors[at]
    return total, n, sorted(tops, reverse=True), negatives


def protect_magnitude(table: MagnitudeTable, policy: Policy) -> ProtectedOutput:
    shape, margins = table.shape, table.publish_margins
    sums = secondary.augment(np.array(table.sums, dtype=float).reshape(shape))
    decisions: list[Decision] = []
    reasons: dict[Cell, list[str]] = {c: [] for c in _cells(shape, True)}
    primary: set[Cell] = set()
    required: dict[Cell, float] = {}
    stats: dict[Cell, tuple[float, int]] = {}
    t, big_n, k, p = policy.threshold, policy.dominance_n, policy.dominance_k, policy.p_percent
    for cell in _cells(shape, margins):
        label = _label(table, cell)
        total, n, top, negatives = _magnitude_margin(table, cell)
        stats[cell] = (total, n)
        required[cell] = p * abs(total)
        fired: list[tuple[str, dict, str, str]] = []
        if n == 0:
            if policy.zeros == "suppress":
                fired.append(("zeros", {"zeros": policy.zeros}, "suppress", "an empty cell; policy suppresses zeros"))
        elif n < t:
            fired.append(("threshold", {"threshold": t}, "suppress", f"fewer than {t} contributors: too few to publish"))
        if negatives:
            fired.append(("negative_values", {}, "review",
                          "some contributions are negative, so dominance is undefined: a checker must review this cell"))
        elif n:
            top_n = sum(top[:big_n])
            if total > 0 and top_n / total >= k:
                fired.append(("dominance", {"n": big_n, "k": k}, "suppress",
                              f"the largest {big_n} contributions make up {top_n / total:.0%} of the total (limit {k:.0%})"))
            top1 = top[0] if top else 0.0
            top2 = top[1] if len(top) > 1 else 0.0
            if top1 > 0 and (total - top1 - top2) / top1 < p:
                fired.append(("p_percent", {"p": p}, "suppress",
                              f"the second-largest contributor could estimate the largest to within {p:.0%}"))
        for rule, params, outcome, words in fired:
            decisions.append(Decision(label, rule, params, outcome, words))
            reasons[cell].append(rule)
            primary.add(cell)
    # Means get the same complementary suppression as sums: a table of means usually travels with
    # its contributor counts (or beside a count table), and then each mean is a sum divided by a
    # known n, so a suppressed mean is recoverable from the margins exactly as its sum would be.
    # Protecting the sums to within p% protects each mean to within p% of itself.
    lower = -np.inf if any(table.negative_contributors) else 0.0
    hidden = _secondary(table, sums, primary, required, set(), policy, lower, decisions, reasons)
    published = []
    for cell in _cells(shape, margins):
        label = _label(table, cell)
        total, n = stats[cell]
        if cell in hidden:
            published.append(PublishedCell(label, None, True, secondary.is_total(cell, shape), tuple(reasons[cell])))
        else:
            value = total if table.statistic == "sum" else (total / n if n else 0.0)
            published.append(PublishedCell(label, value, False, secondary.is_total(cell, shape)))
    return ProtectedOutput(table.kind, table.title, tuple(d.name for d in table.dimensions), tuple(published),
                           tuple(decisions), policy.to_dict(), policy.sha256, {"statistic": table.statistic})
