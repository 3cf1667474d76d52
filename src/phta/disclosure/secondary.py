"""Secondary (complementary) suppression, audited by the attacker's own linear program.

A table is published with its margins, so the cells of every line (a row, a column, any 1-D
slice of an N-D table) sum to that line's total. Suppressing only the small cells is not enough:
a lone suppressed cell in a line is its total minus the published cells. The method here:

1. *Singleton pass* — while some line has exactly one suppressed member (its total counts as a
   member), suppress another member of that line: the smallest interior cell that is not a
   structural zero (totals only when no interior cell is left).
2. *LP audit* — for every suppressed cell compute the interval an attacker can derive with
   ``scipy.optimize.linprog``: min and max of the cell subject to all published values, all line
   equations and non-negativity. If some interval is not wider than the cell's required
   protection (the threshold for counts), suppress one more cell of a line through that cell
   (preferring one whose value alone can widen the interval) and repeat from 1.

This terminates because every round suppresses one more cell; suppressing everything leaves the
attacker nothing but non-negativity, which bounds no cell from above. The audit is the same attack
the tests mount independently, so what leaves here has passed it.

Cells are addressed in the *augmented* array: shape ``(n1+1, ..., nk+1)`` where index ``n_i`` on
axis ``i`` is that axis's total.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

Cell = tuple[int, ...]


@dataclass(frozen=True)
class Line:
    members: tuple[Cell, ...]
    total: Cell

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (*self.members, self.total)


def augment(values: np.ndarray) -> np.ndarray:
    """Add a total at the end of every axis (margins from the unrounded cells)."""
    out = values.astype(float)
    for axis in range(values.ndim):
        out = np.concatenate([out, out.sum(axis=axis, keepdims=True)], axis=axis)
    return out


def lines(shape: tuple[int, ...]) -> list[Line]:
    """Every additive relation of an augmented table with interior ``shape``."""
    found = []
    for axis, n in enumerate(shape):
        others = [range(m + 1) for i, m in enumerate(shape) if i != axis]
        for rest in itertools.product(*others):
            def at(k: int, rest: tuple[int, ...] = rest, axis: int = axis) -> Cell:
                return (*rest[:axis], k, *rest[axis:])

            found.append(Line(tuple(at(k) for k in range(n)), at(n)))
    return found


def is_total(cell: Cell, shape: tuple[int, ...]) -> bool:
    return any(i == n for i, n in zip(cell, shape, strict=True))


def feasible_intervals(
    table: np.ndarray,
    suppressed: set[Cell],
    relations: list[Line],
    lower_bound: float = 0.0,
) -> dict[Cell, tuple[float, float]]:
    """The attacker's view: for each suppressed cell, [min, max] consistent with what is published."""
    variables = sorted(suppressed)
    if not variables:
        return {}
    position = {cell: i for i, cell in enumerate(variables)}
    rows, rhs = [], []
    for line in relations:
        coefficients = np.zeros(len(variables))
        known = 0.0
        for cell, sign in [*((m, 1.0) for m in line.members), (line.total, -1.0)]:
            if cell in position:
                coefficients[position[cell]] += sign
            else:
                known += sign * table[cell]
        if coefficients.any():
            rows.append(coefficients)
            rhs.append(-known)
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    bounds = [(None if math.isinf(lower_bound) else lower_bound, None)] * len(variables)
    intervals = {}
    for cell, i in position.items():
        objective = np.zeros(len(variables))
        ends = []
        for sign in (1.0, -1.0):
            objective[i] = sign
            result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if result.status == 3:  # unbounded in this direction
                ends.append(-math.inf if sign > 0 else math.inf)
            elif result.status == 0:
                ends.append(sign * result.fun)
            else:  # the published values are consistent by construction; anything else is a bug
                raise RuntimeError(f"linear program for cell {cell} ended with status {result.status}")
        intervals[cell] = (ends[0], ends[1])
    return intervals


def protect(
    table: np.ndarray,
    primary: set[Cell],
    required: dict[Cell, float],
    *,
    known: set[Cell] = frozenset(),
    lower_bound: float = 0.0,
) -> tuple[set[Cell], dict[Cell, tuple[float, float]]]:
    """Cells to suppress (primary plus complementary) and the attacker's final intervals.

    ``table`` is augmented; ``required[cell]`` is the width a suppressed cell's interval must
    exceed (missing -> 0, i.e. merely not exactly recoverable); ``known`` cells (structural
    zeros) are public facts and never chosen.
    """
    shape = tuple(n - 1 for n in table.shape)
    relations = lines(shape)
    suppressed = set(primary)
    candidates = [c for c in itertools.product(*(range(n) for n in table.shape)) if c not in known]

    def cost(cell: Cell) -> tuple:
        return (is_total(cell, shape), table[cell], cell)

    while True:
        _singleton_pass(suppressed, relations, known, cost)
        intervals = feasible_intervals(table, suppressed, relations, lower_bound)
        weak = [c for c in sorted(suppressed) if intervals[c][1] - intervals[c][0] <= required.get(c, 0.0)]
        if not weak:
            return suppressed, intervals
        # widen weak cells whose lines were not widened already this round: fewer rounds of
        # linear programs without suppressing two cells where one may do
        added, touched = False, set()
        for cell in weak:
            need = required.get(cell, 0.0)
            through = [line for line in relations if cell in line.cells]
            if added and any(line in touched for line in through):
                continue
            touched.update(through)
            near = {m for line in through for m in line.cells}
            options = [c for c in near if c not in suppressed and c not in known]
            if not options:
                options = [c for c in candidates if c not in suppressed]
            if options:

                def widening(c: Cell, need: float = need) -> tuple:
                    big_enough = table[c] > need
                    return (is_total(c, shape), not big_enough, table[c] if big_enough else -table[c], c)

                suppressed.add(min(options, key=widening))
                added = True
        if not added:
            return suppressed, intervals


def _singleton_pass(suppressed: set[Cell], relations: list[Line], known: set[Cell], cost) -> None:
    changed = True
    while changed:
        changed = False
        for line in relations:
            hidden = [c for c in line.cells if c in suppressed]
            if len(hidden) != 1:
                continue
            options = [c for c in line.cells if c not in suppressed and c not in known]
            if options:
                suppressed.add(min(options, key=cost))
                changed = True
