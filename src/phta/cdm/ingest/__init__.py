"""Loading OMOP CDM CSV exports (v5.3 or v5.4) into a store: quarantine, findings, reconciliation.

See docs/cdm-store.md. Public API: ``load_omop_csv``, ``LoadReport``, ``LoadError``, ``MalformedFile``.
"""

from phta.cdm.ingest.csv_source import LoadError, MalformedFile
from phta.cdm.ingest.load import load_omop_csv
from phta.cdm.ingest.report import FileResult, LoadReport

__all__ = ["FileResult", "LoadError", "LoadReport", "MalformedFile", "load_omop_csv"]
