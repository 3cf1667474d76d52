"""The primary rules and their stated defaults (docs/disclosure-control.md)."""

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phta.disclosure.check import check
from phta.disclosure.decisions import ProtectedOutput
from phta.disclosure.policy import BUILT_INS, Policy, PolicyError, load_policy, round_count
from phta.disclosure.results import (
    TOTAL,
    Coefficient,
    Dimension,
    FrequencyTable,
    MagnitudeTable,
    ModelCoefficients,
    PercentilePoint,
    Percentiles,
    ResultError,
    TimeSeries,
    from_json,
    to_json,
)

SEX = Dimension("sex", ("F", "M"))


def test_defaults_are_the_documented_ones():
    p = load_policy("default")
    assert (p.threshold, p.rounding, p.rounding_base) == (10, "base", 5)
    assert (p.dominance_n, p.dominance_k, p.p_percent) == (2, 0.90, 0.10)
    assert (p.zeros, p.min_residual_df, p.secondary_suppression, p.differencing) == ("allow", 10, True, "block")


def test_threshold_suppresses_fewer_than_ten_persons():
    out = check(FrequencyTable(dimensions=(Dimension("g", ("a", "b", "c")),), counts=(9, 10, 40), publish_margins=False), Policy())
    assert out.suppressed_cells() == {("a",)}
    [decision] = [d for d in out.decisions if d.rule == "threshold"]
    assert decision.cell == ("a",) and decision.parameters == {"threshold": 10} and decision.outcome == "suppress"
    assert "fewer than 10 persons" in decision.explanation


def test_base_five_rounding_and_totals_rounded_from_exact_values():
    out = check(FrequencyTable(dimensions=(Dimension("g", ("a", "b", "c")),), counts=(12, 12, 12)), Policy())
    values = {c.cell: c.value for c in out.cells}
    assert values[("a",)] == 10  # 12 -> 10
    assert values[(TOTAL,)] == 35  # round(36), not 10+10+10
    assert [round_count(n, "base", 5) for n in (0, 2, 3, 7, 8, 12, 13)] == [0, 0, 5, 5, 10, 10, 15]


def test_midpoint_six_rounding_matches_opensafely_mapping():
    assert [round_count(n, "midpoint", 6) for n in (0, 1, 6, 7, 12, 13)] == [0, 3, 3, 9, 9, 15]
    assert load_policy("opensafely-midpoint6").round_count(8) == 9


@pytest.mark.parametrize("zeros, suppressed", [("allow", set()), ("suppress", {("b",)})])
def test_zeros_policy(zeros, suppressed):
    table = FrequencyTable(dimensions=(Dimension("g", ("a", "b", "c")),), counts=(20, 0, 30), publish_margins=False)
    assert check(table, Policy(zeros=zeros)).suppressed_cells() == suppressed


def test_structural_zeros_are_published_even_when_zeros_are_suppressed():
    table = FrequencyTable(dimensions=(SEX, Dimension("pregnant", ("yes", "no"))), counts=(20, 30, 0, 50),
                           structural_zeros={(1, 0)})
    out = check(table, Policy(zeros="suppress"))
    assert out.suppressed_cells() == set()
    assert any(d.rule == "structural_zero" for d in out.decisions)


def magnitude(values_per_cell, statistic="sum"):
    return MagnitudeTable(
        dimensions=(Dimension("site", tuple(f"s{i}" for i in range(len(values_per_cell)))),),
        sums=tuple(sum(v) for v in values_per_cell),
        contributors=tuple(len(v) for v in values_per_cell),
        top_values=tuple(tuple(sorted(v, reverse=True)[:3]) for v in values_per_cell),
        statistic=statistic, publish_margins=False,
    )


def test_dominance_n_k_rule():
    out = check(magnitude([[1000, 900] + [10] * 10, [100] * 12]), Policy())
    assert out.suppressed_cells("dominance") == {("s0",)}  # 1900 / 2000 = 95% >= 90%
    assert out.suppressed_cells("p_percent") == set()  # the rest, 100, is exactly 10% of 1000: not below


def test_p_percent_without_dominance():
    # with K=90% any p%-failure is also an N-K failure; with K=95% the top two make 94.6% of
    # the total (no N-K) while the rest (80) is under 10% of the largest (1000)
    values = [1000, 400] + [8] * 10
    out = check(magnitude([values, [100] * 12]), Policy(dominance_k=0.95))
    assert out.suppressed_cells("dominance") == set()
    assert out.suppressed_cells("p_percent") == {("s0",)}


def test_magnitude_threshold_counts_contributors_and_negative_values_go_to_review():
    table = MagnitudeTable(dimensions=(Dimension("g", ("a", "b")),), sums=(50.0, 100.0), contributors=(5, 12),
                           top_values=((20.0, 10.0), (20.0, 15.0)), negative_contributors=(0, 2), publish_margins=False)
    out = check(table, Policy())
    assert out.suppressed_cells("threshold") == {("a",)}
    assert out.suppressed_cells("negative_values") == {("b",)}
    assert out.status == "review"


def test_sum_tables_get_secondary_suppression_and_mean_tables_publish_means():
    sums = magnitude([[1000, 900] + [10] * 10, [100] * 12, [90] * 15])
    sums = dataclasses.replace(sums, publish_margins=True)
    out = check(sums, Policy())
    assert len(out.suppressed_cells()) >= 2
    means = check(magnitude([[100] * 12, [30] * 20], statistic="mean"), Policy())
    assert {c.cell: c.value for c in means.cells} == {("s0",): 100.0, ("s1",): 30.0}


def test_extreme_percentiles_of_fewer_than_threshold_persons_are_suppressed():
    result = Percentiles("age", 200, (
        PercentilePoint(0, 18, 1, 200), PercentilePoint(1, 19, 3, 198), PercentilePoint(50, 51, 100, 101),
        PercentilePoint(99, 95, 198, 2), PercentilePoint(100, 101, 200, 1),
    ))
    out = check(result, Policy())
    assert out.suppressed_cells() == {("p0",), ("p1",), ("p99",), ("p100",)}
    assert {c.cell: c.value for c in out.cells}[("p50",)] == 51
    assert check(Percentiles("age", 8, (PercentilePoint(50, 51, 4, 4),)), Policy()).status == "suppressed"


def test_models_need_ten_residual_degrees_of_freedom():
    coefs = (Coefficient("(Intercept)", 1.0, 0.1), Coefficient("age", 0.02, 0.01))
    assert check(ModelCoefficients("ols", coefs, residual_df=9, persons=12), Policy()).status == "suppressed"
    ok = check(ModelCoefficients("ols", coefs, residual_df=10, persons=12), Policy())
    assert ok.status == "pass" and [c.value for c in ok.cells] == [1.0, 0.02]


def test_time_series_has_no_total_and_is_thresholded():
    out = check(TimeSeries(("2024-01", "2024-02"), (25, 4)), Policy())
    assert out.kind == "time_series" and out.suppressed_cells() == {("2024-02",)}
    assert not any(c.is_margin for c in out.cells)


def test_every_output_carries_the_policy_and_its_hash_and_serialises():
    out = check(FrequencyTable(dimensions=(SEX,), counts=(30, 3)), Policy())
    data = json.loads(out.to_json())
    assert data["policy"]["threshold"] == 10 and data["policy_sha256"] == Policy().sha256
    assert data["status"] == "suppressed"
    assert "fewer than 10 persons" in out.explain()
    assert Policy(threshold=11).sha256 != Policy().sha256
    # suppressed values never travel in the output
    assert all(c["value"] is None for c in data["cells"] if c["suppressed"])
    assert ProtectedOutput.from_json(out.to_json()) == out
    everything_hidden = check(FrequencyTable(dimensions=(SEX,), counts=(3, 4)), Policy())
    assert "Infinity" not in everything_hidden.to_json()  # strict JSON, even for unbounded intervals


counts = st.lists(st.integers(0, 1000), min_size=2, max_size=6)


@given(counts)
def test_results_round_trip_through_json(values):
    table = FrequencyTable(dimensions=(Dimension("g", tuple(f"l{i}" for i in range(len(values)))),), counts=tuple(values))
    assert from_json(to_json(table)) == table
    series = TimeSeries(tuple(f"p{i}" for i in range(len(values))), tuple(values))
    assert from_json(to_json(series)) == series


def test_other_results_round_trip():
    items = [
        magnitude([[5, 3, 1], [7, 2]]),
        Percentiles("age", 100, (PercentilePoint(50, 40.5, 50, 51),)),
        ModelCoefficients("logit", (Coefficient("x", 0.5, 0.1),), 40, 45),
        FrequencyTable(dimensions=(SEX, Dimension("p", ("y", "n"))), counts=(1, 2, 0, 4), structural_zeros={(1, 0)}),
    ]
    for item in items:
        assert from_json(to_json(item)) == item


def test_bad_results_name_the_field():
    with pytest.raises(ResultError, match="counts"):
        FrequencyTable(dimensions=(SEX,), counts=(1,))
    with pytest.raises(ResultError, match=r"counts\[sex=M\]"):
        FrequencyTable(dimensions=(SEX,), counts=(1, -2))
    with pytest.raises(ResultError, match="kind"):
        from_json('{"kind": "spreadsheet"}')
    with pytest.raises(ResultError, match="line 1"):
        from_json("{")


def test_policy_files_with_node_overrides(tmp_path):
    path = tmp_path / "region.yaml"
    path.write_text("name: region\nthreshold: 12\ndifferencing: review\nnodes:\n  uhb: {threshold: 20, differencing: block}\n")
    assert load_policy(path).threshold == 12
    node = load_policy(path, node="uhb")
    assert (node.threshold, node.differencing, node.rounding_base) == (20, "block", 5)
    (tmp_path / "p.json").write_text(json.dumps({"extends": "opensafely-midpoint6", "threshold": 8}))
    assert load_policy(tmp_path / "p.json").rounding == "midpoint"
    (tmp_path / "bad.yaml").write_text("threshhold: 3\n")
    with pytest.raises(PolicyError, match="threshhold"):
        load_policy(tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("threshold: ten\n")
    with pytest.raises(PolicyError, match="threshold"):
        load_policy(tmp_path / "bad2.yaml")
    with pytest.raises(PolicyError, match="built-in"):
        load_policy("no-such-policy")
    assert set(BUILT_INS) >= {"default", "opensafely-midpoint6"}


@given(st.lists(st.integers(10, 500), min_size=2, max_size=6), st.sampled_from(["base", "midpoint"]))
def test_every_count_is_rounded_from_its_exact_value(values, method):
    policy = Policy(rounding=method, rounding_base=5 if method == "base" else 6)
    table = FrequencyTable(dimensions=(Dimension("g", tuple(f"l{i}" for i in range(len(values)))),), counts=tuple(values))
    published = {c.cell: c.value for c in check(table, policy).cells}
    assert published[(TOTAL,)] == policy.round_count(sum(values))
    for i, v in enumerate(values):
        assert published[(f"l{i}",)] == policy.round_count(v)
        assert abs(published[(f"l{i}",)] - v) <= policy.rounding_base / 2


def test_every_policy_governance_names_is_a_built_in():
    # phta.governance.purposes names these for its standing purposes and for project grants
    for name in ("project", "feasibility", "custodian", "public", "beacon"):
        assert load_policy(name).name == name
    assert load_policy("feasibility").perturbation == "cell_key"  # security property 4
