"""AUROC and DeLong: against scikit-learn, a direct O(m*n) DeLong, the bootstrap, and properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_curve as sk_pr_curve
from sklearn.metrics import roc_auc_score

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.discrimination import (
    auroc,
    delong_paired,
    delong_unpaired,
    precision_recall_curve,
)


def _direct_delong(score, y):
    """DeLong (1988) straight from the definition: psi over every positive-negative pair."""
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg), v10, v01


def _data(seed, n=300, ties=False):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.3).astype(int)
    s = rng.normal(size=n) + y
    return (np.round(s, 1) if ties else s), y


scores_and_outcomes = st.integers(min_value=4, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-5, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
).filter(lambda t: 1 < sum(t[1]) < len(t[1]) - 1)  # two of each: sample variances exist


@settings(max_examples=60, deadline=None)
@given(scores_and_outcomes)
def test_auroc_equals_scikit_learn_with_ties(data):
    s, y = np.array(data[0], dtype=float), np.array(data[1])
    assert auroc(s, y).estimate == pytest.approx(roc_auc_score(y, s))


@settings(max_examples=60, deadline=None)
@given(scores_and_outcomes)
def test_fast_delong_variance_equals_the_direct_definition(data):
    s, y = np.array(data[0], dtype=float), np.array(data[1])
    est, var, _, _ = _direct_delong(s, y)
    a = auroc(s, y)
    assert a.estimate == pytest.approx(est)
    assert a.se ** 2 == pytest.approx(var, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(scores_and_outcomes, st.sampled_from([np.exp, lambda x: x ** 3, lambda x: 2 * x - 7, np.arctan]))
def test_auroc_and_se_are_invariant_to_monotone_transforms(data, transform):
    s, y = np.array(data[0], dtype=float), np.array(data[1])
    a, b = auroc(s, y), auroc(transform(s), y)
    assert b.estimate == pytest.approx(a.estimate)
    assert b.se == pytest.approx(a.se)


def test_delong_variance_matches_the_bootstrap_on_a_large_sample():
    s, y = _data(1, n=3000)
    rng = np.random.default_rng(2)
    boots = []
    for _ in range(300):
        idx = rng.integers(0, len(y), len(y))
        boots.append(roc_auc_score(y[idx], s[idx]))
    assert auroc(s, y).se == pytest.approx(np.std(boots, ddof=1), rel=0.15)


def test_interval_is_clipped_to_the_unit_interval():
    y = np.array([0] * 5 + [1] * 5)
    s = np.arange(10.0)  # perfect separation: AUROC 1
    a = auroc(s, y)
    assert a.estimate == 1.0 and a.ci95[1] == 1.0 and a.ci95[0] <= 1.0


def test_paired_test_matches_direct_covariance():
    s, y = _data(3)
    rng = np.random.default_rng(4)
    s2 = s + rng.normal(size=len(s))
    a1, v1, x1, w1 = _direct_delong(s, y)
    a2, v2, x2, w2 = _direct_delong(s2, y)
    cov = np.cov(x1, x2)[0, 1] / len(x1) + np.cov(w1, w2)[0, 1] / len(w1)
    z = (a1 - a2) / math.sqrt(v1 + v2 - 2 * cov)
    result = delong_paired(s, s2, y)
    assert result.statistic == pytest.approx(z)
    assert result.auroc == pytest.approx((a1, a2))


def test_paired_test_of_a_score_with_itself_finds_no_difference():
    s, y = _data(5)
    result = delong_paired(s, 3 * s + 1, y)
    assert result.statistic == 0 and result.p_value == 1.0


def test_unpaired_test_uses_welch_degrees_of_freedom():
    s1, y1 = _data(6, n=200)
    s2, y2 = _data(7, n=400)
    result = delong_unpaired(s1, y1, s2, y2)
    v1, v2 = auroc(s1, y1).se ** 2, auroc(s2, y2).se ** 2
    assert result.statistic == pytest.approx((auroc(s1, y1).estimate - auroc(s2, y2).estimate) / math.sqrt(v1 + v2))
    assert min(199, 399) <= result.df <= 199 + 399
    assert 0 <= result.p_value <= 1


def test_precision_recall_curve_equals_scikit_learn():
    s, y = _data(8, ties=True)
    ours = precision_recall_curve(s, y)
    p, r, t = sk_pr_curve(y, s)
    assert ours["precision"] == pytest.approx(p.tolist())
    assert ours["recall"] == pytest.approx(r.tolist())
    assert ours["thresholds"] == pytest.approx(t.tolist())


def test_auroc_needs_both_outcomes():
    with pytest.raises(EvaluationError, match="at least one event and one non-event"):
        auroc([0.1, 0.2], [1, 1])


@settings(max_examples=60, deadline=None)
@given(scores_and_outcomes)
def test_the_bootstrap_inner_loop_auroc_equals_scikit_learn(data):
    from phta.evaluation.discrimination import auroc_estimate

    s, y = np.array(data[0], dtype=float), np.array(data[1], dtype=np.int8)
    assert auroc_estimate(s, y) == pytest.approx(roc_auc_score(y, s))
    assert math.isnan(auroc_estimate(s, np.zeros_like(y)))
