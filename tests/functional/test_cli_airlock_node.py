"""`phta outputs node`: set and show a node's custodian sign-off setting (real CLI, real store)."""

from __future__ import annotations

from typer.testing import CliRunner

from phta.cli.main import app
from phta.governance import airlock
from phta.store import open_database

runner = CliRunner()


def test_set_and_show_a_nodes_custodian_signoff(settings):
    base = ["outputs", "node", "--data-dir", str(settings.data_dir)]
    r = runner.invoke(app, base)
    assert r.exit_code == 0 and "no node requires custodian sign-off" in r.output
    r = runner.invoke(app, [*base[:2], "UHB", "--custodian-signoff", *base[2:]])
    assert r.exit_code != 0 and "organisation" in r.output  # who signs off must be named
    r = runner.invoke(app, [*base[:2], "UHB", "--custodian-signoff", "--custodian-organisation",
                            "University Hospitals Birmingham", *base[2:]])
    assert r.exit_code == 0, r.output
    assert "uhb: custodian sign-off required by a data custodian of University Hospitals Birmingham" in r.output
    assert airlock.node_setting(open_database(settings), "uhb").custodian_signoff
    r = runner.invoke(app, [*base[:2], "uhb", "--no-custodian-signoff", *base[2:]])
    assert "uhb: custodian sign-off not required" in r.output


def test_the_organisation_that_holds_a_node_is_kept_when_sign_off_changes(settings):
    base = ["outputs", "node", "swbh", "--data-dir", str(settings.data_dir)]
    r = runner.invoke(app, [*base, "--custodian-organisation", "Sandwell and West Birmingham"])
    assert r.exit_code == 0, r.output
    assert "swbh: custodian sign-off not required (held by Sandwell and West Birmingham)" in r.output
    runner.invoke(app, [*base, "--custodian-signoff"])
    r = runner.invoke(app, [*base, "--no-custodian-signoff"])
    assert "(held by Sandwell and West Birmingham)" in r.output  # turning sign-off off keeps the holder
    setting = airlock.node_setting(open_database(settings), "SWBH")
    assert not setting.custodian_signoff and setting.custodian_organisation == "Sandwell and West Birmingham"


def test_escalate_with_nothing_overdue_says_so(settings):
    """``phta outputs escalate`` (the escalation rule itself is tested with a controlled clock in
    tests/functional/test_airlock_release.py)."""
    r = runner.invoke(app, ["outputs", "escalate", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0, r.output
    assert "0 request(s) escalated to the output-checking lead" in r.output
