"""The dashboard's CSV cannot smuggle formulas into a spreadsheet; charts escape their text."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.frontdoor.charts import bar_chart
from phta.frontdoor.dashboard import neutralise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_no_cell_starts_like_a_formula_and_text_is_otherwise_kept(value):
    cell = neutralise(value)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell == value or cell == "'" + value
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    assert next(csv.reader(io.StringIO(out.getvalue()), strict=True)) == [cell]


def test_attack_and_control():
    assert neutralise('=HYPERLINK("http://evil.example")') == '\'=HYPERLINK("http://evil.example")'
    assert neutralise("-1+2") == "'-1+2"
    assert neutralise("Acme Ltd") == "Acme Ltd"  # control: ordinary text untouched
    assert neutralise(None) == ""


def test_chart_text_is_escaped_and_the_numbers_are_described():
    svg = str(bar_chart("By <sector>", [("<script>alert(1)</script>", 3), ("AI & digital", 0)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "AI &amp; digital" in svg
    assert '<desc id="chart-by--sector--d">' in svg and ": 3;" in svg
    assert "style=" not in svg  # colours come from CSS classes (no inline styles under the CSP)
    assert "No data yet" in str(bar_chart("Empty", []))
