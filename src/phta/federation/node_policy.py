"""A node's own policy for federated tasks, set by its custodian and kept in the node's data
directory (``federation-policy.json``). The hub cannot change it; every change is audited.

- ``allowed_task_types``: the task types this node answers at all;
- ``allowed_purposes``: the purposes it answers (a standing purpose such as
  ``network_feasibility``, or ``project:*`` for approved projects whose grant the node checks);
- ``approval_required``: every task waits in the custodian's approval queue before it runs;
- ``share_site_figures``: whether the hub may show this node's own figures (otherwise only
  network totals that include it).

Disclosure floors are the node's disclosure policy file (``PHTA_DISCLOSURE_POLICY`` in the
node's settings): run_governed applies the strictest of the purpose's policy and that file, so
a task can tighten a node's floors but never loosen them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phta.federation.protocol import TASK_TYPES, Task

FILE_NAME = "federation-policy.json"


class PolicyFileError(ValueError):
    pass


@dataclass(frozen=True)
class NodePolicy:
    allowed_task_types: tuple[str, ...] = ("feasibility_count",)
    allowed_purposes: tuple[str, ...] = ("network_feasibility",)
    approval_required: bool = False
    share_site_figures: bool = False
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def refusal(self, task: Task) -> str | None:
        """Why this node refuses ``task`` under its own policy, or None."""
        if task.task_type not in self.allowed_task_types:
            return f"this node's policy does not allow task type {task.task_type!r}"
        purpose_ok = task.purpose in self.allowed_purposes or (
            task.purpose.startswith("project:") and "project:*" in self.allowed_purposes)
        if not purpose_ok:
            return f"this node's policy does not allow purpose {task.purpose!r}"
        return None

    def to_data(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_data(cls, data: object, where: str = FILE_NAME) -> NodePolicy:
        if not isinstance(data, dict):
            raise PolicyFileError(f"{where}: expected a JSON object")
        known = {"allowed_task_types", "allowed_purposes", "approval_required", "share_site_figures"}
        unknown = set(data) - known
        if unknown:
            raise PolicyFileError(f"{where}: unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
        kwargs: dict = {}
        for name in ("allowed_task_types", "allowed_purposes"):
            if name in data:
                value = data[name]
                if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                    raise PolicyFileError(f"{where}: {name} must be a list of names")
                kwargs[name] = tuple(value)
        for name in ("approval_required", "share_site_figures"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise PolicyFileError(f"{where}: {name} must be true or false")
                kwargs[name] = data[name]
        unknown_types = set(kwargs.get("allowed_task_types", ())) - TASK_TYPES
        if unknown_types:
            raise PolicyFileError(f"{where}: allowed_task_types: unknown task type {sorted(unknown_types)[0]!r}")
        return cls(**kwargs)


def load_node_policy(data_dir: Path) -> NodePolicy:
    path = data_dir / FILE_NAME
    if not path.is_file():
        return NodePolicy()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise PolicyFileError(f"{path.name}: line {e.lineno}: {e.msg}") from None
    return NodePolicy.from_data(data, path.name)


def save_node_policy(data_dir: Path, policy: NodePolicy, *, database, actor: str) -> None:
    """Write the policy and record the change (old and new) in the node's audit chain."""
    from phta.audit import record_event

    old = load_node_policy(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(policy.to_data(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    record_event(database, actor=actor, action="federation.node_policy", target=FILE_NAME,
                 details={"before": old.to_data(), "after": policy.to_data()})
