"""How the hub combines the sites' signed answers into one network answer.

The rules (docs/federation.md, "Combining answers"):

- Every result is verified against the key the hub approved for the node that claims to have
  sent it; a result for another task, from an unknown node, or whose signature fails is dropped
  and named, never counted.
- The network total is the sum of the sites' PUBLISHED values. A site that answered
  "< threshold" adds nothing and is named, so the total is a lower bound there; no exact zero
  and no raw count ever enters the sum.
- Per-site figures are shown only when every contributing site's policy allows it.
- Sites that had not answered by the deadline are named as missing; their later answers do not
  change this release (a new request makes a new, separately protected release).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from phta.federation.protocol import ProtocolError, Result, verify


@dataclass
class NetworkAnswer:
    total: int = 0
    below_threshold_at: list[str] = field(default_factory=list)
    strata: dict[str, dict[str, dict]] = field(default_factory=dict)
    sites: list[dict] | None = None  # None: at least one site's policy hides per-site figures
    missing: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    not_taken_part: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # results that failed verification
    thresholds: set[int] = field(default_factory=set)

    def to_dict(self) -> dict:
        return {
            "total": {"value": self.total, "below_threshold_at": self.below_threshold_at,
                      "lower_bound": bool(self.below_threshold_at)},
            "strata": self.strata, "sites": self.sites, "missing": self.missing, "refused": self.refused,
            "not_taken_part": self.not_taken_part, "rejected": self.rejected,
            "threshold": max(self.thresholds, default=0),
        }


def verified_result(signed: object, task_id: str, node: str, keys: dict[str, Ed25519PublicKey]) -> Result:
    """The result if ``node`` is approved and signed it for ``task_id``; ProtocolError otherwise."""
    key = keys.get(node)
    if key is None:
        raise ProtocolError(f"result: node {node!r} is not an approved node")
    result = Result.from_body(verify(key, signed, "result"))
    if result.node != node or result.task_id != task_id:
        raise ProtocolError("result: signed for another node or task")
    return result


def combine(expected: list[str], answers: dict[str, Result]) -> NetworkAnswer:
    """Combine verified results (node code -> Result) of one request sent to ``expected`` nodes."""
    out = NetworkAnswer()
    sites, share = [], True
    for node in expected:
        result = answers.get(node)
        if result is None:
            out.missing.append(node)
            continue
        if result.status == "refused":
            out.refused.append({"node": node, "reason": result.reason})
            continue
        if result.status == "not_taken_part":
            out.not_taken_part.append({"node": node, "reason": result.reason})
            continue
        answer = result.answer
        out.thresholds.add(int(answer.get("policy", {}).get("threshold", 0)))
        share = share and answer.get("share_site_figures") is True
        total = answer.get("total", {})
        if "value" in total:
            out.total += int(total["value"])
        else:
            out.below_threshold_at.append(node)
        for stratum, levels in answer.get("strata", {}).items():
            for level, cell in levels.items():
                entry = out.strata.setdefault(stratum, {}).setdefault(level, {"value": 0, "below_threshold_at": []})
                if "value" in cell:
                    entry["value"] += int(cell["value"])
                else:
                    entry["below_threshold_at"].append(node)
        sites.append({"node": node, "total": total, "strata": answer.get("strata", {})})
    out.sites = sites if share and sites else None
    return out
