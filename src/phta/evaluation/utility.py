"""Clinical utility: net benefit at threshold probabilities (Vickers & Elkin 2006).

Net benefit = TP/n - FP/n * pt / (1 - pt); treat-all assumes everyone is positive, treat-none is 0.
Intervals come from the (optionally group-stratified) bootstrap in ``phta.evaluation.bootstrap``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from phta.evaluation._arrays import EvaluationError, paired


def _check_thresholds(thresholds: ArrayLike) -> NDArray[np.float64]:
    pts = np.asarray(thresholds, dtype=np.float64).ravel()
    if np.any((pts <= 0) | (pts >= 1)):
        raise EvaluationError("net-benefit threshold: must lie strictly between 0 and 1")
    return pts


def net_benefit(p: ArrayLike, y: ArrayLike, thresholds: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Net benefit of the model, treat-all and treat-none at each threshold probability."""
    probs, outcome = paired(p, y, need_both=False)
    pts = _check_thresholds(thresholds)
    n = len(outcome)
    odds = pts / (1 - pts)
    # positives at each threshold, vectorised: sort once and count with searchsorted
    order = np.argsort(probs)
    sorted_p, sorted_y = probs[order], outcome[order]
    events_from = np.r_[np.cumsum(sorted_y[::-1])[::-1], 0]  # events at index >= i
    first = np.searchsorted(sorted_p, pts, side="left")
    positives = n - first
    tp = events_from[first]
    fp = positives - tp
    prevalence = outcome.mean()
    return {"threshold": pts, "model": tp / n - fp / n * odds,
            "treat_all": prevalence - (1 - prevalence) * odds, "treat_none": np.zeros_like(pts)}


def decision_curve(p: ArrayLike, y: ArrayLike, thresholds: ArrayLike | None = None) -> dict:
    pts = np.round(np.arange(0.01, 1.0, 0.01), 2) if thresholds is None else thresholds
    nb = net_benefit(p, y, pts)
    return {k: v.tolist() for k, v in nb.items()}
