"""Opt-out registers held at a node: dated, replaced whole on each refresh, pseudonymised on entry.

A register file is a CSV of NHS numbers (one column, header ``nhs_number``) as supplied to the
node: the national data opt-out list (``national``, from NHS England's check service) or the GP
practice's type 1 objections (``type1``). On refresh every line is validated (modulus-11 check
digit) and pseudonymised with the regional linkage key, exactly as ``person.person_source_value``
was at ingest, so the register can be matched to persons without ever storing an NHS number.

Tables (in the store's ``cdm.duckdb``; ``cdm`` owns the store's files):

- ``phta_optout_refresh``: one row per kind: ``kind``, ``refreshed_at`` (when loaded),
  ``as_of`` (the date the list was extracted by its issuer), ``source_sha256`` (of the file as
  received, so a custodian can prove which list was used) and ``entries`` (distinct persons).
- ``phta_optout_register``: ``kind``, ``person_key`` (the pseudonym), one row per opted-out person.

Opt-out status is never written on the patient record: the register is a separate, dated list,
swapped as a whole inside one transaction. A bad line stops the refresh with an error naming the
file and line (never the number); the previous register then stays in force untouched.

Which registers apply to a use is decided by ``phta.governance.optouts``; they are applied by the
execution path (``phta.execution.optouts``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from phta.cdm.pseudonymise import NHSNumberError, Pseudonymiser
from phta.cdm.store import Store

KINDS = {
    "national": "National data opt-out (NHS England)",
    "type1": "Type 1 opt-out (objection to GP data leaving the practice)",
}
HEADER = "nhs_number"

DDL = [
    """CREATE TABLE IF NOT EXISTS phta_optout_refresh (
        kind VARCHAR PRIMARY KEY,
        refreshed_at TIMESTAMP NOT NULL,
        as_of DATE NOT NULL,
        source_sha256 VARCHAR NOT NULL,
        entries BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS phta_optout_register (
        kind VARCHAR NOT NULL,
        person_key VARCHAR NOT NULL
    )""",
]


class RegisterError(ValueError):
    """A register file or refresh request is not acceptable. Never carries an NHS number."""


@dataclass(frozen=True)
class RegisterInfo:
    kind: str
    as_of: dt.date
    refreshed_at: dt.datetime
    source_sha256: str
    entries: int  # operational data for the custodian only: never shown on a public page


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise RegisterError(f"unknown opt-out register kind {kind!r}; known: {sorted(KINDS)}")


def read_register_file(path: Path, pseudonymiser: Pseudonymiser) -> tuple[list[str], str]:
    """Validate and pseudonymise every line; return (distinct pseudonyms, sha256 of the file).

    Raises RegisterError naming the file and line of the first bad line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise RegisterError(f"{path}: cannot read the register file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegisterError(f"{path}: not UTF-8 text") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or [h.strip().lower() for h in header] != [HEADER]:
        raise RegisterError(f"{path}:1: the header must be the single column {HEADER!r}")
    keys: set[str] = set()
    line = 1
    try:
        for line, row in enumerate(rows, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line holds no entry; nothing is dropped
            if len(row) != 1:
                raise RegisterError(f"{path}:{line}: expected one column ({HEADER}), found {len(row)}")
            keys.add(pseudonymiser.pseudonym(row[0].strip(), where=f"{path}:{line}"))
    except NHSNumberError as e:
        raise RegisterError(str(e)) from None
    except csv.Error as e:  # e.g. a NUL byte or an unclosed quote: the message quotes no data
        raise RegisterError(f"{path}:{line + 1}: not valid CSV ({e})") from None
    return sorted(keys), hashlib.sha256(raw).hexdigest()


def refresh(store: Store, kind: str, path: Path, as_of: dt.date, pseudonymiser: Pseudonymiser,
            *, allow_older: bool = False) -> RegisterInfo:
    """Replace the node's ``kind`` register with the one in ``path``, dated ``as_of``.

    The whole file is validated before the store is touched, and the swap is one transaction,
    so a failure at any point leaves the previous register in force."""
    _check_kind(kind)
    today = dt.datetime.now(dt.UTC).date()
    if as_of > today:
        raise RegisterError(f"--as-of {as_of.isoformat()} is in the future")
    keys, sha = read_register_file(path, pseudonymiser)
    current = {r.kind: r for r in registers(store)}.get(kind)
    if current is not None and as_of < current.as_of and not allow_older:
        raise RegisterError(
            f"the {kind} register in force is dated {current.as_of.isoformat()}; refusing to replace it "
            f"with an older list dated {as_of.isoformat()}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = pa.table({"kind": pa.array([kind] * len(keys), pa.string()), "person_key": pa.array(keys, pa.string())})
    con = store.connect()
    try:
        for statement in DDL:
            con.execute(statement)
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM phta_optout_register WHERE kind = ?", [kind])
            con.register("incoming_register", table)
            con.execute("INSERT INTO phta_optout_register SELECT kind, person_key FROM incoming_register")
            con.unregister("incoming_register")
            con.execute("DELETE FROM phta_optout_refresh WHERE kind = ?", [kind])
            con.execute("INSERT INTO phta_optout_refresh VALUES (?, ?, ?, ?, ?)", [kind, now, as_of, sha, len(keys)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return RegisterInfo(kind, as_of, now, sha, len(keys))


def registers(store: Store) -> list[RegisterInfo]:
    """The registers in force at this node (none if never refreshed), by kind."""
    with store.connect(read_only=True) as con:
        present = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'phta_optout_refresh'").fetchone()[0]
        if not present:
            return []
        rows = con.execute(
            "SELECT kind, as_of, refreshed_at, source_sha256, entries FROM phta_optout_refresh ORDER BY kind"
        ).fetchall()
    return [RegisterInfo(*r) for r in rows]
