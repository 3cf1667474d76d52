"""Co-applicants of a data access request: colleagues who work on the project with the lead
applicant.

They are named while the request can still be edited, so the access committee reviews them as
part of "safe people"; adding someone after the decision would let them in unreviewed. Once the
request is approved they may see the project and use its grant exactly like the lead applicant
(``ProjectView.member_user_ids``, read by ``authz`` and ``purposes``), and not before. The lead
applicant may remove a co-applicant at any time, which ends their access at once. Both changes go
to the audit chain.

Co-applicants are named by e-mail, and naming an address that is not a researcher's or
innovator's account succeeds exactly like naming one that is: otherwise the form would tell any
applicant which addresses have accounts. The address is resolved to its account (if any) when
named; the committee sees which addresses resolved, the applicants only once approved.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from phta import audit
from phta.governance import accounts, projects
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store import Database
from phta.store.models import ProjectCoapplicant, User, UserRole

# Only people who could apply themselves may be named: the same roles as ``projects.apply``.
ELIGIBLE_ROLES = frozenset({Role.RESEARCHER, Role.INNOVATOR})


class CoapplicantError(projects.ProjectError):
    """Raised with the field it concerns (``email`` or ``user_id``), for forms and the API."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def add(database: Database, principal: Principal, project_id: int, email: str) -> int:
    """Name ``email`` as a co-applicant; returns the co-applicant's id (``ProjectCoapplicant``).

    The answer is the same whether or not the address belongs to a researcher or innovator
    account, so naming co-applicants cannot be used to find out who has an account: the address
    is recorded either way, and resolved to the account (if any) by one query of the same shape.
    Only an account resolved here gets access once the request is approved; the committee sees
    which addresses resolved (``shown_to``).
    """
    try:
        email = accounts.normalise_email(email or "")
    except accounts.AccountError as exc:
        raise CoapplicantError("email", str(exc)) from None
    with database.session() as session:
        project = projects.load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise projects.NotApplicant("only the lead applicant can name co-applicants")
        if project.state not in projects.EDITABLE:
            raise projects.ProjectError(
                "co-applicants can be named only while the request can be edited, so the "
                "committee reviews them"
            )
        if email == principal.email.strip().lower():
            raise CoapplicantError("email", "the lead applicant is not also a co-applicant")
        named = select(ProjectCoapplicant.id).where(
            ProjectCoapplicant.project_id == project_id, ProjectCoapplicant.email == email
        )
        if session.scalar(named) is not None:
            raise CoapplicantError("email", f"{email} is already a co-applicant")
        user_id = session.scalar(
            select(User.id).where(
                func.lower(User.email) == email,
                User.active.is_(True),
                User.id != project.applicant_user_id,
                User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(ELIGIBLE_ROLES))),
            )
        )
        row = ProjectCoapplicant(
            project_id=project_id, email=email, user_id=user_id, added_at=datetime.now(UTC)
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=principal.actor,
            action="project.coapplicant_added",
            target=f"project:{project_id}",
            details={"coapplicant": row.id, "user_id": user_id},
            data_dir=database.data_dir,
        )
        return row.id


def remove(database: Database, principal: Principal, project_id: int, coapplicant_id: int) -> None:
    """Remove a co-applicant; their access to the project and its grant ends now."""
    with database.session() as session:
        project = projects.load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise projects.NotApplicant("only the lead applicant can remove co-applicants")
        row = session.get(ProjectCoapplicant, coapplicant_id)
        if row is None or row.project_id != project_id:
            raise CoapplicantError(
                "coapplicant_id", f"{coapplicant_id} is not a co-applicant of this project"
            )
        session.delete(row)
        audit.record(
            session,
            actor=principal.actor,
            action="project.coapplicant_removed",
            target=f"project:{project_id}",
            details={"coapplicant": coapplicant_id, "user_id": row.user_id},
            data_dir=database.data_dir,
        )


def shown_to(principal: Principal, project: projects.ProjectView) -> list[dict]:
    """The co-applicants as ``principal`` may see them. Whether an address is an account (and
    whose) is shown to the committee and hub admin, and to everyone once the request is
    approved; before that the applicants see the addresses they typed, nothing more."""
    reveal = project.state in projects.APPROVED or (
        principal.user_id != project.applicant_user_id
        and principal.has_role(Role.COMMITTEE_MEMBER, Role.HUB_ADMIN)
    )
    return [
        {
            "id": c.id,
            "email": c.email,
            "name": c.name if reveal else None,
            "account": (c.user_id is not None) if reveal else None,
        }
        for c in project.coapplicants
    ]
