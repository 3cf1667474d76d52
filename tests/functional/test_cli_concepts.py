"""``phta concepts search|show|set|index`` on a real store holding the embedded vocabulary."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phta.cdm import vocabulary
from phta.cdm.store import Store
from phta.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store.create(tmp_path_factory.mktemp("cli-concepts") / "store")
    vocabulary.load_into(s)
    return s.path


def run(*args: str):
    return runner.invoke(app, ["concepts", *args])


def test_search_with_a_typo_and_by_code(store):
    found = run("search", "diabtes type 2", "--store", str(store), "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)[0]["concept_code"] == "44054006"
    coded = run("search", "icd-10:E11", "--store", str(store), "--json")
    assert [c["concept_code"] for c in json.loads(coded.output)] == ["E11"]
    table = run("search", "salbutamol", "--store", str(store))
    assert "Salbutamol" in table.output


def test_show_hierarchy_and_mapped_codes(store):
    shown = run("show", "SNOMED:44054006", "--store", str(store), "--json")
    detail = json.loads(shown.output)
    assert [p["concept_code"] for p in detail["parents"]] == ["73211009"]
    assert [m["concept_code"] for m in detail["mapped_from"]] == ["E11"]


def test_set_build_export_and_reimport(store, tmp_path):
    atlas, csv_path = tmp_path / "set.json", tmp_path / "set.csv"
    built = run("set", "--store", str(store), "--include-descendants", "SNOMED:73211009",
                "--exclude", "SNOMED:46635009", "--name", "Diabetes not type 1",
                "--atlas-out", str(atlas), "--csv-out", str(csv_path), "--json")
    assert built.exit_code == 0, built.output
    resolved = sorted(c["concept_code"] for c in json.loads(built.output)["resolved"])
    assert "46635009" not in resolved and "44054006" in resolved
    doc = json.loads(atlas.read_text(encoding="utf-8"))
    assert doc["name"] == "Diabetes not type 1" and len(doc["expression"]["items"]) == 2
    for path in (atlas, csv_path):
        again = run("set", str(path), "--store", str(store), "--json")
        assert sorted(c["concept_code"] for c in json.loads(again.output)["resolved"]) == resolved


def test_errors_name_the_problem(store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [{"concept": {"CONCEPT_ID": 999}}]}', encoding="utf-8")
    refused = run("set", str(bad), "--store", str(store))
    assert refused.exit_code == 1 and "items[0] (concept 999)" in refused.output
    assert run("show", "NOPE:1", "--store", str(store)).exit_code == 1
    assert run("search", "x", "--store", str(tmp_path / "missing")).exit_code == 2
    assert "Traceback" not in refused.output


def test_index_rebuilds(store):
    done = run("index", str(store))
    assert done.exit_code == 0 and "postings" in done.output
