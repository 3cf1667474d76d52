"""The release ledger on the execution path: each released population checked, then recorded, at the node.

``phta.disclosure.ledger`` holds the differencing check; this module puts it where every release
passes. :func:`ledger_check` is the ``release_check`` hook of :class:`ExecutionPolicy`: before a
result goes to disclosure control, the population it describes is turned into keyed membership
digests and compared with every population released earlier at that node (any project, any
purpose that releases). A population within 1..threshold-1 persons of an earlier one is withheld
(``ReleaseWithheld``: ``block``, or ``review`` when the policy sends differencing to a checker),
with a reason that names the rule but no count; the path audits the refusal. The *same*
population again is a repeat, not a new release: cell-key noise gives the same persons the same
answer, so it is released and not recorded a second time. A population smaller than the
threshold is neither checked nor recorded: every cell describing it is suppressed, so nothing
about it is released.

Where the ledger lives: ``<data_dir>/ledgers/<node>.sqlite``, with the node's own digest key in
``<data_dir>/keys/ledger-<node>.key`` (0600). A node agent has its own data directory, so the
ledger and its key stay at the node; the hub never holds either. Digests are of the node-local
``person_id`` (the ledger compares populations of one node), keyed so a copied ledger lists no one.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path

from phta.disclosure.ledger import (
    Population,
    Release,
    ReleaseLedger,
    SqliteLedgerStorage,
    Verdict,
    member_digest,
)
from phta.disclosure.policy import Policy
from phta.execution.policy import ReleaseCandidate, ReleaseWithheld
from phta.node_names import node_key
from phta.store.keyfiles import keys_dir, load_or_create_key

LEDGER_DIR = "ledgers"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _file_stem(node: str, key=node_key) -> str:
    # the node name becomes a file name: keep it to one harmless path component. One ledger per
    # node whatever the spelling (node_key): ``XT001`` and ``xt001`` must share their releases.
    stem = _UNSAFE.sub("_", key(node))
    if not stem or stem.strip("_") == "":
        raise ValueError(f"node name {node!r} cannot name a ledger file")
    return stem


def _adopt_legacy(folder: Path, node: str, template: str) -> None:
    """Ledgers written before node names were normalised used the name as given: move such a
    file to the normalised name, so no earlier release is forgotten."""
    legacy = folder / template.format(_file_stem(node, key=str.strip))
    current = folder / template.format(_file_stem(node))
    if legacy.name != current.name and legacy.exists() and not current.exists():
        legacy.rename(current)


def ledger_path(data_dir: Path, node: str) -> Path:
    folder = Path(data_dir) / LEDGER_DIR
    if folder.is_dir():
        _adopt_legacy(folder, node, "{}.sqlite")
    return folder / f"{_file_stem(node)}.sqlite"


def ledger_key(data_dir: Path, node: str) -> bytes:
    """The node's ledger key, created on first use; never logged or shown."""
    _adopt_legacy(keys_dir(Path(data_dir)), node, "ledger-{}.key")
    return load_or_create_key(Path(data_dir), f"ledger-{_file_stem(node)}.key", lambda: secrets.token_bytes(32))


def node_ledger(data_dir: Path, node: str, policy: Policy) -> ReleaseLedger:
    return ReleaseLedger(SqliteLedgerStorage(ledger_path(data_dir, node)), policy)


def population_digests(person_ids, key: bytes) -> frozenset[str]:
    return frozenset(member_digest(f"person_id:{pid}", key) for pid in person_ids)


def withheld_reason(verdict: Verdict, policy: Policy) -> str:
    """Why a release was withheld, in words that reveal no count and no other project."""
    if any(f.kind == "differencing" for f in verdict.findings):
        what = (f"this cohort's population differs from a population already released at this node (by this "
                f"or another project) by fewer than {policy.threshold} persons; publishing both would let "
                "anyone subtract one from the other and describe those persons")
    else:
        what = (f"these persons were already released {policy.repeat_limit} or more times under different "
                "descriptions, a pattern an output checker must look at")
    then = ("The result is blocked (disclosure policy: differencing = block)." if verdict.outcome == "block" else
            "The result is held for an output checker's review (disclosure policy: differencing = review).")
    return f"Withheld by the release ledger: {what}. {then}"


def _release(candidate: ReleaseCandidate, project: str, data_dir: Path) -> Release:
    node = candidate.request.node
    return Release(
        release_id=f"{candidate.query_hash[:16]}-{uuid.uuid4().hex[:8]}", project=project,
        description=candidate.request.purpose.code,
        populations=(Population("cohort", population_digests(candidate.person_ids, ledger_key(data_dir, node))),),
    )


def _nothing() -> None:
    return None


def ledger_check(data_dir: Path, policy: Policy, project: str) -> Callable[[ReleaseCandidate], Callable[[], None]]:
    """The ``release_check`` hook for releases under ``policy`` on behalf of ``project``."""

    def check(candidate: ReleaseCandidate) -> Callable[[], None]:
        if len(candidate.person_ids) < policy.threshold:
            return _nothing  # every cell is suppressed: nothing about these persons leaves
        ledger = node_ledger(data_dir, candidate.request.node, policy)
        release = _release(candidate, project, data_dir)
        verdict = ledger.check(release)
        if verdict.flagged:
            raise ReleaseWithheld(withheld_reason(verdict, policy), verdict.outcome)
        if verdict.notes:
            return _nothing  # the same persons as an earlier release: a repeat, not a new release
        return lambda: ledger.storage.add(release)

    return check


def ledger_preview(data_dir: Path, policy: Policy, said: list[str]) -> Callable[[ReleaseCandidate], Callable[[], None]]:
    """A read-only ``release_check`` for a custodian's preview of what the network would get: it
    appends to ``said`` what the ledger would decide, never withholds (the custodian sees their
    own data anyway) and never records (a preview is not a release)."""

    def check(candidate: ReleaseCandidate) -> Callable[[], None]:
        node = candidate.request.node
        if len(candidate.person_ids) < policy.threshold:
            said.append(f"fewer than {policy.threshold} persons: every cell would be suppressed, nothing recorded")
        elif not ledger_path(data_dir, node).exists():
            said.append(f"no release recorded at node {node!r} yet: the network would release this")
        else:
            verdict = node_ledger(data_dir, node, policy).check(_release(candidate, "preview", data_dir))
            if verdict.flagged:
                said.append(withheld_reason(verdict, policy))
            elif verdict.notes:
                said.append("the same persons as an earlier release: a repeat, released and not recorded again")
            else:
                said.append(f"no earlier release at node {node!r} is within {policy.threshold} persons of this "
                            "one: the network would release it")
        return _nothing

    return check
