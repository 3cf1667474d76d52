"""How the hub combines the sites' protected answers (pure: phta.federation.aggregate.combine)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.federation.aggregate import combine
from phta.federation.protocol import Result


def _site(node: str, total: dict, *, share: bool = False, strata: dict | None = None) -> Result:
    return Result(f"t-{node}", node, "completed",
                  answer={"total": total, "strata": strata or {}, "policy": {"threshold": 10},
                          "share_site_figures": share})


def test_below_threshold_sites_add_nothing_and_are_named():
    answer = combine(["a", "b", "c"], {"a": _site("a", {"value": 120}), "b": _site("b", {"below": 10}),
                                       "c": _site("c", {"value": 30})})
    assert answer.total == 150 and answer.below_threshold_at == ["b"]
    assert answer.to_dict()["total"] == {"value": 150, "below_threshold_at": ["b"], "lower_bound": True}


def test_missing_refused_and_not_taken_part_sites_are_named_apart():
    answers = {"a": _site("a", {"value": 40}), "b": Result("t-b", "b", "refused", reason="policy"),
               "c": Result("t-c", "c", "not_taken_part", reason="unknown concept")}
    answer = combine(["a", "b", "c", "d"], answers)
    assert answer.total == 40 and answer.missing == ["d"]
    assert answer.refused == [{"node": "b", "reason": "policy"}]
    assert answer.not_taken_part == [{"node": "c", "reason": "unknown concept"}]


def test_site_figures_only_when_every_contributing_site_consents():
    both = {"a": _site("a", {"value": 40}, share=True), "b": _site("b", {"value": 20}, share=True)}
    assert [s["node"] for s in combine(["a", "b"], both).sites] == ["a", "b"]
    one = both | {"b": _site("b", {"value": 20}, share=False)}
    assert combine(["a", "b"], one).sites is None


def test_strata_sum_published_cells_and_name_suppressed_ones():
    answers = {"a": _site("a", {"value": 40}, strata={"sex": {"female": {"value": 20}, "male": {"below": 10}}}),
               "b": _site("b", {"value": 50}, strata={"sex": {"female": {"value": 30}, "male": {"value": 20}}})}
    sex = combine(["a", "b"], answers).strata["sex"]
    assert sex["female"] == {"value": 50, "below_threshold_at": []}
    assert sex["male"] == {"value": 20, "below_threshold_at": ["a"]}


cells = st.one_of(st.builds(lambda v: {"value": v}, st.integers(1, 50).map(lambda n: n * 10)),
                  st.just({"below": 10}))


@settings(max_examples=50)
@given(st.lists(cells, min_size=1, max_size=6))
def test_the_total_is_exactly_the_sum_of_published_values(totals):
    nodes = [f"n{i}" for i in range(len(totals))]
    answer = combine(nodes, {n: _site(n, t) for n, t in zip(nodes, totals, strict=True)})
    assert answer.total == sum(t.get("value", 0) for t in totals)
    assert answer.below_threshold_at == [n for n, t in zip(nodes, totals, strict=True) if "below" in t]
