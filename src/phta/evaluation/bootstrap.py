"""A bootstrap stratified by group: each group is resampled within itself, so every group keeps
its size in every replicate and a small group cannot vanish from a resample.

A statistic may still be undefined in a replicate (a small group drawn with no events has no
AUROC): such replicates count as missing for that statistic only, the interval uses the others,
and the number of usable replicates is reported beside it so a reader can judge the interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from phta.evaluation._arrays import EvaluationError

Statistic = Callable[[NDArray[np.intp]], dict[str, float]]


def stratified_indices(groups: ArrayLike | None, n: int, replicates: int,
                       rng: np.random.Generator) -> list[NDArray[np.intp]]:
    if groups is None:
        return [rng.integers(0, n, n) for _ in range(replicates)]
    labels = np.asarray(groups)
    if len(labels) != n:
        raise EvaluationError("group: must have one value per row")
    members = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    out = []
    for _ in range(replicates):
        out.append(np.concatenate([m[rng.integers(0, len(m), len(m))] for m in members]))
    return out


def bootstrap(statistic: Statistic, n: int, *, groups: ArrayLike | None = None,
              replicates: int = 1000, seed: int = 20261207,
              confidence: float = 0.95) -> dict[str, dict[str, Any]]:
    """Percentile intervals for every named value ``statistic(indices)`` returns.

    ``statistic`` gets an index array into the caller's data and returns a dict of numbers; a
    value that cannot be computed in a replicate is returned as NaN (or the call raises
    ``EvaluationError``/``ValueError``, which marks every value missing for that replicate).
    """
    if replicates < 1:
        raise EvaluationError("replicates: must be at least 1")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for idx in stratified_indices(groups, n, replicates, rng):
        try:
            values = statistic(idx)
        except (EvaluationError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            values = {}
        for key in set(draws) | set(values):
            draws.setdefault(key, [])
        for key in draws:
            draws[key].append(float(values.get(key, float("nan"))))
    return summarise(draws, replicates, confidence)


def summarise(draws: dict[str, list[float]], replicates: int,
              confidence: float = 0.95) -> dict[str, dict[str, Any]]:
    """Percentile interval per key over its finite replicates, with how many were usable."""
    alpha = (1 - confidence) / 2
    out: dict[str, dict[str, Any]] = {}
    for key, values in draws.items():
        arr = np.asarray(values, dtype=np.float64)
        # keys first seen late are missing in the replicates before they appeared
        arr = np.r_[np.full(replicates - len(arr), np.nan), arr]
        ok = arr[np.isfinite(arr)]
        ci = None if len(ok) < 2 else [float(np.quantile(ok, alpha)), float(np.quantile(ok, 1 - alpha))]
        out[key] = {"ci95": ci, "replicates_used": len(ok), "replicates": replicates}
    return out


def keyed(prefix: str, values: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}{k}": v for k, v in values.items()}


def levels(groups: Sequence[Any]) -> list[str]:
    return [str(g) for g in np.unique(np.asarray(groups).astype(str))]
