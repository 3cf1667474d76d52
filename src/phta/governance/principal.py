"""Who is asking: the signed-in user as the rest of the platform sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from phta.store.models import User


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    roles: frozenset[str]
    organisation: str | None = None
    lay_member: bool = False
    # None for a browser session (full powers of the roles); the token's scopes otherwise.
    scopes: frozenset[str] | None = None
    # When the credential in use stops working (an API token's expiry); None for a session.
    credential_expires_at: datetime | None = None

    @property
    def actor(self) -> str:
        """How this principal is named in the audit chain."""
        return f"user:{self.user_id}"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def principal_for(
    user: User, scopes: frozenset[str] | None = None, credential_expires_at: datetime | None = None
) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        roles=frozenset(r.role for r in user.roles),
        organisation=user.organisation.name if user.organisation else None,
        lay_member=user.lay_member,
        scopes=scopes,
        credential_expires_at=credential_expires_at,
    )
