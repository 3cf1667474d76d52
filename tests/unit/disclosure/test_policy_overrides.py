"""Per-node overrides of a deployment's policy file may only make the rules stricter."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from phta.disclosure.policy import (
    Policy,
    PolicyError,
    at_least_as_strict,
    load_policy,
    strictest,
    weakened,
)

DEPLOYMENT = {"name": "region", "threshold": 10, "rounding_base": 5, "differencing": "review", "zeros": "allow"}


def write(tmp_path, data) -> str:
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("override, field", [
    ({"threshold": 5}, "threshold"),
    ({"rounding": "none"}, "rounding"),
    ({"rounding_base": 3}, "rounding_base"),
    ({"dominance_k": 0.95}, "dominance_k"),
    ({"dominance_n": 1}, "dominance_n"),
    ({"p_percent": 0.05}, "p_percent"),
    ({"min_residual_df": 2}, "min_residual_df"),
    ({"secondary_suppression": False}, "secondary_suppression"),
    ({"repeat_limit": 9}, "repeat_limit"),
])
def test_a_weakening_override_is_refused_naming_the_file_and_field(tmp_path, override, field):
    path = write(tmp_path, {**DEPLOYMENT, "nodes": {"uhb": override}})
    with pytest.raises(PolicyError) as refused:
        load_policy(path, node="uhb")
    assert f"{path}: nodes.uhb.{field}:" in str(refused.value)
    assert "only make the rules stricter" in str(refused.value)
    with pytest.raises(PolicyError):  # the whole file is refused, whichever node is asked for
        load_policy(path, node="other")
    with pytest.raises(PolicyError):
        load_policy(path)


def test_noise_and_blocking_cannot_be_turned_off_by_a_node(tmp_path):
    strict = {**DEPLOYMENT, "perturbation": "cell_key", "differencing": "block", "zeros": "suppress"}
    for override, field in (({"perturbation": "none"}, "perturbation"), ({"differencing": "review"}, "differencing"),
                            ({"zeros": "allow"}, "zeros")):
        with pytest.raises(PolicyError, match=rf"nodes\.uhb\.{field}:"):
            load_policy(write(tmp_path, {**strict, "nodes": {"uhb": override}}), node="uhb")


def test_stricter_overrides_apply_only_to_their_node(tmp_path):
    path = write(tmp_path, {**DEPLOYMENT, "nodes": {"uhb": {"threshold": 15, "rounding": "midpoint",
                                                            "rounding_base": 6, "differencing": "block"}}})
    uhb, other = load_policy(path, node="uhb"), load_policy(path, node="ruh")
    assert (uhb.name, uhb.threshold, uhb.rounding, uhb.differencing) == ("region@uhb", 15, "midpoint", "block")
    assert (other.name, other.threshold, other.differencing) == ("region", 10, "review")
    assert uhb.sha256 != other.sha256


def test_an_invalid_override_value_names_the_file_and_node(tmp_path):
    path = write(tmp_path, {**DEPLOYMENT, "nodes": {"uhb": {"threshold": "ten"}}})
    with pytest.raises(PolicyError, match=r"region\.yaml: nodes\.uhb: .*threshold"):
        load_policy(path, node="uhb")


OVERRIDES = st.fixed_dictionaries({}, optional={
    "threshold": st.integers(1, 30), "rounding": st.sampled_from(["base", "midpoint", "none"]),
    "rounding_base": st.integers(1, 12), "dominance_n": st.integers(1, 4),
    "dominance_k": st.sampled_from([0.5, 0.8, 0.9, 0.95, 1.0]), "p_percent": st.sampled_from([0.0, 0.05, 0.1, 0.2]),
    "zeros": st.sampled_from(["allow", "suppress"]), "min_residual_df": st.integers(0, 20),
    "secondary_suppression": st.booleans(), "perturbation": st.sampled_from(["none", "cell_key"]),
    "differencing": st.sampled_from(["block", "review"]), "repeat_limit": st.integers(1, 9),
})


@settings(max_examples=150, deadline=None)
@given(OVERRIDES)
def test_whatever_a_node_writes_it_gets_a_policy_at_least_as_strict_or_an_error(tmp_path_factory, override):
    path = write(tmp_path_factory.mktemp("p"), {**DEPLOYMENT, "nodes": {"uhb": override}})
    deployment = load_policy(write(tmp_path_factory.mktemp("d"), DEPLOYMENT))
    try:
        node = load_policy(path, node="uhb")
    except PolicyError as refused:
        assert weakened(deployment, Policy(**{**deployment.to_dict(), **override}))
        assert "nodes.uhb." in str(refused)
    else:
        assert at_least_as_strict(deployment, node)


# --- a deployment file tightens the policy a purpose names (phta.execution.governed.purpose_policy)

@settings(max_examples=150, deadline=None)
@given(OVERRIDES, st.sampled_from(["feasibility", "project", "public", "custodian", "beacon"]))
def test_the_strictest_of_two_policies_is_at_least_as_strict_as_each(values, name):
    purpose = load_policy(name)
    floor = Policy(**{**Policy(name="region").to_dict(), **values})
    combined = strictest(purpose, floor)
    assert at_least_as_strict(purpose, combined) and at_least_as_strict(floor, combined)
    if at_least_as_strict(floor, purpose):  # nothing to raise: the purpose's policy, unchanged
        assert combined == purpose


def test_a_deployment_floor_raises_only_what_it_makes_stricter():
    floor = Policy(name="region", threshold=15, rounding_base=5)
    combined = strictest(load_policy("feasibility"), floor)
    assert combined.name == "feasibility+region"
    assert combined.threshold == 15 and combined.rounding_base == 10  # feasibility's coarser rounding kept
    assert combined.perturbation == "cell_key"  # never loosened
