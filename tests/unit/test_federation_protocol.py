"""The federation wire protocol: canonical bytes, Ed25519 signatures, strict envelopes, keys."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.federation import keys
from phta.federation.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    Result,
    Task,
    canonical,
    public_key_text,
    sign,
    verify,
)
from phta.federation.replay import ReplayCache

QUERY = {"format": "phta-ir", "definition": {"type": "Cohort"}}
GRANT = {"requester": "user:1", "roles": ["researcher"], "project": None}
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _task(**overrides) -> Task:
    args = {"task_type": "feasibility_count", "target_node": "uhb", "query": QUERY,
            "purpose": "network_feasibility", "grant": GRANT, "now": NOW} | overrides
    return Task.new(**args)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=50)
@given(json_values)
def test_canonical_form_is_independent_of_key_order(value):
    if isinstance(value, dict):
        reordered = dict(reversed(list(value.items())))
        assert canonical(reordered) == canonical(value)
    import json

    assert json.loads(canonical(value)) == value  # nothing lost on the way to bytes


def test_canonical_form_has_sorted_keys_and_no_whitespace():
    assert canonical({"b": 1, "a": [1, 2], "c": "é"}) == '{"a":[1,2],"b":1,"c":"é"}'.encode()


def test_a_signed_task_verifies_and_round_trips(tmp_path):
    hub = keys.hub_key(tmp_path)
    task = _task()
    body = verify(hub.public_key(), sign(hub, task.to_body()), "task")
    assert Task.from_body(body) == task
    assert body["protocol"] == PROTOCOL_VERSION and len(body["nonce"]) == 32


@pytest.mark.parametrize("field, value", [
    ("purpose", "project:7"), ("target_node", "bch"), ("expires_at", "2027-01-01T00:00:00+00:00"),
    ("query", {"format": "phta-ir", "definition": {"type": "Other"}}), ("privacy", {"threshold": 1}),
])
def test_any_change_to_a_signed_task_breaks_the_signature(tmp_path, field, value):
    hub = keys.hub_key(tmp_path)
    signed = sign(hub, _task().to_body())
    signed["body"] = signed["body"] | {field: value}
    with pytest.raises(ProtocolError, match="does not verify"):
        verify(hub.public_key(), signed, "task")


def test_a_task_signed_by_another_key_is_refused(tmp_path):
    hub, impostor = keys.hub_key(tmp_path / "hub"), keys.hub_key(tmp_path / "impostor")
    with pytest.raises(ProtocolError, match="does not verify"):
        verify(hub.public_key(), sign(impostor, _task().to_body()), "task")


def test_an_unknown_protocol_version_is_refused_naming_both(tmp_path):
    body = _task().to_body() | {"protocol": "phta-federation/9"}
    with pytest.raises(ProtocolError) as refused:
        Task.from_body(body)
    assert "'phta-federation/9'" in str(refused.value) and PROTOCOL_VERSION in str(refused.value)


@pytest.mark.parametrize("change, named", [
    ({"task_type": "run_python"}, "task.task_type"), ({"query": {"format": "python", "definition": {}}}, "task.query"),
    ({"nonce": ""}, "task.nonce"), ({"extra": 1}, "task.extra"), ({"grant": "all"}, "task.grant"),
    ({"expires_at": "2026-12-09T12:00:00+00:00"}, "task.expires_at"), ({"issued_at": "yesterday"}, "task.issued_at"),
])
def test_malformed_tasks_are_refused_naming_the_field(change, named):
    with pytest.raises(ProtocolError, match=named.replace(".", r"\.")):
        Task.from_body(_task().to_body() | change)


def test_results_are_strict_too():
    good = Result("t1", "uhb", "completed", answer={"total": {"value": 20}}).to_body()
    assert Result.from_body(good).answer == {"total": {"value": 20}}
    with pytest.raises(ProtocolError, match=r"result\.status"):
        Result.from_body(good | {"status": "exact"})


def test_keys_are_private_files_created_once(tmp_path):
    first = keys.node_key(tmp_path)
    again = keys.node_key(tmp_path)
    assert public_key_text(first.public_key()) == public_key_text(again.public_key())
    path = tmp_path / "keys" / keys.NODE_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_node_pins_one_hub_key_and_refuses_another(tmp_path):
    hub, other = keys.hub_key(tmp_path / "h"), keys.hub_key(tmp_path / "o")
    node_dir = tmp_path / "node"
    assert keys.pinned_hub_key(node_dir) is None
    keys.pin_hub_key(node_dir, public_key_text(hub.public_key()))
    keys.pin_hub_key(node_dir, public_key_text(hub.public_key()))  # the same key again: fine
    with pytest.raises(ProtocolError, match="different hub key"):
        keys.pin_hub_key(node_dir, public_key_text(other.public_key()))
    assert public_key_text(keys.pinned_hub_key(node_dir)) == public_key_text(hub.public_key())


def test_the_replay_cache_survives_a_restart(tmp_path):
    expires = NOW + dt.timedelta(minutes=10)
    assert ReplayCache(tmp_path).first_sight("n1", "t1", expires, NOW)
    assert not ReplayCache(tmp_path).first_sight("n1", "t1", expires, NOW)  # a new instance: a restart
    assert not ReplayCache(tmp_path).first_sight("n1", "t2", expires, NOW)  # same nonce, new id
    assert not ReplayCache(tmp_path).first_sight("n2", "t1", expires, NOW)  # same id, new nonce
    assert ReplayCache(tmp_path).first_sight("n2", "t2", expires, NOW)  # control: a new task
