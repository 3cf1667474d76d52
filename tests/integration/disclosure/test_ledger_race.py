"""Two near-identical questions answered at the same moment at one node: the check and the
recording of a release are apart (disclosure control runs between them), so both could be
planned as new populations and their two fresh answers would differ by a handful of persons. The
second to record re-plans under the node's ledger lock and is withheld instead; asked again, it
gets the first one's value. Control: two questions far apart both record."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from phta.disclosure import load_policy
from phta.execution.ledger import ledger_check
from phta.execution.policy import TOTAL_CELL, ReleaseCandidate, ReleaseWithheld

POLICY = load_policy("feasibility")
REQUEST = SimpleNamespace(node="XG001", purpose=SimpleNamespace(code="network_feasibility"))


def candidate(ids: range, query_hash: str) -> ReleaseCandidate:
    return ReleaseCandidate(REQUEST, query_hash, frozenset(ids), keys={TOTAL_CELL: 0.25})  # type: ignore[arg-type]


def test_the_second_of_two_simultaneous_near_identical_releases_is_withheld_then_reused(tmp_path):
    check = ledger_check(tmp_path, POLICY, "network_feasibility")
    everyone, all_but_three = candidate(range(1000, 1200), "a" * 64), candidate(range(1003, 1200), "b" * 64)
    first, second = check(everyone), check(all_but_three)  # both planned before either records
    assert first.reused == {} and second.reused == {}
    first()
    with pytest.raises(ReleaseWithheld, match="same moment"):
        second()
    again = check(all_but_three)  # asked again: the earlier population's value, nothing new recorded
    assert again.reused[TOTAL_CELL].source == "earlier" and again.reused[TOTAL_CELL].count == 200
    again()


def test_simultaneous_releases_far_apart_both_record(tmp_path):
    check = ledger_check(tmp_path, POLICY, "network_feasibility")
    a, b = check(candidate(range(1000, 1200), "c" * 64)), check(candidate(range(5000, 5300), "d" * 64))
    a()
    b()  # control: nothing near-identical was recorded meanwhile
    assert check(candidate(range(5000, 5300), "e" * 64)).reused[TOTAL_CELL].count == 300
