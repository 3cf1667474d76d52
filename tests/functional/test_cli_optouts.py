"""``phta optouts refresh|status|declare-source`` through the real CLI, on a real store."""

from __future__ import annotations

import datetime as dt

import duckdb
from typer.testing import CliRunner

from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.cli.main import app
from phta.query import ir, serial

WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}
KEY_HEX = "ab" * 32
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(5)]


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={**WIDE, "PHTA_LINKAGE_KEY": KEY_HEX})


def _bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def _table(store: Store) -> list[tuple]:
    with duckdb.connect(str(store.db_path), read_only=True) as con:
        return con.execute("SELECT kind, person_key FROM phta_optout_register ORDER BY 1, 2").fetchall()


def test_refresh_status_and_replace_whole(tmp_path):
    store = Store.create(tmp_path / "node", node_name="XG001")
    first = tmp_path / "national.csv"
    first.write_text("nhs_number\n" + "\n".join(NUMBERS[:3]) + f"\n{NUMBERS[0]}\n\n", encoding="utf-8")
    r = _run("optouts", "refresh", first, "--store", store.path, "--kind", "national", "--as-of", "2026-10-01")
    assert r.exit_code == 0, r.output
    assert "national register replaced" in r.output and "3 people" in r.output
    keys = {Pseudonymiser(bytes.fromhex(KEY_HEX)).pseudonym(n) for n in NUMBERS[:3]}
    assert {k for _, k in _table(store)} == keys
    raw = store.db_path.read_bytes()
    assert not any(n.encode() in raw for n in NUMBERS), "a raw NHS number reached the store file"

    second = tmp_path / "national2.csv"
    second.write_text("nhs_number\n" + NUMBERS[4] + "\n", encoding="utf-8")
    r = _run("optouts", "refresh", second, "--store", store.path, "--kind", "national", "--as-of", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert len(_table(store)) == 1  # replaced as a whole, not merged

    r = _run("optouts", "status", "--store", store.path)
    assert r.exit_code == 0, r.output
    assert "2026-11-01" in r.output and "not loaded" in r.output  # national loaded, type1 not
    assert "undeclared (treated as GP-sourced)" in r.output


def test_a_bad_line_names_file_and_line_and_changes_nothing(tmp_path):
    store = Store.create(tmp_path / "node", node_name="XG001")
    good = tmp_path / "good.csv"
    good.write_text("nhs_number\n" + NUMBERS[0] + "\n", encoding="utf-8")
    assert _run("optouts", "refresh", good, "--store", store.path, "--kind", "type1", "--as-of", "2026-10-01").exit_code == 0
    before = (_table(store), optout_register.registers(store))

    bad_number = _bad_check_digit(NUMBERS[2])
    bad = tmp_path / "bad.csv"
    bad.write_text(f"nhs_number\n{NUMBERS[1]}\n{bad_number}\n{NUMBERS[3]}\n", encoding="utf-8")
    r = _run("optouts", "refresh", bad, "--store", store.path, "--kind", "type1", "--as-of", "2026-11-01")
    assert r.exit_code == 1
    assert f"{bad}:3" in r.output.replace("\n", "") and "check digit" in r.output
    assert bad_number not in r.output and NUMBERS[1] not in r.output
    assert (_table(store), optout_register.registers(store)) == before


def test_header_columns_kind_and_dates_are_checked(tmp_path):
    store = Store.create(tmp_path / "node")
    f = tmp_path / "r.csv"
    cases = [
        ("nhs\n" + NUMBERS[0] + "\n", "national", "2026-01-01", ":1: the header must be"),
        ("nhs_number\n" + NUMBERS[0] + ",x\n", "national", "2026-01-01", ":2: expected one column"),
        ("nhs_number\n12345\n", "national", "2026-01-01", ":2: an NHS number must be 10 digits"),
        ("nhs_number\n" + NUMBERS[0] + "\n", "regional", "2026-01-01", "unknown opt-out register kind"),
        ("nhs_number\n" + NUMBERS[0] + "\n", "national", "2999-01-01", "in the future"),
    ]
    for text, kind, as_of, message in cases:
        f.write_text(text, encoding="utf-8")
        r = _run("optouts", "refresh", f, "--store", store.path, "--kind", kind, "--as-of", as_of)
        assert r.exit_code == 1, (text, r.output)
        assert message in r.output.replace("\n", ""), r.output
    assert optout_register.registers(store) == []
    r = _run("optouts", "refresh", f, "--store", store.path, "--kind", "national", "--as-of", "yesterday")
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output


def test_an_older_list_needs_allow_older(tmp_path):
    store = Store.create(tmp_path / "node")
    f = tmp_path / "r.csv"
    f.write_text("nhs_number\n" + NUMBERS[0] + "\n", encoding="utf-8")
    assert _run("optouts", "refresh", f, "--store", store.path, "--kind", "national", "--as-of", "2026-10-01").exit_code == 0
    r = _run("optouts", "refresh", f, "--store", store.path, "--kind", "national", "--as-of", "2026-09-01")
    assert r.exit_code == 1 and "older list" in r.output
    r = _run("optouts", "refresh", f, "--store", store.path, "--kind", "national", "--as-of", "2026-09-01",
             "--allow-older")
    assert r.exit_code == 0, r.output
    assert optout_register.registers(store)[0].as_of == dt.date(2026, 9, 1)


def test_declare_source(tmp_path):
    store = Store.create(tmp_path / "node")
    assert data_source.sources(store).gp_sourced  # undeclared: fail safe
    r = _run("optouts", "declare-source", "--store", store.path, "--source", "hospital")
    assert r.exit_code == 0, r.output
    assert not data_source.sources(store).gp_sourced
    r = _run("optouts", "declare-source", "--store", store.path, "--source", "hospital", "--source", "gp")
    assert r.exit_code == 0 and data_source.sources(store).gp_sourced
    r = _run("optouts", "declare-source", "--store", store.path, "--source", "pharmacy")
    assert r.exit_code == 1 and "declare one or more" in r.output
    assert "apply to this store" in _run("optouts", "status", "--store", store.path).output


def test_synthetic_stores_know_their_site_kind(tmp_path):
    r = _run("synth", "--patients", "60", "--sites", "2", "--seed", "3", "--out", tmp_path / "region")
    assert r.exit_code == 0, r.output
    gp, trust = Store.open(tmp_path / "region" / "XG001"), Store.open(tmp_path / "region" / "XT001")
    assert data_source.sources(gp) == data_source.DataSources(frozenset({"gp"}), "load history")
    assert not data_source.sources(trust).gp_sourced


def test_demo_loads_registers_once_and_feasibility_applies_them(settings, tmp_path, monkeypatch):
    import json

    from phta.cli.demo import prepare_demo

    monkeypatch.delenv("PHTA_LINKAGE_KEY", raising=False)
    first = prepare_demo(settings, console=None)
    assert any("Opt-out registers: synthetic national and type 1" in line for line in first)
    assert any("already loaded" in line for line in prepare_demo(settings, console=None))
    gp = settings.stores_dir / "XG001"
    assert {r.kind for r in optout_register.registers(Store.open(gp))} == {"national", "type1"}

    query = tmp_path / "everyone.json"
    # everyone: a census cohort on the 1st of a month (network feasibility's vocabulary has no date of birth)
    query.write_text(serial.to_json(ir.Cohort(ir.Literal("date", dt.date(2025, 1, 1)))), encoding="utf-8")
    counts = {}
    for purpose in ("custodian_quality", "network_feasibility"):
        r = CliRunner().invoke(app, ["cohort", "run", str(query), "--store", str(gp), "--json", "--purpose", purpose],
                               env=WIDE)
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        counts[purpose] = out["population_count"]
        assert {o["kind"] for o in out["opt_outs"]} == (set() if purpose == "custodian_quality" else {"national", "type1"})
    assert 0 < counts["network_feasibility"] < counts["custodian_quality"]
    r = CliRunner().invoke(app, ["cohort", "run", str(query), "--store", str(gp), "--purpose", "network_feasibility"], env=WIDE)
    assert "Opt-outs applied: national as of" in r.output and "type1 as of" in r.output
