"""Where a store's data came from: GP records, hospital records or other sources.

Type 1 opt-outs apply to data that came from GP practices, so each store says whether it holds
GP-sourced data. The answer, in order of precedence:

1. **declared** by the custodian (``phta optouts declare-source``): table ``phta_data_source``,
   one row per source kind (``gp``, ``hospital``, ``other``), replaced whole on each declaration;
2. **load history**: the synthetic region's generator records each store's site kind
   (``gp`` federation or hospital ``trust``) in ``phta_load_history.report``;
3. **undeclared**: treated as GP-sourced, so type 1 opt-outs are applied. Failing safe costs a
   few counts; failing the other way would use data people objected to.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from phta.cdm.store import Store

SOURCE_KINDS = {"gp": "GP practice records", "hospital": "hospital (trust) records", "other": "other sources"}
_SYNTH_SITE_KIND = {"gp": "gp", "trust": "hospital"}

DDL = """CREATE TABLE IF NOT EXISTS phta_data_source (
    source_kind VARCHAR PRIMARY KEY,
    declared_at TIMESTAMP NOT NULL
)"""


class DataSourceError(ValueError):
    """An unknown source kind was declared."""


@dataclass(frozen=True)
class DataSources:
    kinds: frozenset[str]
    how: str  # "declared", "load history" or "undeclared"

    @property
    def gp_sourced(self) -> bool:
        return "gp" in self.kinds or self.how == "undeclared"

    def describe(self) -> str:
        if self.how == "undeclared":
            return "undeclared (treated as GP-sourced)"
        return f"{', '.join(sorted(self.kinds))} ({self.how})"


def declare(store: Store, kinds: set[str] | frozenset[str]) -> DataSources:
    """Replace the store's declaration of its data sources."""
    unknown = set(kinds) - set(SOURCE_KINDS)
    if unknown or not kinds:
        raise DataSourceError(f"declare one or more of {sorted(SOURCE_KINDS)}; got {sorted(kinds)}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = store.connect()
    try:
        con.execute(DDL)
        con.execute("BEGIN")
        con.execute("DELETE FROM phta_data_source")
        con.executemany("INSERT INTO phta_data_source VALUES (?, ?)", [[k, now] for k in sorted(kinds)])
        con.execute("COMMIT")
    finally:
        con.close()
    return DataSources(frozenset(kinds), "declared")


def sources(store: Store) -> DataSources:
    with store.connect(read_only=True) as con:
        declared_table = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'phta_data_source'").fetchone()[0]
        if declared_table:
            declared = {r[0] for r in con.execute("SELECT source_kind FROM phta_data_source").fetchall()}
            if declared:
                return DataSources(frozenset(declared), "declared")
        reports = [r[0] for r in con.execute(
            "SELECT report FROM phta_load_history WHERE report IS NOT NULL").fetchall()]
    found = set()
    for report in reports:
        site_kind = (json.loads(report) if isinstance(report, str) else report or {}).get("site_kind")
        if site_kind in _SYNTH_SITE_KIND:
            found.add(_SYNTH_SITE_KIND[site_kind])
    if found:
        return DataSources(frozenset(found), "load history")
    return DataSources(frozenset(), "undeclared")
