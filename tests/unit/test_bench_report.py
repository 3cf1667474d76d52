"""bench/cohorts.py's BENCHMARKS.md table renders every measurement a run records (DuckDB, hand,
duckcdm and Spark): a smoke test, so a change to the timer or the result keys cannot leave the
benchmark broken until the next real run."""

from __future__ import annotations

import pytest

cohorts = pytest.importorskip("bench.cohorts")  # needs the dev extras (duckcdm)

TIMED = ("ours_count", "ours_strata", "hand_count", "hand_strata", "duckcdm", "ours_count_sql", "ours_strata_sql",
         "spark_count", "spark_strata", "ours_path", "attrition_path", "compile", "ours_attrition", "ours_count_cold", "spark_attrition")


def _run() -> dict:
    cohort = {f"{k}_{unit}": 0.5 for k in TIMED for unit in ("s", "cpu")}
    cohort.update(ours_n=1200, hand_n=1200, duckcdm_n=1200, spark_n=1200, same_persons_hand=True,
                  same_persons_duckcdm=True, same_persons_spark=True, same_strata_spark=True,
                  same_attrition_cascade=True, same_attrition_spark=True)
    return {"persons": 1_000_000, "machine_before": {"load_avg": (0.5, 0.5, 0.5), "date": "2026-11-27 10:00 UTC"},
            "load_avg_after": (0.6, 0.5, 0.5), "cohorts": {"t2dm": cohort},
            "spark": {"master": "local[2]", "export_s": 1.0, "export_mb": 10.0, "session_start_s": 2.0, "views_s": 1.0}}


def test_the_report_has_a_row_per_cohort_for_duckdb_and_for_spark():
    table = cohorts.markdown(_run())
    rows = [line for line in table.splitlines() if line.startswith("| t2dm |")]
    assert len(rows) == 2  # the DuckDB/hand/duckcdm row and the Spark row
    assert "1,200" in rows[0] and "| yes |" in rows[0] and "1.00 (1.00)" in rows[0]
    assert "Spark local[2]" in table and rows[1].count("yes") == 1


def test_a_cohort_circe_cannot_express_has_no_duckcdm_figure_or_ratio():
    run = _run()
    brca = {k: v for k, v in run["cohorts"]["t2dm"].items() if not k.startswith("duckcdm")}
    brca.update(duckcdm_n=None, same_persons_duckcdm=None, ours_n=40, hand_n=40)
    run["cohorts"]["brca_women"] = brca
    table = cohorts.markdown(run)
    row, spark_row = [line for line in table.splitlines() if line.startswith("| brca_women |")]
    assert "| yes |" in spark_row  # Spark runs it like any other cohort
    cells = [c.strip() for c in row.strip("|").split("|")]
    header = [c.strip() for c in table.splitlines()[2].strip("|").split("|")]
    assert len(cells) == len(header) == 18
    assert cells[header.index("duckcdm Circe")] == "n/a - not expressible in Circe"
    assert cells[header.index("ours/duckcdm")] == ""  # no ratio
    assert cells[header.index("same persons (ours = hand = duckcdm)")] == "yes (ours = hand)"
    assert cells[header.index("ours/hand count")] == "1.00 (1.00)"
    brca["hand_n"] = 41
    assert "| NO |" in next(line for line in cohorts.markdown(run).splitlines() if line.startswith("| brca_women |"))


def test_the_timer_returns_wall_time_the_value_and_cpu_time():
    wall, value, cpu = cohorts._median_time(lambda: 42, 3)
    assert value == 42 and wall >= 0 and cpu >= 0


def test_paired_timing_runs_both_alternately_and_returns_each_value():
    calls = []
    (ours, theirs) = cohorts._paired_median_times(lambda: calls.append("o") or 1, lambda: calls.append("t") or 2,
                                                   repeats=3)
    assert calls == ["o", "t"] * 4  # the warm-up, then three alternating rounds
    assert ours[1] == 1 and theirs[1] == 2 and ours[0] >= 0 and theirs[2] >= 0
