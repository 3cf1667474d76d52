"""Performance over time, per model version: rolling AUROC and calibration by period, CUSUM of
observed minus expected, and score distribution shift (PSI on the reference period's deciles, and
the two-sample Kolmogorov-Smirnov test from SciPy)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from phta.evaluation._arrays import EvaluationError, as_score, paired
from phta.evaluation.discrimination import auroc


def psi(reference: ArrayLike, current: ArrayLike, bins: int = 10) -> float:
    """Population stability index on the reference scores' quantile bins (deciles by default).
    Empty bins get a floor of 1e-4 so the log stays finite, the usual convention."""
    ref, cur = as_score(reference, "reference"), as_score(current, "current")
    if len(ref) == 0 or len(cur) == 0:
        raise EvaluationError("psi: both periods need scores")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    actual = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    expected, actual = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _periods(p: NDArray[np.float64], y: NDArray[np.int8], period: NDArray,
             version: NDArray) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for v in np.unique(version):
        vm = version == v
        periods = np.unique(period[vm])
        ref_scores = p[vm & (period == periods[0])]
        cusum = 0.0
        rows = []
        for t in periods:
            m = vm & (period == t)
            ps, ys = p[m], y[m]
            events = int(ys.sum())
            cusum += float(events - ps.sum())
            rows.append({
                "period": str(t), "n": int(m.sum()), "events": events,
                "auroc": auroc(ps, ys).estimate if 0 < events < len(ys) else None,
                "o_e": float(events / ps.sum()) if ps.sum() > 0 else None,
                "cusum_o_minus_e": cusum,
                "psi": psi(ref_scores, ps),
                "ks": float(stats.ks_2samp(ref_scores, ps).statistic),
                "ks_p": float(stats.ks_2samp(ref_scores, ps).pvalue),
            })
        out[str(v)] = rows
    return out


def over_time(p: ArrayLike, y: ArrayLike, period: ArrayLike, version: ArrayLike | None = None) -> dict:
    """One row per period (e.g. calendar quarter) per model version; the first period of each
    version is the reference for PSI and KS."""
    probs, outcome = paired(p, y, need_both=False)
    per = np.asarray(period).astype(str)
    ver = np.full(len(outcome), "all") if version is None else np.asarray(version).astype(str)
    if len(per) != len(outcome) or len(ver) != len(outcome):
        raise EvaluationError("period and version: must have one value per row")
    return _periods(probs, outcome, per, ver)
