"""Pooling per-node estimates at the hub by random-effects meta-analysis, and the forest plot.

Each node ships an estimate and its variance (the sufficient statistics pooling needs, e.g. AUROC
and its DeLong variance, or log O/E and its variance) - never records. statsmodels'
``combine_effects`` does the pooling; the between-node variance estimator is named in the result:
DerSimonian-Laird (``"dl"``, the classic moment estimator) or Paule-Mandel (``"pm"``, iterative,
recommended by Veroniki et al. 2016).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from statsmodels.stats.meta_analysis import combine_effects

from phta.evaluation._arrays import EvaluationError

ESTIMATORS = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}


def _combine(estimates: Sequence[float], variances: Sequence[float], nodes: Sequence[str],
             estimator: str):
    if estimator not in ESTIMATORS:
        raise EvaluationError(f"estimator: must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    eff = np.asarray(estimates, dtype=float)
    var = np.asarray(variances, dtype=float)
    if not len(eff) == len(var) == len(nodes) or len(eff) < 2:
        raise EvaluationError("pooling: needs an estimate and a variance from at least two nodes")
    if np.any(var <= 0) or not np.all(np.isfinite(eff)):
        raise EvaluationError("pooling: variances must be positive and estimates finite")
    return combine_effects(eff, var, method_re=estimator, row_names=[str(n) for n in nodes],
                           use_t=False), eff, var


def pool(estimates: Sequence[float], variances: Sequence[float], nodes: Sequence[str], *,
         estimator: str = "pm") -> dict:
    """Random-effects pooled estimate, the fixed-effect one beside it, tau^2, I^2 and Q."""
    res, eff, var = _combine(estimates, variances, nodes, estimator)
    frame = res.summary_frame()
    re = frame.loc["random effect"]
    fe = frame.loc["fixed effect"]
    return {
        "estimator": ESTIMATORS[estimator],
        "random_effect": {"estimate": float(re["eff"]), "ci95": [float(re["ci_low"]), float(re["ci_upp"])]},
        "fixed_effect": {"estimate": float(fe["eff"]), "ci95": [float(fe["ci_low"]), float(fe["ci_upp"])]},
        "tau2": float(res.tau2), "i2": float(res.i2), "q": float(res.q), "q_df": int(res.df_resid),
        "nodes": {str(n): {"estimate": float(e), "variance": float(v)}
                  for n, e, v in zip(nodes, eff, var, strict=True)},
    }


def forest_plot_svg(estimates: Sequence[float], variances: Sequence[float], nodes: Sequence[str], *,
                    estimator: str = "pm", title: str = "Forest plot") -> str:
    """The forest plot as an SVG string (matplotlib, Agg; no fonts or files fetched)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res, _, _ = _combine(estimates, variances, nodes, estimator)
    fig = res.plot_forest(use_exp=False)
    fig.axes[0].set_title(f"{title} ({ESTIMATORS[estimator]} random effects)")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def pool_node_results(results: dict[str, dict], *, estimator: str = "pm") -> dict:
    """Pool what each node's ``run_evaluation`` published: AUROC with its DeLong variance, and
    log O/E with the usual large-sample variance 1/observed events (Debray et al. 2017, BMJ
    356:i6460). O/E is pooled on the log scale and reported back on the ratio scale."""
    nodes = sorted(results)
    out: dict = {"nodes": nodes}
    aucs = [(n, results[n]["discrimination"]["auroc"]) for n in nodes if "discrimination" in results[n]]
    if len(aucs) >= 2:
        out["auroc"] = pool([a["estimate"] for _, a in aucs], [a["se"] ** 2 for _, a in aucs],
                            [n for n, _ in aucs], estimator=estimator)
    oes = [(n, results[n]["calibration"]["o_e"], results[n]["events"]) for n in nodes
           if "calibration" in results[n] and results[n]["events"]]
    if len(oes) >= 2:
        pooled = pool([float(np.log(o)) for _, o, _ in oes], [1.0 / e for _, _, e in oes],
                      [n for n, _, _ in oes], estimator=estimator)
        for key in ("random_effect", "fixed_effect"):
            pooled[key] = {"estimate": float(np.exp(pooled[key]["estimate"])),
                           "ci95": [float(np.exp(v)) for v in pooled[key]["ci95"]]}
        pooled["scale"] = "O/E (pooled as log O/E)"
        out["o_e"] = pooled
    return out
