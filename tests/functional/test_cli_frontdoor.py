"""`phta frontdoor load` and `phta frontdoor attention` through the real CLI (real store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from phta.cli.main import app
from phta.frontdoor import cases, seed
from phta.store import open_database
from tests.governance_support import make_principal

runner = CliRunner()


def test_load_adds_the_region_once_and_refuses_a_bad_file_naming_the_field(settings, tmp_path):
    r = runner.invoke(app, ["frontdoor", "load", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and "7 assets" in r.output, r.output
    r = runner.invoke(app, ["frontdoor", "load", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and "0 assets" in r.output
    bad = tmp_path / "region.yaml"
    bad.write_text("assets:\n  - {slug: x, name: X, kind: castle, summary: s, contact_route: c}\n", encoding="utf-8")
    r = runner.invoke(app, ["frontdoor", "load", str(bad), "--data-dir", str(settings.data_dir)])
    assert r.exit_code != 0 and "assets[1] (x): kind: 'castle'" in r.output


def test_attention_lists_overdue_cases(settings):
    db = open_database(settings)
    seed.seed_region(db)
    innovator = make_principal(db, "inn@test.example", "innovator")
    make_principal(db, "am@test.example", "account_manager")
    old = cases.submit_enquiry(db, innovator, {"organisation": "Slow Ltd", "stage": "idea", "sector": "medtech",
                                               "needs": ["space"]}, datetime.now(UTC) - timedelta(days=30))
    r = runner.invoke(app, ["frontdoor", "attention", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and "Slow Ltd" in r.output and "first response overdue" in r.output
    assert str(old) in r.output
