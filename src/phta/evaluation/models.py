"""Models supplied as data, scored inside the node without running anyone's code.

Three kinds of JSON model over named features (a points score, a logistic formula, a Cox formula
with a baseline survival at a horizon), and ONNX graphs run by onnxruntime. Each is a pure
function from a feature table (column name -> array; later built by the PHTA query language
through the execution path) to one risk per row.

ONNX graphs are inspected before a session is built: only the standard operator domains
(``ai.onnx``, ``ai.onnx.ml``) are accepted, so no custom operator and none of onnxruntime's own
contrib operators run; graphs referring to external tensor files are refused (an external data
path would make the runtime read a file of the model's choosing); and no custom-op library is
ever registered with the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from scipy.special import expit

from phta.evaluation._arrays import EvaluationError

Features = Mapping[str, Any]
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
MAX_ONNX_BYTES = 50 * 1024 * 1024


class ModelError(EvaluationError):
    """A model cannot be used; the message names the field, feature or operator."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointsItem(_Strict):
    feature: str
    points: float
    equals: float | str | None = None
    min: float | None = None  # inclusive
    max: float | None = None  # exclusive


class RiskMapping(_Strict):
    """Points to probability: expit(intercept + slope * points)."""

    intercept: float
    slope: float


class PointsModel(_Strict):
    kind: Literal["points"]
    name: str
    version: str = "1"
    items: tuple[PointsItem, ...] = Field(min_length=1)
    risk: RiskMapping | None = None


class LogisticModel(_Strict):
    kind: Literal["logistic"]
    name: str
    version: str = "1"
    intercept: float
    coefficients: dict[str, float] = Field(min_length=1)


class CoxModel(_Strict):
    kind: Literal["cox"]
    name: str
    version: str = "1"
    coefficients: dict[str, float] = Field(min_length=1)
    means: dict[str, float] = Field(default_factory=dict)
    baseline_survival: float = Field(gt=0, lt=1)
    horizon: str = Field(min_length=1, description="e.g. '1 year': the time baseline_survival refers to")


JsonModel = Annotated[PointsModel | LogisticModel | CoxModel, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[PointsModel | LogisticModel | CoxModel] = TypeAdapter(JsonModel)


def parse_model(data: Any, source: str = "model") -> PointsModel | LogisticModel | CoxModel:
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelError(f"{source}: field {where}: {first['msg']}") from None


def _column(features: Features, name: str, n: int | None) -> NDArray:
    if name not in features:
        raise ModelError(f"feature {name!r}: not in the feature table")
    col = np.asarray(features[name])
    if n is not None and len(col) != n:
        raise ModelError(f"feature {name!r}: has {len(col)} rows, expected {n}")
    return col


def _numeric(features: Features, name: str, n: int | None) -> NDArray[np.float64]:
    col = _column(features, name, n)
    if not np.issubdtype(col.dtype, np.number) and col.dtype != bool:
        raise ModelError(f"feature {name!r}: must be numeric")
    col = col.astype(np.float64)
    if not np.all(np.isfinite(col)):
        raise ModelError(f"feature {name!r}: has missing or infinite values")
    return col


def _rows(features: Features) -> int:
    if not features:
        raise ModelError("feature table: has no columns")
    return len(np.asarray(next(iter(features.values()))))


def score(model: PointsModel | LogisticModel | CoxModel, features: Features) -> NDArray[np.float64]:
    """One value per row: a probability (logistic, Cox, points with a risk mapping) or points."""
    n = _rows(features)
    if isinstance(model, PointsModel):
        total = np.zeros(n)
        for item in model.items:
            col = _column(features, item.feature, n)
            if item.equals is not None:
                hit = col.astype(str) == str(item.equals) if isinstance(item.equals, str) else col == item.equals
            else:
                num = _numeric(features, item.feature, n)
                hit = np.ones(n, dtype=bool)
                if item.min is not None:
                    hit &= num >= item.min
                if item.max is not None:
                    hit &= num < item.max
            total += np.where(hit, item.points, 0.0)
        return expit(model.risk.intercept + model.risk.slope * total) if model.risk else total
    lp = np.zeros(n)
    for name, beta in model.coefficients.items():
        centre = model.means.get(name, 0.0) if isinstance(model, CoxModel) else 0.0
        lp += beta * (_numeric(features, name, n) - centre)
    if isinstance(model, LogisticModel):
        return expit(model.intercept + lp)
    return 1.0 - model.baseline_survival ** np.exp(lp)


def _check_onnx_graph(model: Any) -> None:
    import onnx

    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise ModelError(f"ONNX model: operator domain {opset.domain!r} is not a standard ONNX domain")
    if len(model.functions):
        raise ModelError("ONNX model: model-local functions are not accepted; use standard operators")

    def walk(graph: Any, where: str) -> None:
        for tensor in graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                raise ModelError(f"ONNX model: initializer {tensor.name!r} refers to external data")
        for node in graph.node:
            if node.domain not in STANDARD_DOMAINS:
                raise ModelError(f"ONNX model: node {node.name or node.op_type!r} in {where} uses "
                                 f"operator {node.domain}.{node.op_type}, not a standard ONNX operator")
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g, f"{where}/{node.op_type}")
                if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_location == onnx.TensorProto.EXTERNAL:
                    raise ModelError(f"ONNX model: node {node.name or node.op_type!r} refers to external data")
                for sub in attr.graphs:
                    walk(sub, f"{where}/{node.op_type}")

    walk(model.graph, "graph")


class OnnxModel:
    """An ONNX graph with one float input of shape [N, len(features)] and a probability output.

    ``features`` names the input columns in order; ``output`` picks the output (by default the
    first); ``column`` picks the column of a 2-D output (e.g. 1 for P(y=1) of a classifier).
    """

    def __init__(self, data: bytes, features: list[str], *, output: str | None = None,
                 column: int | None = None) -> None:
        import onnx
        import onnxruntime as ort

        if len(data) > MAX_ONNX_BYTES:
            raise ModelError(f"ONNX model: larger than {MAX_ONNX_BYTES // (1024 * 1024)} MB")
        try:
            proto = onnx.load_model_from_string(data)
            onnx.checker.check_model(proto)
        except Exception as exc:  # onnx raises several types for a malformed graph
            raise ModelError(f"ONNX model: not a valid ONNX graph ({type(exc).__name__})") from None
        _check_onnx_graph(proto)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"ONNX model: onnxruntime refused it ({type(exc).__name__})") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"ONNX model: must have exactly one input, has {len(inputs)}")
        self._input = inputs[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        if output is not None and output not in outputs:
            raise ModelError(f"ONNX model: no output {output!r} (outputs: {outputs})")
        self._output = output or outputs[0]
        self.features = list(features)
        self.column = column

    def score(self, features: Features) -> NDArray[np.float64]:
        n = _rows(features)
        matrix = np.column_stack([_numeric(features, f, n) for f in self.features]).astype(np.float32)
        (result,) = self._session.run([self._output], {self._input: matrix})
        out = np.asarray(result, dtype=np.float64)
        if out.ndim == 2:
            out = out[:, self.column if self.column is not None else out.shape[1] - 1]
        if out.shape != (n,):
            raise ModelError(f"ONNX model: output {self._output!r} has shape {out.shape}, expected ({n},)")
        return out
