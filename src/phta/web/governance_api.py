"""JSON API for accounts, tokens, users and the audit chain (``/api/v1/...``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from phta import audit
from phta.governance import accounts, signin
from phta.governance.principal import Principal
from phta.web.security import csrf_protected, require

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _db(request: Request):
    return request.app.state.database


class Me(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    organisation: str | None
    lay_member: bool
    via: str


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    days: int = Field(30, ge=1, le=signin.MAX_TOKEN_DAYS)


@dataclass(frozen=True)
class TokenCreated(signin.TokenInfo):
    token: Annotated[str, Field(description="The token itself. Shown once; store it now.")]


@router.get("/me", response_model=Me, summary="The signed-in user")
def me(request: Request, principal: Principal = Depends(require("account.read"))) -> Me:
    return Me(
        id=principal.user_id,
        email=principal.email,
        name=principal.name,
        roles=sorted(principal.roles),
        organisation=principal.organisation,
        lay_member=principal.lay_member,
        via=request.state.auth_via,
    )


@router.get("/tokens", response_model=list[signin.TokenInfo], summary="Your API tokens")
def list_tokens(request: Request, principal: Principal = Depends(require("account.read"))):
    return signin.list_tokens(_db(request), principal)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token",
    dependencies=[Depends(csrf_protected)],
)
def create_token(
    body: TokenCreate, request: Request, principal: Principal = Depends(require("account.tokens"))
):
    try:
        raw, info = signin.create_token(
            _db(request), principal, name=body.name, scopes=body.scopes, days=body.days
        )
    except signin.TokenError as exc:
        # FastAPI's own 422 shape (as the OpenAPI document says), naming the field at fault
        message = str(exc)
        field = "name" if "name" in message else "days" if "days" in message else "scopes"
        raise RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}]) from None
    return TokenCreated(token=raw, **vars(info))


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke one of your API tokens",
    dependencies=[Depends(csrf_protected)],
)
def revoke_token(
    token_id: int, request: Request, principal: Principal = Depends(require("account.tokens"))
):
    if not signin.revoke_token(_db(request), principal, token_id):
        raise HTTPException(404, "you have no token with that id")
    return Response(status_code=204)


@router.get(
    "/users",
    response_model=list[accounts.UserSummary],
    summary="All users (hub admins, account managers)",
    dependencies=[Depends(require("users.list"))],
)
def users(request: Request):
    return accounts.list_users(_db(request))


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    checkpoints: int
    first_broken_seq: int | None
    problems: list[str]


@router.get(
    "/audit/verify",
    response_model=VerifyOut,
    summary="Recompute and check the audit chain",
    dependencies=[Depends(require("audit.verify"))],
)
def audit_verify(request: Request) -> VerifyOut:
    lag = timedelta(seconds=request.app.state.settings.audit_checkpoint_max_lag)
    report = audit.verify_chain(_db(request), max_checkpoint_lag=lag)
    return VerifyOut(
        ok=report.ok,
        entries=report.entries,
        checkpoints=report.checkpoints,
        first_broken_seq=report.first_broken_seq,
        problems=report.problems,
    )


class CheckpointOut(BaseModel):
    seq: int | None
    hash: str | None
    signed_at: str | None


@router.get(
    "/audit/head",
    response_model=CheckpointOut,
    summary="The latest signed audit checkpoint (public)",
    dependencies=[Depends(require("public.read"))],
)
def audit_head(request: Request) -> CheckpointOut:
    cp = audit.latest_checkpoint(_db(request).data_dir)
    return CheckpointOut(
        seq=cp.seq if cp else None,
        hash=cp.hash if cp else None,
        signed_at=cp.signed_at if cp else None,
    )
