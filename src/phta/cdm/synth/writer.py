"""Writing a block's rows into a node store: store-wide ids, Arrow tables, ``INSERT ... SELECT``."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from phta.cdm import schema
from phta.cdm.extensions import VARIANT_COLUMNS, ensure_extension_tables
from phta.cdm.store import Store
from phta.cdm.synth.events import Rows


class StoreWriter:
    """One open store during a run: its connection and the next id of each table."""

    def __init__(self, store: Store, care_site_id: int = 1, memory_limit_mb: int = 512) -> None:
        self.store = store
        self.con = store.connect()
        # Each DuckDB instance would otherwise cache up to 80% of RAM; with K stores open at once
        # that is what bounds a large run's memory, so cap each (it evicts written pages to disk).
        self.con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        ensure_extension_tables(self.con)
        self.care_site_id = care_site_id
        self.next_id: dict[str, int] = defaultdict(lambda: 1)
        self.rows_written: dict[str, int] = defaultdict(int)

    def new_person_ids(self, count: int) -> np.ndarray:
        start = self.next_id["person"]
        self.next_id["person"] = start + count
        return np.arange(start, start + count, dtype=np.int64)

    def resolve(self, rows: Rows, person_id: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Block-local references -> store ids. ``person_id[i]`` is block person i's id here."""
        out: dict[str, dict[str, np.ndarray]] = {}
        visit_base = self.next_id["visit_occurrence"]
        for table in rows.tables():
            cols = rows.columns(table)
            if not cols:
                continue
            n = len(next(iter(cols.values())))
            cols["person_id"] = person_id[cols.pop("person")]
            if "visit" in cols:
                v = cols.pop("visit")
                cols["visit_occurrence_id"] = np.where(v >= 0, visit_base + v, -1)
            if table in ("visit_occurrence",):
                cols["care_site_id"] = np.full(n, self.care_site_id)
            if table not in ("death", "variant"):
                pk = schema.table(table).primary_key.name
                start = self.next_id[table]
                cols[pk] = np.arange(start, start + n, dtype=np.int64)
                self.next_id[table] = start + n
            out[table] = cols
        return out

    def write(self, table: str, cols: dict[str, np.ndarray]) -> None:
        arrays = {}
        for name, values in cols.items():
            arrays[name] = _arrow(name, values)
        tbl = pa.table(arrays)
        if table == "variant":
            tbl = tbl.select(list(VARIANT_COLUMNS))
        self.con.register("phta_block", tbl)
        try:
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM phta_block")
        finally:
            self.con.unregister("phta_block")
        self.rows_written[table] += tbl.num_rows

    def close(self) -> None:
        self.con.close()


def _arrow(name: str, values: np.ndarray) -> pa.Array:
    if name.endswith("_date"):
        return pa.array(values.astype(np.int32), type=pa.date32())
    if name == "visit_occurrence_id":
        return pa.array(values, mask=values < 0, type=pa.int64())
    if values.dtype.kind == "U":
        return pa.array(values.tolist(), type=pa.string())
    return pa.array(values)

