"""Checks shared by every statistic: scores are finite numbers, outcomes are 0/1, lengths agree.

The messages name the argument, never a value, so no record-level data reaches an error.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


class EvaluationError(ValueError):
    """Input to an evaluation is unusable; the message names the argument or field."""


def as_outcome(y: ArrayLike, name: str = "outcome") -> NDArray[np.int8]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise EvaluationError(f"{name}: must be one-dimensional")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise EvaluationError(f"{name}: must be 0/1")
    if not np.all((arr == 0) | (arr == 1)):
        raise EvaluationError(f"{name}: must be 0/1")
    return arr.astype(np.int8)


def as_score(s: ArrayLike, name: str = "score", *, probability: bool = False) -> NDArray[np.float64]:
    arr = np.asarray(s)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise EvaluationError(f"{name}: must be a one-dimensional array of numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(f"{name}: must be finite numbers (no NaN or infinity)")
    if probability and (np.any(arr < 0) or np.any(arr > 1)):
        raise EvaluationError(f"{name}: a predicted probability must lie in [0, 1]")
    return arr


def paired(score: ArrayLike, outcome: ArrayLike, *, probability: bool = False,
           need_both: bool = True) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    s = as_score(score, probability=probability)
    y = as_outcome(outcome)
    if len(s) != len(y):
        raise EvaluationError(f"score and outcome differ in length ({len(s)} vs {len(y)})")
    if need_both and (y.sum() == 0 or y.sum() == len(y)):
        raise EvaluationError("outcome: needs at least one event and one non-event")
    return s, y
