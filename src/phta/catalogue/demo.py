"""The demo's library: one profiled record per synthetic node store, and a collection of them."""

from __future__ import annotations

import re

from phta.catalogue import library, profiling
from phta.catalogue.records import new_record
from phta.config import Settings
from phta.execution.network import region_stores
from phta.governance.nodes import custodian_organisation
from phta.store import Database

DEMO_COLLECTION = "West Midlands synthetic region"


def seed_demo_library(settings: Settings, database: Database) -> list[str]:
    """Idempotent: a node that already has a record is left alone."""
    made = []
    for node in region_stores(settings):
        if library.datasets(database, node=node.code):
            continue
        custodian = custodian_organisation(database, node.code) or node.name
        # the node's display name (not its code) says what kind of holder it is
        kind = "GP federation" if re.search(r"\bGP\b|federation", node.name, re.IGNORECASE) else "hospital"
        record = new_record(
            title=f"{node.name}: OMOP CDM extract",
            abstract=(f"Synthetic electronic health records of the {kind} {node.name}, in OMOP CDM v5.4: "
                      "diagnoses, prescribed medicines, tests and measurements, procedures, visits and deaths."),
            custodian=custodian, contact="data@phta.example",
            keywords=("diabetes", "hypertension", "asthma", "atrial fibrillation", "heart failure", "cancer",
                      "primary care" if kind == "GP federation" else "secondary care", "synthetic"),
            dataset_types=("Health and disease", "Treatments/Interventions", "Measurements/Tests"),
            conforms_to=("OMOP",), vocabularies=("SNOMED CT", "ICD10", "LOINC", "DM+D"),
        )
        record = profiling.profile(settings, database, None, record, node.path)
        made.append(library.save(database, record, node=node.code))
    lines = [f"Library: {len(made)} dataset record(s) profiled from the node stores" if made else
             "Library: dataset records already there"]
    if made:
        library.save_collection(database, DEMO_COLLECTION, "Every node store of the demo's synthetic region.",
                                [d.id for d in library.datasets(database)])
    lines.append("Library: /library (search, a dataset's quality tab, 'Request access'); custodians edit their "
                 "organisation's records and see their node store's load reports")
    return lines
