"""The airlock's automatic checks, run where both governance and disclosure control are in reach.

``phta.governance`` owns the request workflow and ``phta.disclosure`` the rules; as siblings they
may not import each other, so this module (in ``execution``, the layer above both) joins them:
it stores each uploaded file content-addressed in the data directory, runs
``phta.disclosure.file_checks.check_file`` on it (scripts, hidden or embedded data, size) and,
for CSV/JSON tables, ``phta.disclosure.check`` under the deployment's policy (``airlock_policy``:
the file ``PHTA_DISCLOSURE_POLICY`` names, with the node's overrides, which may only be stricter;
the built-in ``project`` policy when none is set), then hands plain results to ``phta.governance.airlock``. A file that fails the file
checks refuses the whole submission (the researcher sees each finding and where it is); failing
cells in a table do not: they are what the output checkers must judge, highlighted for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phta.disclosure.check import check as check_result
from phta.disclosure.file_checks import DEFAULT_LIMITS, check_file
from phta.disclosure.policy import Policy, load_policy
from phta.disclosure.protected_files import protected_bytes, protected_name, unchanged
from phta.disclosure.results import FrequencyTable
from phta.disclosure.table_files import TableFileError, read_table_file
from phta.governance import airlock
from phta.governance.principal import Principal
from phta.store import Database
from phta.store.blobs import BlobStore

PROJECT_POLICY = "project"
TABLE_KINDS = ("csv", "json", "xlsx")
MAX_NAME = 200
# Anything larger than the largest per-type limit is refused before it is read into memory.
MAX_UPLOAD_BYTES = max(DEFAULT_LIMITS.values())
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9 ._-]*$")


@dataclass(frozen=True)
class Upload:
    file_name: str
    data: bytes
    what_it_shows: str


class FilesRefused(airlock.AirlockError):
    """One or more files failed the automatic file checks; ``findings`` says where and why."""

    def __init__(self, findings: list[dict]) -> None:
        self.findings = findings
        super().__init__("; ".join(f"{f['file']}: {f['rule']} at {f['where']}: {f['explanation']}" for f in findings))


def refuse_oversized(file_name: str, size: int | None) -> None:
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise FilesRefused([{"file": file_name[:60], "rule": "size", "where": file_name[:60],
                             "explanation": f"{size} bytes is over the {MAX_UPLOAD_BYTES}-byte limit for any file"}])


def _safe_name(name: str) -> str:
    # Only the last path component, so a name cannot point anywhere; the bytes are stored by hash.
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not SAFE_NAME.match(base) or len(base) > MAX_NAME:
        raise airlock.AirlockError(f"{name[:60]!r}: use a file name of letters, digits, '.', '-', '_' and spaces")
    return base


def _submitted_values(result) -> dict[str, int]:
    """Interior cells of a frequency table as submitted, so a checker sees the value that fails."""
    if not isinstance(result, FrequencyTable):
        return {}
    values = {}
    for index in result.indices():
        label = tuple(d.levels[i] for d, i in zip(result.dimensions, index, strict=True))
        values[" / ".join(label)] = result.count(index)
    return values


def airlock_policy(spec: str | None, node: str) -> Policy:
    """The policy the airlock applies to ``node``'s outputs: the deployment's policy file (or
    built-in) ``spec`` with that node's overrides, else the built-in ``project`` policy."""
    return load_policy(spec or PROJECT_POLICY, node=node)


@dataclass(frozen=True)
class TableChecks:
    """The rules' verdict on one table file, and the protected version they produce."""

    checks: dict
    status: str  # airlock.CHECK_STATUSES: pass | changed | suppressed | review | unreadable
    protected: tuple[str, bytes] | None = None  # (file name, bytes) unless the file passes as it is


def table_checks(file_name: str, data: bytes, node: str, policy: Policy | None = None) -> TableChecks:
    """Disclosure rules on a CSV/XLSX table or JSON result. A file that cannot be read as a table
    fails ("unreadable", with the reason): nobody can say its cells are safe."""
    policy = policy or airlock_policy(None, node)
    try:
        table = read_table_file(file_name, data)
        result = table.result
        output = check_result(result, policy)
    except (TableFileError, ValueError) as exc:
        return TableChecks({"table_error": str(exc), "policy": policy.name, "policy_sha256": policy.sha256},
                           "unreadable")
    submitted = _submitted_values(result)
    cells = []
    for cell in output.cells:
        label = " / ".join(cell.cell)
        reasons = [d.explanation for d in output.decisions_for(cell.cell)
                   if d.outcome != "publish" and d.rule != "lp_audit"]
        cells.append({"cell": label, "submitted": submitted.get(label), "published": cell.value,
                      "suppressed": cell.suppressed, "margin": cell.is_margin,
                      "fails": cell.suppressed or any(d.outcome == "review" for d in output.decisions_for(cell.cell)),
                      "reasons": reasons})
    checks = {"table": {"status": output.status, "cells": cells}, "policy": policy.name,
              "policy_sha256": output.policy_sha256}
    if unchanged(table, output):
        return TableChecks(checks, "pass")
    status = "changed" if output.status == "pass" else output.status
    return TableChecks(checks, status, (protected_name(file_name), protected_bytes(table, output)))


def check_uploads(database: Database, uploads: list[Upload], node: str,
                  policy_spec: str | None = None) -> list[airlock.FileRecord]:
    """Store and check every file; raise ``FilesRefused`` listing all file-check findings."""
    policy = airlock_policy(policy_spec, node)
    blobs = BlobStore(database.data_dir)
    records, refused = [], []
    for upload in uploads:
        name = _safe_name(upload.file_name)
        report = check_file(name, upload.data)
        findings = [{"file": name, "rule": f.rule, "where": f.where, "explanation": f.explanation}
                    for f in report.findings]
        if findings:
            refused.extend(findings)
            continue
        sha256 = blobs.put(upload.data)
        assert sha256 == report.sha256  # both hash the same bytes
        protected = None
        if report.kind in TABLE_KINDS:
            verdict = table_checks(name, upload.data, node, policy)
            checks, status = verdict.checks, verdict.status
            if verdict.protected is not None:
                p_name, p_bytes = verdict.protected
                protected = airlock.ProtectedVersion(p_name, blobs.put(p_bytes), len(p_bytes))
        else:
            checks, status = {"note": "a figure or report: no table to check; the checkers look at it"}, "figure"
        checks["file_checks"] = "passed"
        records.append(airlock.FileRecord(name, report.kind, report.size, sha256, upload.what_it_shows, checks, status,
                                          protected=protected))
    if refused:
        raise FilesRefused(refused)
    return records


def submit(database: Database, principal: Principal, project_id: int, node: str, context: dict,
           uploads: list[Upload], *, policy_spec: str | None = None) -> int:
    """Run the automatic checks, then create the request for the output checkers. ``policy_spec``
    is the deployment's disclosure policy (``Settings.disclosure_policy``)."""
    node = airlock.grant_node(database, principal, project_id, node)
    return airlock.create_request(database, principal, project_id, node, context,
                                  check_uploads(database, uploads, node, policy_spec))


def resubmit(database: Database, principal: Principal, request_id: int, context: dict,
             uploads: list[Upload], *, policy_spec: str | None = None) -> None:
    view = airlock.get(database, request_id)
    if view is None:
        raise LookupError(f"no output request {request_id}")
    airlock.resubmit(database, principal, request_id, context,
                     check_uploads(database, uploads, view.node, policy_spec))
