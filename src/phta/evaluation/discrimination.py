"""Discrimination: AUROC with DeLong's variance, paired and unpaired comparisons, the PR curve.

DeLong's variance uses the fast algorithm of Sun & Xu (2014, IEEE SPL 21:1389): the structural
components come from midranks, here from one sort of the distinct scores, so the cost is
O(n log n) rather than the O(m*n) of comparing every positive with every negative. Ties count one half, as
in the Mann-Whitney statistic, so the AUROC equals scikit-learn's ``roc_auc_score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from phta.evaluation._arrays import EvaluationError, as_outcome, as_score, paired

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Auroc:
    estimate: float
    se: float
    ci95: tuple[float, float]
    positives: int
    negatives: int

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "se": self.se, "ci95": list(self.ci95)}


def auroc_estimate(score: NDArray[np.float64], y: NDArray[np.int8]) -> float:
    """The AUROC alone (Mann-Whitney from one midranking), unchecked: for bootstrap inner loops
    on arrays that were validated once. NaN when either outcome is absent."""
    m = int(y.sum())
    n = len(y) - m
    if m == 0 or n == 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    s, pos = score[order], y[order] == 1
    # tie blocks of the sorted scores: each positive counts the negatives in earlier blocks and
    # half the negatives in its own block (Mann-Whitney with ties)
    block = np.r_[0, np.cumsum(s[1:] != s[:-1])]
    neg_in_block = np.bincount(block, weights=~pos, minlength=block[-1] + 1)
    neg_before = np.cumsum(neg_in_block) - neg_in_block
    return float(((neg_before + 0.5 * neg_in_block)[block[pos]]).sum() / (m * n))


def _delong_components(scores: NDArray[np.float64], y: NDArray[np.int8]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """AUCs and the structural components V10 (per positive) and V01 (per negative).

    ``scores`` is k x n (k scores on the same n patients). Returns aucs (k,), v10 (k, m), v01 (k, n_neg).
    Sun & Xu write V10 = (midrank among all - midrank among positives) / n; that difference is the
    number of negatives below the positive's score plus half those tied with it, which one sort
    of the distinct scores gives directly (``np.unique``), rather than three midrankings.
    """
    pos_mask = y == 1
    m, n = int(pos_mask.sum()), int(len(y) - pos_mask.sum())
    v10 = np.empty((scores.shape[0], m))
    v01 = np.empty((scores.shape[0], n))
    for k, score in enumerate(scores):
        _, inverse = np.unique(score, return_inverse=True)
        pos_at = np.bincount(inverse[pos_mask], minlength=inverse.max() + 1)
        neg_at = np.bincount(inverse[~pos_mask], minlength=inverse.max() + 1)
        neg_below = np.cumsum(neg_at) - neg_at
        pos_above = m - np.cumsum(pos_at)
        v10[k] = (neg_below + 0.5 * neg_at)[inverse[pos_mask]] / n
        v01[k] = (pos_above + 0.5 * pos_at)[inverse[~pos_mask]] / m
    return v10.mean(axis=1), v10, v01


def _delong_covariance(v10: NDArray[np.float64], v01: NDArray[np.float64]) -> NDArray[np.float64]:
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((v10.shape[0], v10.shape[0]))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((v01.shape[0], v01.shape[0]))
    return s10 / m + s01 / n


def _clipped_ci(estimate: float, se: float) -> tuple[float, float]:
    return (max(0.0, estimate - Z95 * se), min(1.0, estimate + Z95 * se))


def auroc(score: ArrayLike, outcome: ArrayLike) -> Auroc:
    """AUROC with DeLong SE and a Wald 95% interval clipped to [0, 1]."""
    s, y = paired(score, outcome)
    aucs, v10, v01 = _delong_components(s[np.newaxis, :], y)
    var = float(_delong_covariance(v10, v01)[0, 0])
    est, se = float(aucs[0]), math.sqrt(max(var, 0.0))
    return Auroc(est, se, _clipped_ci(est, se), int(y.sum()), int(len(y) - y.sum()))


@dataclass(frozen=True)
class Comparison:
    auroc: tuple[float, float]
    difference: float
    se: float
    statistic: float
    p_value: float
    method: str
    df: float | None = None

    def to_dict(self) -> dict:
        return {"auroc": list(self.auroc), "difference": self.difference, "se": self.se,
                "delong_z": self.statistic, "delong_p": self.p_value, "method": self.method,
                "df": self.df}


def delong_paired(score_a: ArrayLike, score_b: ArrayLike, outcome: ArrayLike) -> Comparison:
    """DeLong's test of two scores on the same patients (correlated ROC curves)."""
    a = as_score(score_a, "score")
    b = as_score(score_b, "compare")
    y = as_outcome(outcome)
    if not len(a) == len(b) == len(y):
        raise EvaluationError("score, compare and outcome differ in length")
    paired(a, y)
    aucs, v10, v01 = _delong_components(np.vstack([a, b]), y)
    cov = _delong_covariance(v10, v01)
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    if var <= 0:  # identical rankings: no difference to test
        return Comparison((float(aucs[0]), float(aucs[1])), diff, 0.0, 0.0, 1.0, "delong_paired")
    z = diff / math.sqrt(var)
    return Comparison((float(aucs[0]), float(aucs[1])), diff, math.sqrt(var), z,
                      float(2 * stats.norm.sf(abs(z))), "delong_paired")


def delong_unpaired(score_a: ArrayLike, outcome_a: ArrayLike,
                    score_b: ArrayLike, outcome_b: ArrayLike) -> Comparison:
    """Two AUROCs from different patients, as pROC's ``roc.test(paired=FALSE, method="delong")``:
    D = (A1 - A2) / sqrt(V1 + V2) against a t distribution with Welch-Satterthwaite degrees of
    freedom (n_i - 1 per curve, n_i its number of patients)."""
    first, second = auroc(score_a, outcome_a), auroc(score_b, outcome_b)
    v1, v2 = first.se ** 2, second.se ** 2
    n1 = first.positives + first.negatives
    n2 = second.positives + second.negatives
    diff = first.estimate - second.estimate
    if v1 + v2 == 0:
        return Comparison((first.estimate, second.estimate), diff, 0.0, 0.0, 1.0, "delong_unpaired")
    d = diff / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
    return Comparison((first.estimate, second.estimate), diff, math.sqrt(v1 + v2), d,
                      float(2 * stats.t.sf(abs(d), df)), "delong_unpaired", df)


def precision_recall_curve(score: ArrayLike, outcome: ArrayLike) -> dict[str, list[float]]:
    """Precision and recall at every distinct score (descending thresholds), and average precision.

    Same convention as scikit-learn (>= 1.3): a score at or above the threshold is positive, every
    distinct score is a threshold, and the curve ends at recall 0, precision 1.
    """
    s, y = paired(score, outcome)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[last_of_each]
    fps = (last_of_each + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / y.sum()
    thresholds = s_sorted[last_of_each]
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return {"precision": [*precision[::-1].tolist(), 1.0], "recall": [*recall[::-1].tolist(), 0.0],
            "thresholds": thresholds[::-1].tolist(), "average_precision": ap}
