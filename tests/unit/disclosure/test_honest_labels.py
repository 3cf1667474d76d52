"""Labels that tell the truth, and the ledger's nearest-population rule (issue 14).

"suppressed (<10)" only for a cell's own small count; a cell hidden by secondary suppression says
"hidden to protect another cell" (the ATLAS page once called a rule of thousands "suppressed");
a reused value says so; a withheld or missing node never adds a 0; a zero under a
small-counts-alike policy is indistinguishable from 1..9 in every field of the output.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phta.disclosure import PublishedCell, check, load_policy
from phta.disclosure.ledger import StoredPopulation, nearest_population
from phta.disclosure.results import Dimension, FrequencyTable
from phta.execution.network import combine, published_json
from phta.execution.release_values import reuse_cells
from phta.web.network_counts import HIDDEN, SAME_AS_EARLIER, shown, shown_node

FEASIBILITY = load_policy("feasibility")


def test_primary_and_secondary_suppression_read_differently():
    table = FrequencyTable(dimensions=(Dimension("rule", ("met", "not met")),), counts=(3, 4000),
                           cell_keys=(0.1, 0.2))
    out = check(table, FEASIBILITY)
    small, big = (c for c in out.cells if not c.is_margin)
    assert shown_node(small, 10) == "suppressed (<10)"
    assert big.suppressed and shown_node(big, 10) == HIDDEN  # it holds thousands: never "<10"
    assert published_json(big)["hidden_to_protect_another_cell"] is True
    network = combine([("A", big), ("B", big)])
    assert shown(network, 10, 2) == HIDDEN


def test_a_reused_value_says_so():
    cell = PublishedCell(("all",), 120, False, False, ("same_as_earlier",))
    assert shown_node(cell, 10) == f"120 ({SAME_AS_EARLIER})"
    assert published_json(cell)["same_as_earlier"] is True
    assert "1 of 2 nodes: same as an earlier answer" in shown(combine([("A", cell), ("B", None)]), 10, 2)


def test_a_node_without_the_cell_adds_nothing_and_is_named():
    cell = PublishedCell(("all",), 120, False)
    network = combine([("A", cell), ("B", None)])
    assert network.value == 120 and network.suppressed_at == ("B",) and not network.suppressed
    assert combine([("B", None)]).suppressed  # nothing published: no sum, never a 0


@given(st.integers(1, 9), st.floats(0, 0.999), st.floats(0, 0.999))
def test_zero_and_small_are_the_same_output_under_feasibility(small, key_small, key_other):
    """Every field of the protected output (values, labels, reasons, decisions' words) is the same
    for a true 0 and a true 1..9 in one cell of a stratum."""
    def out(n, key):
        table = FrequencyTable(dimensions=(Dimension("sex", ("female", "male")),), counts=(500, n),
                               cell_keys=(key_other, key if n else 0.0))
        return check(table, FEASIBILITY)

    zero, some = out(0, key_small), out(small, key_small)
    assert [(c.cell, c.value, c.suppressed, c.reasons) for c in zero.cells if c.cell != ("Total",)] == \
        [(c.cell, c.value, c.suppressed, c.reasons) for c in some.cells if c.cell != ("Total",)]
    primary = [(d.rule, d.outcome, d.explanation) for d in zero.decisions if d.cell == ("male",) and d.rule != "lp_audit"]
    assert primary == [(d.rule, d.outcome, d.explanation) for d in some.decisions
                       if d.cell == ("male",) and d.rule != "lp_audit"]
    # the LP audit's words hold exact values: they never leave under a standing purpose
    assert reuse_cells(zero, {}, FEASIBILITY).decisions == ()


def test_project_outputs_keep_their_decisions_for_the_checkers():
    table = FrequencyTable(dimensions=(Dimension("sex", ("female", "male")),), counts=(500, 3))
    policy = load_policy("project")
    assert reuse_cells(check(table, policy), {}, policy).decisions


def _stored(label, members, key=None):
    return StoredPopulation("r", "p", label, frozenset(members), key)


def test_nearest_population_is_the_closest_within_the_threshold_earliest_on_a_tie():
    base = {f"d{i}" for i in range(50)}
    near, nearer, far = _stored("near", base - {"d1", "d2"}), _stored("nearer", base - {"d1"}), _stored("far", set())
    assert nearest_population(frozenset(base), [near, nearer, far], 10) is nearer
    assert nearest_population(frozenset(base), [near, _stored("tie", base - {"d3", "d4"})], 10) is near
    assert nearest_population(frozenset(base), [_stored("ten off", base - {f"d{i}" for i in range(10)})], 10) is None
    assert nearest_population(frozenset(base), [_stored("same", base)], 10).label == "same"


def test_a_level_a_node_does_not_list_reads_suppressed_where_zeros_are_hidden():
    assert shown_node(None, 10, zeros_hidden=True) == "suppressed (<10)"
    assert shown_node(None, 10) == "0"  # a project's published zero
