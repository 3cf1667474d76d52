"""Checkpoints chain to each other; verification fails when they are deleted, trimmed or stale,
and an anchor kept outside the data directory catches what the data directory alone cannot."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

from sqlalchemy import text

from phta.audit import record_event, verify_chain
from phta.audit.chain import GENESIS_HASH, entry_hash
from phta.audit.checkpoints import GENESIS, anchor_record, checkpoint_path, line_hash

NO_LAG = timedelta(0)


def _fill(db, n=6, start=0):
    for i in range(start, start + n):
        record_event(db, actor="cli", action="test.event", target=f"thing:{i}", details={"i": i})


def _lines(db) -> list[str]:
    return checkpoint_path(db.data_dir).read_text().splitlines()


def _keep_lines(db, lines: list[str]) -> None:
    checkpoint_path(db.data_dir).write_text("".join(line + "\n" for line in lines))


def _rewrite_from(db, seq: int) -> None:
    """The attacker edits entry ``seq`` and recomputes every hash after it (times unchanged)."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = :s"), {"s": seq})
        rows = conn.execute(text("SELECT seq, created_at, actor, action, target, details "
                                 "FROM audit_entry ORDER BY seq")).all()
        prev = GENESIS_HASH
        for r in rows:
            new = entry_hash(r.seq, r.created_at, r.actor, r.action, r.target, r.details, prev)
            conn.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": f"tmp{r.seq}", "h": f"tmp-h{r.seq}", "s": r.seq})
            conn.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": new, "s": r.seq})
            prev = new


def test_each_checkpoint_signs_the_one_before(database):
    _fill(database, 4)
    lines = [json.loads(line) for line in _lines(database)]
    assert lines[0]["prev"] == GENESIS
    assert all(b["prev"] == line_hash(a) for a, b in itertools.pairwise(lines))
    assert verify_chain(database, max_checkpoint_lag=NO_LAG).ok  # control: untouched, no lag at all


def test_a_deleted_checkpoint_file_fails_verification(database):
    _fill(database)
    checkpoint_path(database.data_dir).unlink()
    report = verify_chain(database)
    assert not report.ok and "no signed checkpoints" in report.problems[0] and report.first_broken_seq == 1


def test_an_emptied_checkpoint_file_fails_verification(database):
    _fill(database)
    _rewrite_from(database, 3)
    _keep_lines(database, [])
    report = verify_chain(database)
    assert not report.ok and "missing or empty" in report.problems[0]


def test_a_checkpoint_deleted_from_the_middle_fails_verification(database):
    _fill(database)
    lines = _lines(database)
    _keep_lines(database, lines[:2] + lines[3:])
    report = verify_chain(database)
    assert not report.ok and "does not link to checkpoint line 2" in report.problems[0]


def test_checkpoints_trimmed_from_the_start_fail_verification(database):
    _fill(database)
    _keep_lines(database, _lines(database)[3:])
    report = verify_chain(database)
    assert not report.ok and "earlier checkpoints deleted" in report.problems[0]


def test_a_rewritten_chain_with_the_checkpoint_file_trimmed_fails_once_past_the_lag(database):
    _fill(database)
    _rewrite_from(database, 3)
    _keep_lines(database, _lines(database)[:2])  # the checkpoints that covered 3..6 are gone
    report = verify_chain(database, max_checkpoint_lag=NO_LAG)
    assert not report.ok and report.first_broken_seq == 3
    assert "entries 3-6: not covered by a signed checkpoint" in report.problems[0]


def test_an_uncovered_head_within_the_lag_is_accepted(database):
    """Control: a crash between a commit and its checkpoint leaves the head briefly uncovered."""
    _fill(database)
    _keep_lines(database, _lines(database)[:-1])
    assert verify_chain(database).ok
    _fill(database, 1, start=6)  # the next entry's checkpoint covers it again
    assert verify_chain(database, max_checkpoint_lag=NO_LAG).ok


def test_an_anchor_outside_the_data_directory_catches_a_trim_within_the_lag(database):
    _fill(database)
    anchor = anchor_record(database.data_dir)
    assert anchor["seq"] == 6 and len(anchor["public_key"]) == 64
    _fill(database, 2, start=6)
    assert verify_chain(database, anchor=anchor).ok  # control: the chain grew past the anchor
    _rewrite_from(database, 3)
    _keep_lines(database, _lines(database)[:2])
    report = verify_chain(database, anchor=anchor)  # default lag: the trim alone is not caught
    assert not report.ok
    assert any("hash differs from the anchor" in p for p in report.problems)
    assert any("is not in the checkpoint file" in p for p in report.problems)
