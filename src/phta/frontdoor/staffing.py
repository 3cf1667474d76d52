"""Which pathways each account manager takes (assignment is by pathway, then by load).

The hub admin sets this; an account manager with no pathways takes none of them, unless no
one is registered for a pathway, in which case every account manager may be given its cases
(``phta.frontdoor.cases.managers_for``), so an enquiry is never left without a named contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from phta import audit
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.store import Database
from phta.store.models import FrontdoorManagerPathway, FrontdoorPathway, User, UserRole


class StaffingError(ValueError):
    pass


@dataclass(frozen=True)
class ManagerPathways:
    user_id: int
    name: str
    email: str
    pathways: frozenset[str]


def managers(database: Database) -> list[ManagerPathways]:
    with database.session() as session:
        users = session.scalars(select(User).join(UserRole).where(UserRole.role == Role.ACCOUNT_MANAGER,
                                                                  User.active.is_(True)).order_by(User.id)).unique()
        taken: dict[int, set[str]] = {}
        for user_id, slug in session.execute(select(FrontdoorManagerPathway.user_id,
                                                    FrontdoorManagerPathway.pathway_slug)).all():
            taken.setdefault(user_id, set()).add(slug)
        return [ManagerPathways(u.id, u.name, u.email, frozenset(taken.get(u.id, ()))) for u in users]


def set_pathways(database: Database, principal: Principal, user_id: int, pathways: list[str],
                 now: datetime) -> None:
    if not isinstance(pathways, list) or not all(isinstance(p, str) for p in pathways):
        raise StaffingError("pathways: expected a list of pathway short names")
    with database.session() as session:
        known = set(session.scalars(select(FrontdoorPathway.slug)))
        unknown = sorted(set(pathways) - known)
        if unknown:
            raise StaffingError(f"pathways: no such pathway {unknown}; known: {sorted(known)}")
        is_manager = session.scalar(select(UserRole.id).join(User).where(
            UserRole.user_id == user_id, UserRole.role == Role.ACCOUNT_MANAGER, User.active.is_(True)))
        if is_manager is None:
            raise StaffingError(f"user {user_id} is not an active account manager")
        session.execute(delete(FrontdoorManagerPathway).where(FrontdoorManagerPathway.user_id == user_id))
        session.add_all(FrontdoorManagerPathway(user_id=user_id, pathway_slug=p) for p in sorted(set(pathways)))
        audit.record(session, actor=principal.actor, action="frontdoor.manager_pathways", target=f"user:{user_id}",
                     details={"pathways": sorted(set(pathways)), "at": now.isoformat()},
                     data_dir=database.data_dir)
