"""The Parquet export's manifest tells a current export from a stale or half-written one."""

from __future__ import annotations

import json

from phta.cdm.parquet_export import (
    MANIFEST,
    export_parquet,
    manifest_fingerprint,
    store_fingerprint,
)
from phta.cdm.record_keys import index_record_keys
from phta.cdm.store import Store

PERSON = ("INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id, "
          "person_source_value) VALUES (?, 8507, 1970, 0, 0, ?)")


def _store(path) -> Store:
    store = Store.create(path, node_name="X")
    with store.connect() as con:
        for pid in (1, 2):
            con.execute(PERSON, [pid, f"pseudo-{pid}"])
        con.execute("INSERT INTO death (person_id, death_date) VALUES (1, DATE '2020-01-01')")
    return store


def test_manifest_records_the_fingerprint_which_a_change_to_the_store_moves(tmp_path):
    store = _store(tmp_path / "s")
    export_parquet(store)
    manifest = (store.parquet_dir / MANIFEST).read_text()
    assert json.loads(manifest)["tables"] == {"person": 2, "death": 1}
    assert manifest_fingerprint(manifest) == store_fingerprint(store)
    with store.connect() as con:
        con.execute(PERSON, [3, "pseudo-3"])
    assert manifest_fingerprint(manifest) != store_fingerprint(store)


def test_record_keys_travel_with_the_export_and_rebuilding_them_makes_it_stale(tmp_path):
    store = _store(tmp_path / "s")
    export_parquet(store)
    before = store_fingerprint(store)
    index_record_keys(store)
    assert store_fingerprint(store) != before
    written = {name: rows for name, rows, _ in export_parquet(store)}
    assert written["phta_record_key"] == 2 and not any(n.startswith("phta_") and n != "phta_record_key"
                                                       for n in written)


def test_a_table_emptied_since_the_last_export_leaves_no_file_behind(tmp_path):
    store = _store(tmp_path / "s")
    export_parquet(store)
    assert (store.parquet_dir / "death.parquet").is_file()
    with store.connect() as con:
        con.execute("DELETE FROM death")
    export_parquet(store)
    assert not (store.parquet_dir / "death.parquet").exists()


def test_no_or_foreign_manifest_has_no_fingerprint():
    assert manifest_fingerprint(None) is None
    assert manifest_fingerprint("not json") is None
    assert manifest_fingerprint(json.dumps({"format": 99, "store_fingerprint": "x"})) is None
    assert manifest_fingerprint(json.dumps([1])) is None
