"""CSV exports neutralise spreadsheet formulas (OWASP CSV injection rule)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from phta.web.csv_export import FORMULA_STARTS, csv_text, neutralise


@settings(max_examples=200)
@given(st.text())
def test_no_cell_starts_a_formula_and_the_text_is_kept(value):
    cell = neutralise(value)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell in (value, "'" + value)


def test_formulas_get_a_quote_and_plain_text_does_not():
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for attack in ("+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(attack) == "'" + attack
    for harmless in ("Readmissions study", "2026-01-01", "a=b", "", None, 42):  # control
        assert neutralise(harmless) == ("" if harmless is None else str(harmless))


def test_csv_text_neutralises_every_cell_and_header():
    text = csv_text(["title", "=x"], [{"title": '=HYPERLINK("http://x")', "=x": "plain"}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["title", "'=x"], ['\'=HYPERLINK("http://x")', "plain"]]
