"""The report's figures, drawn by matplotlib (Agg, no display, no fonts fetched) from the
published numbers only: every curve is on a fixed grid, never one point per patient.

SVGs are cleaned for the airlock's automatic checks: no XML prolog, DOCTYPE, comments or
metadata element, so they can sit inline in the HTML report.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "phta", "font.size": 9})


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    return text.strip()


def roc_figure(result: dict) -> Figure:
    d = result["discrimination"]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(d["roc_curve"]["fpr"], d["roc_curve"]["tpr"], label=f"model (AUROC {d['auroc']['estimate']:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC curve")
    ax.legend(loc="lower right")
    return fig


def pr_figure(result: dict) -> Figure:
    d = result["discrimination"]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(d["pr_curve"]["recall"], d["pr_curve"]["precision"])
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", ylim=(0, 1),
           title=f"Precision-recall (AP {d['average_precision']:.3f})")
    return fig


def calibration_figure(result: dict, subgroup: str | None = None) -> Figure:
    fig, ax = plt.subplots(figsize=(4.5, 4))
    curve = result["calibration"]["curve"]
    ax.plot(curve["predicted"], curve["observed"], color="black", lw=2, label="everyone")
    curves = [curve]
    if subgroup:
        for g, c in result["equity"][subgroup].get("calibration_curves", {}).items():
            ax.plot(c["predicted"], c["observed"], label=g)
            curves.append(c)
    top = max(max(c["predicted"] + c["observed"]) for c in curves) * 1.1
    ax.plot([0, top], [0, top], ls=":", color="grey", label="perfect")
    ax.set(xlabel="predicted risk", ylabel="observed risk (lowess)", xlim=(0, top), ylim=(0, top),
           title="Calibration" + (f" by {subgroup}" if subgroup else ""))
    ax.legend(fontsize=7)
    return fig


def decision_figure(result: dict) -> Figure:
    nb = result["net_benefit"]
    ts = sorted(nb, key=float)
    x = [float(t) for t in ts]
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(x, [nb[t]["model"] for t in ts], marker="o", label="model")
    lows = [nb[t]["model_ci95"][0] if nb[t]["model_ci95"] else nb[t]["model"] for t in ts]
    highs = [nb[t]["model_ci95"][1] if nb[t]["model_ci95"] else nb[t]["model"] for t in ts]
    ax.fill_between(x, lows, highs, alpha=0.2, label="95% bootstrap interval")
    ax.plot(x, [nb[t]["treat_all"] for t in ts], ls="--", label="treat all")
    ax.axhline(0, color="grey", lw=1, label="treat none")
    ax.set(xlabel="threshold probability", ylabel="net benefit", title="Decision curve")
    ax.set_ylim(bottom=min(-0.01, min(lows)))
    ax.legend(fontsize=7)
    return fig


def flow_figure(result: dict) -> Figure:
    cells = result["flow"]["cells"]
    fig, ax = plt.subplots(figsize=(6, 0.7 * len(cells) + 0.5))
    ax.axis("off")
    y = len(cells)
    for i, c in enumerate(cells):
        value = "fewer than the threshold" if c["value"] is None else f"{c['value']:,}"
        excluded = c["cell"][0].startswith("excluded")
        x = 0.62 if excluded else 0.3
        ax.text(x, y - i, f"{c['cell'][0]}\n{value}", ha="center", va="center",
                bbox={"boxstyle": "round", "fc": "#fbe9e7" if excluded else "#e3f2fd"})
        if i and not excluded:
            ax.annotate("", xy=(0.3, y - i + 0.3), xytext=(0.3, y - i + 0.7), arrowprops={"arrowstyle": "->"})
    ax.set_ylim(0.4, y + 0.6)
    ax.set_xlim(0, 1)
    ax.set_title("Flow of participants")
    return fig
