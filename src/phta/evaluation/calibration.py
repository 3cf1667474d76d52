"""Calibration of predicted probabilities: O/E, calibration-in-the-large, slope, curve, ICI, E90, Brier.

Calibration-in-the-large is the intercept of a logistic GLM with logit(p) as offset and no other
term; the slope is the coefficient of logit(p) in a logistic recalibration (Van Calster et al.
2019 "Calibration: the Achilles heel"). Both are fitted by statsmodels. The smoothed curve is
statsmodels' lowess of outcome on predicted probability (Austin & Steyerberg 2019 define ICI and
E90 as the mean and 90th percentile of |smoothed - predicted|).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy.special import logit
from statsmodels.nonparametric.smoothers_lowess import lowess
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from phta.evaluation._arrays import paired

# probabilities of exactly 0 or 1 have infinite logits; clip to keep the GLM finite
_EPS = 1e-9


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return logit(np.clip(p, _EPS, 1 - _EPS))


def observed_expected(p: ArrayLike, y: ArrayLike) -> float:
    probs, outcome = paired(p, y, probability=True, need_both=False)
    return float(outcome.sum() / probs.sum())


def brier(p: ArrayLike, y: ArrayLike) -> float:
    probs, outcome = paired(p, y, probability=True, need_both=False)
    return float(np.mean((probs - outcome) ** 2))


def fit_logistic(outcome: NDArray, exog: NDArray, offset: NDArray | None = None) -> tuple[Any, str | None]:
    """A binomial GLM, or (None, why) when it is not identified (perfect separation, a singular
    design, no convergence): statsmodels warns in those cases, and a warning is not a result."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            fit = sm.GLM(outcome, exog, family=sm.families.Binomial(), offset=offset).fit(wls_method="qr")
        except PerfectSeparationWarning:
            return None, "not estimable: the score separates the outcomes perfectly"
        except (ConvergenceWarning, RuntimeWarning, np.linalg.LinAlgError, ValueError):
            return None, "not estimable: the logistic model did not converge"
        except Warning:
            return None, "not estimable: the logistic model is not identified"
    return fit, None


def calibration_in_the_large(p: ArrayLike, y: ArrayLike) -> dict:
    probs, outcome = paired(p, y, probability=True)
    fit, why = fit_logistic(outcome, np.ones((len(probs), 1)), offset=_logit(probs))
    if fit is None:
        return {"estimate": None, "ci95": None, "note": why}
    low, high = fit.conf_int()[0]
    return {"estimate": float(fit.params[0]), "ci95": [float(low), float(high)]}


def calibration_slope(p: ArrayLike, y: ArrayLike) -> dict:
    probs, outcome = paired(p, y, probability=True)
    fit, why = fit_logistic(outcome, sm.add_constant(_logit(probs), has_constant="add"))
    if fit is None:
        return {"estimate": None, "intercept": None, "ci95": None, "note": why}
    low, high = fit.conf_int()[1]
    return {"estimate": float(fit.params[1]), "intercept": float(fit.params[0]),
            "ci95": [float(low), float(high)]}


def smoothed_curve(p: ArrayLike, y: ArrayLike, frac: float = 2 / 3) -> dict:
    """Lowess calibration curve with ICI and E90; the curve is summarised on 20 grid points so
    no individual prediction is published."""
    probs, outcome = paired(p, y, probability=True, need_both=False)
    # delta: points closer than 0.5% of the range reuse the neighbouring local fit, which keeps
    # lowess near-linear in n (1M predictions in seconds) with no visible change to the curve
    delta = 0.005 * float(np.ptp(probs))
    fitted = lowess(outcome, probs, frac=frac, it=0, delta=delta, return_sorted=False)
    error = np.abs(np.clip(fitted, 0, 1) - probs)
    grid = np.quantile(probs, np.linspace(0.05, 0.95, 19))
    curve = np.interp(grid, np.sort(probs), np.clip(fitted, 0, 1)[np.argsort(probs)])
    return {"ici": float(error.mean()), "e50": float(np.quantile(error, 0.5)),
            "e90": float(np.quantile(error, 0.9)), "emax": float(error.max()),
            "curve": {"predicted": grid.tolist(), "observed": curve.tolist()}}


def calibration_summary(p: ArrayLike, y: ArrayLike, *, smooth: bool = True) -> dict:
    out = {"o_e": observed_expected(p, y), "citl": calibration_in_the_large(p, y)["estimate"],
           "slope": calibration_slope(p, y)["estimate"], "brier": brier(p, y)}
    if smooth:
        curve = smoothed_curve(p, y)
        out.update({"ici": curve["ici"], "e90": curve["e90"]})
    return out
