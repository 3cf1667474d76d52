"""duckcdm (an independent Python port of OHDSI circe-be, test-only) as the differential oracle.

Runs Circe's own generated SQL, rendered and translated to DuckDB by duckcdm's SqlRender port, on a
*copy* of a store's database (it writes cohort and statistics tables), and returns the same shapes
as :mod:`phta.execution.circe`: cohort rows and inclusion-rule masks by event and by person.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from duckcdm.circe import build_cohort_query
from duckcdm.sqlrender import render, split_sql, translate

RESULT_TABLES = (
    "CREATE TABLE circe_cohort (cohort_definition_id BIGINT, subject_id BIGINT, cohort_start_date DATE, "
    "cohort_end_date DATE)",
    "CREATE TABLE cohort_inclusion_result (cohort_definition_id BIGINT, inclusion_rule_mask BIGINT, "
    "person_count BIGINT, mode_id INT)",
    "CREATE TABLE cohort_inclusion_stats (cohort_definition_id BIGINT, rule_sequence INT, person_count BIGINT, "
    "gain_count BIGINT, person_total BIGINT, mode_id INT)",
    "CREATE TABLE cohort_summary_stats (cohort_definition_id BIGINT, base_count BIGINT, final_count BIGINT, mode_id INT)",
    "CREATE TABLE cohort_censor_stats (cohort_definition_id BIGINT, lost_count BIGINT)",
)


def run_duckcdm(db_path: Path, expression: dict, workdir: Path) -> dict:
    copy = workdir / f"oracle-{len(list(workdir.glob('oracle-*')))}.duckdb"
    shutil.copyfile(db_path, copy)
    sql = build_cohort_query(expression, cdm_schema="main", target_table="main.circe_cohort", result_schema="main",
                             cohort_id=1, generate_stats=True)
    con = duckdb.connect(str(copy))
    try:
        for ddl in RESULT_TABLES:
            con.execute(ddl)
        for statement in split_sql(translate(render(sql), "duckdb")):
            if statement.strip():
                con.execute(statement)
        rows = con.execute("SELECT subject_id, cohort_start_date, cohort_end_date FROM circe_cohort "
                           "ORDER BY 1, 2").fetchall()
        masks = {mode: con.execute("SELECT inclusion_rule_mask, person_count FROM cohort_inclusion_result "
                                   "WHERE mode_id = ? ORDER BY 1", [mode]).fetchall() for mode in (0, 1)}
        stats = {mode: con.execute("SELECT rule_sequence, person_count, gain_count FROM cohort_inclusion_stats "
                                   "WHERE mode_id = ? ORDER BY 1", [mode]).fetchall() for mode in (0, 1)}
        summary = {mode: con.execute("SELECT base_count, final_count FROM cohort_summary_stats WHERE mode_id = ?",
                                     [mode]).fetchall() for mode in (0, 1)}
    finally:
        con.close()
        copy.unlink(missing_ok=True)
    return {"rows": [(int(p), s, e) for p, s, e in rows], "masks": masks, "stats": stats, "summary": summary}
