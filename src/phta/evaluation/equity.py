"""Equity: every metric by group, gaps between groups with bootstrap intervals, a test for
calibration that differs by group, and how representative the evaluated population is.

Groups are any column (ethnic group, IMD quintile, sex, age band) or an intersection built with
``intersect``. The calibration test is a likelihood-ratio test of a logistic recalibration model
with a group-specific intercept and slope on logit(p) against one common intercept and slope
(2 x (groups - 1) degrees of freedom), fitted by statsmodels.
"""

from __future__ import annotations

import math

import numpy as np
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from phta.evaluation._arrays import EvaluationError, paired
from phta.evaluation.bootstrap import summarise
from phta.evaluation.calibration import _logit, fit_logistic
from phta.evaluation.discrimination import auroc, auroc_estimate


def intersect(*columns: ArrayLike) -> NDArray[np.str_]:
    """One label per row joining several group columns, e.g. ``Asian & IMD 1``."""
    arrays = [np.asarray(c).astype(str) for c in columns]
    if len({len(a) for a in arrays}) != 1:
        raise EvaluationError("group columns differ in length")
    out = arrays[0]
    for a in arrays[1:]:
        out = np.char.add(np.char.add(out, " & "), a)
    return out


def _group_metrics(p: NDArray[np.float64], y: NDArray[np.int8]) -> dict[str, float]:
    events = int(y.sum())
    out = {"n": float(len(y)), "events": float(events),
           "o_e": float(events / p.sum()) if p.sum() > 0 else float("nan")}
    out["auroc"] = auroc(p, y).estimate if 0 < events < len(y) else float("nan")
    return out


def by_group(p: ArrayLike, y: ArrayLike, groups: ArrayLike) -> dict[str, dict[str, float | int | None]]:
    probs, outcome = paired(p, y, need_both=False)
    labels = np.asarray(groups).astype(str)
    if len(labels) != len(outcome):
        raise EvaluationError("group: must have one value per row")
    out: dict[str, dict] = {}
    for g in np.unique(labels):
        mask = labels == g
        m = _group_metrics(probs[mask], outcome[mask])
        out[str(g)] = {"n": int(m["n"]), "events": int(m["events"]),
                       "auroc": None if math.isnan(m["auroc"]) else m["auroc"],
                       "o_e": None if math.isnan(m["o_e"]) else m["o_e"]}
    return out


def _fast_metrics(p: NDArray[np.float64], y: NDArray[np.int8]) -> tuple[float, float]:
    expected = p.sum()
    return auroc_estimate(p, y), (float(y.sum() / expected) if expected > 0 else float("nan"))


def gaps(p: ArrayLike, y: ArrayLike, groups: ArrayLike, *, reference: str | None = None,
         replicates: int = 1000, seed: int = 20261207) -> dict[str, dict]:
    """AUROC and O/E of each group minus the reference group's (default: the largest group), with
    percentile intervals from the group-stratified bootstrap: each replicate resamples every group
    within itself (see ``phta.evaluation.bootstrap``), and a replicate in which a group's AUROC is
    undefined is left out of that gap's interval only."""
    probs, outcome = paired(p, y, need_both=False)
    labels = np.asarray(groups).astype(str)
    if len(labels) != len(outcome):
        raise EvaluationError("group: must have one value per row")
    names, counts = np.unique(labels, return_counts=True)
    ref = reference if reference is not None else str(names[np.argmax(counts)])
    if ref not in names:
        raise EvaluationError(f"reference group {ref!r}: not among the groups")
    members = {str(g): np.flatnonzero(labels == g) for g in names}
    others = [g for g in members if g != ref]

    def differences(per: dict[str, tuple[float, float]]) -> dict[str, float]:
        out = {}
        for g in others:
            out[f"{g}|auroc"] = per[g][0] - per[ref][0]
            out[f"{g}|o_e"] = per[g][1] - per[ref][1]
        return out

    point = differences({g: _fast_metrics(probs[m], outcome[m]) for g, m in members.items()})
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(replicates):
        per = {}
        for g, m in members.items():
            draw = m[rng.integers(0, len(m), len(m))]
            per[g] = _fast_metrics(probs[draw], outcome[draw])
        for k, v in differences(per).items():
            draws[k].append(v)
    boot = summarise(draws, replicates) if replicates else {}
    result: dict[str, dict] = {}
    for key, value in point.items():
        g, metric = key.split("|")
        entry = result.setdefault(g, {"reference": ref})
        entry[metric] = {"gap": None if math.isnan(value) else value, **boot.get(key, {})}
    return result


def calibration_differs_by_group(p: ArrayLike, y: ArrayLike, groups: ArrayLike) -> dict:
    """Likelihood-ratio test: does a group-specific calibration intercept and slope fit better?"""
    probs, outcome = paired(p, y)
    labels = np.asarray(groups).astype(str)
    names = np.unique(labels)
    if len(names) < 2:
        raise EvaluationError("group: needs at least two groups to compare calibration")
    lp = _logit(probs)
    base_x = sm.add_constant(lp, has_constant="add")
    dummies = np.column_stack([(labels == g).astype(float) for g in names[1:]])
    full_x = np.column_stack([base_x, dummies, dummies * lp[:, None]])
    # QR for the weighted least squares steps (in fit_logistic): several times faster than
    # lstsq at 50+ columns
    base, why = fit_logistic(outcome, base_x)
    full, why_full = fit_logistic(outcome, full_x) if base is not None else (None, why)
    if base is None or full is None:
        raise EvaluationError(f"calibration by group: {why or why_full}")
    statistic = max(0.0, 2 * (full.llf - base.llf))
    df = 2 * (len(names) - 1)
    return {"test": "likelihood ratio, group x logit(p) interaction and group intercepts",
            "statistic": float(statistic), "df": df, "p_value": float(stats.chi2.sf(statistic, df))}


def representativeness(observed_counts: dict[str, int], reference_shares: dict[str, float]) -> dict:
    """Evaluated population against the region's distribution (e.g. census shares): each group's
    share and ratio to the reference, and a chi-square goodness-of-fit test (SciPy)."""
    missing = set(observed_counts) - set(reference_shares)
    if missing:
        raise EvaluationError(f"reference distribution: no share for {sorted(missing)}")
    keys = sorted(reference_shares)
    counts = np.array([observed_counts.get(k, 0) for k in keys], dtype=float)
    shares = np.array([reference_shares[k] for k in keys], dtype=float)
    if np.any(shares <= 0) or counts.sum() == 0:
        raise EvaluationError("reference distribution: shares must be positive and counts non-empty")
    shares = shares / shares.sum()
    test = stats.chisquare(counts, counts.sum() * shares)
    return {"groups": {k: {"share": float(c / counts.sum()), "reference_share": float(s),
                           "ratio": float(c / counts.sum() / s)}
                       for k, c, s in zip(keys, counts, shares, strict=True)},
            "chi_square": float(test.statistic), "df": len(keys) - 1, "p_value": float(test.pvalue)}
