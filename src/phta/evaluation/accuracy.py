"""Diagnostic accuracy at a threshold: the 2x2 table and what follows from it.

Intervals for proportions come from SciPy (``binomtest(...).proportion_ci``: Wilson score and
exact Clopper-Pearson); likelihood-ratio intervals use the log method (Simel et al. 1991), which
is the usual one in STARD reports. A score at or above the threshold counts as test-positive.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from phta.evaluation._arrays import EvaluationError, paired

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Proportion:
    """A proportion k/n with its Wilson and Clopper-Pearson 95% intervals (None when n == 0)."""

    k: int
    n: int
    estimate: float | None
    wilson: tuple[float, float] | None
    clopper_pearson: tuple[float, float] | None

    def to_dict(self) -> dict:
        return {"estimate": self.estimate,
                "wilson": list(self.wilson) if self.wilson else None,
                "clopper_pearson": list(self.clopper_pearson) if self.clopper_pearson else None}


def proportion(k: int, n: int, confidence: float = 0.95) -> Proportion:
    if n == 0:
        return Proportion(k, n, None, None, None)
    test = stats.binomtest(int(k), int(n))
    w = test.proportion_ci(confidence_level=confidence, method="wilson")
    cp = test.proportion_ci(confidence_level=confidence, method="exact")
    return Proportion(int(k), int(n), k / n, (float(w.low), float(w.high)),
                      (float(cp.low), float(cp.high)))


@dataclass(frozen=True)
class TwoByTwo:
    tp: int
    fp: int
    fn: int
    tn: int

    def to_dict(self) -> dict:
        return asdict(self)


def two_by_two(score: ArrayLike, outcome: ArrayLike, threshold: float) -> TwoByTwo:
    s, y = paired(score, outcome, need_both=False)
    positive = s >= threshold
    tp = int(np.count_nonzero(positive & (y == 1)))
    fp = int(np.count_nonzero(positive & (y == 0)))
    fn = int(np.count_nonzero(~positive & (y == 1)))
    tn = int(np.count_nonzero(~positive & (y == 0)))
    return TwoByTwo(tp, fp, fn, tn)


def _likelihood_ratio(p_num: float, n_num: int, p_den: float, n_den: int,
                      k_num: int, k_den: int) -> dict:
    """Ratio of two independent proportions with a log-method 95% interval."""
    if n_num == 0 or n_den == 0 or k_den == 0 or k_num == 0:
        return {"estimate": None if p_den == 0 else p_num / p_den, "ci95": None}
    ratio = p_num / p_den
    se = math.sqrt(1 / k_num - 1 / n_num + 1 / k_den - 1 / n_den)
    return {"estimate": ratio,
            "ci95": [math.exp(math.log(ratio) - Z95 * se), math.exp(math.log(ratio) + Z95 * se)]}


def predictive_values_at_prevalence(sensitivity: float, specificity: float,
                                    prevalence: float) -> dict[str, float]:
    """PPV and NPV by Bayes' theorem at a stated prevalence (not the sample's)."""
    if not 0 < prevalence < 1:
        raise EvaluationError("prevalence: must lie strictly between 0 and 1")
    tp = sensitivity * prevalence
    fp = (1 - specificity) * (1 - prevalence)
    tn = specificity * (1 - prevalence)
    fn = (1 - sensitivity) * prevalence
    return {"prevalence": prevalence,
            "ppv": tp / (tp + fp) if tp + fp > 0 else float("nan"),
            "npv": tn / (tn + fn) if tn + fn > 0 else float("nan")}


def accuracy_at(score: ArrayLike, outcome: ArrayLike, threshold: float,
                prevalence: float | None = None) -> dict:
    """Everything STARD asks for at one threshold, as plain JSON-able values."""
    t = two_by_two(score, outcome, threshold)
    sens = proportion(t.tp, t.tp + t.fn)
    spec = proportion(t.tn, t.tn + t.fp)
    ppv = proportion(t.tp, t.tp + t.fp)
    npv = proportion(t.tn, t.tn + t.fn)
    out: dict = {**t.to_dict(), "sensitivity": sens.to_dict(), "specificity": spec.to_dict(),
                 "ppv": ppv.to_dict(), "npv": npv.to_dict()}
    if sens.estimate is not None and spec.estimate is not None:
        out["lr_positive"] = _likelihood_ratio(sens.estimate, t.tp + t.fn, 1 - spec.estimate,
                                               t.tn + t.fp, t.tp, t.fp)
        out["lr_negative"] = _likelihood_ratio(1 - sens.estimate, t.tp + t.fn, spec.estimate,
                                               t.tn + t.fp, t.fn, t.tn)
        if prevalence is not None:
            out["at_prevalence"] = predictive_values_at_prevalence(sens.estimate, spec.estimate,
                                                                   prevalence)
    return out
