"""``phta cohort run --purpose network_feasibility`` previews what the node's release ledger would
decide for the network, and records nothing: a custodian's preview is not a release."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from phta.cli.main import app
from phta.execution.governed import run_governed
from phta.execution.ledger import ledger_path
from phta.execution.network import region_stores
from phta.query import serial
from phta.query.simple_cohort import build_cohort
from phta.store import open_database
from tests.integration.disclosure.test_ledger_on_execution_path import (
    HYPERTENSION,
    RESEARCHER,
    born_before_latest,
    node_name,
)

runner = CliRunner()


def preview(tmp_path, store, data_dir, cohort, name: str) -> str:
    definition = tmp_path / f"{name}.json"
    definition.write_text(serial.to_json(cohort), encoding="utf-8")
    result = runner.invoke(app, ["cohort", "run", str(definition), "--store", str(store),
                                 "--purpose", "network_feasibility", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # undo Rich's wrapping


def test_the_preview_says_what_the_ledger_would_decide_and_records_nothing(region_settings, tmp_path):
    store = region_stores(region_settings)[0].path
    cohort = build_cohort(HYPERTENSION)
    data_dir = region_settings.data_dir
    assert "the network would release it" in preview(tmp_path, store, data_dir, cohort, "first")
    assert not ledger_path(data_dir, node_name(store)).exists()

    run_governed(region_settings, open_database(region_settings), RESEARCHER, "network_feasibility", cohort, store)
    assert "same or a near-identical population" in preview(tmp_path, store, data_dir, cohort, "same")
    nested, left_out = born_before_latest(store, cohort, 2)
    assert left_out < 10
    assert "same or a near-identical population" in preview(tmp_path, store, data_dir, nested, "nested")
    far, left_out = born_before_latest(store, cohort, 30)
    assert left_out >= 30
    assert "the network would release it" in preview(tmp_path, store, data_dir, far, "far")
    with sqlite3.connect(ledger_path(data_dir, node_name(store))) as db:
        recorded = db.execute("SELECT count(*) FROM population").fetchone()[0]
    preview(tmp_path, store, data_dir, far, "far again")
    with sqlite3.connect(ledger_path(data_dir, node_name(store))) as db:
        assert db.execute("SELECT count(*) FROM population").fetchone()[0] == recorded  # previews record nothing
