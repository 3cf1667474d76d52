"""`phta users` and `phta audit verify` through the real CLI (Typer runner, real store)."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from phta.cli.main import app
from phta.store import open_database
from phta.store.models import User

runner = CliRunner()


def _add(settings, *args, password="a-long-cli-password"):
    return runner.invoke(app, ["users", "add", *args, "--password-stdin", "--data-dir", str(settings.data_dir)],
                         input=password + "\n")


def test_users_add_list_and_audit_verify(settings):
    r = _add(settings, "Colin@Example.org", "--role", "committee-member", "--org", "PHTA Hub", "--lay-member",
             "--name", "Colin")
    assert r.exit_code == 0, r.output
    assert "colin@example.org" in r.output and "committee_member" in r.output
    r = runner.invoke(app, ["users", "list", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and "colin@example.org" in r.output and "(lay)" in r.output
    assert "REQUIRED, not enrolled" in r.output
    # the password is stored as an Argon2 hash, never as given
    with open_database(settings).session() as s:
        stored = s.query(User).one().password_hash
    assert stored.startswith("$argon2id$") and "a-long-cli-password" not in stored
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and r.output.startswith("OK: 2 entries")


def test_users_add_refuses_bad_input_with_a_clear_message(settings):
    r = _add(settings, "x@example.org", "--role", "wizard")
    assert r.exit_code != 0 and "unknown role 'wizard'" in r.output
    r = _add(settings, "x@example.org", "--role", "researcher", password="short")
    assert r.exit_code == 1 and "at least 12 characters" in r.output
    r = _add(settings, "x@example.org", "--role", "researcher", "--lay-member")
    assert r.exit_code == 1 and "lay" in r.output
    assert _add(settings, "x@example.org", "--role", "researcher").exit_code == 0
    r = _add(settings, "X@example.org", "--role", "researcher")
    assert r.exit_code == 1 and "already exists" in r.output


def test_audit_verify_names_the_broken_entry(settings):
    for n in range(3):
        assert _add(settings, f"u{n}@example.org", "--role", "researcher").exit_code == 0
    with open_database(settings).engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET action = 'user.deleted' WHERE seq = 2"))
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 1
    assert "BROKEN at entry 2" in r.output and "edited" in r.output


def test_users_totp_only_for_demo_users(settings):
    from phta.cli.demo import prepare_demo

    prepare_demo(settings, console=None)
    r = runner.invoke(app, ["users", "totp", "admin@demo.phta.example", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and r.output.strip().isdigit() and len(r.output.strip()) == 6
    assert _add(settings, "real@example.org", "--role", "hub_admin").exit_code == 0
    r = runner.invoke(app, ["users", "totp", "real@example.org", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 1 and "no second factor" in r.output


def test_demo_seeds_one_user_per_role_idempotently(settings):
    from phta.cli.demo import prepare_demo
    from phta.governance import accounts
    from phta.governance.roles import ALL_ROLES

    lines = prepare_demo(settings, console=None)
    assert any("11 created now" in line for line in lines)  # one per role, a lay member, a second checker
    assert any("0 created now" in line for line in prepare_demo(settings, console=None))
    users = accounts.list_users(open_database(settings))
    assert {r for u in users for r in u.roles} == set(ALL_ROLES)
    assert all(u.totp_enrolled for u in users if u.totp_required)
    assert any(u.lay_member for u in users)
    from phta.governance import register

    assert [e.title for e in register.entries(open_database(settings))] == [
        "Heart failure readmissions across the Black Country (demo)"
    ]
