"""Server-rendered SVG bar charts (no scripts, no external libraries, no inline styles).

A chart is data in, markup out: the caller passes (label, value) pairs and gets an ``<svg>``
string whose text is escaped. Colours come from CSS classes in the portal's stylesheet, so the
page's Content-Security-Policy need not allow inline styles. Each chart carries a title and a
description for screen readers, and the same numbers are always in a table beside it.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

ROW = 28
LABEL_WIDTH = 220
BAR_WIDTH = 360


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "") -> Markup:
    height = max(1, len(rows)) * ROW + 10
    width = LABEL_WIDTH + BAR_WIDTH + 80
    top = max((v for _, v in rows), default=0) or 1
    ident = "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
    parts = [f'<svg class="fd-chart" role="img" aria-labelledby="{ident}-t {ident}-d" '
             f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
             f'<title id="{ident}-t">{escape(title)}</title>',
             f'<desc id="{ident}-d">{escape("; ".join(f"{k}: {v:g}{unit}" for k, v in rows) or "no data")}</desc>']
    for i, (label, value) in enumerate(rows):
        y = i * ROW + 5
        length = 0 if value <= 0 else max(2, round(BAR_WIDTH * value / top))
        parts.append(f'<text class="fd-chart-label" x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end">'
                     f'{escape(label[:34])}</text>')
        parts.append(f'<rect class="fd-chart-bar" x="{LABEL_WIDTH}" y="{y + 4}" width="{length}" height="{ROW - 8}"/>')
        parts.append(f'<text class="fd-chart-value" x="{LABEL_WIDTH + length + 6}" y="{y + 18}">'
                     f'{escape(f"{value:g}{unit}")}</text>')
    if not rows:
        parts.append('<text class="fd-chart-label" x="10" y="20">No data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped
