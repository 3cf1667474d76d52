"""The pre-registered evaluation protocol: validated, frozen and hashed before any result exists.

A protocol (YAML or JSON) states the thresholds, subgroups, metrics and minimum cell size. Once
validated it is turned into canonical JSON (sorted keys, no insignificant whitespace, UTF-8) and
hashed with SHA-256; the ``FrozenProtocol`` is what the evaluation takes, and every report names
the hash. Re-checking the hash at report time catches a protocol edited after freezing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from phta.evaluation._arrays import EvaluationError

METRICS = ("accuracy", "discrimination", "calibration", "net_benefit", "equity", "drift")


class ProtocolError(EvaluationError):
    """The protocol is invalid; the message names the file and the field."""


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    index_test: str = Field(min_length=1, description="The model or test evaluated, with its version.")
    outcome: str = Field(min_length=1, description="The target condition and its window, in words.")
    metrics: tuple[Literal["accuracy", "discrimination", "calibration", "net_benefit", "equity", "drift"], ...] = METRICS
    thresholds: tuple[float, ...] = ()
    net_benefit_thresholds: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3)
    subgroups: tuple[tuple[str, ...], ...] = ()
    reference_groups: dict[str, str] = Field(default_factory=dict)
    minimum_cell_size: int = Field(default=10, ge=1)
    bootstrap_replicates: int = Field(default=1000, ge=0, le=100_000)
    prevalence: float | None = Field(default=None, gt=0, lt=1)
    seed: int = 20261207

    @field_validator("subgroups", mode="before")
    @classmethod
    def _subgroups(cls, value: Any) -> Any:
        # a subgroup is a column name, or a list of names for an intersection
        if isinstance(value, list | tuple):
            return tuple((v,) if isinstance(v, str) else tuple(v) for v in value)
        return value

    @field_validator("net_benefit_thresholds")
    @classmethod
    def _probabilities(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < t < 1 for t in value):
            raise ValueError("each net-benefit threshold must lie strictly between 0 and 1")
        return value


@dataclass(frozen=True)
class FrozenProtocol:
    protocol: Protocol
    canonical_json: str
    sha256: str
    frozen_at: str

    def verify(self) -> None:
        """Refuse a protocol whose content no longer matches its hash."""
        if canonical_json(self.protocol) != self.canonical_json or _sha(self.canonical_json) != self.sha256:
            raise ProtocolError("protocol: its content no longer matches the hash it was frozen with")


def canonical_json(protocol: Protocol) -> str:
    return json.dumps(protocol.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_protocol(data: Any, source: str = "protocol") -> Protocol:
    if not isinstance(data, dict):
        raise ProtocolError(f"{source}: must be a mapping of fields")
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ProtocolError(f"{source}: field {_field(first['loc'])}: {first['msg']}") from None


def freeze(protocol: Protocol, *, now: dt.datetime | None = None) -> FrozenProtocol:
    text = canonical_json(protocol)
    at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
    return FrozenProtocol(protocol, text, _sha(text), at)


def load_protocol(path: Path) -> FrozenProtocol:
    """Read, validate and freeze a YAML or JSON protocol file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark else "?")
        raise ProtocolError(f"{path}:{line}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}") from None
    return freeze(parse_protocol(data, str(path)))
