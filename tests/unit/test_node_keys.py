"""Node names are one key whatever their spelling: every node-keyed table, file and mapping is
written and read through ``phta.node_names.node_key``.

Before, ``airlock_node`` rows were stored under ``node_key`` (lower case) but read with the node as
a request named it (``XT001``), so custodian sign-off was never asked for. The architecture test
finds any read of a node-keyed store that bypasses the one function; the property tests write with
one spelling and read with another through every accessor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from phta.config import load_settings
from phta.disclosure.policy import PolicyError, policy_from_dict
from phta.execution import ledger
from phta.governance import airlock, airlock_review
from phta.governance.nodes import custodian_organisation
from phta.node_names import node_key, same_node
from phta.store import open_database

SRC = Path(__file__).resolve().parents[2] / "src" / "phta"
# The only modules that may touch a node-keyed store directly: they ARE the one accessor.
ACCESSORS = {"node_names.py", "governance/nodes.py"}
# The network protocol identifies a node by the exact code it enrolled with and signs in every
# message (a signature binds the exact string), so there codes are compared as enrolled, never
# normalised: a differently spelt code is another, unknown node (refused by name).
SIGNED_IDENTITIES = {"federation/aggregate.py", "federation/hub.py", "federation/poll.py"}


def _spellings(name: str):
    """Any spelling of ``name``: each letter in either case, optional surrounding spaces."""
    cases = st.tuples(*(st.sampled_from(sorted({c.lower(), c.upper()})) for c in name)).map("".join)
    return st.tuples(st.sampled_from(["", " "]), cases, st.sampled_from(["", "  "])).map("".join)


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("query/"):  # "node" there means an IR node, not a data node
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _is_node_name(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in ("node", "node_name")
    return isinstance(expr, ast.Attribute) and expr.attr == "node"


def test_no_node_keyed_store_is_read_around_node_key():
    problems = []
    for rel, tree in _modules():
        if rel in ACCESSORS or rel in SIGNED_IDENTITIES:
            continue
        for n in ast.walk(tree):
            # session.get(AirlockNode, ...): only governance.nodes.node_setting_row may
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                    and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == "AirlockNode"):
                problems.append(f"{rel}:{n.lineno}: reads airlock_node without node_setting_row")
            # comparing node names as given: XT001 != xt001
            if isinstance(n, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn))
                                                  for op in n.ops):
                sides = [n.left, *n.comparators]
                if any(_is_node_name(s) for s in sides) and not any(
                        isinstance(s, ast.Call) and getattr(s.func, "id", "") == "node_key" for s in sides):
                    problems.append(f"{rel}:{n.lineno}: compares node names without node_key/same_node")
            # a home-made normalisation: node.lower() / node.strip().lower()
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("lower", "casefold")
                    and "node" in ast.unparse(n.func.value).lower()):
                problems.append(f"{rel}:{n.lineno}: normalises a node name by hand; use node_key")
    assert problems == []


def test_the_architecture_test_finds_a_bypass(tmp_path):
    """Control for the test above: the old reads are what it reports."""
    old = ast.parse("setting = session.get(AirlockNode, request.node)\n"
                    "ok = [s for s in settings if s.node == name.strip().lower()]\n")
    calls = [n for n in ast.walk(old) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert any(c.func.attr == "get" and c.args[0].id == "AirlockNode" for c in calls)
    assert any(isinstance(n, ast.Compare) and _is_node_name(n.left) for n in ast.walk(old))


@hsettings(max_examples=15, deadline=None)
@given(written=_spellings("XT001"), read=_spellings("XT001"))
def test_node_key_is_one_key_for_every_spelling(written, read):
    assert node_key(written) == node_key(read) == "xt001"
    assert same_node(written, read)


def test_other_nodes_stay_apart():
    assert not same_node("XT001", "XT002")
    assert node_key("XT001") != node_key("XT0011")


@hsettings(max_examples=8, deadline=None)
@given(written=_spellings("XT001"), read=_spellings("XT001"))
def test_airlock_settings_are_read_whatever_the_spelling(tmp_path_factory, written, read):
    db = open_database(load_settings(tmp_path_factory.mktemp("data"), env={}))
    airlock.set_node_setting(db, written, custodian_signoff=True, custodian_organisation="UHB", actor="test")
    assert airlock_review.requires_signoff(db, read)
    assert airlock.node_setting(db, read).custodian_organisation == "UHB"
    assert custodian_organisation(db, read) == "UHB"
    assert not airlock_review.requires_signoff(db, "XT002")  # control: another node has no setting
    assert [s.node for s in airlock.list_node_settings(db)] == ["xt001"]


@hsettings(max_examples=10, deadline=None)
@given(written=_spellings("XT001"), read=_spellings("XT001"))
def test_a_policy_override_applies_whatever_the_spelling(written, read):
    data = {"name": "region", "nodes": {written: {"threshold": 25}}}
    assert policy_from_dict(data, source="region.yaml", node=read).threshold == 25
    assert policy_from_dict(data, source="region.yaml", node="XT002").threshold != 25  # control


def test_a_policy_naming_one_node_twice_is_refused():
    with pytest.raises(PolicyError, match="same node"):
        policy_from_dict({"nodes": {"XT001": {"threshold": 25}, "xt001": {"threshold": 30}}}, source="p.yaml")


@hsettings(max_examples=10, deadline=None)
@given(written=_spellings("XT001"), read=_spellings("XT001"))
def test_one_release_ledger_and_engine_per_node(tmp_path_factory, written, read):
    data_dir = tmp_path_factory.mktemp("data")
    assert ledger.ledger_path(data_dir, written) == ledger.ledger_path(data_dir, read)
    assert ledger.ledger_key(data_dir, written) == ledger.ledger_key(data_dir, read)
    assert ledger.ledger_path(data_dir, "XT002") != ledger.ledger_path(data_dir, read)
    settings = load_settings(data_dir, env={"PHTA_NODE_ENGINES": f"{written}=spark"})
    assert settings.engine_for(read) == "spark"
    assert settings.engine_for("XT002") == "duckdb"


def test_a_ledger_written_under_the_old_spelling_is_kept(tmp_path):
    """Ledgers written before normalisation (``XT001.sqlite``) are adopted, not forgotten."""
    (tmp_path / ledger.LEDGER_DIR).mkdir()
    (tmp_path / ledger.LEDGER_DIR / "XT001.sqlite").write_bytes(b"earlier releases")
    assert ledger.ledger_path(tmp_path, "XT001").read_bytes() == b"earlier releases"
    assert ledger.ledger_path(tmp_path, "xt001").name == "xt001.sqlite"
