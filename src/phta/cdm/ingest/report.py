"""The load report: per-file reconciliation, findings, and what was skipped or defaulted.

Stored as JSON in ``phta_load_history.report`` and printed by ``phta load omop``. It holds counts,
names and reasons only -- never values from the rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class FileResult:
    file: str
    table: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    defaulted_rows: dict[str, int] = field(default_factory=dict)  # field -> rows given a v5.3 default

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class LoadReport:
    load_id: int
    source: str
    source_cdm_version: str
    version_evidence: str
    files: list[FileResult] = field(default_factory=list)
    findings: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped_unknown_files: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def reconciled(self) -> bool:
        return all(f.reconciled for f in self.files)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["reconciled"] = self.reconciled
        data["totals"] = {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
        }
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)
