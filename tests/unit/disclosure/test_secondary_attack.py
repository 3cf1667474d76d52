"""Secondary suppression against an independent attacker: a linear program over what is published.

For every protected table the attacker knows every published cell and margin exactly (stronger
than reality: published values are rounded), the line equations and non-negativity. For each
suppressed cell it minimises and maximises the cell; the interval must be wider than the threshold.
"""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from phta.disclosure.check import check
from phta.disclosure.policy import Policy
from phta.disclosure.results import TOTAL, Dimension, FrequencyTable, MagnitudeTable


def exact_values(table, value_of=None) -> dict[tuple[str, ...], float]:
    """Every cell's and margin's exact value, keyed by labels."""
    value_of = value_of or table.count
    exact = {}
    for index in itertools.product(*([*range(n), -1] for n in table.shape)):
        ranges = [range(n) if i < 0 else [i] for i, n in zip(index, table.shape, strict=True)]
        exact[table.labels(index)] = sum(value_of(inner) for inner in itertools.product(*ranges))
    return exact


def attack(table, output, value_of=None) -> dict[tuple[str, ...], tuple[float, float]]:
    """Independent of phta.disclosure.secondary: rebuild the equations from labels."""
    exact = exact_values(table, value_of)
    published = {c.cell: c for c in output.cells}
    unknown = sorted(label for label, c in published.items() if c.suppressed)
    pos = {label: i for i, label in enumerate(unknown)}
    rows, rhs = [], []
    for axis, dim in enumerate(table.dimensions):
        other_levels = [[*d.levels, TOTAL] for i, d in enumerate(table.dimensions) if i != axis]
        for rest in itertools.product(*other_levels):
            def at(level, rest=rest, axis=axis):
                return (*rest[:axis], level, *rest[axis:])
            coeff, known = np.zeros(len(unknown)), 0.0
            for label, sign in [*((at(lv), 1.0) for lv in dim.levels), (at(TOTAL), -1.0)]:
                if label in pos:
                    coeff[pos[label]] += sign
                else:
                    known += sign * exact[label]
            if coeff.any():
                rows.append(coeff)
                rhs.append(-known)
    intervals = {}
    for label, i in pos.items():
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[i] = sign
            res = linprog(c, A_eq=np.array(rows) if rows else None, b_eq=np.array(rhs) if rows else None,
                          bounds=[(0, None)] * len(unknown), method="highs")
            ends.append((-math.inf if sign > 0 else math.inf) if res.status == 3 else sign * res.fun)
        intervals[label] = (ends[0], ends[1])
    return intervals


@st.composite
def tables(draw, max_dims=2):
    ndim = draw(st.integers(1, max_dims))
    shape = [draw(st.integers(2, 4)) for _ in range(ndim)]
    small = st.integers(0, 12)
    mixed = st.one_of(small, st.integers(0, 80))
    counts = draw(st.lists(mixed, min_size=math.prod(shape), max_size=math.prod(shape)))
    dims = tuple(Dimension(f"d{i}", tuple(f"l{j}" for j in range(n))) for i, n in enumerate(shape))
    return FrequencyTable(dimensions=dims, counts=tuple(counts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_suppressed_cell_can_be_narrowed_below_the_threshold(table):
    policy = Policy()
    output = check(table, policy)
    for label, (low, high) in attack(table, output).items():
        assert high - low > policy.threshold, f"{label} confined to [{low}, {high}]"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 30), min_size=8, max_size=8))
def test_three_dimensional_tables_are_protected_too(counts):
    dims = (Dimension("a", ("x", "y")), Dimension("b", ("p", "q")), Dimension("c", ("u", "v")))
    table = FrequencyTable(dimensions=dims, counts=tuple(counts))
    output = check(table, Policy())
    for label, (low, high) in attack(table, output).items():
        assert high - low > 10, f"{label} confined to [{low}, {high}]"


def test_every_primary_cell_is_suppressed_and_big_cells_survive_when_possible():
    table = FrequencyTable(
        dimensions=(Dimension("age", ("0-39", "40-59", "60+")), Dimension("sex", ("F", "M"))),
        counts=(3, 50, 40, 45, 30, 30),
    )
    output = check(table, Policy())
    assert ("0-39", "F") in output.suppressed_cells("threshold")
    assert output.suppressed_cells() - output.suppressed_cells("threshold") == output.suppressed_cells("secondary")
    published = {c.cell: c.value for c in output.cells}
    assert published[(TOTAL, TOTAL)] == 200
    assert published[("40-59", "F")] == 40


def test_without_margins_there_is_nothing_to_recover_from():
    table = FrequencyTable(dimensions=(Dimension("a", ("x", "y", "z")),), counts=(3, 50, 60), publish_margins=False)
    output = check(table, Policy())
    assert output.suppressed_cells() == {("x",)}
    assert all(not c.is_margin for c in output.cells)


def test_the_attacker_does_recover_a_cell_when_secondary_suppression_is_off():
    """The attack is real: without complementary suppression the lone small cell is exact."""
    table = FrequencyTable(dimensions=(Dimension("a", ("x", "y", "z")),), counts=(3, 50, 60))
    output = check(table, Policy(secondary_suppression=False))
    assert attack(table, output) == {("x",): (3.0, 3.0)}


@st.composite
def sum_tables(draw):
    rows, cols = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    dims = (Dimension("r", tuple(f"r{i}" for i in range(rows))), Dimension("c", tuple(f"c{j}" for j in range(cols))))
    cells = [draw(st.lists(st.integers(1, 500), min_size=1, max_size=25)) for _ in range(rows * cols)]
    return MagnitudeTable(dimensions=dims, sums=tuple(sum(c) for c in cells), contributors=tuple(len(c) for c in cells),
                          top_values=tuple(tuple(sorted(c, reverse=True)[:3]) for c in cells))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sum_tables())
def test_suppressed_sums_cannot_be_estimated_within_p_percent(table):
    policy = Policy()
    output = check(table, policy)
    exact = exact_values(table, lambda index: table.sums[table.flat(index)])
    for label, (low, high) in attack(table, output, lambda index: table.sums[table.flat(index)]).items():
        assert high - low > policy.p_percent * exact[label], f"{label} confined to [{low}, {high}]"


def attack_means(table, output):
    """The attacker of a mean table knows every published mean *and* every cell's and margin's
    contributor count (a mean table usually travels with them), so each published mean times its
    count is a known sum: the sums attack, then each interval divided by the cell's count."""
    counts = exact_values(table, lambda index: table.contributors[table.flat(index)])
    sums = exact_values(table, lambda index: table.sums[table.flat(index)])
    published = {c.cell: c for c in output.cells}
    for label, cell in published.items():
        if not cell.suppressed:  # what the attacker reads back from the page, not the exact sum
            assert cell.value == pytest.approx(sums[label] / counts[label])
    return {label: (low / counts[label], high / counts[label])
            for label, (low, high) in attack(table, output, lambda index: table.sums[table.flat(index)]).items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sum_tables())
def test_suppressed_means_cannot_be_estimated_within_p_percent(table):
    table = dataclasses.replace(table, statistic="mean")
    policy = Policy()
    output = check(table, policy)
    sums = exact_values(table, lambda index: table.sums[table.flat(index)])
    counts = exact_values(table, lambda index: table.contributors[table.flat(index)])
    for label, (low, high) in attack_means(table, output).items():
        exact_mean = sums[label] / counts[label]
        assert high - low > policy.p_percent * exact_mean, f"mean {label} confined to [{low}, {high}]"


def test_a_lone_suppressed_mean_is_recovered_without_secondary_suppression():
    """The attack on means is real: one small cell, published margins, and its mean is exact."""
    dims = (Dimension("g", ("a", "b", "c")),)
    table = MagnitudeTable(dimensions=dims, sums=(40.0, 900.0, 1200.0), contributors=(4, 30, 40),
                           top_values=((11.0, 10.0), (40.0, 39.0), (35.0, 34.0)), statistic="mean")
    unprotected = check(table, Policy(secondary_suppression=False))
    assert unprotected.suppressed_cells() == {("a",)}
    assert attack_means(table, unprotected)[("a",)] == pytest.approx((10.0, 10.0))
    protected = check(table, Policy())
    assert protected.suppressed_cells("secondary")
    for label, (low, high) in attack_means(table, protected).items():
        assert high - low > 0.1 * 10.0, f"mean {label} confined to [{low}, {high}]"
