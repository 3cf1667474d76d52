"""What disclosure control decided, per cell, in machine-readable form and in plain words.

A ``ProtectedOutput`` is what may leave: the published values only (suppressed cells are
``None``), one ``Decision`` per rule that fired on each cell, and the policy applied with its hash.
It never carries the unprotected values of suppressed cells.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["publish", "round", "perturb", "suppress", "review"]


@dataclass(frozen=True)
class Decision:
    """One rule's verdict on one cell."""

    cell: tuple[str, ...]
    rule: str
    parameters: dict[str, Any]
    outcome: Outcome
    explanation: str


@dataclass(frozen=True)
class PublishedCell:
    cell: tuple[str, ...]
    value: float | int | None
    suppressed: bool
    is_margin: bool = False
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProtectedOutput:
    kind: str
    title: str
    dimensions: tuple[str, ...]
    cells: tuple[PublishedCell, ...]
    decisions: tuple[Decision, ...]
    policy: dict[str, Any]
    policy_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Literal["pass", "suppressed", "review"]:
        if any(d.outcome == "review" for d in self.decisions):
            return "review"
        if any(c.suppressed for c in self.cells):
            return "suppressed"
        return "pass"

    @property
    def must_suppress(self) -> bool:
        return self.status != "pass"

    def decisions_for(self, cell: tuple[str, ...]) -> list[Decision]:
        return [d for d in self.decisions if d.cell == cell]

    def suppressed_cells(self, rule: str | None = None) -> set[tuple[str, ...]]:
        if rule is None:
            return {c.cell for c in self.cells if c.suppressed}
        return {d.cell for d in self.decisions if d.rule == rule and d.outcome in ("suppress", "review")}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProtectedOutput:
        """Rebuild a shipped output (``status`` is derived, so it is ignored)."""
        fields = {k: v for k, v in data.items() if k != "status"}
        fields["dimensions"] = tuple(fields["dimensions"])
        fields["cells"] = tuple(
            PublishedCell(**{**c, "cell": tuple(c["cell"]), "reasons": tuple(c["reasons"])}) for c in fields["cells"]
        )
        fields["decisions"] = tuple(Decision(**{**d, "cell": tuple(d["cell"])}) for d in fields["decisions"])
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> ProtectedOutput:
        return cls.from_dict(json.loads(text))

    def explain(self) -> str:
        """The decisions in plain words, one line per decision that withheld or changed a value."""
        lines = [f"{self.title or self.kind}: {self.status} (policy {self.policy['name']}, sha256 {self.policy_sha256[:12]})"]
        for d in self.decisions:
            if d.outcome != "publish":
                lines.append(f"- {' / '.join(d.cell)}: {d.explanation}")
        return "\n".join(lines)
