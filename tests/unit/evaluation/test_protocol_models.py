"""Protocols are validated, frozen and hashed; models as data are scored without running code."""

import hashlib
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from scipy.special import expit

from phta.evaluation.models import ModelError, OnnxModel, parse_model, score
from phta.evaluation.protocol import (
    ProtocolError,
    canonical_json,
    freeze,
    load_protocol,
    parse_protocol,
)

PROTOCOL = {"title": "T2D 1-year risk", "index_test": "DiabRisk v2", "outcome": "type 2 diabetes within 1 year",
            "thresholds": [0.1, 0.2], "subgroups": ["ethnic_group", ["ethnic_group", "imd_quintile"]],
            "minimum_cell_size": 10}


def test_protocol_hash_is_sha256_of_canonical_json_and_ignores_key_order_and_format(tmp_path):
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("minimum_cell_size: 10\ntitle: T2D 1-year risk\nindex_test: DiabRisk v2\n"
                         "outcome: type 2 diabetes within 1 year\nthresholds: [0.1, 0.2]\n"
                         "subgroups: [ethnic_group, [ethnic_group, imd_quintile]]\n")
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps(PROTOCOL, indent=4))
    a, b = load_protocol(yaml_file), load_protocol(json_file)
    assert a.sha256 == b.sha256 == hashlib.sha256(a.canonical_json.encode()).hexdigest()
    assert a.protocol.subgroups == (("ethnic_group",), ("ethnic_group", "imd_quintile"))


def test_any_change_to_the_protocol_changes_the_hash():
    base = freeze(parse_protocol(PROTOCOL)).sha256
    assert freeze(parse_protocol({**PROTOCOL, "minimum_cell_size": 11})).sha256 != base


def test_a_protocol_changed_after_freezing_is_detected():
    frozen = freeze(parse_protocol(PROTOCOL))
    frozen.verify()
    tampered = type(frozen)(parse_protocol({**PROTOCOL, "thresholds": [0.5]}), frozen.canonical_json,
                            frozen.sha256, frozen.frozen_at)
    with pytest.raises(ProtocolError, match="no longer matches"):
        tampered.verify()


@pytest.mark.parametrize(("change", "field"), [
    ({"minimum_cell_size": 0}, "minimum_cell_size"),
    ({"metrics": ["accuracy", "p_hacking"]}, "metrics.1"),
    ({"net_benefit_thresholds": [0.0]}, "net_benefit_thresholds"),
    ({"unknown": 1}, "unknown"),
])
def test_invalid_protocol_names_the_field(change, field):
    with pytest.raises(ProtocolError, match=f"field {field}"):
        parse_protocol({**PROTOCOL, **change}, "p.yaml")


def test_bad_yaml_names_the_file_and_line(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("title: x\nthresholds: [0.1,\n")
    with pytest.raises(ProtocolError, match=r"p.yaml:\d+: not valid YAML"):
        load_protocol(f)
    assert canonical_json(parse_protocol(PROTOCOL)).startswith("{")


FEATURES = {"age": np.array([35.0, 55.0, 70.0]), "bmi": np.array([22.0, 31.0, 28.0]),
            "smoker": np.array([0, 1, 1]), "ethnic_group": np.array(["White", "Asian", "Black"])}


def test_points_score_with_risk_mapping():
    model = parse_model({"kind": "points", "name": "demo", "items": [
        {"feature": "age", "min": 50, "max": 65, "points": 2}, {"feature": "age", "min": 65, "points": 3},
        {"feature": "bmi", "min": 30, "points": 2}, {"feature": "ethnic_group", "equals": "Asian", "points": 1},
    ], "risk": {"intercept": -4, "slope": 0.5}})
    assert score(model, FEATURES) == pytest.approx(expit(-4 + 0.5 * np.array([0, 5, 3])))


def test_logistic_and_cox_formulas():
    logistic = parse_model({"kind": "logistic", "name": "l", "intercept": -6, "coefficients": {"age": 0.05, "smoker": 0.7}})
    assert score(logistic, FEATURES) == pytest.approx(expit(-6 + 0.05 * FEATURES["age"] + 0.7 * FEATURES["smoker"]))
    cox = parse_model({"kind": "cox", "name": "c", "coefficients": {"age": 0.04}, "means": {"age": 50},
                       "baseline_survival": 0.97, "horizon": "1 year"})
    assert score(cox, FEATURES) == pytest.approx(1 - 0.97 ** np.exp(0.04 * (FEATURES["age"] - 50)))


def test_model_errors_name_the_feature_or_field():
    with pytest.raises(ModelError, match="feature 'hba1c': not in the feature table"):
        score(parse_model({"kind": "logistic", "name": "l", "intercept": 0, "coefficients": {"hba1c": 1}}), FEATURES)
    with pytest.raises(ModelError, match="feature 'ethnic_group': must be numeric"):
        score(parse_model({"kind": "logistic", "name": "l", "intercept": 0, "coefficients": {"ethnic_group": 1}}), FEATURES)
    with pytest.raises(ModelError, match=r"field cox\.baseline_survival"):
        parse_model({"kind": "cox", "name": "c", "coefficients": {"age": 1}, "baseline_survival": 1.5, "horizon": "1y"})
    with pytest.raises(ModelError, match="field"):
        parse_model({"kind": "python", "code": "import os"})


def _logistic_onnx(domain="", op="Sigmoid", opset_domain=None) -> bytes:
    """y = sigmoid(X @ w + b), built with onnx's helpers: a tiny model 'supplied as data'."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 1], [0.05, 0.7])
    b = helper.make_tensor("b", TensorProto.FLOAT, [1], [-6.0])
    nodes = [helper.make_node("MatMul", ["X", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["lp"]),
             helper.make_node(op, ["lp"], ["y"], domain=domain)]
    graph = helper.make_graph(nodes, "risk", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])], [w, b])
    opsets = [helper.make_opsetid("", 17)]
    if opset_domain:
        opsets.append(helper.make_opsetid(opset_domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model.SerializeToString()


def test_onnx_model_scores_like_the_same_logistic_formula():
    model = OnnxModel(_logistic_onnx(), ["age", "smoker"])
    expected = expit(-6 + 0.05 * FEATURES["age"] + 0.7 * FEATURES["smoker"])
    assert model.score(FEATURES) == pytest.approx(expected, rel=1e-5)


def test_onnx_custom_operator_domain_is_refused_before_running():
    data = _logistic_onnx(domain="com.evil", op="Exfiltrate", opset_domain="com.evil")
    with pytest.raises(ModelError, match="not a standard ONNX domain"):
        OnnxModel(data, ["age", "smoker"])


def test_onnxruntime_contrib_operators_are_refused_too():
    data = _logistic_onnx(domain="com.microsoft", op="Gelu", opset_domain="com.microsoft")
    with pytest.raises(ModelError, match=r"com\.microsoft"):
        OnnxModel(data, ["age", "smoker"])


def test_onnx_external_data_is_refused():
    proto = onnx.load_model_from_string(_logistic_onnx())
    tensor = proto.graph.initializer[0]
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.float_data[:]
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    with pytest.raises(ModelError, match="ONNX model"):
        OnnxModel(proto.SerializeToString(), ["age", "smoker"])


def test_garbage_is_not_an_onnx_model():
    with pytest.raises(ModelError, match="not a valid ONNX graph"):
        OnnxModel(b"#!/bin/sh\nrm -rf /\n", ["age"])
