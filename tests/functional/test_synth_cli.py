"""`phta synth` writes a region; `phta demo` generates one on first run and not again."""

import json

from rich.console import Console
from typer.testing import CliRunner

from phta.cdm.synth import MANIFEST
from phta.cli.demo import prepare_demo
from phta.cli.main import app


def test_phta_synth_writes_stores_and_a_manifest(tmp_path):
    out = tmp_path / "region"
    result = CliRunner().invoke(app, ["synth", "--patients", "2000", "--sites", "3", "--seed", "5",
                                      "--out", str(out), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert [s["code"] for s in manifest["sites"]] == ["XG001", "XG002", "XT001"]
    assert (out / "XG001" / "cdm.duckdb").is_file()
    assert "XT001" in result.output
    assert (tmp_path / "data" / "keys" / "linkage.key").is_file()
    again = CliRunner().invoke(app, ["synth", "--patients", "10", "--out", str(out), "--data-dir", str(tmp_path / "data")])
    assert again.exit_code == 2 and "already holds" in again.output


def test_demo_generates_the_region_once(settings):
    console = Console(record=True)
    first = prepare_demo(settings, console)
    assert (settings.stores_dir / MANIFEST).exists()
    assert any("XG001" in line for line in first)
    second = prepare_demo(settings, console)
    assert any("already in" in line for line in second)
    assert any("`phta audit anchor`" in line and "newest signed checkpoint: entry" in line for line in second)
    # the demo says what a researcher meets: the query vocabulary and the daily budget
    assert any("phta cohort vocabulary" in line and "500 feasibility queries a day" in line for line in second)
    # the hospital network: every node enrolled and approved once, each with its own key and pinned hub key
    from phta.federation import hub
    from phta.store import open_database

    assert any("Hospital network: 4 node agents" in line for line in first)
    assert not any("enrolled and approved" in line for line in second)
    nodes = hub.nodes(open_database(settings))
    assert [n.status for n in nodes] == ["approved"] * 4
    for n in nodes:
        assert (settings.data_dir / "nodes" / n.code / "keys" / "federation-hub.pub").is_file()
