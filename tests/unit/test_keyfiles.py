"""Key files: created 0600, never half-written, and racing creators agree on one key."""

from __future__ import annotations

import os
import stat
import threading

from phta.store.keyfiles import load_or_create_key


def test_key_file_is_private_and_stable(tmp_path):
    first = load_or_create_key(tmp_path, "k.key", lambda: os.urandom(32))
    assert load_or_create_key(tmp_path, "k.key", lambda: b"other") == first
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / "k.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["k.key"]  # no temporary files left


def test_concurrent_creators_all_see_one_complete_key(tmp_path):
    seen: list[bytes] = []
    barrier = threading.Barrier(8)

    def slow_key() -> bytes:
        return os.urandom(4096)

    def worker():
        barrier.wait()
        seen.append(load_or_create_key(tmp_path, "race.key", slow_key))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len(set(seen)) == 1 and len(seen[0]) == 4096
