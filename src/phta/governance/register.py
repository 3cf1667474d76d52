"""The public transparency register: approved projects and their public logs.

What is public: organisation, title, lay summary, public benefit, datasets, nodes, legal basis,
whether opt-outs applied, dates, outputs released; and per project, the queries run and outputs
released (timestamps, hashes, file names). Never counts, results or anything about a person.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy import select

from phta.governance import optouts, projects, request_form
from phta.store import Database
from phta.store.models import AuditEntry

PUBLIC_STATES = {"approved", "approved_with_conditions"}
# The disclosure airlock records a release as action "output.released", target "project:<id>",
# details {"file_name": ..., "sha256": ...}; the execution path records query runs through
# phta.audit.record_query_run with purpose "project:<id>".
RELEASE_ACTION = "output.released"


@dataclass(frozen=True)
class RegisterEntry:
    project_id: int
    organisation: str
    title: str
    lay_summary: str
    public_benefit: str
    datasets: list[str]
    nodes: list[str]
    legal_basis: str
    opt_outs: str
    submitted: str
    approved: str
    status: str
    outputs_released: int

    def as_dict(self) -> dict:
        return asdict(self)


def legal_basis_text(answers: dict) -> str:
    basis = request_form.legal_basis(answers)
    parts = [
        request_form.ARTICLE_6.get(basis.article6, ""),
        request_form.ARTICLE_9.get(basis.article9, ""),
        request_form.COMMON_LAW.get(basis.common_law, ""),
    ]
    if basis.cag_reference:
        parts.append(f"CAG reference {basis.cag_reference}")
    return "; ".join(p for p in parts if p)


def opt_outs_text(answers: dict) -> str:
    """Which opt-outs the project's uses apply, from the same decision table the execution path uses."""
    return optouts.public_statement("project", request_form.legal_basis(answers).common_law or None)


def _events(database: Database, action: str) -> list[tuple[str, str, dict]]:
    with database.session() as session:
        rows = session.execute(select(AuditEntry.created_at, AuditEntry.target, AuditEntry.details)
                               .where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
    return [(at, target, json.loads(details)) for at, target, details in rows]


def public_log(database: Database, project_id: int) -> dict[str, list[dict]]:
    purpose = f"project:{project_id}"
    queries = [
        {"at": at, "query_hash": d.get("query_hash"), "node": d.get("node")}
        for at, _t, d in _events(database, "query.run") if d.get("purpose") == purpose
    ]
    releases = [
        {"at": at, "file_name": d.get("file_name"), "sha256": d.get("sha256")}
        for at, target, d in _events(database, RELEASE_ACTION) if target == purpose
    ]
    return {"queries": queries, "releases": releases}


def entries(database: Database) -> list[RegisterEntry]:
    released: dict[str, int] = {}
    for _at, target, _d in _events(database, RELEASE_ACTION):
        released[target] = released.get(target, 0) + 1
    result = []
    for p in projects.list_in_states(database, PUBLIC_STATES):
        a = p.answers
        approved_at = next((at for at, _f, to, _n in p.history if to in PUBLIC_STATES), p.decided_at)
        result.append(RegisterEntry(
            p.id, p.organisation or "—", p.title, a.get("lay_summary", ""), a.get("public_benefit", ""),
            a.get("datasets", []), a.get("nodes", []), legal_basis_text(a), opt_outs_text(a),
            p.submitted_at.date().isoformat() if p.submitted_at else "",
            approved_at.date().isoformat() if approved_at else "",
            "active" if p.grant_active else "conditions awaiting acknowledgement",
            released.get(f"project:{p.id}", 0),
        ))
    return result


def public_entry(database: Database, project_id: int) -> RegisterEntry | None:
    return next((e for e in entries(database) if e.project_id == project_id), None)
