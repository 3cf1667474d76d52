"""`phta audit anchor` and `phta audit verify --anchor` through the real CLI; the anchor is
posted to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from phta.audit import record_event
from phta.audit.checkpoints import checkpoint_path
from phta.cli.main import app
from phta.store import open_database

runner = CliRunner()


@pytest.fixture
def anchor_server():
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # the http.server API names it so
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _fill(settings, n=4):
    db = open_database(settings)
    for i in range(n):
        record_event(db, actor="cli", action="test.event", target=f"thing:{i}", details={"i": i})


def test_anchor_prints_and_posts_the_newest_checkpoint(settings, anchor_server, monkeypatch):
    url, received = anchor_server
    _fill(settings)
    printed = runner.invoke(app, ["audit", "anchor", "--data-dir", str(settings.data_dir)])
    assert printed.exit_code == 0, printed.output
    anchor = json.loads(printed.stdout)
    assert anchor["seq"] == 4 and {"signature", "prev", "public_key", "line_hash"} <= set(anchor)
    monkeypatch.setenv("PHTA_AUDIT_ANCHOR_URL", f"{url}/register/anchors")
    posted = runner.invoke(app, ["audit", "anchor", "--post", "--data-dir", str(settings.data_dir)])
    assert posted.exit_code == 0, posted.output
    assert received == [("/register/anchors", anchor)]


def test_verify_against_a_saved_anchor(settings, tmp_path):
    _fill(settings)
    saved = tmp_path / "anchor.json"
    saved.write_text(runner.invoke(app, ["audit", "anchor", "--data-dir", str(settings.data_dir)]).stdout)
    _fill(settings, 2)
    ok = runner.invoke(app, ["audit", "verify", "--anchor", str(saved), "--data-dir", str(settings.data_dir)])
    assert ok.exit_code == 0 and "and so does the anchor" in ok.output
    # the newest checkpoints are trimmed away: within the lag only the anchor notices
    path = checkpoint_path(settings.data_dir)
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()[:2]))
    broken = runner.invoke(app, ["audit", "verify", "--anchor", str(saved), "--data-dir", str(settings.data_dir)])
    assert broken.exit_code == 1 and "is not in the checkpoint file" in broken.output


def test_verify_fails_on_a_deleted_checkpoint_file_and_a_stale_head(settings, monkeypatch):
    _fill(settings)
    path = checkpoint_path(settings.data_dir)
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n")
    monkeypatch.setenv("PHTA_AUDIT_CHECKPOINT_MAX_LAG", "0")
    stale = runner.invoke(app, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert stale.exit_code == 1 and "not covered by a signed checkpoint" in stale.output
    path.unlink()
    gone = runner.invoke(app, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert gone.exit_code == 1 and "no signed checkpoints" in gone.output


def test_anchor_errors_are_clear(settings, tmp_path):
    empty = runner.invoke(app, ["audit", "anchor", "--data-dir", str(settings.data_dir)])
    assert empty.exit_code == 1 and "No checkpoint to anchor" in empty.output
    _fill(settings, 1)
    no_url = runner.invoke(app, ["audit", "anchor", "--post", "--data-dir", str(settings.data_dir)])
    assert no_url.exit_code == 2 and "PHTA_AUDIT_ANCHOR_URL" in no_url.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["audit", "verify", "--anchor", str(bad), "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 2 and "not JSON" in r.output
