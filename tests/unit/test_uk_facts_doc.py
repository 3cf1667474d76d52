"""docs/uk-facts-in-omop.md states the conventions phta.cdm.uk and the extension tables implement."""

from phta.cdm import uk
from phta.cdm.extensions import VARIANT_COLUMNS
from tests.components import REPO_ROOT


def test_the_uk_facts_page_matches_the_code():
    doc = (REPO_ROOT / "docs" / "uk-facts-in-omop.md").read_text(encoding="utf-8")
    for code, (description, group) in uk.NHS_ETHNIC_CATEGORIES.items():
        assert f"| {code} | {description} | {group} | {uk.NHS_ETHNIC_CATEGORY_CONCEPT[code]:,} |" in doc, code
    assert f"{uk.IMD_QUINTILE_CONCEPT_ID:,}" in doc
    for needle in ("race_source_value", "person_source_value", "care_site_source_value", "ethnicity_concept_id",
                   "32817", "PHTA_LINKAGE_KEY"):
        assert needle in doc, needle
    for column in VARIANT_COLUMNS:
        assert f"`{column}`" in doc, column


def test_docs_pages_are_linked_from_the_index():
    index = (REPO_ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in ("synthetic-region.md", "uk-facts-in-omop.md", "vocabulary.md"):
        assert f"({page})" in index and (REPO_ROOT / "docs" / page).is_file()
