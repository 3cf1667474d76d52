"""The v5.3 -> v5.4 rename table is complete and correct against the schema; version detection."""

import pytest

from phta.cdm import schema
from phta.cdm.ingest import versions


def test_every_field_only_in_53_is_renamed_to_a_field_only_in_54():
    for name, t54 in schema.tables("5.4").items():
        if name not in schema.tables("5.3"):
            continue
        only53 = versions.only_in("5.3", name)
        only54 = versions.only_in("5.4", name)
        renamed = {old: new for (tbl, old), new in versions.RENAMED_IN_54.items() if tbl == name}
        assert set(renamed) == only53, f"{name}: v5.3-only fields without a rename"
        assert set(renamed.values()) <= only54
        t53 = schema.table(name, "5.3")
        for old, new in renamed.items():
            assert t53.field(old).kind == t54.field(new).kind, f"{name}.{old} -> {new} changes type"


def test_renames_are_one_to_one_per_table():
    targets = [(tbl, new) for (tbl, _), new in versions.RENAMED_IN_54.items()]
    assert len(targets) == len(set(targets))


def test_every_field_required_only_since_54_has_a_default_for_53_sources():
    for name, t54 in schema.tables("5.4").items():
        t53 = schema.tables("5.3").get(name)
        if t53 is None:
            continue  # a v5.4-only table cannot appear in a v5.3 export
        renamed_back = {new: old for (tbl, old), new in versions.RENAMED_IN_54.items() if tbl == name}
        for f in t54.fields:
            old = renamed_back.get(f.name, f.name)
            was_required = old in t53.field_names and t53.field(old).required
            if f.required and not was_required:
                assert (name, f.name) in versions.DEFAULTS_FOR_53, f"{name}.{f.name} needs a default"


def test_defaults_name_real_fields_and_the_54_concept():
    for tbl, field in versions.DEFAULTS_FOR_53:
        assert field in schema.table(tbl).field_names
    assert versions.DEFAULTS_FOR_53[("cdm_source", "cdm_version_concept_id")].sql == "756265"


def test_v53_only_tables():
    assert {"attribute_definition"} == versions.ONLY_53_TABLES


@pytest.mark.parametrize(
    ("text", "version"),
    [("v5.3.1", "5.3"), ("5.4", "5.4"), ("CDM v5.4.0", "5.4"), ("v6.0", None), ("", None), (None, None)],
)
def test_version_from_text(text, version):
    assert versions.version_from_text(text) == version


def test_version_from_headers_names_file_and_column():
    for53, for54 = versions.version_from_headers(
        {"visit_occurrence": ("VISIT.csv", ["visit_occurrence_id", "admitting_source_value"]),
         "person": ("person.csv", ["person_id"])}
    )
    assert for53 == ["VISIT.csv column admitting_source_value"]
    assert for54 == []
    _, for54 = versions.version_from_headers({"episode": ("episode.csv", ["episode_id"])})
    assert for54 == ["episode.csv (table only in v5.4)"]


def test_target_field_maps_53_names_and_misspellings():
    assert versions.target_field("visit_detail", "visit_detail_parent_id", "5.3") == "parent_visit_detail_id"
    assert versions.target_field("visit_detail", "visit_detail_parent_id", "5.4") is None
    assert versions.target_field("cost", "reveue_code_source_value", "5.4") == "revenue_code_source_value"
    assert versions.target_field("person", "nonsense", "5.4") is None
