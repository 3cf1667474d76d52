"""``phta beacon query`` on a two-node region: the public's yes/no, a registered user's counts by
node, the Beacon JSON document, and bad input exiting 1 naming the parameter."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phta.cli.main import app
from phta.config import load_settings
from tests.beacon_region import make_region
from tests.governance_support import make_user

runner = CliRunner()
COMMON = ["--chrom", "17", "--start", "43124026", "--ref", "ACT", "--alt", "A"]


def _data_dir(root) -> str:
    settings = load_settings(root, env={})
    settings.data_dir.mkdir(parents=True)
    make_region(settings.stores_dir)
    make_user(settings, "researcher")
    return str(root)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _data_dir(tmp_path_factory.mktemp("beacon-cli") / "data")


def test_the_public_get_found_or_not_found(data_dir):
    found = runner.invoke(app, ["beacon", "query", *COMMON, "--data-dir", data_dir])
    assert found.exit_code == 0, found.output
    assert found.output.strip() == "found"
    rare = runner.invoke(app, ["beacon", "query", "--chrom", "13", "--start", "32340299", "--ref", "G", "--alt", "T",
                               "--data-dir", data_dir])
    assert rare.exit_code == 0 and rare.output.startswith("not found in 10 or more persons")


def test_a_registered_user_gets_counts_by_node_and_the_json_document(data_dir):
    result = runner.invoke(app, ["beacon", "query", *COMMON, "--user", "researcher@test.example", "--json",
                                 "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["meta"]["returnedGranularity"] == "count"
    assert document["responseSummary"]["numTotalResults"] >= 20


def test_individuals_counts_by_node_and_the_release_ledger_reusing_the_earlier_answer(tmp_path):
    data_dir = _data_dir(tmp_path / "data")
    asthma = ["beacon", "query", "--individuals", "--filter", "SNOMED:195967001", "--user", "researcher@test.example",
              "--data-dir", data_dir]
    assert runner.invoke(app, asthma).output.splitlines() == ["NODEA: 15", "NODEB: <10", "overall: 15"]
    # Node A's carriers of the common allele are 12 of those 15 asthmatics: two different answers
    # would single out three persons, so node A's ledger answers with the earlier population's
    # value (the same 15), which reveals nothing about the three
    lines = runner.invoke(app, ["beacon", "query", *COMMON, "--user", "researcher@test.example",
                                "--data-dir", data_dir]).output.splitlines()
    assert lines[0] == "NODEA: 15" and lines[1].startswith("NODEB: ") and lines[2].startswith("overall: ")


@pytest.mark.parametrize(("args", "message"), [
    (["--chrom", "17", "--start", "-5", "--end", "3"], "start: positions are 0-based"),
    (["--individuals", "--filter", "HP:0000001"], "filters: 'HP:0000001' is not a filtering term"),
    (["--gene", "BRCA1", "--user", "nobody@test.example"], "--user: no account"),
])
def test_bad_input_exits_1_naming_the_parameter(data_dir, args, message):
    result = runner.invoke(app, ["beacon", "query", *args, "--data-dir", data_dir])
    assert result.exit_code == 1
    assert message in result.output.replace("\n", " ")
