"""bench/atlas_corpus.py's report renders what a run records (a smoke test: a change to the
result keys cannot leave the benchmark broken until the next real run)."""

from __future__ import annotations

import pytest

atlas_corpus = pytest.importorskip("bench.atlas_corpus")


def test_the_report_states_medians_ratios_and_equality():
    rows = [{"id": i, "same": i != 3, "ours_s": 0.01 * i, "duckcdm_s": 0.04, "compile_s": 0.002, "ratio": 0.25 * i}
            for i in range(1, 6)]
    result = {"date": "2026-12-07 21:00 UTC", "load_before": (1.0, 1.0, 1.0), "machine": "test", "definitions": 5,
              "corpus": 1100, "repeats": 3, "rows": rows}
    text = atlas_corpus.markdown(result)
    assert "Episodes identical: 4 of 5" in text
    assert "at or below duckcdm's time: 4 of 5" in text  # ratios 0.25 .. 1.25
    assert "| ours / duckcdm, per definition | 0.75 |" in text
