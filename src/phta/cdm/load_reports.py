"""Load reports saved with a store: one per load in ``phta_load_history.report`` (JSON).

``load_reports`` / ``load_report`` return them in one shape whatever loaded the data (OMOP CSV,
FHIR, VCF): counts in, loaded, quarantined and not loaded per resource (or file) and reason,
unmapped codes, findings and notes, plus the vocabulary version the load mapped codes with (``None`` when the
load did not record it) and the store's current one. Counts, names, codes and
reasons only -- never values from the rows. ``phta store report`` prints them; a store page can
show the same dicts.
"""

from __future__ import annotations

import datetime as dt

from phta.cdm.store import Store, StoreError
from phta.cdm.vocabulary.athena import vocabulary_version


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _resources(report: dict) -> dict[str, dict]:
    """Per resource type (FHIR/VCF loads) or per file (OMOP CSV loads)."""
    if "resources" in report:
        return report["resources"]
    out: dict[str, dict] = {}
    for f in report.get("files", []):
        out[f"{f['file']} ({f['table']})"] = {
            "read": f["rows_read"], "loaded": f["rows_loaded"], "quarantined": f["rows_quarantined"],
            "not_loaded": {}, "quarantine_reasons": {}, "rows_by_table": {f["table"]: f["rows_loaded"]},
            "reconciled": f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"],
        }
    return out


def load_reports(store: Store) -> list[dict]:
    """Every load of the store, oldest first, each as a report dict."""
    vocab = vocabulary_version(store)
    with store.connect(read_only=True) as con:
        reasons = con.execute(
            """SELECT load_id, file, reason, count(*) FROM phta_quarantine
            GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    by_load: dict[int, dict[str, dict[str, int]]] = {}
    for load_id, file, reason, n in reasons:
        by_load.setdefault(load_id, {}).setdefault(file, {})[reason] = n
    out = []
    for h in store.load_history():
        report = h.get("report") if isinstance(h.get("report"), dict) else {}
        out.append({
            "load_id": h["load_id"], "source": h["source"], "source_format": h["source_format"],
            "source_cdm_version": h.get("source_cdm_version"),
            "started_at": _iso(h["started_at"]), "finished_at": _iso(h["finished_at"]),
            "rows_read": h["rows_read"], "rows_loaded": h["rows_loaded"],
            "rows_quarantined": h["rows_quarantined"],
            "reconciled": report.get("reconciled"),
            "resources": _resources(report),
            "quarantine_by_file": by_load.get(h["load_id"], {}),
            "unmapped_codes": report.get("unmapped_codes", []),
            "findings": report.get("findings", {}),
            "notes": report.get("notes", []),
            "vocabulary_version": report.get("vocabulary_version"),
            "store_vocabulary_version": vocab or "PHTA embedded vocabulary",
        })
    return out


def load_report(store: Store, load_id: int | None = None) -> dict:
    """One load's report (the latest when ``load_id`` is None); StoreError naming the id if absent."""
    reports = load_reports(store)
    if not reports:
        raise StoreError(f"{store.path}: no loads yet")
    if load_id is None:
        return reports[-1]
    for report in reports:
        if report["load_id"] == load_id:
            return report
    raise StoreError(f"{store.path}: no load {load_id} (loads: {', '.join(str(r['load_id']) for r in reports)})")
