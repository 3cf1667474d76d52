"""NHS numbers and the keyed pseudonyms that replace them.

- ``check_digit`` / ``validate_nhs_number``: the NHS number modulus-11 check (NHS Data
  Dictionary, "NHS NUMBER"): weights 10..2 on the first nine digits, check = 11 - (sum mod 11),
  11 -> 0, 10 -> the number is invalid.
- ``reserved_range_nhs_numbers``: valid numbers in the range NHS England reserves for testing
  (999 000 0000 upward; continuing into other never-allocated 9xx stems for regions of more
  than ~909,000 persons), so synthetic data can never collide with a real patient.
- ``Pseudonymiser``: HMAC-SHA256 of the validated NHS number under a secret key, hex-encoded.
  The *regional linkage key* is held by the nodes (every node of the region uses the same key so
  the same person gets the same ``person.person_source_value`` everywhere); the hub never holds
  it. Keys are never logged, printed, or put in an exception message; ``repr`` hides them.

Where the key comes from (``load_key``): the environment variable ``PHTA_LINKAGE_KEY`` (hex)
if set, else the file ``<data_dir>/keys/linkage.key``, created with mode 0600 from
``secrets.token_bytes(32)`` if absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

KEY_ENV_VAR = "PHTA_LINKAGE_KEY"
KEY_FILE = Path("keys") / "linkage.key"
TEST_RANGE_START = 999_000_0000  # NHS England's reserved test range starts at 999 000 0000
_WEIGHTS = np.arange(10, 1, -1)  # 10, 9, ..., 2


class NHSNumberError(ValueError):
    """An NHS number is malformed or fails its check digit. The message never holds the number."""


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid check digit exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def validate_nhs_number(value: str, *, where: str = "value") -> str:
    """Return the 10-digit NHS number (spaces removed) or raise ``NHSNumberError`` naming ``where``."""
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        raise NHSNumberError(f"{where}: an NHS number must be 10 digits (got {len(digits)} characters)")
    expected = check_digit(digits[:9])
    if expected is None:
        raise NHSNumberError(f"{where}: not a valid NHS number (its first nine digits admit no check digit)")
    if int(digits[9]) != expected:
        raise NHSNumberError(f"{where}: NHS number check digit is wrong (modulus-11 check failed)")
    return digits


def reserved_range_nhs_numbers(count: int, start_index: int = 0) -> np.ndarray:
    """``count`` distinct valid NHS numbers (int64) for synthetic persons, in a fixed order.

    The first ~909,000 come from the range NHS England reserves for test data (999 000 0000 to
    999 999 9999; about 1 in 11 nine-digit stems admits no check digit). Larger regions continue
    into 998 xxx xxxx, 997 xxx xxxx, ... down to 900 xxx xxxx: stems beginning with 9 lie outside
    the ranges allocated to patients in England and Wales (400-499 and 600-799 million), Scotland's
    CHI numbers and Northern Ireland's. ``start_index`` continues the sequence (chunked callers).
    """
    out: list[np.ndarray] = []
    position = 0  # index of the first number of the current million-stem block
    want_end = start_index + count
    for block in range(_BLOCKS):
        if position >= want_end:
            break
        size = _block_size(block)
        lo, hi = max(start_index - position, 0), min(want_end - position, size)
        if lo < hi:
            out.append(_valid_in_block(block)[lo:hi])
        position += size
    numbers = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    if numbers.size != count:
        raise NHSNumberError(f"cannot make {count:,} synthetic NHS numbers: the 9xx ranges hold about 90 million")
    return numbers


_BLOCKS = 100  # stems 999 xxx xxx down to 900 xxx xxx


@cache
def _block_size(block: int) -> int:
    return int(_valid_in_block(block).size)


@lru_cache(maxsize=2)
def _valid_in_block(block: int) -> np.ndarray:
    """All valid NHS numbers whose 9-digit stem starts with 999 - block, in ascending order."""
    stems = (TEST_RANGE_START // 10 - block * 1_000_000) + np.arange(1_000_000, dtype=np.int64)
    digits = (stems[:, None] // (10 ** np.arange(8, -1, -1, dtype=np.int64))) % 10
    check = 11 - (digits * _WEIGHTS).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    return stems[ok] * 10 + check[ok]


def load_key(data_dir: Path, env: dict[str, str] | None = None) -> bytes:
    """The regional linkage key: from ``PHTA_LINKAGE_KEY`` (hex) or the key file (created 0600)."""
    env = dict(os.environ if env is None else env)
    if env.get(KEY_ENV_VAR):
        try:
            key = bytes.fromhex(env[KEY_ENV_VAR])
        except ValueError:
            raise ValueError(f"{KEY_ENV_VAR} must be hex-encoded") from None
        if len(key) < 16:
            raise ValueError(f"{KEY_ENV_VAR} must hold at least 16 bytes")
        return key
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Write a private temporary file (0600 from the first byte), then hard-link it into place:
        # a reader sees no key or a whole key, and of two racing creators the first one wins.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_bytes(32).hex())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) < 16:
        raise ValueError(f"{path}: the linkage key file must hold at least 16 hex-encoded bytes")
    return key


class Pseudonymiser:
    """Keyed pseudonyms of NHS numbers. Same key + same number -> same pseudonym."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonymisation key must hold at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def pseudonym(self, nhs_number: str, *, where: str = "value") -> str:
        digits = validate_nhs_number(nhs_number, where=where)
        return hmac.new(self._key, digits.encode("ascii"), hashlib.sha256).hexdigest()

    def pseudonyms(self, nhs_numbers: np.ndarray) -> list[str]:
        """Pseudonyms of many NHS numbers (int64 array); all are validated first, vectorised."""
        bad = invalid_positions(nhs_numbers)
        if bad.size:
            raise NHSNumberError(
                f"{bad.size} of {len(nhs_numbers)} NHS numbers fail the modulus-11 check "
                f"(first at position {int(bad[0])})"
            )
        base = hmac.new(self._key, digestmod=hashlib.sha256)
        out: list[str] = []
        for text in np.asarray(nhs_numbers, dtype=np.int64).astype("U10").tolist():
            h = base.copy()  # reuses the keyed inner/outer state: ~2x faster than hmac.new
            h.update(text.encode("ascii"))
            out.append(h.hexdigest())
        return out


def invalid_positions(nhs_numbers: np.ndarray) -> np.ndarray:
    """Positions of numbers that are not valid 10-digit NHS numbers (vectorised check)."""
    n = np.asarray(nhs_numbers, dtype=np.int64)
    in_range = (n >= 1_000_000_000) & (n <= 9_999_999_999)
    digits = (n[:, None] // (10 ** np.arange(9, -1, -1, dtype=np.int64))) % 10
    check = 11 - (digits[:, :9] * _WEIGHTS).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    ok = in_range & (check != 10) & (check == digits[:, 9])
    return np.flatnonzero(~ok)
