"""Findings: integrity problems OMOP data commonly has. The rows ARE loaded; each kind is counted
per table so the data-quality checks can report them.

Kinds (counted over the whole store after the load, for every non-empty table):

- ``duplicate_primary_key``: rows whose primary key value is shared with another row.
- ``unknown_person``: rows whose ``person_id`` is not in ``person`` (for ``observation_period``
  these are observation periods of unknown persons).
- ``outside_observation_period``: events of a known person whose main date (``EVENT_DATE``) lies
  outside every observation period of that person.
- ``over_length_text``: rows with a text longer than the OMOP field's ``varchar(n)`` (DuckDB
  stores it; stricter databases would refuse it).
"""

from __future__ import annotations

import duckdb

from phta.cdm import schema

# The main date of each event table: used for date coverage and the observation-period check.
EVENT_DATE: dict[str, str] = {
    "observation_period": "observation_period_start_date",
    "visit_occurrence": "visit_start_date",
    "visit_detail": "visit_detail_start_date",
    "condition_occurrence": "condition_start_date",
    "drug_exposure": "drug_exposure_start_date",
    "procedure_occurrence": "procedure_date",
    "device_exposure": "device_exposure_start_date",
    "measurement": "measurement_date",
    "observation": "observation_date",
    "death": "death_date",
    "note": "note_date",
    "specimen": "specimen_date",
    "payer_plan_period": "payer_plan_period_start_date",
    "drug_era": "drug_era_start_date",
    "dose_era": "dose_era_start_date",
    "condition_era": "condition_era_start_date",
    "episode": "episode_start_date",
}

FINDING_KINDS = (
    "duplicate_primary_key",
    "unknown_person",
    "outside_observation_period",
    "over_length_text",
)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0] or 0)


def table_findings(con: duckdb.DuckDBPyConnection, tbl: schema.Table) -> dict[str, int]:
    name = tbl.name
    out: dict[str, int] = {}
    pk = tbl.primary_key
    if pk is not None:
        out["duplicate_primary_key"] = _count(
            con,
            f'SELECT sum(n) FROM (SELECT count(*) AS n FROM {name} GROUP BY "{pk.name}" '
            "HAVING count(*) > 1)",
        )
    if "person_id" in tbl.field_names and name != "person":
        out["unknown_person"] = _count(
            con,
            f"SELECT count(*) FROM {name} e WHERE e.person_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM person p WHERE p.person_id = e.person_id)",
        )
        date = EVENT_DATE.get(name)
        if date is not None and name != "observation_period":
            out["outside_observation_period"] = _count(
                con,
                f"""SELECT count(*) FROM {name} e
                WHERE EXISTS (SELECT 1 FROM person p WHERE p.person_id = e.person_id)
                  AND NOT EXISTS (SELECT 1 FROM observation_period op
                                  WHERE op.person_id = e.person_id
                                    AND e."{date}" BETWEEN op.observation_period_start_date
                                                       AND op.observation_period_end_date)""",
            )
    limited = [f for f in tbl.fields if f.max_length is not None]
    if limited:
        cond = " OR ".join(f'length("{f.name}") > {f.max_length}' for f in limited)
        out["over_length_text"] = _count(con, f"SELECT count(*) FROM {name} WHERE {cond}")
    return out


def store_findings(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Findings per non-empty table of the store; kinds with a zero count are kept (an explicit
    0 says the check ran)."""
    out: dict[str, dict[str, int]] = {}
    for tbl in schema.tables().values():
        if _count(con, f"SELECT count(*) FROM (SELECT 1 FROM {tbl.name} LIMIT 1)") == 0:
            continue
        found = table_findings(con, tbl)
        if found:
            out[tbl.name] = found
    return out
