"""The daily query budget in the operational store (SQLite and PostgreSQL): exhausting it is
refused and audited (who, purpose, reason, never a count); other users are unaffected; a new UTC
day starts afresh; per-purpose settings apply; concurrent requests never overspend."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest

from phta.audit import entries, verify_chain
from phta.config import SettingsError, load_settings
from phta.execution.budget import REFUSED_ACTION, BudgetExhausted, budget_status, charge_query
from phta.governance.principal import Principal

ALICE = Principal(11, "alice@test.example", "Alice", frozenset({"researcher"}))
BOB = Principal(12, "bob@test.example", "Bob", frozenset({"researcher"}))
PURPOSE = "network_feasibility"
DAY = dt.datetime(2026, 3, 14, 23, 59, tzinfo=dt.UTC)


def _limited(settings, n: int):
    return dataclasses.replace(settings, query_budget=n)


def test_exhausting_the_budget_is_refused_and_audited_without_a_count(backend_settings, database):
    settings = _limited(backend_settings, 3)
    assert [charge_query(settings, database, ALICE, PURPOSE, now=DAY).used for _ in range(3)] == [1, 2, 3]
    with pytest.raises(BudgetExhausted) as refused:
        charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    assert str(refused.value) == ("daily query budget for network_feasibility used up: 3 of 3; "
                                  "resets at 00:00 UTC")
    assert refused.value.status.resets_at == dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    (event,) = [e for e in entries(database) if e.action == REFUSED_ACTION]
    assert event.actor == ALICE.actor and event.target == f"purpose:{PURPOSE}"
    assert event.details["purpose"] == PURPOSE and "used up" in event.details["reason"]
    assert not any(isinstance(v, int) for v in event.details.values())  # never a count
    assert verify_chain(database).ok
    (status,) = budget_status(settings, database, ALICE, [PURPOSE], now=DAY)
    assert (status.used, status.limit, status.remaining) == (3, 3, 0)


def test_another_users_budget_is_unaffected(backend_settings, database):
    settings = _limited(backend_settings, 2)
    for _ in range(2):
        charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    with pytest.raises(BudgetExhausted):
        charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    assert charge_query(settings, database, BOB, PURPOSE, now=DAY).used == 1  # control
    (bob,) = budget_status(settings, database, BOB, [PURPOSE], now=DAY)
    assert bob.remaining == 1
    # and another purpose of the same user has its own budget
    assert charge_query(settings, database, ALICE, "project:4", now=DAY).used == 1


def test_a_new_utc_day_starts_afresh(backend_settings, database):
    settings = _limited(backend_settings, 1)
    charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    with pytest.raises(BudgetExhausted):
        charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    midnight = DAY + dt.timedelta(minutes=1)
    assert charge_query(settings, database, ALICE, PURPOSE, now=midnight).used == 1
    # a clock in another zone is counted in UTC: 00:30 in UTC+1 is still yesterday in UTC
    late = dt.datetime(2026, 3, 16, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with pytest.raises(BudgetExhausted):
        charge_query(settings, database, ALICE, PURPOSE, now=late)


def test_per_purpose_settings_and_unlimited_purposes(tmp_path, database):
    settings = load_settings(tmp_path / "d", env={"PHTA_QUERY_BUDGET": "5",
                                                  "PHTA_QUERY_BUDGETS": "network_feasibility=1,project=unlimited"})
    assert settings.query_budget_for("public_statistics") == 5
    assert settings.query_budget_for("custodian_quality") is None  # the built-in default
    assert settings.query_budget_for("project:9") is None
    charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    with pytest.raises(BudgetExhausted):
        charge_query(settings, database, ALICE, PURPOSE, now=DAY)
    for _ in range(20):
        assert charge_query(settings, database, ALICE, "project:9", now=DAY).remaining is None
    one_project = load_settings(tmp_path / "d", env={"PHTA_QUERY_BUDGETS": "project=10,project:9=2"})
    assert (one_project.query_budget_for("project:9"), one_project.query_budget_for("project:8")) == (2, 10)
    zero = load_settings(tmp_path / "d", env={"PHTA_QUERY_BUDGETS": "public_beacon=0"})
    with pytest.raises(BudgetExhausted):
        charge_query(zero, database, ALICE, "public_beacon", now=DAY)


@pytest.mark.parametrize(("env", "named"), [
    ({"PHTA_QUERY_BUDGET": "lots"}, "PHTA_QUERY_BUDGET"),
    ({"PHTA_QUERY_BUDGET": "-3"}, "PHTA_QUERY_BUDGET"),
    ({"PHTA_QUERY_BUDGETS": "network_feasibility"}, "PHTA_QUERY_BUDGETS"),
    ({"PHTA_QUERY_BUDGETS": "network_feasibility=ten"}, "PHTA_QUERY_BUDGETS (network_feasibility)"),
])
def test_malformed_budget_settings_name_the_setting(tmp_path, env, named):
    with pytest.raises(SettingsError) as bad:
        load_settings(tmp_path, env=env)
    assert str(bad.value).startswith(named)


def test_concurrent_requests_never_overspend(backend_settings, database):
    settings = _limited(backend_settings, 12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask():
        for _ in range(5):
            try:
                charge_query(settings, database, ALICE, PURPOSE, now=DAY)
                result = "ok"
            except BudgetExhausted:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 12 and outcomes.count("refused") == 8
    (status,) = budget_status(settings, database, ALICE, [PURPOSE], now=DAY)
    assert status.used == 12
