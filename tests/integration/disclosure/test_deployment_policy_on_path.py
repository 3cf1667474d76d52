"""The deployment's policy file (PHTA_DISCLOSURE_POLICY) tightens, per node, the policy governance
names for a purpose on the governed path: a node whose override raises the threshold suppresses
more there, and the policy applied is named on the result and in the audit chain."""

from __future__ import annotations

import dataclasses

import yaml

from phta.audit import entries
from phta.execution.network import network_feasibility, region_stores
from phta.governance.principal import Principal
from phta.query.simple_cohort import build_cohort
from phta.store import open_database

HYPERTENSION = 2001000002
RESEARCHER = Principal(1, "r@test.example", "Ravi", frozenset({"researcher"}))


def test_a_nodes_override_tightens_feasibility_at_that_node_only(region_settings, tmp_path):
    strict_node = region_stores(region_settings)[0].code
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump({"name": "region", "nodes": {strict_node: {"threshold": 1_000_000}}}),
                    encoding="utf-8")
    settings = dataclasses.replace(region_settings, disclosure_policy=str(path))
    database = open_database(settings)
    outcome = network_feasibility(settings, database, RESEARCHER, build_cohort(HYPERTENSION))
    by_code = {node.code: result for node, result in outcome.nodes}
    assert by_code[strict_node].policy_name == f"feasibility+region@{strict_node}"
    assert by_code[strict_node].total.suppressed  # no cell reaches a million persons
    others = [r for code, r in by_code.items() if code != strict_node]
    assert others and all(r.policy_name == "feasibility" for r in others)
    # the network result names every policy applied, once each, and shows the strictest threshold
    assert outcome.policy_name == f"feasibility, feasibility+region@{strict_node}" or \
        outcome.policy_name == f"feasibility+region@{strict_node}, feasibility"
    assert outcome.threshold == 1_000_000 and outcome.policy_sha256.count(",") == 1
    runs = {e.details["node"]: e.details["disclosure_policy"] for e in entries(database) if e.action == "query.run"}
    assert runs[strict_node] == f"feasibility+region@{strict_node}"
