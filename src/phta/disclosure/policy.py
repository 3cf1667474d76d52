"""Disclosure-control policy: the rules' parameters, per deployment and per node.

A policy is data. It loads from a YAML or JSON file, or by name from the built-ins (``default``,
``opensafely-midpoint6``). A file may override the top-level values for named nodes, but only to
make them stricter (``at_least_as_strict``: a node may raise the threshold, never lower it)::

    threshold: 10
    differencing: review
    nodes:
      uhb: {threshold: 15, differencing: block}

``Policy.sha256`` is the hash of the canonical JSON of the values actually applied; it is attached
to every protected output so anyone can tell which rules produced it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from phta.node_names import node_key


class PolicyError(ValueError):
    """A policy file or value is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    #: a cell describing fewer persons than this is suppressed (primary suppression)
    threshold: int = 10
    #: ``base``: round to the nearest multiple of ``rounding_base`` (halves round up);
    #: ``midpoint``: midpoint-``rounding_base`` rounding (OpenSAFELY; see ``round_count``);
    #: ``none``: publish exact counts (only sensible with cell-key perturbation)
    rounding: Literal["base", "midpoint", "none"] = "base"
    rounding_base: int = 5
    #: N-K dominance: the largest N contributions may not make up K or more of a cell's total
    dominance_n: int = 2
    dominance_k: float = 0.90
    #: p%: the total minus the two largest contributions must be at least p x the largest
    p_percent: float = 0.10
    #: sampling zeros: ``allow`` (publish) or ``suppress`` (treat as disclosive); structural
    #: zeros (declared impossible cells) are always published
    zeros: Literal["allow", "suppress"] = "allow"
    #: a model with fewer residual degrees of freedom than this is withheld
    min_residual_df: int = 10
    #: complementary suppression so no suppressed cell can be recovered from the margins
    secondary_suppression: bool = True
    #: cell-key perturbation of counts (needs cell keys computed at the node)
    perturbation: Literal["none", "cell_key"] = "none"
    #: a release whose population differs from an earlier one by 1..threshold-1 persons is
    #: ``block``ed or sent to manual ``review``
    differencing: Literal["block", "review"] = "block"
    #: the same population released this many times before is sent to review (averaging pattern)
    repeat_limit: int = 5

    @property
    def small_counts_alike(self) -> bool:
        """True when a zero is reported exactly like 1..threshold-1 ("< threshold"): the policies
        of the researcher-facing standing purposes, where no answer may say "nobody"."""
        return self.zeros == "suppress"

    def __post_init__(self) -> None:
        def whole(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def fraction(v: Any) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool)

        checks = [
            ("threshold", lambda: whole(self.threshold) and self.threshold >= 1),
            ("rounding", lambda: self.rounding in ("base", "midpoint", "none")),
            ("rounding_base", lambda: whole(self.rounding_base) and self.rounding_base >= 1),
            ("dominance_n", lambda: whole(self.dominance_n) and self.dominance_n >= 1),
            ("dominance_k", lambda: fraction(self.dominance_k) and 0 < self.dominance_k <= 1),
            ("p_percent", lambda: fraction(self.p_percent) and 0 <= self.p_percent < 1),
            ("zeros", lambda: self.zeros in ("allow", "suppress")),
            ("min_residual_df", lambda: whole(self.min_residual_df) and self.min_residual_df >= 0),
            ("secondary_suppression", lambda: isinstance(self.secondary_suppression, bool)),
            ("perturbation", lambda: self.perturbation in ("none", "cell_key")),
            ("differencing", lambda: self.differencing in ("block", "review")),
            ("repeat_limit", lambda: whole(self.repeat_limit) and self.repeat_limit >= 1),
        ]
        for key, ok in checks:
            if not ok():
                raise PolicyError(f"policy {self.name!r}: invalid value for {key!r}: {getattr(self, key)!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def round_count(self, count: int) -> int:
        return round_count(count, self.rounding, self.rounding_base)


def round_count(count: int, method: str, base: int) -> int:
    """Round a count for publication.

    ``base``: nearest multiple of ``base``, halves up (base 5: 7 -> 5, 8 -> 10).
    ``midpoint``: OpenSAFELY "midpoint 6 rounding" (OpenSAFELY documentation, *Updated disclosure
    control guidance*, 2023: ``roundmid_any(x, to=6) = ceiling(x/to)*to - floor(to/2)*(x != 0)``):
    0 stays 0, 1..6 -> 3, 7..12 -> 9; the published value is the midpoint of the interval
    holding the true count, so it is unbiased and never reveals a zero that is not a zero.
    """
    if method == "none":
        return count
    if method == "midpoint":
        if count == 0:
            return 0
        return math.ceil(count / base) * base - base // 2
    return (2 * count + base) // (2 * base) * base  # nearest multiple, halves up, exact in integers


BUILT_INS: dict[str, Policy] = {
    "default": Policy(),
    "opensafely-midpoint6": Policy(name="opensafely-midpoint6", threshold=7, rounding="midpoint", rounding_base=6),
    "strict": Policy(name="strict", threshold=10, zeros="suppress", differencing="block", perturbation="cell_key"),
    # the policies governance names for each purpose (phta.governance.purposes)
    "project": Policy(name="project"),
    # interactive counts anyone registered can repeat and rephrase: noise fixed by the persons
    # (cell key) and coarser rounding, so neither averaging nor differencing pays; a zero is
    # hidden exactly like 1..threshold-1 (zeros: suppress), so no answer says "nobody has it"
    "feasibility": Policy(name="feasibility", rounding_base=10, perturbation="cell_key", zeros="suppress"),
    "public": Policy(name="public", rounding_base=10, perturbation="cell_key", zeros="suppress"),
    "beacon": Policy(name="beacon", zeros="suppress"),
    # the controller's own staff checking their own node: small numbers still hidden on pages
    "custodian": Policy(name="custodian", rounding="none", secondary_suppression=False),
}
_KEYS = {f.name for f in fields(Policy)}


# How strict each value is, as a rank: a node's override may only keep or raise the rank. Higher
# thresholds, coarser rounding, more contributors in the dominance test, a lower dominance share,
# a larger p%, suppressed zeros, more residual degrees of freedom, secondary suppression on, noise
# on, blocking rather than reviewing differencing and fewer repeats are each stricter.
_ROUNDING_RANK = {"none": 0, "base": 1, "midpoint": 1}  # base and midpoint are equals: either may replace the other
_STRICTNESS: dict[str, Any] = {
    "threshold": lambda v: v,
    "rounding": lambda v: _ROUNDING_RANK[v],
    "rounding_base": lambda v: v,
    "dominance_n": lambda v: v,
    "dominance_k": lambda v: -v,
    "p_percent": lambda v: v,
    "zeros": lambda v: v == "suppress",
    "min_residual_df": lambda v: v,
    "secondary_suppression": lambda v: v,
    "perturbation": lambda v: v == "cell_key",
    "differencing": lambda v: v == "block",
    "repeat_limit": lambda v: -v,
}


def weakened(base: Policy, override: Policy) -> list[str]:
    """The keys on which ``override`` is laxer than ``base`` (empty: at least as strict)."""
    return [key for key, rank in _STRICTNESS.items() if rank(getattr(override, key)) < rank(getattr(base, key))]


def at_least_as_strict(base: Policy, override: Policy) -> bool:
    return not weakened(base, override)


def strictest(policy: Policy, floor: Policy) -> Policy:
    """``policy`` raised, value by value, to ``floor`` wherever ``floor`` is stricter: how a
    deployment's policy file (with the node's overrides) tightens the policy a purpose names, and
    never loosens it. Unchanged (same name and hash) when ``floor`` is nowhere stricter."""
    raised = {key: getattr(floor, key) for key, rank in _STRICTNESS.items()
              if rank(getattr(floor, key)) > rank(getattr(policy, key))}
    if not raised:
        return policy
    return replace(policy, name=f"{policy.name}+{floor.name}", **raised)


def _build(base: Policy, values: dict[str, Any], source: str) -> Policy:
    unknown = set(values) - _KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    try:
        return replace(base, **values)
    except (TypeError, PolicyError) as exc:
        raise PolicyError(f"{source}: {exc}") from exc


def policy_from_dict(data: dict[str, Any], *, source: str, node: str | None = None) -> Policy:
    """The policy a file describes (for ``node``, with its overrides). Every node's overrides are
    checked on every load, so a file that would let any node weaken the rules is refused whole."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy must be a mapping of keys to values")
    values = {k: v for k, v in data.items() if k not in ("nodes", "extends")}
    base = BUILT_INS.get(str(data.get("extends", "default")))
    if base is None:
        raise PolicyError(f"{source}: 'extends' names an unknown built-in {data['extends']!r}")
    nodes = data.get("nodes", {}) or {}
    if not isinstance(nodes, dict):
        raise PolicyError(f"{source}: 'nodes' must map node names to overrides")
    values.setdefault("name", data.get("name", Path(source).stem))
    deployment = _build(base, values, source)
    per_node = {}
    for name, override in nodes.items():
        if not isinstance(override, dict):
            raise PolicyError(f"{source}: nodes.{name} must be a mapping")
        where = f"{source}: nodes.{name}"
        policy = _build(deployment, {"name": f"{deployment.name}@{name}", **override}, where)
        for key in weakened(deployment, policy):
            raise PolicyError(
                f"{where}.{key}: {getattr(policy, key)!r} would weaken the deployment's {key} "
                f"({getattr(deployment, key)!r}); a node's override may only make the rules stricter")
        if node_key(str(name)) in per_node:
            raise PolicyError(f"{where}: names the same node as another entry (node names ignore case)")
        per_node[node_key(str(name))] = policy
    return per_node.get(node_key(node), deployment) if node is not None else deployment


def load_policy(spec: str | Path = "default", *, node: str | None = None) -> Policy:
    """A built-in policy by name, or a YAML/JSON policy file; ``node`` applies its overrides."""
    text_spec = str(spec)
    if text_spec in BUILT_INS and not Path(text_spec).exists():
        return BUILT_INS[text_spec]
    path = Path(text_spec)
    if not path.is_file():
        raise PolicyError(f"policy {text_spec!r}: not a built-in ({', '.join(BUILT_INS)}) and no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{path}{where}: not valid YAML/JSON") from exc
    return policy_from_dict(data or {}, source=str(path), node=node)
