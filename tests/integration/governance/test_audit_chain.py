"""The audit chain: appends link up, tampering of every kind is detected and named, and
concurrent writers (threads and processes, on SQLite and PostgreSQL) never fork the chain."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import stat
import threading

import pytest
from sqlalchemy import text

from phta.audit import AuditDetailsError, entries, record_event, record_query_run, verify_chain
from phta.audit.checkpoints import SIGNING_KEY_FILE, checkpoint_path
from phta.config import load_settings
from phta.store import close_all, open_database


def _fill(db, n=6):
    for i in range(n):
        record_event(
            db,
            actor=f"user{i}@example.org",
            action="test.event",
            target=f"thing:{i}",
            details={"i": i},
        )


def test_appended_entries_link_and_verify(database):
    _fill(database)
    chain = entries(database)
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5, 6]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    report = verify_chain(database)
    assert report.ok, report.problems
    assert report.entries == 6 and report.checkpoints == 6 and report.first_broken_seq is None


def test_signing_key_is_private_to_the_owner(database):
    _fill(database, 1)
    key = database.data_dir / "keys" / SIGNING_KEY_FILE
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_bytes() not in checkpoint_path(database.data_dir).read_bytes()


def test_query_runs_are_recorded_without_results(database):
    entry = record_query_run(
        database,
        actor="r@example.org",
        query_hash="ab" * 32,
        purpose="network_feasibility",
        node="uhb",
    )
    assert entry.action == "query.run" and entry.details == {
        "query_hash": "ab" * 32,
        "purpose": "network_feasibility",
        "node": "uhb",
    }
    with pytest.raises(AuditDetailsError, match="count"):
        record_query_run(
            database, actor="r", query_hash="x", purpose="p", node="n", details={"count": 12}
        )
    with pytest.raises(AuditDetailsError, match="password"):
        record_event(database, actor="a", action="x", details={"nested": {"password": "hunter2"}})


def _exec(db, sql, **params):
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_edit_is_detected_and_named(database):
    _fill(database)
    _exec(database, "UPDATE audit_entry SET target = 'thing:other' WHERE seq = 4")
    report = verify_chain(database)
    assert not report.ok and report.first_broken_seq == 4
    assert "entry 4" in report.problems[0] and "edited" in report.problems[0]


def test_delete_in_the_middle_is_detected_and_named(database):
    _fill(database)
    _exec(database, "DELETE FROM audit_entry WHERE seq = 3")
    report = verify_chain(database)
    assert report.first_broken_seq == 3 and "missing" in report.problems[0]


def test_reorder_is_detected_and_named(database):
    _fill(database)
    _exec(database, "UPDATE audit_entry SET seq = -1 WHERE seq = 2")
    _exec(database, "UPDATE audit_entry SET seq = 2 WHERE seq = 3")
    _exec(database, "UPDATE audit_entry SET seq = 3 WHERE seq = -1")
    report = verify_chain(database)
    assert report.first_broken_seq == 2 and "entry 2" in report.problems[0]


def test_truncation_is_detected_by_the_checkpoints(database):
    _fill(database)
    _exec(database, "DELETE FROM audit_entry WHERE seq >= 5")
    report = verify_chain(database)
    assert report.first_broken_seq == 5 and "truncated" in report.problems[0]


def test_rewriting_the_whole_tail_is_detected_by_the_checkpoints(database):
    """An attacker with database access edits entry 3 and recomputes every later hash."""
    from phta.audit.chain import entry_hash

    _fill(database)
    _exec(database, "UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 3")
    with database.engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, created_at, actor, action, target, details FROM audit_entry ORDER BY seq"
            )
        ).all()
        prev = "0" * 64
        for r in rows:
            new = entry_hash(r.seq, r.created_at, r.actor, r.action, r.target, r.details, prev)
            conn.execute(
                text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": "tmp" + str(r.seq), "h": "tmp-h" + str(r.seq), "s": r.seq},
            )
            conn.execute(
                text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": new, "s": r.seq},
            )
            prev = new
    report = verify_chain(database)
    assert report.first_broken_seq == 3 and "checkpoint" in report.problems[0]


def test_forged_checkpoint_is_rejected(database):
    _fill(database, 2)
    path = checkpoint_path(database.data_dir)
    path.write_text(path.read_text().replace('"seq": 2', '"seq": 9'))
    report = verify_chain(database)
    assert not report.ok and any("bad signature" in p for p in report.problems)


def _assert_linear(db, expected):
    chain = entries(db)
    assert [e.seq for e in chain] == list(range(1, expected + 1)), "gap in the chain"
    assert len({e.prev_hash for e in chain}) == expected, "fork: two entries share a predecessor"
    report = verify_chain(db)
    assert report.ok, report.problems


def test_parallel_threads_never_fork_the_chain(database):
    writers, each = 6, 15
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(w):
        try:
            barrier.wait()
            for i in range(each):
                record_event(database, actor=f"w{w}", action="test.parallel", target=str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _assert_linear(database, writers * each)


def _process_writer(data_dir: str, url: str, writer: int, each: int, start) -> None:
    settings = load_settings(data_dir, env={"PHTA_DATABASE_URL": url})
    db = open_database(settings)
    start.wait()
    for i in range(each):
        record_event(db, actor=f"p{writer}", action="test.parallel", target=str(i))
    close_all()


def test_parallel_processes_never_fork_the_chain(database):
    ctx = multiprocessing.get_context("spawn")
    writers, each = 3, 20
    start = ctx.Event()
    procs = [
        ctx.Process(
            target=_process_writer, args=(str(database.data_dir), database.url, w, each, start)
        )
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * writers
    _assert_linear(database, writers * each)
