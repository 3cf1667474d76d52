"""Profiling: fill in a record from its node store.

What profiling reads, and how each is protected:

- **structural metadata**: tables, their columns and types (from the OMOP CDM v5.4 specification
  the store follows), and each table's row count. Row counts count records, not persons.
- **coverage**: the earliest and latest event dates across the store's event tables, rounded to
  the month (an exact first or last date could be one person's visit).
- **population size**: counted through the execution path (``phta.execution.governed``) under
  the ``public_statistics`` standing purpose, so it is what that purpose's disclosure policy
  publishes (rounded, small counts suppressed), opt-outs applied, audited. Only the protected
  value is written into the record; a suppressed count is HDR UK's -1 ("not known").
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from phta.catalogue.records import validate
from phta.cdm import schema
from phta.cdm.store import Store
from phta.cdm.summary import summarise
from phta.config import Settings
from phta.execution.governed import run_governed
from phta.governance.principal import Principal
from phta.query import ir
from phta.store import Database

PROFILE_PURPOSE = "public_statistics"
#: the OMOP tables whose columns hold direct identifiers or free text
SENSITIVE_COLUMNS = {"person_source_value", "provider_source_value", "note_text", "birth_datetime",
                     "day_of_birth", "month_of_birth"}


def population_query() -> ir.Cohort:
    """Everyone with at least one recorded visit (index: their first visit)."""
    return ir.Cohort(index_date=ir.FirstDate(ir.Events("visit")))


def protected_population(settings: Settings, database: Database, principal: Principal | None,
                         store_path: Path) -> int:
    """The store's population as the public statistics policy publishes it (-1 if suppressed)."""
    result = run_governed(settings, database, principal, PROFILE_PURPOSE, population_query(), store_path,
                          outputs=("count",), charge_budget=False)
    assert result.total is not None
    return -1 if result.total.suppressed else int(result.total.value or 0)


def _month(value: str | None, *, end: bool = False) -> str | None:
    """The first day of the month of an ISO date (for an end date too: the month, not the day)."""
    if not value:
        return None
    day = dt.date.fromisoformat(str(value)[:10])
    return day.replace(day=1).isoformat()


def structural_metadata(summary: dict) -> dict:
    tables = []
    spec = schema.tables()
    for entry in summary["tables"]:
        name = entry["table"]
        fields = spec[name].fields if name in spec else ()
        columns = [{"name": f.name, "dataType": f.datatype, "sensitive": f.name in SENSITIVE_COLUMNS,
                    "description": None} for f in fields] or [{"name": "(extension table)", "dataType": "unknown",
                                                              "sensitive": False}]
        tables.append({"name": name, "description": f"{entry['rows']:,} rows (records, not persons)",
                       "columns": columns})
    return {"tables": tables, "syntheticDataWebLink": None}


def coverage(summary: dict) -> tuple[str | None, str | None]:
    starts = [t["date_min"] for t in summary["tables"] if t.get("date_min")]
    ends = [t["date_max"] for t in summary["tables"] if t.get("date_max")]
    return (_month(min(starts)) if starts else None, _month(max(ends), end=True) if ends else None)


def profile(settings: Settings, database: Database, principal: Principal | None, record: dict,
            store_path: Path) -> dict:
    """A copy of ``record`` with what the store says filled in (validated)."""
    summary = summarise(Store.open(store_path))
    out = copy.deepcopy(record)
    out["structuralMetadata"] = structural_metadata(summary)
    start, end = coverage(summary)
    temporal = out.setdefault("provenance", {}).setdefault("temporal", {})
    if start:
        temporal["startDate"] = start
    if end:
        temporal["endDate"] = end
    size = protected_population(settings, database, principal, store_path)
    out["summary"]["populationSize"] = size
    today = dt.date.today().isoformat()
    out["observations"] = [o for o in out.get("observations") or [] if o.get("observedNode") != "Persons"]
    if size >= 0:
        out["observations"].append({"observedNode": "Persons", "measuredValue": size, "observationDate": today,
                                    "measuredProperty": "Count",
                                    "disambiguatingDescription": "persons with a visit; disclosure-controlled"})
    return validate(out)
