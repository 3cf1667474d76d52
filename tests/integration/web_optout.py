"""The web surfaces in the opt-out property (tests/integration/test_optout_property.py).

The feasibility pages and APIs return PROTECTED counts (suppressed, rounded, perturbed by cell
key), so they cannot be compared with raw numbers. But cell-key noise is a fixed function of the
persons in a cell (their record keys, from pseudonyms and the node's cellkey.key): a store with
opted-out persons and a pruned copy of it (those persons deleted) under the SAME cellkey.key must
give identical protected results if, and only if, the opted-out persons were never counted.

Stores here are a small store replicated a few times (``replicated``), so that some cells pass
the threshold and are published rather than all suppressed; registers name base persons, which
stands for every copy of that person, so an opt-out moves a count by a whole number of copies:
more than rounding can hide. Shared by the PHTA-cohort and the ATLAS (Circe) web properties.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from pathlib import Path

import httpx

from phta.audit import entries as audit_entries
from phta.cdm import data_source, optout_register, record_keys
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from tests.governance_support import csrf_token
from tests.integration.query_strategies import store_from_template

CELL_KEY_SECRET = bytes(range(100, 132))
AS_OF = dt.date(2026, 11, 1)
OUTSIDERS = 12  # numbers for register positions past the base persons (positions < 12): people from elsewhere
MAX_PERSONS = 100  # persons a replicated store may hold (base persons x copies)
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(MAX_PERSONS + OUTSIDERS)]  # persons, then outsiders
PSEUDONYMISER = Pseudonymiser(bytes(range(32)))


def replicated(data: dict, copies: int) -> dict:
    """``copies`` copies of every person with all their rows. Person ids and every event table's
    own id (``<table>_id``, also where another table refers to it, as visit_occurrence_id) are
    shifted per copy, so copies are disjoint; each person gets the pseudonym of NUMBERS[id - 1]."""
    n = len(data["person"])
    assert n * copies <= MAX_PERSONS, "raise MAX_PERSONS"
    keys = {f"{name}_id" for name, rows in data.items() if name != "person" and rows and "person_id" in rows[0]}
    span = {key: max((r.get(key) or 0 for rows in data.values() for r in rows), default=0) for key in keys}
    out = {}
    for name, rows in data.items():
        if not rows or "person_id" not in rows[0]:
            out[name] = rows  # vocabulary, care sites: shared by every copy
            continue
        out[name] = [{**r, "person_id": r["person_id"] + k * n,
                      **{c: r[c] + k * span[c] for c in span if r.get(c) is not None}}
                     for k in range(copies) for r in rows]
    for person in out["person"]:
        person["person_source_value"] = PSEUDONYMISER.pseudonym(NUMBERS[person["person_id"] - 1])
    return out


def registered_persons(position: int, n: int, copies: int) -> list[int]:
    """The store's person ids a register position stands for: every copy of base person
    ``position + 1``, or none for an outsider (position >= n)."""
    return [position + 1 + k * n for k in range(copies)] if position < n else []


def register_numbers(positions: set[int], n: int, copies: int) -> list[str]:
    numbers = []
    for position in sorted(positions):
        persons = registered_persons(position, n, copies)
        numbers += [NUMBERS[p - 1] for p in persons] if persons else [NUMBERS[MAX_PERSONS + position - n]]
    return numbers


def opted_out(registers: dict[str, set[int]], kinds: set[str], n: int, copies: int) -> set[int]:
    """The persons the registers of these kinds remove from a replicated store."""
    return {p for k in kinds for i in registers[k] for p in registered_persons(i, n, copies)}


def without(data: dict, persons: set[int]) -> dict:
    """The store's rows with these persons physically deleted from every table."""
    return {name: [r for r in rows if r.get("person_id") not in persons] for name, rows in data.items()}


def node_store(template: Path, root: Path, data: dict, *, registers: dict[str, set[int]], sources, n: int,
               copies: int, load: Callable[[Path, Path, dict], Store] = store_from_template) -> Path:
    """A node store under ``root`` (always named "node", so both stores are the same node) with
    these registers and data sources, and record keys under the shared cell-key secret."""
    root.mkdir()
    store = load(template, root / "node", data)
    (store.path / record_keys.SECRET_FILE).write_bytes(CELL_KEY_SECRET)
    record_keys.index_record_keys(store)
    if sources is not None:
        data_source.declare(store, sources)
    for kind, positions in registers.items():
        path = root / f"{kind}.csv"
        path.write_text("nhs_number\n" + "".join(f"{x}\n" for x in register_numbers(positions, n, copies)),
                        encoding="utf-8")
        optout_register.refresh(store, kind, path, AS_OF, PSEUDONYMISER)
    return root


def serve(settings, root: Path) -> None:
    """Point the app's stores directory (a symlink) at ``root``."""
    settings.stores_dir.unlink(missing_ok=True)
    settings.stores_dir.symlink_to(root, target_is_directory=True)


def post_api(client: httpx.Client, path: str, body: str, *, form_page: str, status: int = 200) -> dict:
    """POST a JSON body to an API route as the signed-in client (CSRF token from ``form_page``);
    the answer must have ``status`` (400: a query outside the purpose's vocabulary)."""
    headers = {"X-CSRF-Token": csrf_token(client, form_page), "content-type": "application/json"}
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


_RESULTS = re.compile(r'<section aria-labelledby="results">.*?</section>', re.S)


def post_page(client: httpx.Client, path: str, form: dict) -> str:
    """POST a page's form as the signed-in client; the results section of the page."""
    r = client.post(path, data={"csrf_token": csrf_token(client, path), **form})
    assert r.status_code == 200, r.text
    return _RESULTS.search(r.text).group(0)


def network_total(section: str) -> str:
    return html.unescape(re.search(r'<strong id="network-total">([^<]+)</strong>', section).group(1))


def last_run_opt_outs(db) -> set[str]:
    """The register kinds named by the audit entry of the latest run."""
    run = [e for e in audit_entries(db) if e.action == "query.run"][-1]
    return {o["kind"] for o in run.details.get("opt_outs", [])}
