"""HDR UK metadata v4.0.0 records: what PHTA writes validates against HDR UK's own schema file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from phta.catalogue.records import RecordInvalid, completeness, missing_fields, new_record, validate

REFERENCE = Path("/work/shared/reference/hdruk-metadata-4.0.0")


def _record(**kw) -> dict:
    return new_record(title="Birmingham diabetes registry", abstract="Adults with type 2 diabetes in primary care",
                      custodian="University Hospitals Birmingham", contact="data@uhb.example",
                      start_date="2015-03-01", **kw)


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the HDR UK reference schema is not on this machine")
def test_new_records_validate_against_the_published_schema_file():
    schema = json.loads((REFERENCE / "schema.json").read_text())
    jsonschema.validate(_record(keywords=("diabetes",)), schema)
    validate(json.loads((REFERENCE / "example.json").read_text()))  # HDR UK's own example passes ours


def test_a_bad_record_is_refused_naming_each_field():
    record = copy.deepcopy(_record())
    record["summary"]["populationSize"] = "lots"
    del record["summary"]["title"]
    with pytest.raises(RecordInvalid) as caught:
        validate(record)
    assert caught.value.errors == ["summary: 'title' is a required property",
                                   "summary.populationSize: 'lots' is not of type 'integer'"]


def test_completeness_counts_filled_fields_and_unknown_population_is_empty():
    bare = _record()
    assert "summary.populationSize" in missing_fields(bare)
    fuller = _record(keywords=("diabetes", "HbA1c"), population_size=12000)
    assert completeness(fuller) > completeness(bare)
    assert 0 <= completeness(bare) <= 100
