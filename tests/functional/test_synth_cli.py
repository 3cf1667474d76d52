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


def test_demo_seeds_a_profiled_library_record_per_node(settings, monkeypatch):
    from phta.catalogue import library, search
    from phta.cli import demo as demo_cli
    from phta.store import open_database

    monkeypatch.setitem(demo_cli.DEMO_REGION, "patients", 2_000)
    monkeypatch.setitem(demo_cli.DEMO_REGION, "sites", 3)
    lines = prepare_demo(settings, Console(record=True))
    assert any("Library: 3 dataset record(s) profiled" in line for line in lines)
    database = open_database(settings)
    records = library.datasets(database)
    assert len(records) == 3 and all(r.population_size and r.record["structuralMetadata"] for r in records)
    assert library.collections(database)[0]["datasets"]
    assert search.search(database, "diabetes").total == 3
    # the data-uses register: the approved demo project was granted XT001
    uses = {r.node: library.data_uses(database, r) for r in records}
    assert [u["title"] for u in uses["XT001"]] and uses["XG001"] == []
    again = prepare_demo(settings, Console(record=True))
    assert any("already there" in line for line in again) and len(library.datasets(database)) == 3
