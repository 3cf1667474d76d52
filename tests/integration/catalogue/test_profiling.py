"""Profiling a node store: structure and row counts read from the store; coverage rounded to
months; the population counted through the execution path, protected and audited."""

from __future__ import annotations

import json

from phta.catalogue import profiling
from phta.catalogue.records import new_record
from phta.execution.network import region_stores
from phta.store import open_database
from phta.store.models import AuditEntry


def test_profile_fills_structure_coverage_and_a_protected_population(region_settings):
    database = open_database(region_settings)
    node = region_stores(region_settings)[0]
    record = new_record(title="A regional node", abstract="Everything a hospital holds, in OMOP CDM",
                        custodian="UHB", contact="data@example.nhs.uk")
    profiled = profiling.profile(region_settings, database, None, record, node.path)
    tables = {t["name"]: t for t in profiled["structuralMetadata"]["tables"]}
    assert "person" in tables and "condition_occurrence" in tables
    assert tables["person"]["description"].endswith("rows (records, not persons)")
    assert profiled["provenance"]["temporal"]["startDate"].endswith("-01")  # a month, never a day
    assert profiled["provenance"]["temporal"]["endDate"].endswith("-01")
    size = profiled["summary"]["populationSize"]
    assert size > 0
    # the public statistics policy rounds: the published value is a multiple of its base
    assert size % 5 == 0 or size % 10 == 0
    with database.session() as s:
        actions = [(e.action, json.loads(e.details)) for e in s.query(AuditEntry).order_by(AuditEntry.seq)]
    assert any("public_statistics" in json.dumps(d) for _a, d in actions)


def test_month_rounding():
    assert profiling._month("2019-06-17") == "2019-06-01"
    assert profiling._month(None) is None
