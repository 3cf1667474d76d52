"""One evaluation under a frozen protocol: every statistic the protocol asks for, on one node's
linked data, with disclosure control applied to every table before anything is reported.

Input is an ``EvaluationData`` (scores, outcomes, group columns, optional period and model
version, and the flow counts of how the evaluated population was reached). Today the analyst or a
test builds it from a linked feature table; the in-node run will build it through the execution
path. Output is plain JSON-able data: the report's single source of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike
from threadpoolctl import threadpool_limits

from phta.disclosure import Policy, check
from phta.disclosure.results import Dimension, FrequencyTable
from phta.evaluation._arrays import EvaluationError, paired
from phta.evaluation.accuracy import accuracy_at
from phta.evaluation.bootstrap import bootstrap
from phta.evaluation.calibration import brier as brier_score
from phta.evaluation.calibration import (
    calibration_in_the_large,
    calibration_slope,
    observed_expected,
    smoothed_curve,
)
from phta.evaluation.discrimination import auroc, precision_recall_curve
from phta.evaluation.drift import over_time
from phta.evaluation.equity import (
    by_group,
    calibration_differs_by_group,
    gaps,
    intersect,
    representativeness,
)
from phta.evaluation.protocol import FrozenProtocol
from phta.evaluation.utility import net_benefit


@dataclass(frozen=True)
class EvaluationData:
    score: ArrayLike
    outcome: ArrayLike
    groups: Mapping[str, ArrayLike] = field(default_factory=dict)
    period: ArrayLike | None = None
    version: ArrayLike | None = None
    #: how the evaluated population was reached: ordered (step, count) pairs, e.g.
    #: ("scores received", 1000), ("excluded: no matching person", 12), ...
    flow: tuple[tuple[str, int], ...] = ()
    reference_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), digits)


def _protected_table(title: str, dims: tuple[Dimension, ...], counts: list[int], policy: Policy,
                     margins: bool = True) -> dict:
    out = check(FrequencyTable(dimensions=dims, counts=tuple(counts), title=title,
                               publish_margins=margins), policy)
    reasons = {}
    for d in out.decisions:
        if d.outcome in ("suppress", "review"):
            reasons.setdefault(" / ".join(d.cell), d.explanation)
    return {"title": title, "dimensions": [d.name for d in dims], "status": out.status,
            "cells": [{"cell": list(c.cell), "value": c.value, "suppressed": c.suppressed,
                       "reason": reasons.get(" / ".join(c.cell))} for c in out.cells],
            "policy_sha256": out.policy_sha256}


def _withheld_cells(table: dict) -> dict[str, str]:
    """First level label -> reason, for every row with a suppressed (non-margin) cell."""
    out: dict[str, str] = {}
    for c in table["cells"]:
        if c["suppressed"]:
            out.setdefault(c["cell"][0], c["reason"] or "suppressed by disclosure control")
    return out


def _flow(data: EvaluationData, n: int, events: int, policy: Policy) -> dict:
    steps = [*data.flow, ("evaluated", n), ("evaluated with the outcome", events)]
    table = _protected_table("Flow of participants", (Dimension("step", tuple(s for s, _ in steps)),),
                             [int(c) for _, c in steps], policy, margins=False)
    return table


def run_evaluation(protocol: FrozenProtocol, data: EvaluationData, policy: Policy) -> dict:
    """Every statistic the frozen protocol names, with every table disclosure-controlled."""
    # tall-thin least squares gain nothing from BLAS threads and lose badly on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(protocol, data, policy)


def _run(protocol: FrozenProtocol, data: EvaluationData, policy: Policy) -> dict:
    protocol.verify()
    prot = protocol.protocol
    # the protocol's minimum cell size can only make the node's policy stricter
    policy = replace(policy, threshold=max(policy.threshold, prot.minimum_cell_size))
    p, y = paired(data.score, data.outcome)
    n, events = len(y), int(y.sum())
    if min(events, n - events) < policy.threshold:
        raise EvaluationError(f"evaluation: fewer than {policy.threshold} people with (or without) "
                              "the outcome; nothing can be reported")
    is_prob = bool(np.all((p >= 0) & (p <= 1)))
    result: dict = {"protocol": {"sha256": protocol.sha256, "frozen_at": protocol.frozen_at,
                                 **prot.model_dump(mode="json")},
                    "disclosure_policy": {"name": policy.name, "sha256": policy.sha256,
                                          "threshold": policy.threshold},
                    "n": policy.round_count(n), "events": policy.round_count(events),
                    "flow": _flow(data, n, events, policy)}
    metrics = set(prot.metrics)
    if "discrimination" in metrics:
        a = auroc(p, y)
        pr = precision_recall_curve(p, y)
        # published on a recall grid (the raw curve's thresholds are individual scores), from
        # 5%: at recall 0 precision is a convention, not a measurement
        grid = np.linspace(0.05, 1, 20)
        prec = np.interp(grid, pr["recall"][::-1], pr["precision"][::-1])
        result["discrimination"] = {"auroc": a.to_dict(), "average_precision": pr["average_precision"],
                                    "pr_curve": {"recall": grid.tolist(), "precision": prec.tolist()},
                                    "roc_curve": _roc_grid(p, y)}
    if "accuracy" in metrics:
        result["accuracy"] = {}
        for t in prot.thresholds:
            acc = accuracy_at(p, y, t, prot.prevalence)
            table = _protected_table(f"Index test at threshold {t:g} by outcome",
                                     (Dimension("index test", ("positive", "negative")),
                                      Dimension("outcome", ("event", "no event"))),
                                     [acc["tp"], acc["fp"], acc["fn"], acc["tn"]], policy)
            withheld = _withheld_cells(table)
            entry: dict = {"table": table}
            if withheld:
                entry["withheld"] = "; ".join(sorted(set(withheld.values())))
            else:
                entry.update({k: v for k, v in acc.items() if k not in ("tp", "fp", "fn", "tn")})
            result["accuracy"][f"{t:g}"] = entry
    if "calibration" in metrics and is_prob:
        curve = smoothed_curve(p, y)
        result["calibration"] = {"o_e": observed_expected(p, y), "citl": calibration_in_the_large(p, y),
                                 "slope": calibration_slope(p, y), "brier": brier_score(p, y),
                                 "ici": curve["ici"], "e90": curve["e90"],
                                 "curve": curve["curve"] if 0.05 * n >= policy.threshold else None}
        result["calibration"]["bootstrap"] = _overall_bootstrap(p, y, prot, data)
    if "net_benefit" in metrics and is_prob:
        nb = net_benefit(p, y, prot.net_benefit_thresholds)

        def nb_stat(idx: np.ndarray) -> dict[str, float]:
            b = net_benefit(p[idx], y[idx], prot.net_benefit_thresholds)
            return {f"{t:g}": float(v) for t, v in zip(prot.net_benefit_thresholds, b["model"], strict=True)}

        boot = bootstrap(nb_stat, n, groups=_first_group(data), replicates=prot.bootstrap_replicates,
                         seed=prot.seed) if prot.bootstrap_replicates else {}
        result["net_benefit"] = {f"{t:g}": {"model": float(m), "treat_all": float(a_), "treat_none": 0.0,
                                            "model_ci95": boot.get(f"{t:g}", {}).get("ci95")}
                                 for t, m, a_ in zip(prot.net_benefit_thresholds, nb["model"], nb["treat_all"], strict=True)}
    if "equity" in metrics and prot.subgroups:
        result["equity"] = _equity(p, y, data, prot, policy, is_prob)
    if "drift" in metrics and data.period is not None:
        result["drift"] = _drift(p, y, data, policy)
    return result


def _first_group(data: EvaluationData) -> np.ndarray | None:
    if not data.groups:
        return None
    return np.asarray(next(iter(data.groups.values()))).astype(str)


def _overall_bootstrap(p: np.ndarray, y: np.ndarray, prot, data: EvaluationData) -> dict:
    if not prot.bootstrap_replicates:
        return {}

    def stat(idx: np.ndarray) -> dict[str, float]:
        return {"o_e": observed_expected(p[idx], y[idx]), "brier": brier_score(p[idx], y[idx])}

    return bootstrap(stat, len(y), groups=_first_group(data), replicates=prot.bootstrap_replicates, seed=prot.seed)


def _roc_grid(p: np.ndarray, y: np.ndarray) -> dict:
    order = np.argsort(-p, kind="mergesort")
    ys = y[order]
    tpr = np.r_[0.0, np.cumsum(ys) / ys.sum()]
    fpr = np.r_[0.0, np.cumsum(1 - ys) / (len(ys) - ys.sum())]
    grid = np.linspace(0, 1, 51)
    return {"fpr": grid.tolist(), "tpr": np.interp(grid, fpr, tpr).tolist()}


def _group_column(data: EvaluationData, subgroup: tuple[str, ...], n: int) -> np.ndarray:
    missing = [g for g in subgroup if g not in data.groups]
    if missing:
        raise EvaluationError(f"protocol subgroup {' x '.join(subgroup)}: no column {missing[0]!r} in the data")
    col = intersect(*(data.groups[g] for g in subgroup))
    if len(col) != n:
        raise EvaluationError(f"group column {' x '.join(subgroup)}: must have one value per row")
    return col


def _equity(p: np.ndarray, y: np.ndarray, data: EvaluationData, prot, policy: Policy, is_prob: bool) -> dict:
    out: dict = {}
    for subgroup in prot.subgroups:
        name = " x ".join(subgroup)
        labels = _group_column(data, subgroup, len(y))
        levels = tuple(str(v) for v in np.unique(labels))
        counts = []
        for g in levels:
            m = labels == g
            counts += [int(y[m].sum()), int((1 - y[m]).sum())]
        table = _protected_table(f"Outcome by {name}", (Dimension(name, levels), Dimension("outcome", ("event", "no event"))),
                                 counts, policy)
        withheld = _withheld_cells(table)
        metrics = by_group(p, y, labels)
        groups = {}
        for g, m in metrics.items():
            if g in withheld:
                groups[g] = {"withheld": withheld[g]}
            else:
                groups[g] = {"n": policy.round_count(m["n"]), "events": policy.round_count(m["events"]),
                             "auroc": _round(m["auroc"]), "o_e": _round(m["o_e"]) if is_prob else None}
        entry: dict = {"table": table, "groups": groups}
        shown = [g for g in levels if g not in withheld]
        ref = prot.reference_groups.get(name)
        if len(shown) >= 2 and is_prob:
            keep = np.isin(labels, shown)
            ref = ref if ref in shown else None
            entry["gaps"] = gaps(p[keep], y[keep], labels[keep], reference=ref,
                                 replicates=prot.bootstrap_replicates, seed=prot.seed)
            try:
                entry["calibration_test"] = calibration_differs_by_group(p[keep], y[keep], labels[keep])
            except (EvaluationError, np.linalg.LinAlgError) as exc:
                entry["calibration_test"] = {"not_computed": str(exc)}
            # the curve's grid runs from the 5th to the 95th percentile of predictions: drawn only
            # where at least `threshold` people lie beyond each end (the rule for percentiles)
            entry["calibration_curves"] = {g: smoothed_curve(p[labels == g], y[labels == g])["curve"]
                                           for g in shown
                                           if 0.05 * np.count_nonzero(labels == g) >= policy.threshold}
        shares = data.reference_shares.get(name)
        if shares:
            counts_by_group = {g: int(np.count_nonzero(labels == g)) for g in levels}
            rep = representativeness(counts_by_group, shares)
            for g in withheld:  # a withheld group's share would reveal its size
                rep["groups"].pop(g, None)
            entry["representativeness"] = rep
        out[name] = entry
    return out


def _drift(p: np.ndarray, y: np.ndarray, data: EvaluationData, policy: Policy) -> dict:
    rows = over_time(p, y, data.period, data.version)
    for version_rows in rows.values():
        for r in version_rows:
            small = min(r["events"], r["n"] - r["events"]) < policy.threshold
            r["n"], r["events"] = policy.round_count(r["n"]), policy.round_count(r["events"])
            if small:
                for k in ("auroc", "o_e", "cusum_o_minus_e", "events"):
                    r[k] = None
                r["withheld"] = f"fewer than {policy.threshold} people with (or without) the outcome in this period"
    return rows
