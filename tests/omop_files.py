"""Small OMOP CSV folders for loader tests, and ways to look inside a store afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb

PERSON = "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n"
OBS_PERIOD = (
    "observation_period_id,person_id,observation_period_start_date,"
    "observation_period_end_date,period_type_concept_id\n"
)
CONDITION = (
    "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,"
    "condition_type_concept_id,condition_source_value\n"
)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def valid_folder(folder: Path) -> Path:
    """Three persons, their observation periods, and four conditions: all valid, no findings."""
    write(folder, "person.csv", PERSON + "1,8507,1970,0,0\n2,8532,1980,0,0\n3,8532,1990,0,0\n")
    write(
        folder,
        "observation_period.csv",
        OBS_PERIOD
        + "1,1,2010-01-01,2020-12-31,32817\n2,2,2010-01-01,2020-12-31,32817\n"
        + "3,3,2015-01-01,2020-12-31,32817\n",
    )
    write(
        folder,
        "condition_occurrence.csv",
        CONDITION
        + "1,1,201826,2012-05-01,32817,E11\n2,1,201826,2013-05-01,32817,E11\n"
        + "3,2,316866,2014-01-01,32817,I10\n4,3,316866,2016-01-01,32817,I10\n",
    )
    return folder


def rows(store: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(store / "cdm.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def quarantine(store: Path) -> list[tuple]:
    """(file, line, field, reason), ordered."""
    return rows(store, "SELECT file, line, field, reason FROM phta_quarantine ORDER BY file, line, field")


def snapshot(store: Path) -> dict:
    """Everything a failed load must leave unchanged: every table's rows, history, quarantine."""
    with duckdb.connect(str(store / "cdm.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {n: sorted(map(repr, con.execute(f"SELECT * FROM {n}").fetchall())) for n in names}
