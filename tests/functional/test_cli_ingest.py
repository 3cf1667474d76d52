"""``phta load fhir|vcf|vocabulary`` and ``phta store report`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from phta.cdm import vocabulary
from phta.cdm.store import Store
from phta.cdm.vocabulary.athena import export_athena
from phta.cli.main import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "PHTA_LINKAGE_KEY": "6b" * 32}


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def test_fhir_vcf_vocabulary_and_report(tmp_path):
    store = Store.create(tmp_path / "store")
    vocabulary.load_into(store)
    export_athena(store, tmp_path / "athena", version="v5.0 TEST-VOCAB")
    assert _run("load", "vocabulary", tmp_path / "athena", "--store", store.path).exit_code == 0

    result = _run("load", "fhir", FIXTURES / "fhir" / "bad", "--store", store.path)
    assert result.exit_code == 0, result.output
    assert "Reconciliation: read = loaded + quarantined + not loaded" in result.output
    assert "invalid NHS number (modulus-11 check failed)" in result.output
    assert "9990000019" not in result.output  # the invalid number itself is never shown

    result = _run("load", "vcf", FIXTURES / "vcf" / "germline.vcf", "--store", store.path,
                  "--linkage", FIXTURES / "vcf" / "linkage.csv")
    assert result.exit_code == 0, result.output
    assert "contig is not a GRCh38 chromosome" in result.output

    report = json.loads(_run("store", "report", store.path, "--load", 1, "--json").output)
    assert report["source_format"] == "fhir-r4-ndjson"
    assert report["vocabulary_version"] == "v5.0 TEST-VOCAB"
    assert report["resources"]["Patient"] == {
        "read": 6, "loaded": 2, "quarantined": 4, "not_loaded": {}, "rows_by_table": {"person": 2},
        "reconciled": True, "quarantine_reasons": {
            "invalid NHS number (modulus-11 check failed)": 1, "invalid date": 1,
            "malformed NDJSON line (not one JSON object)": 1,
            "resourceType is not Patient (this file holds Patient resources)": 1}}
    latest = _run("store", "report", store.path)
    assert latest.exit_code == 0 and "Load 2 (vcf)" in latest.output

    info = _run("store", "info", store.path)
    assert "vocabulary v5.0 TEST-VOCAB" in info.output


def test_failures_exit_1_with_a_clear_message(tmp_path):
    store = Store.create(tmp_path / "store")
    for args in (("load", "fhir", tmp_path / "nowhere", "--store", store.path),
                 ("load", "vocabulary", tmp_path, "--store", store.path),
                 ("load", "vcf", tmp_path / "none.vcf", "--store", store.path, "--linkage", tmp_path / "l.csv")):
        result = _run(*args)
        assert result.exit_code == 1, result.output
        assert "Load failed" in result.output and "Traceback" not in result.output
    missing = _run("store", "report", store.path, "--load", 9)
    assert missing.exit_code == 1
