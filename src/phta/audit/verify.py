"""Recompute the chain and compare it with the signed checkpoints; name the first broken entry."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from phta.audit.chain import GENESIS_HASH, entry_hash
from phta.audit.checkpoints import read_checkpoints
from phta.store import Database
from phta.store.models import AuditEntry


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


def verify_chain(database: Database) -> VerifyReport:
    report = VerifyReport()
    hashes: dict[int, str] = {}
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
        expected_seq, expected_prev = row.seq + 1, row.hash
        report.head_seq = row.seq
        if report.problems:
            break  # everything after the first break is untrustworthy; name only the first

    checkpoints, file_problems = read_checkpoints(database.data_dir)
    report.checkpoints = len(checkpoints)
    report.problems.extend(file_problems)
    if report.problems:
        return report
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if not cp.signature_ok:
            report.problems.append(f"checkpoint line {cp.line_no} (entry {cp.seq}): bad signature")
        elif cp.seq > report.head_seq:
            report._broken(
                report.head_seq + 1,
                f"entry {report.head_seq + 1}: missing — the chain ends at {report.head_seq} but a "
                f"signed checkpoint covers entry {cp.seq} (truncated)",
            )
            break
        elif hashes.get(cp.seq) != cp.hash:
            report._broken(
                cp.seq, f"entry {cp.seq}: hash differs from the signed checkpoint (chain rewritten)"
            )
            break
    return report
