"""The public transparency register: approved projects and their public logs.

What is public: organisation, title, lay summary, public benefit, datasets, nodes, legal basis
(with its plain-English meaning), whether opt-outs applied, the commercial organisations involved
(co-applicants from companies, and any the request names) and the nature of their involvement,
the committee's conditions, dates, outputs released; and per project, the queries run and outputs
released (timestamps, hashes, file names). Never counts, results or anything about a person.
Dates are ISO (``YYYY-MM-DD``) here, in the JSON and in the CSV; the page shows them as people
read them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from phta.governance import optouts, projects, request_form
from phta.governance.roles import Role
from phta.store import Database
from phta.store.models import AuditEntry, ProjectCoapplicant, User, UserRole

PUBLIC_STATES = {"approved", "approved_with_conditions"}
# The disclosure airlock records a release as action "output.released", target "project:<id>",
# details {"file_name": ..., "sha256": ...}; the execution path records query runs through
# phta.audit.record_query_run with purpose "project:<id>".
RELEASE_ACTION = "output.released"

# The legal bases in plain English, for the register's readers (one sentence per code the
# request form offers; a test checks every code has one).
PLAIN_LEGAL_BASIS = {
    "6(1)(a)": "UK GDPR Article 6(1)(a): the people whose data is used have agreed to this use.",
    "6(1)(e)": "UK GDPR Article 6(1)(e): the work is a task in the public interest that the "
               "organisation is officially there to do (for example NHS research and planning).",
    "6(1)(f)": "UK GDPR Article 6(1)(f): the organisation has a legitimate interest that does not "
               "override people's own interests and rights.",
    "9(2)(a)": "UK GDPR Article 9(2)(a): people have given explicit consent to the use of their "
               "health data for this.",
    "9(2)(h)": "UK GDPR Article 9(2)(h): the use is needed to provide or manage health or social care.",
    "9(2)(i)": "UK GDPR Article 9(2)(i): the use is needed for public health, such as protecting "
               "against serious threats to health.",
    "9(2)(j)": "UK GDPR Article 9(2)(j): the use is for research or statistics, with safeguards "
               "(such as pseudonymised data and checked outputs).",
    "consent": "Common-law duty of confidentiality: people consented to their records being used.",
    "s251": "Common-law duty of confidentiality: the use is approved under section 251 of the NHS "
            "Act 2006 (by the Health Research Authority for research, on the advice of the "
            "Confidentiality Advisory Group), because asking everyone is not practical; the national "
            "data opt-out still applies.",
    "s251_exempt": "Common-law duty of confidentiality: section 251 approval, as above, and the approval "
                   "itself says the national data opt-out need not be applied.",
    "anonymised": "Common-law duty of confidentiality: only anonymised data is used, so no "
                  "confidential information is disclosed.",
}


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
    legal_basis_plain: list[str] = field(default_factory=list)  # PLAIN_LEGAL_BASIS sentences
    commercial_organisations: list[str] = field(default_factory=list)
    commercial_involvement: str = ""  # the nature, as the request states it ("" if none)
    conditions: str = ""  # the committee's conditions of approval ("" if none)

    def as_dict(self) -> dict:
        return asdict(self)


def legal_basis_plain(answers: dict) -> list[str]:
    basis = request_form.legal_basis(answers)
    return [PLAIN_LEGAL_BASIS[code] for code in (basis.article6, basis.article9, basis.common_law)
            if code in PLAIN_LEGAL_BASIS]


def commercial_organisations(database: Database, project: projects.ProjectView) -> list[str]:
    """Companies on the project: the organisations of its innovators (lead or co-applicant;
    innovators are the platform's company accounts) and any the request names."""
    with database.session() as session:
        member_ids = [project.applicant_user_id, *session.scalars(
            select(ProjectCoapplicant.user_id).where(ProjectCoapplicant.project_id == project.id))]
        users = session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                .where(User.id.in_(member_ids), UserRole.role == Role.INNOVATOR.value)).unique()
        names = [u.organisation.name for u in users if u.organisation is not None]
    if project.answers.get("commercial") == "yes":
        names += [n.strip() for n in str(project.answers.get("commercial_organisation") or "").split(";")]
    return sorted({n for n in names if n}, key=str.lower)


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
            legal_basis_plain(a), commercial_organisations(database, p),
            str(a.get("commercial_nature") or "") if a.get("commercial") == "yes" else "",
            p.conditions or "",
        ))
    return result


def public_entry(database: Database, project_id: int) -> RegisterEntry | None:
    return next((e for e in entries(database) if e.project_id == project_id), None)
