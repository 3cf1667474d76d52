"""docs/language-reference.md is generated from the spec chapters and must be up to date."""

from tests.spec.cohort import docs_gen


def test_language_reference_is_up_to_date():
    committed = docs_gen.PAGE.read_text(encoding="utf-8") if docs_gen.PAGE.exists() else ""
    assert committed == docs_gen.render(), (
        "docs/language-reference.md is out of date: run `.venv/bin/python -m tests.spec.cohort.docs_gen`"
    )
