"""The release ledger: what was released, about whom, so differencing attacks are caught.

Two releases whose populations differ by a handful of persons publish, between them, a count of
that handful: "patients over 40" minus "patients over 40 not on drug X" is "patients over 40 on
drug X" even when each count is large. The ledger records every released population as a set of
membership digests (keyed hashes of pseudonyms, computed and kept **at the node** — the hub never
holds a ledger) and, before a new release, compares each of its populations with every earlier
one, in any project: a symmetric difference of 1..threshold-1 persons is blocked or sent to
manual review (``Policy.differencing``). An identical population is a *repeat*: it is noted but
harmless, since cell-key noise makes the same persons give the same answer.

Storage is behind the ``LedgerStorage`` protocol: ``InMemoryLedgerStorage`` for tests and a
SQLite file (``SqliteLedgerStorage``) in the node's directory.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from phta.disclosure.policy import Policy


def member_digest(pseudonym: str, key: bytes) -> str:
    """A person's membership digest: keyed, so a stolen ledger does not list pseudonyms."""
    if not key:
        raise ValueError("member_digest: the node's ledger key must not be empty")
    return hmac.new(key, b"ledger:" + pseudonym.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Population:
    """One released population (a table's whole population, or one published cell's)."""

    label: str
    members: frozenset[str]  # membership digests
    #: the population's cell key (its persons' record keys summed, mod 1), kept so a near-identical
    #: population later gets THIS population's protected value (``ReleaseLedger.nearest``)
    cell_key: float | None = None


@dataclass(frozen=True)
class Release:
    release_id: str
    project: str
    description: str
    populations: tuple[Population, ...]


@dataclass(frozen=True)
class StoredPopulation:
    release_id: str
    project: str
    label: str
    members: frozenset[str]
    cell_key: float | None = None


@dataclass(frozen=True)
class Finding:
    kind: Literal["differencing", "repeat", "repeated_query"]
    population: str
    earlier_release: str
    earlier_project: str
    earlier_population: str
    difference: int
    explanation: str


@dataclass(frozen=True)
class Verdict:
    """``findings`` stop or hold the release; ``notes`` (harmless repeats) are for the record."""

    outcome: Literal["release", "block", "review"]
    findings: tuple[Finding, ...] = field(default=())
    notes: tuple[Finding, ...] = field(default=())

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


class LedgerStorage(Protocol):
    def add(self, release: Release) -> None: ...

    def populations_sized(self, low: int, high: int) -> Iterator[StoredPopulation]:
        """Stored populations with low <= size <= high (a cheap pre-filter for comparisons)."""
        ...


class InMemoryLedgerStorage:
    def __init__(self) -> None:
        self._rows: list[StoredPopulation] = []

    def add(self, release: Release) -> None:
        for p in release.populations:
            self._rows.append(StoredPopulation(release.release_id, release.project, p.label, p.members, p.cell_key))

    def populations_sized(self, low: int, high: int) -> Iterator[StoredPopulation]:
        return (row for row in self._rows if low <= len(row.members) <= high)


class SqliteLedgerStorage:
    """The ledger as a SQLite file in the node's directory; digests only, never pseudonyms."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS population (
                    id INTEGER PRIMARY KEY, release_id TEXT NOT NULL, project TEXT NOT NULL,
                    label TEXT NOT NULL, size INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS population_size ON population(size);
                CREATE TABLE IF NOT EXISTS member (
                    population_id INTEGER NOT NULL REFERENCES population(id), digest TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS member_population ON member(population_id);
                """
            )
            columns = {row[1] for row in db.execute("PRAGMA table_info(population)")}
            if "cell_key" not in columns:  # a ledger file from before populations kept their cell key
                db.execute("ALTER TABLE population ADD COLUMN cell_key REAL")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def add(self, release: Release) -> None:
        with self._connect() as db:
            for p in release.populations:
                cursor = db.execute(
                    "INSERT INTO population (release_id, project, label, size, cell_key) VALUES (?, ?, ?, ?, ?)",
                    (release.release_id, release.project, p.label, len(p.members), p.cell_key),
                )
                db.executemany(
                    "INSERT INTO member (population_id, digest) VALUES (?, ?)",
                    ((cursor.lastrowid, d) for d in sorted(p.members)),
                )

    def populations_sized(self, low: int, high: int) -> Iterator[StoredPopulation]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, release_id, project, label, cell_key FROM population WHERE size BETWEEN ? AND ? "
                "ORDER BY id", (low, high),
            ).fetchall()
            for pid, release_id, project, label, key in rows:
                digests = db.execute("SELECT digest FROM member WHERE population_id = ?", (pid,)).fetchall()
                yield StoredPopulation(release_id, project, label, frozenset(d for (d,) in digests), key)


class ReleaseLedger:
    def __init__(self, storage: LedgerStorage, policy: Policy) -> None:
        self.storage = storage
        self.policy = policy

    def check(self, release: Release) -> Verdict:
        """Compare each population of ``release`` with every earlier one and with each other."""
        t = self.policy.threshold
        findings: list[Finding] = []
        notes: list[Finding] = []
        sizes = [len(p.members) for p in release.populations] or [0]
        # only populations within threshold-1 in size can be within threshold-1 in membership
        earlier = list(self.storage.populations_sized(max(0, min(sizes) - t + 1), max(sizes) + t - 1))
        own = [StoredPopulation(release.release_id, release.project, p.label, p.members) for p in release.populations]
        for i, population in enumerate(release.populations):
            size = len(population.members)
            repeats = []
            for other in [*earlier, *own[:i]]:
                if abs(len(other.members) - size) < t:
                    found = _compare(population, other, t)
                    if found is not None and found.kind == "repeat":
                        repeats.append(found)
                    elif found is not None:
                        findings.append(found)
            # the averaging pattern is one population asked for again and again; a cohort's total
            # recurring as the margin of many different tables is ordinary and not counted
            lone = len({p.members for p in release.populations}) == 1
            if lone and len(repeats) >= self.policy.repeat_limit:
                last = repeats[-1]
                findings.append(Finding(
                    "repeated_query", population.label, last.earlier_release, last.earlier_project,
                    last.earlier_population, 0,
                    f"the same persons were already released {len(repeats)} times (limit "
                    f"{self.policy.repeat_limit}): a possible averaging attack. Cell-key noise repeats, "
                    "so repeats learn nothing, but a checker should look at the pattern",
                ))
            else:
                notes.extend(repeats)
        if any(f.kind == "differencing" for f in findings):
            outcome = "block" if self.policy.differencing == "block" else "review"
        else:
            outcome = "review" if findings else "release"
        return Verdict(outcome, tuple(findings), tuple(notes))

    def nearest(self, members: frozenset[str]) -> StoredPopulation | None:
        """The released population closest to ``members`` within threshold-1 persons of it."""
        t = self.policy.threshold
        size = len(members)
        return nearest_population(members, list(self.storage.populations_sized(max(0, size - t + 1), size + t - 1)), t)

    def record(self, release: Release) -> Verdict:
        """Check, and record the release when it may go (after review, call ``force_record``)."""
        verdict = self.check(release)
        if verdict.outcome == "release":
            self.storage.add(release)
        return verdict

    def force_record(self, release: Release) -> None:
        """Record a release a reviewer approved despite findings."""
        self.storage.add(release)


def nearest_population(members: frozenset[str], candidates: list[StoredPopulation],
                       threshold: int) -> StoredPopulation | None:
    """Among ``candidates``, the population closest to ``members`` of those within threshold-1
    persons of it (the same persons included), the earliest on a tie; ``None`` when there is none.

    The execution path answers a near-identical population with that population's protected
    value, so the two answers are equal and their difference says nothing."""
    size = len(members)
    best: tuple[int, StoredPopulation] | None = None
    for other in candidates:
        if abs(len(other.members) - size) >= threshold:
            continue
        difference = len(members ^ other.members)
        if difference < threshold and (best is None or difference < best[0]):
            best = (difference, other)
    return None if best is None else best[1]


def _compare(population: Population, other: StoredPopulation, threshold: int) -> Finding | None:
    difference = len(population.members ^ other.members)
    if difference == 0:
        return Finding("repeat", population.label, other.release_id, other.project, other.label, 0,
                       f"the same persons as {other.label!r} in release {other.release_id}: cell-key noise "
                       "repeats, so nothing new is learnt")
    if difference < threshold:
        return Finding("differencing", population.label, other.release_id, other.project, other.label, difference,
                       f"differs from {other.label!r} in release {other.release_id} (project {other.project}) "
                       f"by {difference} persons, fewer than {threshold}: subtracting one from the other "
                       "would describe those persons")
    return None
