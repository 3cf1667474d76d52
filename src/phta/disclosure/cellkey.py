"""The cell-key method: noise that is a fixed function of the persons in a cell.

Security property 4 (DESIGN.md): repeating or re-phrasing a query cannot average noise away.
Random noise drawn afresh on every run could be averaged out by asking many times; here the noise
is looked up, not drawn:

* every person has a **record key** in [0, 1): a keyed hash (HMAC-SHA256) of their pseudonym
  under a secret key held by the node, so the key is stable but unguessable outside the node;
* a cell's **cell key** is the sum of its persons' record keys modulo 1, so any query, however
  phrased, that selects the same persons gets the same cell key, and a margin's key is the sum of
  its cells' keys;
* a **perturbation table** (ptable) maps (count, cell key) to noise: the row for the count holds
  cumulative probabilities and the cell key picks the entry, like an inverse-CDF draw whose
  "random" number is the cell key.

This is the method of the Australian Bureau of Statistics' TableBuilder (Fraser & Wooton, 2005;
Thompson, Broadfoot & Elazar, 2013) and of the ONS for Census 2021 outputs. Record keys here have
32-bit resolution and are summed as integers, so a cell key does not depend on the order in which
records arrive.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

RESOLUTION = 2**32


class PTableError(ValueError):
    """A perturbation table is malformed."""


def record_key(pseudonym: str, key: bytes) -> float:
    """A person's record key in [0, 1), computed at the node from the pseudonym and a secret key."""
    if not key:
        raise ValueError("record_key: the secret key must not be empty")
    digest = hmac.new(key, pseudonym.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") / RESOLUTION


def cell_key(record_keys: Iterable[float]) -> float:
    """The sum of record keys (or of cell keys, for a margin) modulo 1, independent of order."""
    total = 0
    for k in record_keys:
        if not 0.0 <= k < 1.0:
            raise ValueError("cell_key: record keys must lie in [0, 1)")
        total += int(k * RESOLUTION)
    return (total % RESOLUTION) / RESOLUTION


@dataclass(frozen=True)
class PTableRow:
    """Noise for one count: ``noise[j]`` applies when ``cell key < cumulative[j]``."""

    count: int
    noise: tuple[int, ...]
    cumulative: tuple[float, ...]


@dataclass(frozen=True)
class PTable:
    """Rows sorted by count; a count above the last row uses the last row."""

    rows: tuple[PTableRow, ...]

    def __post_init__(self) -> None:
        counts = [r.count for r in self.rows]
        if not self.rows or counts != sorted(set(counts)) or counts[0] != 0:
            raise PTableError("ptable: rows must start at count 0 and have increasing counts")
        for row in self.rows:
            if len(row.noise) != len(row.cumulative) or not row.noise:
                raise PTableError(f"ptable row {row.count}: noise and cumulative differ in length")
            if list(row.cumulative) != sorted(row.cumulative) or row.cumulative[-1] != 1.0:
                raise PTableError(f"ptable row {row.count}: cumulative must increase to 1.0")
            if any(row.count + d < 0 for d in row.noise):
                raise PTableError(f"ptable row {row.count}: noise would make the count negative")
        last = self.rows[-1]
        if any(last.count + d < 0 for d in last.noise) or min(last.noise) < -last.count:
            raise PTableError("ptable: the last row's noise must keep every larger count non-negative")

    def row(self, count: int) -> PTableRow:
        index = min(count, self.rows[-1].count)
        for row in self.rows:
            if row.count == index:
                return row
        return self.rows[-1]


def perturb(count: int, key: float, ptable: PTable) -> int:
    """The published (noisy) count: the same (count, cell key) always gives the same answer."""
    if count < 0:
        raise ValueError("perturb: count must be >= 0")
    if not 0.0 <= key < 1.0:
        raise ValueError("perturb: cell key must lie in [0, 1)")
    row = ptable.row(count)
    for noise, upper in zip(row.noise, row.cumulative, strict=True):
        if key < upper:
            return count + noise
    return count + row.noise[-1]


def default_ptable(max_noise: int = 2) -> PTable:
    """A symmetric triangular ptable: noise in [-max_noise, max_noise], weight max_noise+1-|d|.

    Zeros stay zeros (an empty cell is not made to look populated) and a populated cell never
    becomes zero (noise is restricted so count + noise >= 1). Deployments may supply their own
    ptable (e.g. one designed with the ONS/ABS methodology for a given variance).
    """
    rows = []
    for count in range(2 * max_noise + 2):
        if count == 0:
            rows.append(PTableRow(0, (0,), (1.0,)))
            continue
        noises = [d for d in range(-max_noise, max_noise + 1) if count + d >= 1]
        weights = [Fraction(max_noise + 1 - abs(d)) for d in noises]
        total = sum(weights)
        running, cumulative = Fraction(0), []
        for w in weights:
            running += w / total
            cumulative.append(float(running))
        cumulative[-1] = 1.0
        rows.append(PTableRow(count, tuple(noises), tuple(cumulative)))
    return PTable(tuple(rows))
