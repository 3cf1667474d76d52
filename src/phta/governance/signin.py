"""Signing in: password, then (for roles that need it) a TOTP code; browser sessions; API tokens.

A browser session moves through stages: "enrol" (must set up TOTP), "totp" (must enter a code),
"full" (signed in). Only a "full" session is a principal. The cookie carries the random session
id signed with a key in the data directory; the database keeps only its sha256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from phta import audit
from phta.governance import throttle
from phta.governance.accounts import ACCEPTED, check_totp, user_by_email
from phta.governance.crypto import burn_time_like_a_check, check_password
from phta.governance.principal import Principal, principal_for
from phta.governance.roles import needs_totp
from phta.store import Database
from phta.store.models import ApiToken, User, WebSession

SESSION_LIFETIME = timedelta(hours=12)
HALF_SIGNED_IN_LIFETIME = timedelta(minutes=10)
TOKEN_PREFIX = "phta_"  # noqa: S105 - a label, not a secret
TOKEN_SCOPES = {
    "account:read": "see your account",
    "account:write": "manage your own API tokens",
    "projects": "draft, submit and follow your data access requests (committee members: review them)",
    "outputs": "ask for outputs to be released (researchers), check them (output checkers) or sign them off (custodians)",
    "library": "edit, import and profile your organisation's records in the regional library (custodians)",
    "query": "run queries for standing purposes and your approved projects",
    "frontdoor": "make and follow front-door enquiries (account managers: work the case queue)",
    "admin": "administer users and verify the audit chain (hub admins only)",
}
MAX_TOKEN_DAYS = 365


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ThrottledError(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = int(seconds) + 1
        super().__init__(f"too many failed sign-ins; try again in {self.seconds} seconds")


@dataclass(frozen=True)
class SignInStep:
    session_id: str  # raw id for the cookie; shown to nobody else
    stage: str  # "enrol" | "totp" | "full"


def _new_session(session, user_id: int, stage: str, now: datetime) -> str:
    raw = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if stage == "full" else HALF_SIGNED_IN_LIFETIME
    session.add(
        WebSession(
            id_hash=_sha256(raw),
            user_id=user_id,
            stage=stage,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return raw


def sign_in_with_password(
    database: Database, email: str, password: str, ip: str
) -> SignInStep | None:
    """First step. Returns None on bad credentials; raises ThrottledError when made to wait."""
    now = datetime.now(UTC)
    email_key = email.strip().lower()
    account = throttle.account_key(database.data_dir, email_key)
    with database.session() as session:
        wait = throttle.seconds_to_wait(session, account, ip, now)
        if wait > 0:
            raise ThrottledError(wait)
        user = user_by_email(session, email_key)
        if user is None:
            burn_time_like_a_check(password)
        ok = bool(user and user.active and check_password(user.password_hash, password))
        if not ok:
            throttle.note_attempt(session, account, ip, False, now)
            # Unknown e-mails are not written to the chain: a mistyped password could be in them.
            target = f"user:{user.id}" if user else "unknown-account"
            audit.record(
                session,
                actor="anonymous",
                action="auth.login_failed",
                target=target,
                details={"ip": ip, "step": "password"},
                data_dir=database.data_dir,
            )
            return None
        roles = {r.role for r in user.roles}
        if user.totp_enrolled:
            stage = "totp"
        elif needs_totp(roles):
            stage = "enrol"
        else:
            stage = "full"
        if stage == "full":
            # A correct password is a full sign-in only for accounts without a second factor;
            # otherwise the failure count stands until the code is right too.
            throttle.note_attempt(session, account, ip, True, now)
            audit.record(
                session,
                actor=f"user:{user.id}",
                action="auth.login",
                target=f"user:{user.id}",
                details={"ip": ip, "second_factor": False},
                data_dir=database.data_dir,
            )
        return SignInStep(_new_session(session, user.id, stage, now), stage)


def session_state(database: Database, session_id: str) -> tuple[User, str] | None:
    """The user and stage of a live session, or None (unknown or expired)."""
    now = datetime.now(UTC)
    with database.session() as session:
        row = session.get(WebSession, _sha256(session_id))
        if row is None or _aware(row.expires_at) <= now:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return user, row.stage


def complete_second_factor(database: Database, session_id: str, code: str, ip: str) -> str | None:
    """Second step (code entry or enrolment confirmation). Returns a new full-session id.

    The half-signed-in session is replaced rather than upgraded, so a session id seen before
    the second factor is worthless afterwards.
    """
    state = session_state(database, session_id)
    if state is None or state[1] not in ("totp", "enrol"):
        return None
    user, stage = state
    now = datetime.now(UTC)
    account = throttle.account_key(database.data_dir, user.email)
    with database.session() as session:
        wait = throttle.seconds_to_wait(session, account, ip, now)
        if wait > 0:
            raise ThrottledError(wait)
    outcome = check_totp(database, user.id, code, confirm_enrolment=stage == "enrol")
    ok = outcome == ACCEPTED
    with database.session() as session:
        # Second-factor failures count against the account like wrong passwords; only this,
        # the full sign-in, resets the count.
        throttle.note_attempt(session, account, ip, ok, now)
        if not ok:
            # A replayed code is worth telling apart in the chain: someone else may have seen it.
            audit.record(
                session,
                actor="anonymous",
                action="auth.login_failed",
                target=f"user:{user.id}",
                details={"ip": ip, "step": "totp", "reason": outcome},
                data_dir=database.data_dir,
            )
            return None
        session.execute(delete(WebSession).where(WebSession.id_hash == _sha256(session_id)))
        audit.record(
            session,
            actor=f"user:{user.id}",
            action="auth.login",
            target=f"user:{user.id}",
            details={"ip": ip, "second_factor": True},
            data_dir=database.data_dir,
        )
        return _new_session(session, user.id, "full", now)


def principal_from_session(database: Database, session_id: str) -> Principal | None:
    state = session_state(database, session_id)
    if state is None or state[1] != "full":
        return None
    return principal_for(state[0])


def sign_out(database: Database, session_id: str) -> None:
    with database.session() as session:
        row = session.get(WebSession, _sha256(session_id))
        if row is not None:
            audit.record(
                session,
                actor=f"user:{row.user_id}",
                action="auth.logout",
                target=f"user:{row.user_id}",
                data_dir=database.data_dir,
            )
            session.delete(row)


# --- API tokens -------------------------------------------------------------------------------


# An API token as its owner sees it (its prefix, never the whole token or its hash). Also the JSON
# schema of GET /api/v1/tokens: every field here is published there.
@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked: bool


class TokenError(ValueError):
    pass


def create_token(
    database: Database, principal: Principal, *, name: str, scopes: list[str], days: int = 30
) -> tuple[str, TokenInfo]:
    """Create a token; the raw value is returned once and never stored."""
    name = name.strip()[:100]
    if not name:
        raise TokenError("give the token a name so you can recognise it later")
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown or not scopes:
        raise TokenError(
            f"choose scopes from: {', '.join(TOKEN_SCOPES)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    if "admin" in scopes and not principal.has_role("hub_admin"):
        raise TokenError("only hub admins can create tokens with the admin scope")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise TokenError(f"expiry must be between 1 and {MAX_TOKEN_DAYS} days")
    now = datetime.now(UTC)
    expires_at = _no_more_than_the_caller_holds(principal, set(scopes), now, days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with database.session() as session:
        row = ApiToken(
            user_id=principal.user_id,
            name=name,
            token_hash=_sha256(raw),
            prefix=raw[:12],
            scopes=" ".join(sorted(set(scopes))),
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=principal.actor,
            action="token.created",
            target=f"token:{row.id}",
            details={"scopes": sorted(set(scopes)), "days": days},
            data_dir=database.data_dir,
        )
        return raw, _token_info(row)


def _no_more_than_the_caller_holds(
    principal: Principal, scopes: set[str], now: datetime, days: int
) -> datetime:
    """A credential can hand on only what it has: a token creating a token may give it a subset
    of its own scopes and a life that ends no later than its own (a session has its roles' full
    powers). Returns the new token's expiry: ``days`` from now, cut to the creating token's end
    when that falls within the last of those days."""
    if principal.scopes is not None and not scopes <= principal.scopes:
        raise TokenError(
            "a token can create tokens only with scopes it holds itself; this one lacks: "
            + ", ".join(sorted(scopes - principal.scopes))
        )
    expires_at = now + timedelta(days=days)
    held_until = principal.credential_expires_at
    if held_until is None:
        return expires_at
    held_until = _aware(held_until)
    if expires_at - timedelta(days=1) >= held_until:
        raise TokenError(
            "a token cannot create a token that outlives it; this one expires "
            f"{held_until.date().isoformat()}"
        )
    return min(expires_at, held_until)


def _token_info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.name,
        row.prefix,
        row.scopes.split(),
        _aware(row.created_at),
        _aware(row.expires_at),
        row.revoked_at is not None,
    )


def list_tokens(database: Database, principal: Principal) -> list[TokenInfo]:
    with database.session() as session:
        rows = session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == principal.user_id)
            .order_by(ApiToken.created_at.desc())
        )
        return [_token_info(r) for r in rows]


def revoke_token(database: Database, principal: Principal, token_id: int) -> bool:
    with database.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != principal.user_id:
            return False
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            audit.record(
                session,
                actor=principal.actor,
                action="token.revoked",
                target=f"token:{row.id}",
                data_dir=database.data_dir,
            )
        return True


def principal_from_token(database: Database, raw: str) -> Principal | None:
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = datetime.now(UTC)
    with database.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(raw)))
        if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return principal_for(
            user, scopes=frozenset(row.scopes.split()), credential_expires_at=_aware(row.expires_at)
        )
