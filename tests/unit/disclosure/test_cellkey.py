"""Cell-key perturbation: the same persons always get the same noise (security property 4)."""

import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phta.disclosure.cellkey import (
    PTable,
    PTableError,
    PTableRow,
    cell_key,
    default_ptable,
    perturb,
    record_key,
)
from phta.disclosure.check import check
from phta.disclosure.policy import Policy
from phta.disclosure.results import Dimension, FrequencyTable, ResultError

KEY = b"secret node key"
pseudonyms = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=60, unique=True)


def test_record_keys_are_keyed_stable_and_in_unit_interval():
    k = record_key("PSEUDO-1", KEY)
    assert 0 <= k < 1 and k == record_key("PSEUDO-1", KEY)
    assert k != record_key("PSEUDO-1", b"another key")
    with pytest.raises(ValueError):
        record_key("PSEUDO-1", b"")


@given(pseudonyms, st.randoms())
def test_cell_key_depends_on_the_persons_not_on_their_order(names, rnd):
    keys = [record_key(n, KEY) for n in names]
    shuffled = keys[:]
    rnd.shuffle(shuffled)
    assert cell_key(keys) == cell_key(shuffled)
    assert 0 <= cell_key(keys) < 1


@given(pseudonyms, st.randoms())
def test_same_persons_same_noise_however_the_query_is_phrased(names, rnd):
    ptable = default_ptable()
    first = perturb(len(names), cell_key(record_key(n, KEY) for n in names), ptable)
    rnd.shuffle(names)  # a re-phrased query returns the same persons in another order
    assert perturb(len(names), cell_key(record_key(n, KEY) for n in names), ptable) == first
    assert first >= 1  # a populated cell is never shown as empty


def test_averaging_many_repeats_does_not_converge_to_the_true_count():
    names = [f"P{i}" for i in range(137)]
    ptable = default_ptable()
    # find a population whose noise is not zero (a third of them, with this ptable)
    for size in range(100, 137):
        true = size
        noisy = perturb(true, cell_key(record_key(n, KEY) for n in names[:size]), ptable)
        if noisy != true:
            break
    repeats = []
    for _ in range(2000):
        order = names[:size]
        random.shuffle(order)
        repeats.append(perturb(true, cell_key(record_key(n, KEY) for n in order), ptable))
    assert statistics.mean(repeats) == noisy != true
    # by contrast, fresh random noise on each run would average away
    rng = random.Random(1)
    fresh = [true + rng.choice([-2, -1, -1, 0, 0, 0, 1, 1, 2]) for _ in range(2000)]
    assert abs(statistics.mean(fresh) - true) < 0.2


def test_default_ptable_keeps_zeros_and_never_goes_negative():
    ptable = default_ptable()
    for count in range(0, 20):
        for k in (0.0, 0.1, 0.33, 0.5, 0.77, 0.999999):
            value = perturb(count, k, ptable)
            assert value >= 0 and abs(value - count) <= 2
            assert (value == 0) == (count == 0)


def test_bad_ptables_are_rejected():
    with pytest.raises(PTableError):
        PTable((PTableRow(0, (0,), (1.0,)), PTableRow(1, (-2, 0), (0.5, 1.0))))
    with pytest.raises(PTableError):
        PTable((PTableRow(0, (0,), (0.9,)),))


def test_check_perturbs_cells_and_margins_by_their_cell_keys():
    rng = random.Random(7)
    counts = (40, 35, 52, 61)
    keys = tuple(rng.random() for _ in counts)
    table = FrequencyTable(dimensions=(Dimension("a", ("x", "y")), Dimension("b", ("p", "q"))), counts=counts,
                           cell_keys=keys)
    policy = Policy(perturbation="cell_key", rounding="none")
    out = check(table, policy)
    assert out == check(table, policy)
    values = {c.cell: c.value for c in out.cells}
    assert values[("x", "p")] == perturb(40, keys[0], default_ptable())
    assert values[("Total", "Total")] == perturb(188, cell_key(keys), default_ptable())
    with pytest.raises(ResultError, match="cell_keys"):
        check(FrequencyTable(dimensions=(Dimension("a", ("x",)),), counts=(40,)), policy)
