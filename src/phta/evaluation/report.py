"""The evaluation report in three forms from one result: HTML (figures inline as SVG, viewable
offline, no script, passes the airlock's automatic file checks), JSON (every number), and PDF.

The PDF is drawn by matplotlib's ``PdfPages`` (text pages and the same figures): matplotlib is
already needed for the figures, works offline and needs no system libraries, whereas an
HTML-to-PDF engine (weasyprint) would add Pango/Cairo from Debian to every node for one output.

Every number shown comes from ``run_evaluation``'s result, where disclosure control has already
withheld what a small cell would reveal; this module adds no data of its own.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from phta.evaluation import plots
from phta.evaluation.checklists import assess


@dataclass(frozen=True)
class Report:
    html: str
    json: str
    pdf: bytes

    @property
    def html_for_release(self) -> str:
        """The HTML report as it can leave through the airlock: the same text and tables, each
        inline figure replaced by a note. The airlock's allow-list refuses inline SVG (a plotting
        library's SVG carries metadata, definitions and styles that could hide data); figures
        leave, if needed, as PNG files that a checker reviews."""
        return _INLINE_SVG.sub('<p class="figure-note">[figure: shown in the trusted environment; '
                               'released separately as a PNG if requested]</p>', self.html)

    def write(self, directory: Path, stem: str = "evaluation-report") -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / f"{stem}.html", directory / f"{stem}.json", directory / f"{stem}.pdf",
                 directory / f"{stem}.release.html"]
        paths[0].write_text(self.html, encoding="utf-8")
        paths[1].write_text(self.json, encoding="utf-8")
        paths[2].write_bytes(self.pdf)
        paths[3].write_text(self.html_for_release, encoding="utf-8")
        return paths


_INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S | re.I)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def clinician_summary(result: dict) -> list[str]:
    """Plain sentences a clinician can read: what was tested, how well it ranks, whether its
    risks can be taken at face value, and for whom it does worse."""
    p = result["protocol"]
    lines = [f"{p['index_test']} was evaluated for {p['outcome']} in {result['n']:,} people, "
             f"{result['events']:,} of whom had the outcome."]
    if "discrimination" in result:
        a = result["discrimination"]["auroc"]
        lines.append(f"Ranking: given one person who went on to have the outcome and one who did not, the model gave "
                     f"the first a higher risk {_pct(a['estimate'])} of the time (AUROC {a['estimate']:.2f}, "
                     f"95% CI {a['ci95'][0]:.2f} to {a['ci95'][1]:.2f}; 50% is chance).")
    for t, acc in result.get("accuracy", {}).items():
        if "sensitivity" in acc and acc["sensitivity"]["estimate"] is not None:
            lines.append(f"At a risk threshold of {t}, it flagged {_pct(acc['sensitivity']['estimate'])} of those who "
                         f"had the outcome and correctly left out {_pct(acc['specificity']['estimate'])} of those who did not.")
            break
    if "calibration" in result:
        oe = result["calibration"]["o_e"]
        verdict = ("about as many cases as it predicted" if 0.9 <= oe <= 1.1 else
                   f"{oe:.1f} times as many cases as it predicted (it under-estimates risk)" if oe > 1 else
                   f"{oe:.1f} times the cases it predicted (it over-estimates risk)")
        lines.append(f"Risk estimates: overall there were {verdict}.")
    for name, eq in result.get("equity", {}).items():
        test = eq.get("calibration_test", {})
        if test.get("p_value") is not None and test["p_value"] < 0.05:
            worst = max(((g, v["o_e"]) for g, v in eq["groups"].items() if v.get("o_e")), key=lambda gv: abs(gv[1] - 1),
                        default=None)
            text = f"Fairness: calibration differs by {name} (p = {test['p_value']:.2g})"
            if worst:
                text += f"; for {worst[0]}, observed cases were {worst[1]:.1f} times those predicted"
            lines.append(text + ". Risk estimates for these groups should not be used as they stand.")
    return lines


def _figures(result: dict) -> dict[str, object]:
    figs: dict[str, object] = {"flow": plots.flow_figure}
    if "discrimination" in result:
        figs["roc"], figs["pr"] = plots.roc_figure, plots.pr_figure
    if result.get("calibration", {}).get("curve"):
        figs["calibration"] = plots.calibration_figure
        for name, eq in result.get("equity", {}).items():
            if eq.get("calibration_curves"):
                figs[f"calibration:{name}"] = lambda r, n=name: plots.calibration_figure(r, n)
                break
    if "net_benefit" in result:
        figs["decision"] = plots.decision_figure
    return figs


def _suppressed(result: dict) -> list[dict]:
    """Every withheld value and why: for the report's disclosure section."""
    out = []
    for t, acc in result.get("accuracy", {}).items():
        if "withheld" in acc:
            out.append({"where": f"accuracy at threshold {t}", "reason": acc["withheld"]})
    for name, eq in result.get("equity", {}).items():
        for g, v in eq["groups"].items():
            if "withheld" in v:
                out.append({"where": f"{name}: {g}", "reason": v["withheld"]})
    for c in result["flow"]["cells"]:
        if c["suppressed"]:
            out.append({"where": f"flow: {c['cell'][0]}", "reason": c["reason"]})
    for version, rows in result.get("drift", {}).items():
        for r in rows:
            if "withheld" in r:
                out.append({"where": f"model {version}, {r['period']}", "reason": r["withheld"]})
    return out


_ENV = Environment(loader=PackageLoader("phta.evaluation", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(value: object) -> str:
    if not value:
        return "–"
    return f"{value[0]:.3f} to {value[1]:.3f}"


_ENV.filters["num"] = _fmt
_ENV.filters["ci"] = _ci


def build_report(result: dict) -> Report:
    checklist = assess(result)
    summary = clinician_summary(result)
    suppressed = _suppressed(result)
    svgs = {key: plots.to_svg(draw(result)) for key, draw in _figures(result).items()}
    html = _ENV.get_template("report.html").render(r=result, summary=summary, checklist=checklist,
                                                    svgs=svgs, suppressed=suppressed)
    document = {**result, "summary": summary, "checklist": checklist, "withheld": suppressed}
    return Report(html=html, json=json.dumps(document, indent=2, sort_keys=True), pdf=_pdf(result, summary, checklist, suppressed))


def _text_page(pdf, title: str, lines: list[str]) -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.07, 0.96, title, fontsize=14, weight="bold", va="top")
    y = 0.92
    for line in lines:
        for part in textwrap.wrap(line, 100) or [""]:
            fig.text(0.07, y, part, fontsize=8.5, va="top", family="DejaVu Sans")
            y -= 0.016
            if y < 0.04:
                pdf.savefig(fig)
                plt.close(fig)
                fig = plt.figure(figsize=(8.27, 11.69))
                y = 0.96
    pdf.savefig(fig)
    plt.close(fig)


def _pdf(result: dict, summary: list[str], checklist: list[dict], suppressed: list[dict]) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    p = result["protocol"]
    with PdfPages(buf, metadata={"Title": p["title"], "Creator": "PHTA", "CreationDate": None}) as pdf:
        _text_page(pdf, p["title"], [
            *summary, "",
            f"Protocol SHA-256: {p['sha256']} (frozen {p['frozen_at']})",
            f"Disclosure policy: {result['disclosure_policy']['name']} "
            f"(threshold {result['disclosure_policy']['threshold']}, SHA-256 {result['disclosure_policy']['sha256']})",
            "", "Withheld by disclosure control:",
            *([f"- {s['where']}: {s['reason']}" for s in suppressed] or ["- nothing"]),
        ])
        for draw in _figures(result).values():
            fig = draw(result)
            pdf.savefig(fig, bbox_inches="tight")
            plt.close(fig)
        _text_page(pdf, "STARD 2015 and TRIPOD+AI", [
            f"{c['checklist']} {c['item']}: {c['topic']} — {c['status']}"
            + (f" (section: {c['section']})" if c["section"] else "") for c in checklist])
    return buf.getvalue()
