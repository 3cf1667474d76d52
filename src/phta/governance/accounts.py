"""Users and organisations: creating, listing, and the second factor (TOTP).

Every administrative change is recorded in the audit chain in the same transaction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from phta import audit
from phta.governance.crypto import decrypt_secret, encrypt_secret, hash_password
from phta.governance.roles import Role, needs_totp
from phta.store import Database
from phta.store.models import Organisation, User, UserRole

TOTP_ISSUER = "PHTA"


class AccountError(ValueError):
    pass


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        raise AccountError(f"{email!r} is not an e-mail address")
    return email


def get_or_create_organisation(
    session: Session, name: str, *, actor: str, data_dir
) -> Organisation:
    name = name.strip()
    if not name:
        raise AccountError("organisation name is empty")
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name, created_at=datetime.now(UTC))
        session.add(org)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="organisation.created",
            target=f"organisation:{org.id}",
            details={"name": name},
            data_dir=data_dir,
        )
    return org


def create_user(
    database: Database,
    *,
    email: str,
    password: str,
    roles: list[Role],
    name: str = "",
    organisation: str | None = None,
    lay_member: bool = False,
    actor: str = "cli",
    is_demo: bool = False,
) -> int:
    """Create a user; returns the new id. Raises AccountError if the e-mail is taken."""
    email = normalise_email(email)
    if not roles:
        raise AccountError("a user needs at least one role")
    if lay_member and Role.COMMITTEE_MEMBER not in roles:
        raise AccountError("--lay-member only applies to access committee members")
    password_hash = hash_password(password)
    with database.session() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise AccountError(f"a user with e-mail {email} already exists")
        org = (
            get_or_create_organisation(
                session, organisation, actor=actor, data_dir=database.data_dir
            )
            if organisation
            else None
        )
        user = User(
            email=email,
            name=name.strip() or email.split("@")[0],
            password_hash=password_hash,
            organisation=org,
            lay_member=lay_member,
            totp_enrolled=False,
            is_demo=is_demo,
            active=True,
            created_at=datetime.now(UTC),
            roles=[UserRole(role=str(r)) for r in dict.fromkeys(roles)],
        )
        session.add(user)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="user.created",
            target=f"user:{user.id}",
            details={
                "roles": sorted(str(r) for r in roles),
                "organisation": organisation,
                "lay_member": lay_member,
            },
            data_dir=database.data_dir,
        )
        return user.id


# One user as an administrator sees them. Also the JSON schema of GET /api/v1/users: every field
# here is published there, so never add a secret or a credential.
@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    name: str
    roles: list[str]
    organisation: str | None
    lay_member: bool
    totp_enrolled: bool
    totp_required: bool
    active: bool


def list_users(database: Database) -> list[UserSummary]:
    with database.session() as session:
        users = session.scalars(select(User).order_by(User.email)).unique().all()
        return [
            UserSummary(
                u.id,
                u.email,
                u.name,
                sorted(r.role for r in u.roles),
                u.organisation.name if u.organisation else None,
                u.lay_member,
                u.totp_enrolled,
                needs_totp({r.role for r in u.roles}),
                u.active,
            )
            for u in users
        ]


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# --- TOTP -------------------------------------------------------------------------------------


def start_totp_enrolment(database: Database, user_id: int) -> tuple[str, str]:
    """Give the user a fresh secret (stored encrypted, not yet active); returns (secret, URI)."""
    secret = pyotp.random_base32()
    with database.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AccountError("no such user")
        user.totp_secret_encrypted = encrypt_secret(database.data_dir, secret)
        user.totp_enrolled = False
        email = user.email
    return secret, pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def pending_totp_secret(database: Database, user_id: int) -> tuple[str, str] | None:
    """The secret of an enrolment in progress (so reloading the page shows the same one)."""
    with database.session() as session:
        user = session.get(User, user_id)
        if user is None or user.totp_enrolled or not user.totp_secret_encrypted:
            return None
        secret = decrypt_secret(database.data_dir, user.totp_secret_encrypted)
        return secret, pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def set_totp_secret(database: Database, user_id: int, secret: str, *, actor: str) -> None:
    """Enrol directly with a known secret (used only by the demo seeding)."""
    with database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.totp_secret_encrypted = encrypt_secret(database.data_dir, secret)
        user.totp_enrolled = True
        audit.record(
            session,
            actor=actor,
            action="user.totp_enrolled",
            target=f"user:{user_id}",
            data_dir=database.data_dir,
        )


TOTP_DRIFT_STEPS = 1  # codes of the step before and after the current one are accepted (clock drift)
ACCEPTED, WRONG_CODE, REPLAYED = "accepted", "wrong code", "replayed"


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time-step within the drift window whose code is ``code`` (compared in constant time)."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_totp(
    database: Database,
    user_id: int,
    code: str,
    *,
    confirm_enrolment: bool = False,
    now: datetime | None = None,
) -> str:
    """``ACCEPTED``, ``WRONG_CODE`` or ``REPLAYED``.

    A code is accepted once: its time-step must be later than the last step accepted for this
    user (``user_account.totp_last_step``), so a code cannot be used again within its 30-second
    window, nor an older code after a newer one. The check and the update are one conditional
    UPDATE, so two sign-ins racing with the same code cannot both win.
    """
    code = "".join(code.split())
    with database.session() as session:
        user = session.get(User, user_id)
        if user is None or not user.totp_secret_encrypted or not code.isdigit():
            return WRONG_CODE
        secret = decrypt_secret(database.data_dir, user.totp_secret_encrypted)
        step = _matching_step(secret, code, now or datetime.now(UTC))
        if step is None:
            return WRONG_CODE
        claimed = session.execute(
            update(User)
            .where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return REPLAYED
        if confirm_enrolment and not user.totp_enrolled:
            user.totp_enrolled = True
            audit.record(
                session,
                actor=f"user:{user_id}",
                action="user.totp_enrolled",
                target=f"user:{user_id}",
                data_dir=database.data_dir,
            )
        return ACCEPTED


def current_totp_code(database: Database, email: str) -> str:
    """The current code of a DEMO user (refused for real accounts)."""
    with database.session() as session:
        user = user_by_email(session, email)
        if user is None or not user.totp_secret_encrypted:
            raise AccountError(f"{email} has no second factor enrolled")
        if not user.is_demo:
            raise AccountError("codes are only shown for demo users; use your authenticator app")
        return pyotp.TOTP(decrypt_secret(database.data_dir, user.totp_secret_encrypted)).now()
