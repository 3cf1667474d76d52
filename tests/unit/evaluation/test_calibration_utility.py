"""Calibration against statsmodels/scikit-learn and its defining property; net benefit against dcurves."""

import os

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.metrics import brier_score_loss

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.calibration import (
    brier,
    calibration_in_the_large,
    calibration_slope,
    calibration_summary,
    observed_expected,
    smoothed_curve,
)
from phta.evaluation.utility import decision_curve, net_benefit


def _cohort(seed, n=2000, miscalibrate=1.0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(-1, 1.2, n)
    y = (rng.uniform(size=n) < expit(lp)).astype(int)
    return expit(miscalibrate * lp), y


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(80, 600))
def test_in_sample_logistic_recalibration_has_slope_one_and_intercept_zero(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < expit(0.3 + 1.5 * x)).astype(int)
    if y.sum() in (0, 1, n - 1, n):
        return
    fitted = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit().fittedvalues
    assert calibration_slope(fitted, y)["estimate"] == pytest.approx(1.0, abs=1e-6)
    assert calibration_in_the_large(fitted, y)["estimate"] == pytest.approx(0.0, abs=1e-6)
    assert observed_expected(fitted, y) == pytest.approx(1.0, abs=1e-6)


def test_overfitted_model_has_slope_below_one_and_ici_above_a_calibrated_one():
    good_p, good_y = _cohort(1)
    bad_p, bad_y = _cohort(1, miscalibrate=2.0)  # too extreme predictions
    assert calibration_slope(bad_p, bad_y)["estimate"] == pytest.approx(0.5, abs=0.08)
    assert smoothed_curve(bad_p, bad_y)["ici"] > smoothed_curve(good_p, good_y)["ici"]


def test_citl_equals_statsmodels_glm_with_offset():
    p, y = _cohort(2)
    offset = np.log(p / (1 - p))
    fit = sm.GLM(y, np.ones(len(y)), family=sm.families.Binomial(), offset=offset).fit()
    assert calibration_in_the_large(p, y)["estimate"] == pytest.approx(fit.params[0])


def test_brier_equals_scikit_learn():
    p, y = _cohort(3)
    assert brier(p, y) == pytest.approx(brier_score_loss(y, p))


def test_summary_has_e90_at_least_ici_median_sense():
    p, y = _cohort(4)
    s = calibration_summary(p, y)
    assert s["e90"] >= 0 and s["ici"] >= 0 and set(s) >= {"o_e", "citl", "slope", "brier"}


def test_probabilities_outside_zero_one_are_refused():
    with pytest.raises(EvaluationError, match=r"probability must lie in \[0, 1\]"):
        brier([0.2, 1.5], [0, 1])


def test_net_benefit_matches_dcurves_on_its_documented_example_data():
    import dcurves

    df = pd.read_csv(os.path.join(dcurves.data, "df_binary.csv"))
    thresholds = np.array([0.05, 0.1, 0.15, 0.2, 0.3])
    oracle = dcurves.dca(data=df, outcome="cancer", modelnames=["cancerpredmarker"], thresholds=thresholds)
    ours = net_benefit(df["cancerpredmarker"].to_numpy(), df["cancer"].astype(int).to_numpy(), thresholds)
    for name, key in (("cancerpredmarker", "model"), ("all", "treat_all"), ("none", "treat_none")):
        expected = oracle[oracle.model == name].sort_values("threshold")["net_benefit"].to_numpy()
        assert ours[key] == pytest.approx(expected, abs=1e-12)


def test_net_benefit_treat_all_is_prevalence_at_threshold_near_zero_and_checks_range():
    p, y = _cohort(5)
    curve = decision_curve(p, y, [0.001])
    assert curve["treat_all"][0] == pytest.approx(y.mean(), abs=1e-3)
    with pytest.raises(EvaluationError, match="strictly between 0 and 1"):
        net_benefit(p, y, [1.0])


def test_perfect_separation_gives_no_estimate_with_the_reason_instead_of_a_warning():
    p, y = [0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1]
    slope = calibration_slope(p, y)
    assert slope["estimate"] is None and "separates the outcomes perfectly" in slope["note"]
    assert calibration_summary(p, y, smooth=False)["slope"] is None
