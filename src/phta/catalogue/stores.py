"""What the library shows about a node store: its load history and load reports, and the
findings of its latest load as a quality summary.

The custodians of the node's organisation (and hub admins) see everything the load reports hold
(counts, names and reasons; the reports never hold row values). Anyone else sees finding counts
only after disclosure control (``phta.disclosure``, the default policy: small counts suppressed,
the rest rounded), because a finding such as "events after death" counts persons' records.
"""

from __future__ import annotations

from pathlib import Path

from phta.cdm import quality as dq
from phta.cdm.store import Store, StoreError
from phta.cdm.summary import summarise
from phta.config import Settings
from phta.disclosure import check, load_policy
from phta.disclosure.results import Dimension, FrequencyTable
from phta.execution.network import NodeStore, region_stores
from phta.governance.nodes import custodian_organisation
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.node_names import same_node
from phta.store import Database

PUBLIC_FINDINGS_POLICY = "default"


class UnknownStore(LookupError):
    pass


def node_store(settings: Settings, node: str) -> NodeStore:
    for store in region_stores(settings):
        if same_node(store.code, node):
            return store
    raise UnknownStore(f"node {node!r} has no store in this region")


def is_custodian_of(principal: Principal | None, database: Database, node: str) -> bool:
    if principal is None:
        return False
    if principal.has_role(Role.HUB_ADMIN):
        return True
    holder = custodian_organisation(database, node)
    return principal.has_role(Role.DATA_CUSTODIAN) and holder is not None and principal.organisation == holder


def store_report(path: Path) -> dict:
    """The store's summary (tables, row counts, load history with each load's full report,
    quarantine counts by file, field and reason) for its custodians."""
    store = Store.open(path)
    summary = summarise(store)
    reports = {h["load_id"]: h.get("report") for h in store.load_history()}
    for h in summary["load_history"]:
        h["report"] = reports.get(h["load_id"])
    summary.pop("store", None)  # a server path: not for pages
    return summary


def load_history(path: Path) -> list[dict]:
    """When and what was loaded (no findings): for anyone."""
    try:
        history = summarise(Store.open(path))["load_history"]
    except StoreError:
        return []
    keep = ("load_id", "source_format", "source_cdm_version", "started_at", "finished_at", "rows_loaded")
    return [{k: h.get(k) for k in keep} for h in history]


def latest_findings(path: Path, *, protected: bool) -> list[dict]:
    """The latest load's findings as ``{"table", "finding", "rows", "suppressed"}``; with
    ``protected``, the row counts have been through disclosure control."""
    try:
        history = Store.open(path).load_history()
    except StoreError:
        return []
    if not history or not isinstance(history[-1].get("report"), dict):
        return []
    findings = history[-1]["report"].get("findings") or {}
    flat = [(table, name, int(n)) for table, by_name in sorted(findings.items())
            for name, n in sorted(by_name.items())]
    if not flat:
        return []
    if not protected:
        return [{"table": t, "finding": f, "rows": n, "suppressed": False} for t, f, n in flat]
    levels = tuple(f"{t}: {f}" for t, f, _n in flat)
    table = FrequencyTable(dimensions=(Dimension("finding", levels),), counts=tuple(n for *_x, n in flat),
                           publish_margins=False, title="load findings")
    cells = [c for c in check(table, load_policy(PUBLIC_FINDINGS_POLICY)).cells if not c.is_margin]
    return [{"table": t, "finding": f, "rows": None if c.suppressed else c.value, "suppressed": c.suppressed}
            for (t, f, _n), c in zip(flat, cells, strict=True)]


def quality(path: Path, *, protected: bool) -> dict:
    """The latest data-quality run (``phta quality check``) and the trend of every run. With
    ``protected``, failing row counts have been through disclosure control (they count records
    of persons); pass/fail, thresholds and explanations are shown as they are."""
    try:
        runs = dq.runs(Store.open(path))
    except StoreError:
        runs = []
    if not runs:
        return {"latest": None, "trend": []}
    latest = runs[-1]
    checks = [dict(c) for c in latest["results"]]
    if protected and checks:
        table = FrequencyTable(dimensions=(Dimension("check", tuple(str(i) for i in range(len(checks)))),),
                               counts=tuple(int(c["failing_rows"]) for c in checks), publish_margins=False,
                               title="quality check failing rows")
        cells = [c for c in check(table, load_policy(PUBLIC_FINDINGS_POLICY)).cells if not c.is_margin]
        for c, cell in zip(checks, cells, strict=True):
            c["failing_rows"] = None if cell.suppressed else cell.value
            c["suppressed"] = cell.suppressed
            c["percent"] = None  # a percentage would undo the rounding
            c.pop("total_rows", None)
    trend = [{"run_id": r["run_id"], "load_id": r["load_id"], "ran_at": r["ran_at"],
              "checks": len(r["results"]), "failed": sum(not c["passed"] for c in r["results"])} for r in runs]
    by_category: dict[str, dict[str, int]] = {}
    for c in checks:
        entry = by_category.setdefault(c["category"], {"passed": 0, "failed": 0})
        entry["passed" if c["passed"] else "failed"] += 1
    return {"latest": {"run_id": latest["run_id"], "load_id": latest["load_id"], "ran_at": latest["ran_at"],
                       "checks": checks, "by_category": by_category}, "trend": trend}
