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

import fcntl
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from phta.disclosure.ledger import (
    Population,
    Release,
    ReleaseLedger,
    SqliteLedgerStorage,
    StoredPopulation,
    Verdict,
    member_digest,
    nearest_population,
)
from phta.disclosure.policy import Policy
from phta.execution.policy import TOTAL_CELL, ReleaseCandidate, ReleasePlan, ReleaseWithheld, Reuse
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


def withheld_reason(verdict: Verdict | None, policy: Policy) -> str:
    """Why a release was withheld, in words that reveal no count and no other project, with what
    to try next."""
    if verdict is None:
        return ("Withheld by the release ledger: a population within the threshold of this one was released "
                "at this node before the ledger kept the values it needs to answer it again. Try a broader "
                "or a different question (for example a wider age range, or without one of the rules).")
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


def cell_label(cell: tuple[str, ...]) -> str:
    return "cohort" if cell == TOTAL_CELL else " / ".join(cell)


def plan_release(candidate: ReleaseCandidate, ledger: ReleaseLedger, key: bytes, *, project: str
                 ) -> tuple[dict[tuple[str, ...], Reuse], list[Population]]:
    """Decide, cell by cell, what each published count describes (docs/disclosure-control.md,
    "Query-set restriction and the ledger"):

    * fewer than the threshold: nothing to decide (every such cell is suppressed);
    * within the threshold of the node's whole population (a complement): the whole
      population's value;
    * within the threshold of a population released before at this node, or of an earlier cell of
      this release (the same persons included): THAT population's value;
    * otherwise a new population, recorded once the result has passed disclosure control.

    So every published count is the protected value of a recorded population, and recorded
    populations lie at least the threshold apart: no two answers differ by a few persons."""
    t = ledger.policy.threshold
    populations = [(cell, ids) for cell, ids in candidate.populations() if len(ids) >= t]
    if not populations:
        return {}, []
    universe = candidate.universe() if candidate.universe is not None else None
    sizes = [len(ids) for _, ids in populations]
    earlier = list(ledger.storage.populations_sized(max(0, min(sizes) - t + 1), max(sizes) + t - 1))
    reused: dict[tuple[str, ...], Reuse] = {}
    fresh: list[StoredPopulation] = []
    for cell, ids in populations:
        if universe is not None and universe.size - len(ids) < t:
            reused[cell] = Reuse(universe.size, universe.cell_key, "node")
            continue
        digests = population_digests(ids, key)
        near = nearest_population(digests, [*earlier, *fresh], t)
        if near is None:
            fresh.append(StoredPopulation("", project, cell_label(cell), digests, candidate.keys.get(cell)))
        elif near.cell_key is None and ledger.policy.perturbation == "cell_key":
            # recorded before populations kept their cell key: its value cannot be recomputed
            raise ReleaseWithheld(withheld_reason(None, ledger.policy), "block")
        else:
            reused[cell] = Reuse(len(near.members), near.cell_key, "earlier")
    return reused, [Population(p.label, p.members, p.cell_key) for p in fresh]


def ledger_check(data_dir: Path, policy: Policy, project: str) -> Callable[[ReleaseCandidate], ReleasePlan]:
    """The ``release_check`` hook for releases under ``policy`` on behalf of ``project``: never
    withholds a near-identical population (it gets the earlier answer), records new ones."""

    def check(candidate: ReleaseCandidate) -> ReleasePlan:
        node = candidate.request.node
        ledger = node_ledger(data_dir, node, policy)
        reused, fresh = plan_release(candidate, ledger, ledger_key(data_dir, node), project=project)
        if not fresh:
            return ReleasePlan(reused, _nothing)
        release = Release(f"{candidate.query_hash[:16]}-{uuid.uuid4().hex[:8]}", project,
                          candidate.request.purpose.code, tuple(fresh))

        def record() -> None:
            # Check and record are apart (disclosure control runs between them), so two
            # near-identical questions at the same moment could both be planned as new. Under the
            # node's ledger lock the plan is made again: if a near-identical population was
            # recorded meanwhile, this answer would differ from it, so it is withheld instead
            # (asked again, it gets the earlier value).
            with _ledger_lock(data_dir, node):
                again, _ = plan_release(candidate, ledger, ledger_key(data_dir, node), project=project)
                if set(again) != set(reused):
                    raise ReleaseWithheld(
                        "a near-identical question was answered at this node at the same moment; "
                        "ask again to get the same answer as that one", "block")
                ledger.storage.add(release)

        return ReleasePlan(reused, record)

    return check


@contextmanager
def _ledger_lock(data_dir: Path, node: str) -> Iterator[None]:
    """An exclusive lock on the node's ledger across threads and processes (``flock`` on a file
    beside it; each holder opens its own descriptor, so threads of one process exclude each other too)."""
    path = ledger_path(data_dir, node).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ledger_preview(data_dir: Path, policy: Policy, said: list[str]) -> Callable[[ReleaseCandidate], Callable[[], None]]:
    """A read-only ``release_check`` for a custodian's preview of what the network would get: it
    appends to ``said`` what the ledger would decide, never changes the custodian's own counts
    (they see their own data anyway) and never records (a preview is not a release)."""

    def check(candidate: ReleaseCandidate) -> Callable[[], None]:
        node = candidate.request.node
        if len(candidate.person_ids) < policy.threshold:
            said.append(f"fewer than {policy.threshold} persons: every cell would be suppressed, nothing recorded")
            return _nothing
        try:
            reused, _ = plan_release(candidate, ReleaseLedger(_ReadOnly(ledger_path(data_dir, node)), policy),
                                         ledger_key(data_dir, node), project="preview")
        except ReleaseWithheld as withheld:
            said.append(str(withheld))
            return _nothing
        if TOTAL_CELL in reused:
            said.append("the network would answer with the value of an earlier answer for the same or a "
                        f"near-identical population (within {policy.threshold} persons), not a new count")
        else:
            said.append(f"no earlier release at node {node!r} is within {policy.threshold} persons of this "
                        "one: the network would release it")
        if len(reused) - (TOTAL_CELL in reused):
            said.append(f"{len(reused) - (TOTAL_CELL in reused)} other cell(s) would repeat an earlier answer")
        return _nothing

    return check


class _ReadOnly:
    """A node's ledger read without creating it (a preview records nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, release: Release) -> None:  # pragma: no cover - a preview never records
        raise AssertionError("a preview never records a release")

    def populations_sized(self, low: int, high: int):
        if not self.path.exists():
            return iter(())
        return SqliteLedgerStorage(self.path).populations_sized(low, high)
