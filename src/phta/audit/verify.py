"""Recompute the chain and compare it with the signed checkpoints; name the first broken entry.

Besides each entry's hash and link, verification needs the checkpoints to be there and recent:
a chain with entries and no checkpoints (the file deleted), a chain of checkpoints with a link
missing (lines deleted), or a newest checkpoint that lags the chain's head by more than
``max_checkpoint_lag`` (lines trimmed from the end, then the tail rewritten) all fail. An anchor
kept outside the data directory (``checkpoints.anchor_record``) must still be in the file and
match the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from phta.audit.chain import GENESIS_HASH, entry_hash
from phta.audit.checkpoints import (
    Checkpoint,
    line_hash,
    public_key_hex,
    read_checkpoints,
    signing_key,
)
from phta.store import Database
from phta.store.models import AuditEntry

# Checkpoints are written as each transaction commits; only a crash between the commit and the
# write leaves the newest entries uncovered, until the next entry's checkpoint covers them.
DEFAULT_MAX_CHECKPOINT_LAG = timedelta(minutes=5)


@dataclass
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    first_broken_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def _broken(self, seq: int, message: str) -> None:
        if self.first_broken_seq is None or seq < self.first_broken_seq:
            self.first_broken_seq = seq
        self.problems.append(message)


def verify_chain(
    database: Database,
    *,
    max_checkpoint_lag: timedelta = DEFAULT_MAX_CHECKPOINT_LAG,
    anchor: dict | None = None,
) -> VerifyReport:
    report = VerifyReport()
    hashes: dict[int, str] = {}
    created: dict[int, str] = {}
    expected_seq, expected_prev = 1, GENESIS_HASH
    with database.session() as session:
        rows = session.execute(
            select(
                AuditEntry.seq,
                AuditEntry.created_at,
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.target,
                AuditEntry.details,
                AuditEntry.prev_hash,
                AuditEntry.hash,
            ).order_by(AuditEntry.seq)
        ).all()
    for row in rows:
        report.entries += 1
        if row.seq != expected_seq:
            report._broken(
                expected_seq, f"entry {expected_seq}: missing (next entry present is {row.seq})"
            )
        elif row.prev_hash != expected_prev:
            report._broken(
                row.seq,
                f"entry {row.seq}: does not link to entry {row.seq - 1} (prev_hash differs)",
            )
        recomputed = entry_hash(
            row.seq, row.created_at, row.actor, row.action, row.target, row.details, row.prev_hash
        )
        if recomputed != row.hash:
            report._broken(row.seq, f"entry {row.seq}: contents do not match its hash (edited)")
        hashes[row.seq] = row.hash
        created[row.seq] = row.created_at
        expected_seq, expected_prev = row.seq + 1, row.hash
        report.head_seq = row.seq
        if report.problems:
            break  # everything after the first break is untrustworthy; name only the first

    checkpoints, file_problems = read_checkpoints(database.data_dir)
    report.checkpoints = len(checkpoints)
    report.problems.extend(file_problems)
    if report.problems:
        return report
    _compare_with_checkpoints(report, checkpoints, hashes)
    if report.problems:
        return report
    _check_coverage(report, checkpoints, created, max_checkpoint_lag)
    if anchor is not None:
        _check_anchor(report, anchor, checkpoints, hashes, database)
    return report


def _compare_with_checkpoints(
    report: VerifyReport, checkpoints: list[Checkpoint], hashes: dict[int, str]
) -> None:
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if not cp.signature_ok:
            report.problems.append(f"checkpoint line {cp.line_no} (entry {cp.seq}): bad signature")
        elif cp.seq > report.head_seq:
            report._broken(
                report.head_seq + 1,
                f"entry {report.head_seq + 1}: missing — the chain ends at {report.head_seq} but a "
                f"signed checkpoint covers entry {cp.seq} (truncated)",
            )
            return
        elif hashes.get(cp.seq) != cp.hash:
            report._broken(
                cp.seq, f"entry {cp.seq}: hash differs from the signed checkpoint (chain rewritten)"
            )
            return


def _check_coverage(
    report: VerifyReport,
    checkpoints: list[Checkpoint],
    created: dict[int, str],
    max_lag: timedelta,
) -> None:
    """Entries newer than every checkpoint are trusted only briefly (a crash window)."""
    if report.head_seq == 0:
        return
    if not checkpoints:
        report._broken(
            1,
            f"no signed checkpoints, but the chain has {report.head_seq} entries: the checkpoint "
            "file is missing or empty (deleted?)",
        )
        return
    newest = max(checkpoints, key=lambda c: c.seq)
    if newest.seq >= report.head_seq:
        return
    lag = _parse(created[report.head_seq]) - _parse(newest.signed_at)
    if lag > max_lag:
        report._broken(
            newest.seq + 1,
            f"entries {newest.seq + 1}-{report.head_seq}: not covered by a signed checkpoint; the "
            f"newest checkpoint (entry {newest.seq}) is {int(lag.total_seconds())} s older than the "
            f"chain's head, more than the {int(max_lag.total_seconds())} s allowed (checkpoints "
            "trimmed or deleted?)",
        )


def _check_anchor(
    report: VerifyReport,
    anchor: dict,
    checkpoints: list[Checkpoint],
    hashes: dict[int, str],
    database: Database,
) -> None:
    try:
        seq, head_hash, anchored = int(anchor["seq"]), str(anchor["hash"]), line_hash(anchor)
    except (KeyError, TypeError, ValueError):
        report.problems.append("the anchor is not a checkpoint printed by `phta audit anchor`")
        return
    current_key = public_key_hex(signing_key(database.data_dir).public_key())
    if anchor.get("public_key") not in (None, current_key):
        report.problems.append("the audit signing key has changed since the anchor was taken")
    if seq > report.head_seq:
        report._broken(
            report.head_seq + 1,
            f"entry {report.head_seq + 1}: missing — the chain ends at {report.head_seq} but the "
            f"anchor covers entry {seq} (truncated)",
        )
    elif hashes.get(seq) != head_hash:
        report._broken(seq, f"entry {seq}: hash differs from the anchor (chain rewritten)")
    if not any(cp.line_hash == anchored for cp in checkpoints):
        report.problems.append(
            f"the anchored checkpoint (entry {seq}, signed {anchor.get('signed_at')}) is not in the "
            "checkpoint file (trimmed or replaced)"
        )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
