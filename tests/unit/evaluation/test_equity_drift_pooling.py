"""Equity (stratified bootstrap, gaps, calibration by group, representativeness), drift, pooling."""

import numpy as np
import pytest
from scipy.special import expit

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.bootstrap import bootstrap, stratified_indices
from phta.evaluation.drift import over_time, psi
from phta.evaluation.equity import (
    by_group,
    calibration_differs_by_group,
    gaps,
    intersect,
    representativeness,
)
from phta.evaluation.pooling import forest_plot_svg, pool


def _cohort(seed, n=3000, biased_group=None):
    rng = np.random.default_rng(seed)
    g = rng.choice(["White", "Asian", "Black"], n, p=[0.7, 0.2, 0.1])
    lp = rng.normal(-1.5, 1.0, n)
    true_lp = lp if biased_group is None else lp + np.where(g == biased_group, 0.9, 0.0)  # under-predicted
    y = (rng.uniform(size=n) < expit(true_lp)).astype(int)
    return expit(lp), y, g


def test_stratified_bootstrap_keeps_every_group_at_its_size():
    groups = np.array(["a"] * 50 + ["tiny"] * 2)
    for idx in stratified_indices(groups, len(groups), 50, np.random.default_rng(0)):
        assert np.count_nonzero(groups[idx] == "tiny") == 2


def test_bootstrap_survives_replicates_where_a_statistic_is_undefined():
    y = np.array([0] * 40 + [1] * 40 + [0, 0, 1])
    g = np.array(["big"] * 80 + ["small"] * 3)
    p = np.linspace(0.05, 0.95, len(y))
    out = gaps(p, y, g, replicates=200)
    small = out["small"]["auroc"]
    # the small group draws no event (or no non-event) in some replicates: those are left out
    assert 0 < small["replicates_used"] < 200
    assert small["ci95"] is not None


def test_bootstrap_reports_missing_values_per_statistic():
    def stat(idx):
        return {"always": 1.0} if idx[0] % 2 else {"always": 1.0, "sometimes": 2.0}

    out = bootstrap(stat, 10, replicates=50, seed=1)
    assert out["always"]["replicates_used"] == 50
    assert 0 < out["sometimes"]["replicates_used"] < 50


def test_calibration_test_detects_a_group_the_model_underpredicts():
    p, y, g = _cohort(1, biased_group="Black")
    assert calibration_differs_by_group(p, y, g)["p_value"] < 0.001
    assert by_group(p, y, g)["Black"]["o_e"] > 1.5


def test_calibration_test_control_finds_nothing_in_a_calibrated_model():
    p, y, g = _cohort(2)
    result = calibration_differs_by_group(p, y, g)
    assert result["df"] == 4 and result["p_value"] > 0.01


def test_gap_interval_excludes_zero_for_the_underpredicted_group_only():
    p, y, g = _cohort(3, biased_group="Asian")
    out = gaps(p, y, g, replicates=200)
    assert out["Asian"]["reference"] == "White"
    assert out["Asian"]["o_e"]["ci95"][0] > 0
    low, high = out["Black"]["o_e"]["ci95"]
    assert low < 0 < high


def test_intersections_join_labels():
    assert intersect(["A", "B"], [1, 2]).tolist() == ["A & 1", "B & 2"]


def test_representativeness_against_reference_shares():
    out = representativeness({"White": 700, "Asian": 200, "Black": 100},
                             {"White": 0.7, "Asian": 0.2, "Black": 0.1})
    assert out["p_value"] == pytest.approx(1.0) and out["groups"]["Asian"]["ratio"] == pytest.approx(1.0)
    skewed = representativeness({"White": 900, "Asian": 80, "Black": 20},
                                {"White": 0.7, "Asian": 0.2, "Black": 0.1})
    assert skewed["p_value"] < 1e-6 and skewed["groups"]["Black"]["ratio"] == pytest.approx(0.2)
    with pytest.raises(EvaluationError, match="no share"):
        representativeness({"Other": 3}, {"White": 1.0})


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(4)
    ref = rng.uniform(size=5000)
    assert psi(ref, ref) == pytest.approx(0.0)
    assert psi(ref, rng.uniform(size=5000) ** 3) > 0.25  # the conventional "major shift" level


def test_over_time_per_version_tracks_cusum_and_shift():
    rng = np.random.default_rng(5)
    n = 4000
    period = np.repeat(["2025Q1", "2025Q2", "2025Q3", "2025Q4"], n // 4)
    p = rng.uniform(0.05, 0.5, n)
    drift = np.where(period >= "2025Q3", 0.15, 0.0)  # outcome rate rises, the model does not
    y = (rng.uniform(size=n) < p + drift).astype(int)
    version = np.where(period < "2025Q2", "v1", "v2")
    out = over_time(p, y, period, version)
    assert set(out) == {"v1", "v2"}
    v2 = out["v2"]
    assert [r["period"] for r in v2] == ["2025Q2", "2025Q3", "2025Q4"]
    assert v2[-1]["cusum_o_minus_e"] > v2[0]["cusum_o_minus_e"] + 100
    assert v2[0]["psi"] == 0.0


def test_pooling_names_the_estimator_and_matches_dersimonian_laird_by_hand():
    est = np.array([0.70, 0.78, 0.74, 0.82])
    var = np.array([0.0004, 0.0009, 0.0006, 0.0010])
    out = pool(est, var, ["a", "b", "c", "d"], estimator="dl")
    w = 1 / var
    fixed = np.sum(w * est) / w.sum()
    q = np.sum(w * (est - fixed) ** 2)
    tau2 = max(0.0, (q - 3) / (w.sum() - np.sum(w ** 2) / w.sum()))
    wr = 1 / (var + tau2)
    assert out["estimator"] == "DerSimonian-Laird"
    assert out["tau2"] == pytest.approx(tau2)
    assert out["random_effect"]["estimate"] == pytest.approx(np.sum(wr * est) / wr.sum())
    assert pool(est, var, ["a", "b", "c", "d"])["estimator"] == "Paule-Mandel"


def test_pooling_refuses_a_single_node_and_draws_a_forest_plot():
    with pytest.raises(EvaluationError, match="at least two nodes"):
        pool([0.7], [0.001], ["a"])
    svg = forest_plot_svg([0.7, 0.8], [0.001, 0.002], ["Node A", "Node B"])
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_hub_pools_what_each_node_published():
    from phta.disclosure import Policy
    from phta.evaluation.evaluate import run_evaluation
    from phta.evaluation.pooling import pool_node_results
    from phta.evaluation.protocol import freeze, parse_protocol
    from phta.evaluation.synthetic import diabetes_population

    protocol = freeze(parse_protocol({"title": "t", "index_test": "m", "outcome": "o", "subgroups": [],
                                      "metrics": ["discrimination", "calibration"], "bootstrap_replicates": 0}))
    per_node = {f"node{i}": run_evaluation(protocol, diabetes_population(3000, seed=i), Policy()) for i in range(3)}
    pooled = pool_node_results(per_node, estimator="dl")
    assert pooled["auroc"]["estimator"] == "DerSimonian-Laird"
    estimates = [r["discrimination"]["auroc"]["estimate"] for r in per_node.values()]
    assert min(estimates) <= pooled["auroc"]["random_effect"]["estimate"] <= max(estimates)
    oe = pooled["o_e"]["random_effect"]
    assert oe["ci95"][0] < oe["estimate"] < oe["ci95"][1] and oe["estimate"] > 1  # the model under-predicts
