"""Metrics on an already-linked scored file (one row per person), for analysts inside the
trusted environment: ``phta evaluate metrics``.

Reading is strict: every problem is reported with the file, line and column, and never with the
offending value (the file holds patient rows; an error message must not carry one).
The JSON keys are fixed and documented in docs/evaluation.md; keys for parts not requested
(``compare``, ``by_group``, ``calibration`` for a score that is not a probability) are ``null``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.accuracy import accuracy_at
from phta.evaluation.calibration import calibration_summary
from phta.evaluation.discrimination import auroc, delong_paired
from phta.evaluation.equity import by_group
from phta.evaluation.utility import net_benefit


class ScoredFileError(EvaluationError):
    """A scored file cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class ScoredFile:
    score: np.ndarray
    outcome: np.ndarray
    compare: np.ndarray | None
    group: np.ndarray | None
    #: other label columns asked for by name (subgroups, period, model version)
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScoredFileError(f"{where}: column {column!r} is not a number") from None
    if not math.isfinite(value):
        raise ScoredFileError(f"{where}: column {column!r} is not a finite number")
    return value


def read_scored_file(path: Path, *, score: str, outcome: str, compare: str | None = None,
                     group: str | None = None, id_column: str | None = None,
                     label_columns: Sequence[str] = ()) -> ScoredFile:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ScoredFileError(f"{path}: cannot be read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for role, column in (("--score", score), ("--outcome", outcome), ("--compare", compare),
                             ("--group", group), ("--id", id_column),
                             *(("a label option", c) for c in label_columns)):
            if column is not None and column not in header:
                raise ScoredFileError(f"{path}: no column {column!r} (asked for by {role}); "
                                      f"the header has {', '.join(map(repr, header)) or 'no columns'}")
        scores, outcomes, compares, groups = [], [], [], []
        labels: dict[str, list[str]] = {c: [] for c in label_columns}
        seen_ids: dict[str, int] = {}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    raise ScoredFileError(f"{where}: the row has a different number of fields from the header")
                scores.append(_number(row[score], where, score))
                y = row[outcome].strip()
                if y not in ("0", "1"):
                    raise ScoredFileError(f"{where}: column {outcome!r} must be 0 or 1")
                outcomes.append(int(y))
                if compare is not None:
                    compares.append(_number(row[compare], where, compare))
                if group is not None:
                    if not row[group].strip():
                        raise ScoredFileError(f"{where}: column {group!r} is empty")
                    groups.append(row[group].strip())
                for c in label_columns:
                    if not row[c].strip():
                        raise ScoredFileError(f"{where}: column {c!r} is empty")
                    labels[c].append(row[c].strip())
                if id_column is not None:
                    key = row[id_column]
                    if key in seen_ids:
                        raise ScoredFileError(f"{where}: column {id_column!r} repeats the id on line "
                                              f"{seen_ids[key]} (one row per person)")
                    seen_ids[key] = reader.line_num
        except csv.Error as exc:
            raise ScoredFileError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    if not scores:
        raise ScoredFileError(f"{path}: has no data rows")
    y_arr = np.asarray(outcomes, dtype=np.int8)
    if y_arr.sum() in (0, len(y_arr)):
        raise ScoredFileError(f"{path}: column {outcome!r} needs at least one 1 and one 0")
    return ScoredFile(np.asarray(scores), y_arr, np.asarray(compares) if compare else None,
                      np.asarray(groups) if group else None, {c: np.asarray(v) for c, v in labels.items()})


def _key(t: float) -> str:
    return f"{t:g}"


def metrics(data: ScoredFile, *, thresholds: Sequence[float] = (),
            net_benefit_thresholds: Sequence[float] = ()) -> dict:
    s, y = data.score, data.outcome
    is_probability = bool(np.all((s >= 0) & (s <= 1)))
    out: dict = {"n": len(y), "events": int(y.sum()), "auroc": auroc(s, y).to_dict()}
    if data.compare is not None:
        c = delong_paired(s, data.compare, y)
        out["compare"] = {"auroc": c.auroc[1], "delong_z": c.statistic, "delong_p": c.p_value}
    else:
        out["compare"] = None
    out["thresholds"] = {}
    for t in thresholds:
        acc = accuracy_at(s, y, t)
        out["thresholds"][_key(t)] = {k: acc[k] for k in ("tp", "fp", "fn", "tn")} | {
            k: acc[k] for k in ("sensitivity", "specificity")}
    if is_probability:
        cal = calibration_summary(s, y, smooth=False)
        out["calibration"] = {k: cal[k] for k in ("slope", "citl", "brier", "o_e")}
    else:
        out["calibration"] = None
    if data.group is not None:
        groups = by_group(s, y, data.group)
        out["by_group"] = {g: {"n": v["n"], "auroc": v["auroc"], "o_e": v["o_e"] if is_probability else None}
                           for g, v in groups.items()}
    else:
        out["by_group"] = None
    out["net_benefit"] = {}
    if net_benefit_thresholds:
        if not is_probability:
            raise ScoredFileError("--net-benefit: needs a score that is a probability in [0, 1]")
        nb = net_benefit(s, y, list(net_benefit_thresholds))
        for i, t in enumerate(net_benefit_thresholds):
            out["net_benefit"][_key(t)] = {"model": float(nb["model"][i]),
                                           "treat_all": float(nb["treat_all"][i])}
    return out
