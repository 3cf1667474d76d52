"""Accuracy at a threshold: the 2x2 table and intervals against published and library values."""

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.accuracy import (
    accuracy_at,
    predictive_values_at_prevalence,
    proportion,
    two_by_two,
)

# Newcombe (1998) Stat Med 17:857, Table I: Wilson score (method 3) and Clopper-Pearson (method 5)
NEWCOMBE = [
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0, 0.1611), (0.0, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
]


@pytest.mark.parametrize(("k", "n", "wilson", "exact"), NEWCOMBE)
def test_intervals_match_newcombes_published_table(k, n, wilson, exact):
    p = proportion(k, n)
    assert p.wilson == pytest.approx(wilson, abs=1e-4)
    assert p.clopper_pearson == pytest.approx(exact, abs=1e-4)


@pytest.mark.parametrize(("k", "n"), [(7, 15), (1, 1), (99, 100), (3, 1000)])
def test_intervals_match_statsmodels(k, n):
    p = proportion(k, n)
    assert p.wilson == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-9)
    assert p.clopper_pearson == pytest.approx(proportion_confint(k, n, method="beta"), abs=1e-9)


def test_empty_denominator_gives_no_estimate_rather_than_an_error():
    assert proportion(0, 0).estimate is None


def test_two_by_two_counts_at_or_above_threshold_as_positive():
    t = two_by_two([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1], 0.5)
    assert (t.tp, t.fp, t.fn, t.tn) == (2, 1, 0, 1)


def test_accuracy_at_threshold_has_every_stard_quantity():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=400)
    y = (rng.uniform(size=400) < p).astype(int)
    out = accuracy_at(p, y, 0.5, prevalence=0.05)
    sens, spec = out["sensitivity"]["estimate"], out["specificity"]["estimate"]
    assert out["tp"] / (out["tp"] + out["fn"]) == sens
    assert out["lr_positive"]["estimate"] == pytest.approx(sens / (1 - spec))
    assert out["lr_negative"]["estimate"] == pytest.approx((1 - sens) / spec)
    low, high = out["lr_positive"]["ci95"]
    assert low < out["lr_positive"]["estimate"] < high
    assert out["at_prevalence"]["ppv"] < out["ppv"]["estimate"]  # rarer disease, lower PPV


def test_ppv_at_prevalence_is_bayes_theorem():
    # sensitivity 0.9, specificity 0.95, prevalence 1%: PPV = .009 / (.009 + .0495)
    out = predictive_values_at_prevalence(0.9, 0.95, 0.01)
    assert out["ppv"] == pytest.approx(0.009 / (0.009 + 0.0495))
    assert out["npv"] == pytest.approx(0.9405 / (0.9405 + 0.001))
    with pytest.raises(EvaluationError, match="prevalence"):
        predictive_values_at_prevalence(0.9, 0.9, 1.0)


def test_outcome_other_than_zero_one_is_refused_without_echoing_values():
    with pytest.raises(EvaluationError, match="outcome: must be 0/1") as err:
        two_by_two([0.1, 0.2], [0, 7], 0.5)
    assert "7" not in str(err.value)
