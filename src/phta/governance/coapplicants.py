"""Co-applicants of a data access request: colleagues who work on the project with the lead
applicant.

They are named while the request can still be edited, so the access committee reviews them as
part of "safe people"; adding someone after the decision would let them in unreviewed. Once the
request is approved they may see the project and use its grant exactly like the lead applicant
(``ProjectView.member_user_ids``, read by ``authz`` and ``purposes``), and not before. The lead
applicant may remove a co-applicant at any time, which ends their access at once. Both changes go
to the audit chain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from phta import audit
from phta.governance import accounts, projects
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store import Database
from phta.store.models import ProjectCoapplicant

# Only people who could apply themselves may be named: the same roles as ``projects.apply``.
ELIGIBLE_ROLES = frozenset({Role.RESEARCHER, Role.INNOVATOR})


class CoapplicantError(projects.ProjectError):
    """Raised with the field it concerns (``email`` or ``user_id``), for forms and the API."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def add(database: Database, principal: Principal, project_id: int, email: str) -> int:
    """Name the user with ``email`` as a co-applicant; returns their user id."""
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
        user = accounts.user_by_email(session, email)
        if user is None or not user.active or not {r.role for r in user.roles} & ELIGIBLE_ROLES:
            raise CoapplicantError(
                "email", f"{email} is not an active researcher or innovator account"
            )
        if user.id == project.applicant_user_id:
            raise CoapplicantError("email", "the lead applicant is not also a co-applicant")
        if user.id in projects.coapplicant_ids(session, project_id):
            raise CoapplicantError("email", f"{email} is already a co-applicant")
        session.add(
            ProjectCoapplicant(project_id=project_id, user_id=user.id, added_at=datetime.now(UTC))
        )
        audit.record(
            session,
            actor=principal.actor,
            action="project.coapplicant_added",
            target=f"project:{project_id}",
            details={"user_id": user.id},
            data_dir=database.data_dir,
        )
        return user.id


def remove(database: Database, principal: Principal, project_id: int, user_id: int) -> None:
    """Remove a co-applicant; their access to the project and its grant ends now."""
    with database.session() as session:
        project = projects.load(session, project_id)
        if project.applicant_user_id != principal.user_id:
            raise projects.NotApplicant("only the lead applicant can remove co-applicants")
        row = session.scalar(
            select(ProjectCoapplicant).where(
                ProjectCoapplicant.project_id == project_id, ProjectCoapplicant.user_id == user_id
            )
        )
        if row is None:
            raise CoapplicantError("user_id", f"user {user_id} is not a co-applicant of this project")
        session.delete(row)
        audit.record(
            session,
            actor=principal.actor,
            action="project.coapplicant_removed",
            target=f"project:{project_id}",
            details={"user_id": user_id},
            data_dir=database.data_dir,
        )
