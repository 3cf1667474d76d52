"""The deployment's disclosure policy (PHTA_DISCLOSURE_POLICY) in the airlock and in the CLI: the
file's values with the node's stricter overrides are what the automatic table checks apply, the
policy applied (name and SHA-256) is attached to every checked file, and a file that would let a
node weaken the rules stops the app and the CLI with the file and field named."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from typer.testing import CliRunner

from phta.cli.main import app as cli
from phta.disclosure import PolicyError, load_policy
from phta.web.app import create_app
from tests.airlock_support import SAFE_CSV, approved_project, submit
from tests.conftest import LiveServer
from tests.governance_support import make_user, sign_in

POLICY = "name: region\nthreshold: 12\nnodes:\n  uhb: {threshold: 45, rounding_base: 10}\n"
WEAKENING = "name: region\nthreshold: 12\nnodes:\n  uhb: {threshold: 8}\n"


def checked_table(settings, file_text: str | None) -> dict:
    if file_text is not None:
        path = settings.data_dir.parent / "region-policy.yaml"
        path.write_text(file_text, encoding="utf-8")
        settings = dataclasses.replace(settings, disclosure_policy=str(path))
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    pid = approved_project(settings, researcher)
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url) as client:
        assert sign_in(client, researcher).status_code == 303
        response = submit(client, pid, [("table.csv", SAFE_CSV, "Counts by age and sex")])
        assert response.status_code == 201, response.text
    return response.json()["files"][0]


def test_the_deployment_policy_with_the_nodes_overrides_is_applied_and_attached(settings):
    table = checked_table(settings, POLICY)
    applied = load_policy(settings.data_dir.parent / "region-policy.yaml", node="uhb")
    assert table["checks"]["policy"] == "region@uhb" and table["checks"]["policy_sha256"] == applied.sha256
    failing = {c["cell"] for c in table["checks"]["table"]["cells"] if c["fails"]}
    assert "0-39 / F" in failing  # 40 persons: fine under the built-in, not under uhb's threshold 45
    assert table["check_status"] == "suppressed"


def test_without_a_deployment_policy_the_built_in_project_policy_is_applied(settings):
    table = checked_table(settings, None)
    assert table["checks"]["policy"] == "project"
    assert table["checks"]["policy_sha256"] == load_policy("project").sha256
    assert table["check_status"] == "pass"


def test_a_weakening_node_override_stops_the_app_naming_file_and_field(settings):
    path = settings.data_dir.parent / "weak.yaml"
    path.write_text(WEAKENING, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"weak\.yaml: nodes\.uhb\.threshold: 8 would weaken"):
        create_app(dataclasses.replace(settings, disclosure_policy=str(path)))


def test_outputs_check_uses_the_deployment_policy_by_default(tmp_path, monkeypatch):
    table = tmp_path / "t.csv"
    table.write_text("age,count\n0-39,12\n40+,45\n")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("PHTA_DISCLOSURE_POLICY", str(policy))
    runner = CliRunner()
    passed = runner.invoke(cli, ["outputs", "check", str(table)])
    assert passed.exit_code == 0 and "policy region " in passed.output, passed.output
    stricter = runner.invoke(cli, ["outputs", "check", str(table), "--node", "uhb"])
    assert stricter.exit_code == 1 and "policy region@uhb" in stricter.output
    policy.write_text(WEAKENING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # short paths, so the message is not wrapped
    refused = runner.invoke(cli, ["outputs", "check", "t.csv", "--policy", "p.yaml"])
    assert refused.exit_code == 2 and "nodes.uhb.threshold" in refused.output
