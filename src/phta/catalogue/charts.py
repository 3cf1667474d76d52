"""Server-rendered SVG charts for the quality dashboard: no script, no external library; every
label is escaped and every number is formatted here."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, BAR_HEIGHT, GAP = 420, 22, 8
PASS, FAIL = "#2e7d32", "#c62828"


def category_bars(by_category: dict[str, dict[str, int]]) -> Markup:
    """One stacked bar per check category: passed (green) and failed (red) checks."""
    rows = sorted(by_category.items())
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP
    scale = (WIDTH - 140) / max((v["passed"] + v["failed"] for _k, v in rows), default=1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" class="chart" id="quality-by-category">'
             "<title>Checks passed and failed, by category</title>"]
    for i, (category, v) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        passed_w, failed_w = v["passed"] * scale, v["failed"] * scale
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(category)}</text>'
                     f'<rect x="110" y="{y}" width="{passed_w:.1f}" height="{BAR_HEIGHT}" fill="{PASS}">'
                     f"<title>{v['passed']} passed</title></rect>"
                     f'<rect x="{110 + passed_w:.1f}" y="{y}" width="{failed_w:.1f}" height="{BAR_HEIGHT}" '
                     f'fill="{FAIL}"><title>{v["failed"]} failed</title></rect>'
                     f'<text x="{114 + passed_w + failed_w:.1f}" y="{y + 15}" font-size="12">'
                     f"{v['passed']}/{v['passed'] + v['failed']}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here from escaped labels and formatted numbers


def trend_line(trend: list[dict]) -> Markup:
    """Failed checks per run, oldest first."""
    height, left, bottom = 140, 30, 20
    n = len(trend)
    top = max((t["failed"] for t in trend), default=0) or 1
    step = (WIDTH - left - 10) / max(n - 1, 1)
    points = [(left + i * step, height - bottom - (t["failed"] / top) * (height - bottom - 10))
              for i, t in enumerate(trend)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" class="chart" id="quality-trend">'
             "<title>Failed checks per run</title>"
             f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 5}" y2="{height - bottom}" stroke="#555"/>'
             f'<text x="0" y="14" font-size="11">{top}</text><text x="0" y="{height - bottom}" font-size="11">0</text>']
    if n > 1:
        parts.append('<polyline fill="none" stroke="#c62828" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    for (x, y), t in zip(points, trend, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{FAIL}"><title>run {t["run_id"]}: '
                     f'{t["failed"]} of {t["checks"]} failed</title></circle>'
                     f'<text x="{x - 4:.1f}" y="{height - 5}" font-size="10">{t["run_id"]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers only, formatted here
