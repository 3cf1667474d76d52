"""The operational store's tables (SQLAlchemy 2 declarative models).

Every table of the operational database is declared here so that Alembic migrations have one
metadata to compare against. Behaviour lives in the parts that own the data (``phta.audit``,
``phta.governance``); these classes are plain rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class AuditEntry(Base):
    """One link of the hash chain. ``seq`` is assigned by the writer (head + 1), not by the
    database, so a gap is visible; the unique constraints make a fork impossible to commit."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC text, hashed as stored
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    lay_member: Mapped[bool] = mapped_column(Boolean, default=False)
    # Fernet token of the base32 TOTP secret; NULL until enrolled.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The TOTP time-step (Unix time // 30) of the last code accepted; a code of this step or an
    # earlier one is refused, so a code seen over someone's shoulder cannot be used again.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    roles: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="user"
    )


class UserRole(Base):
    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))

    user: Mapped[User] = relationship(back_populates="roles")


class WebSession(Base):
    """A signed-in browser. The cookie carries the id (signed); only its sha256 is stored, so a
    copy of the database cannot be replayed as a cookie."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # "totp" (waiting for a code), "enrol" (must enrol TOTP first), "full" (signed in).
    stage: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(
        String(16)
    )  # shown in lists so a user can tell tokens apart
    scopes: Mapped[str] = mapped_column(String(500))  # space-separated
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """Recent sign-in attempts, for throttling per account and per address.

    The attempted identifier is kept only as a keyed hash (``phta.governance.throttle``): a
    password typed into the e-mail field must not be stored."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Project(Base):
    """A project and its data access request (the Five Safes form is ``form``, canonical JSON)."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(30), index=True)
    form: Mapped[str] = mapped_column(Text)
    round: Mapped[int] = mapped_column(Integer, default=1)  # review round; +1 on each resubmission
    conditions: Mapped[str | None] = mapped_column(Text)
    conditions_acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class ProjectEvent(Base):
    """Append-only history of a request's states (who moved it, when, from what to what)."""

    __tablename__ = "project_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")


class ProjectCoapplicant(Base):
    """A co-applicant named on a request. The committee sees them as part of "safe people"; once
    the request is approved they may see the project and use its grant like the lead applicant.
    Removing the row removes that access (the audit chain keeps who was added and removed)."""

    __tablename__ = "project_coapplicant"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        UniqueConstraint("project_id", "email", name="uq_project_coapplicant_email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    # The address the lead applicant typed; ``user_id`` is the researcher or innovator account it
    # belonged to when named, or None (named, but no access follows; the committee sees which).
    email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("project_id", "reviewer_user_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    reviewer_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    round: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(30))
    conditions: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    lay_member: Mapped[bool] = mapped_column(Boolean)  # as it was when the review was made
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Grant(Base):
    """What an approved project may do: datasets, nodes, task types, until when."""

    __tablename__ = "project_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    datasets: Mapped[str] = mapped_column(Text)  # JSON list
    nodes: Mapped[str] = mapped_column(Text)  # JSON list
    task_types: Mapped[str] = mapped_column(Text)  # JSON list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean)  # False until conditions are acknowledged


class OutputRequest(Base):
    """An output release request through the airlock (``phta.governance.airlock`` owns the rules)."""

    __tablename__ = "output_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    node: Mapped[str] = mapped_column(String(64))  # the node whose data the outputs describe
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    population: Mapped[str] = mapped_column(Text)
    controls: Mapped[str] = mapped_column(Text)  # the disclosure controls the researcher applied
    state: Mapped[str] = mapped_column(String(30), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # +1 on each resubmission
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # to the output-checking lead


class OutputFile(Base):
    """One file of one round of a request. The bytes live in the data directory, addressed by
    their SHA-256 (``phta.store.blobs``); the database keeps the hash and the check results."""

    __tablename__ = "output_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("output_request.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    what_it_shows: Mapped[str] = mapped_column(Text)
    checks: Mapped[str] = mapped_column(Text)  # canonical JSON of the automatic checks
    check_status: Mapped[str] = mapped_column(String(20))  # phta.governance.airlock.CHECK_STATUSES
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the protected version the disclosure rules produced (content-addressed like the file itself)
    protected_name: Mapped[str | None] = mapped_column(String(200))
    protected_sha256: Mapped[str | None] = mapped_column(String(64))
    protected_size: Mapped[int | None] = mapped_column(Integer)
    # exactly what was released: the file as submitted or its protected version
    released_name: Mapped[str | None] = mapped_column(String(200))
    released_sha256: Mapped[str | None] = mapped_column(String(64))


class OutputReview(Base):
    """One checker's (or custodian's) decision in one round. ``stage`` is ``first`` (the two
    blinded checkers), ``third`` (the tie-breaker) or ``custodian`` (the node's sign-off)."""

    __tablename__ = "output_review"
    __table_args__ = (UniqueConstraint("request_id", "reviewer_user_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("output_request.id"), index=True)
    reviewer_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    round: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutputRequestEvent(Base):
    """Append-only history of a request's states."""

    __tablename__ = "output_request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("output_request.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")


class AirlockNode(Base):
    """A node's airlock setting: whether its custodian must sign off releases, and which
    organisation's data custodians speak for the node."""

    __tablename__ = "airlock_node"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    custodian_signoff: Mapped[bool] = mapped_column(Boolean, default=False)
    custodian_organisation: Mapped[str | None] = mapped_column(String(200))


class QueryBudgetUse(Base):
    """Queries one actor ran for one purpose on one UTC day (the daily query budget's counter,
    phta.execution.budget). One row per actor, purpose and day, raised atomically."""

    __tablename__ = "query_budget_use"
    __table_args__ = (UniqueConstraint("actor", "purpose", "day", name="uq_query_budget_use"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))  # ISO date, UTC
    used: Mapped[int] = mapped_column(Integer, default=0)


# --- The front door and the regional portal (phta.frontdoor owns the rules) -------------------
# Lists (expertise, sectors, needs, ...) are stored as canonical JSON text, as elsewhere here.


class FrontdoorAsset(Base):
    """A facility or service of the region (the asset directory). ``sample_data`` marks rows
    that are illustrative rather than public fact."""

    __tablename__ = "fd_asset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(Text)
    expertise: Mapped[str] = mapped_column(Text, default="[]")
    capabilities: Mapped[str] = mapped_column(Text, default="[]")
    sectors: Mapped[str] = mapped_column(Text, default="[]")
    datasets: Mapped[str] = mapped_column(Text, default="[]")
    location: Mapped[str] = mapped_column(String(200), default="")
    availability: Mapped[str | None] = mapped_column(String(300))
    contact_route: Mapped[str] = mapped_column(String(300))
    sample_data: Mapped[bool] = mapped_column(Boolean, default=True)


class FrontdoorPartner(Base):
    """An organisation the front door refers innovators to (investment, export, IP, skills)."""

    __tablename__ = "fd_partner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    contact_route: Mapped[str] = mapped_column(String(300))
    sample_data: Mapped[bool] = mapped_column(Boolean, default=True)


class FrontdoorPathway(Base):
    """A route through the region's offer; each has its first-response SLA in working days."""

    __tablename__ = "fd_pathway"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    first_response_days: Mapped[int] = mapped_column(Integer, default=2)


class FrontdoorManagerPathway(Base):
    """Which account managers take which pathways (assignment is by pathway, then by load)."""

    __tablename__ = "fd_manager_pathway"
    __table_args__ = (UniqueConstraint("user_id", "pathway_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    pathway_slug: Mapped[str] = mapped_column(String(80), index=True)


class FrontdoorTriageRules(Base):
    """One version of the triage rules (YAML text the hub operator edits; never code). The
    newest row is in force; older rows are the history of who changed what."""

    __tablename__ = "fd_triage_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    saved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class FrontdoorOpportunity(Base):
    """A studentship, apprenticeship, internship, graduate role or training pathway."""

    __tablename__ = "fd_opportunity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(60), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    apply_route: Mapped[str] = mapped_column(String(300))
    sandbox_linked: Mapped[bool] = mapped_column(Boolean, default=False)
    closes_on: Mapped[str | None] = mapped_column(String(10))  # ISO date; NULL: open-ended
    sample_data: Mapped[bool] = mapped_column(Boolean, default=True)


class FrontdoorChallenge(Base):
    """A clinical or data challenge posted by an NHS team on the challenges board."""

    __tablename__ = "fd_challenge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # clinical | data
    summary: Mapped[str] = mapped_column(Text)
    posted_by: Mapped[str] = mapped_column(String(200))  # the team, as the board shows it
    # who posted it on the platform (NULL for the fixture's sample challenges); they see responses
    posted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closes_on: Mapped[str | None] = mapped_column(String(10))
    sample_data: Mapped[bool] = mapped_column(Boolean, default=True)


class FrontdoorChallengeResponse(Base):
    __tablename__ = "fd_challenge_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("fd_challenge.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    responder_kind: Mapped[str] = mapped_column(String(20))  # student | entrepreneur | company
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FrontdoorEvent(Base):
    __tablename__ = "fd_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))  # congress | inspiration | workshop | ...
    summary: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_on: Mapped[str | None] = mapped_column(String(10))  # registration closes
    sample_data: Mapped[bool] = mapped_column(Boolean, default=True)


class FrontdoorEnquiry(Base):
    """What the innovator asked, as they asked it (the case tracks what happens next)."""

    __tablename__ = "fd_enquiry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20))
    needs: Mapped[str] = mapped_column(Text)  # JSON list of need keys
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FrontdoorCase(Base):
    __tablename__ = "fd_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("fd_enquiry.id"), unique=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(30))
    pathway_slug: Mapped[str | None] = mapped_column(String(80))
    manager_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    suggestions: Mapped[str] = mapped_column(Text, default="{}")  # JSON, with the reasons
    first_response_days: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FrontdoorCaseTask(Base):
    __tablename__ = "fd_case_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fd_case.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[str | None] = mapped_column(String(10))
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FrontdoorCaseMessage(Base):
    __tablename__ = "fd_case_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fd_case.id"), index=True)
    author_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    from_hub: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FrontdoorCaseDocument(Base):
    """A document attached to a case; the bytes are in the content-addressed blob store."""

    __tablename__ = "fd_case_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fd_case.id"), index=True)
    uploaded_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FrontdoorCaseHistory(Base):
    """Append-only history of a case: status changes, assignment, links opened."""

    __tablename__ = "fd_case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fd_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")


class FrontdoorCaseLink(Base):
    """A governance step opened from a case (access request, feasibility query, evaluation),
    pre-filled for the innovator to complete."""

    __tablename__ = "fd_case_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fd_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DatasetRecord(Base):
    """A dataset of the regional library (``phta.catalogue``): its HDR UK metadata record (schema
    v4.0.0, canonical JSON) and the columns search needs. ``node`` is the node store that holds
    the data (profiling and the dataset page's feasibility link use it); ``organisation`` is the
    custodian organisation whose data custodians may edit the record."""

    __tablename__ = "dataset_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node: Mapped[str | None] = mapped_column(String(100), index=True)
    organisation: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(300))
    record: Mapped[str] = mapped_column(Text)  # HDR UK JSON, validated before every write
    search_text: Mapped[str] = mapped_column(Text)  # abstract, keywords, description, tables
    completeness: Mapped[int] = mapped_column(Integer)  # 0..100
    population_size: Mapped[int | None] = mapped_column(Integer)  # protected value, None if unknown
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DatasetFacet(Base):
    """One facet value of a dataset (custodian, data type, standard, coverage year, ...): search
    counts and filters on these rows."""

    __tablename__ = "dataset_facet"
    __table_args__ = (Index("ix_dataset_facet_facet_value", "facet", "value"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset_record.id", ondelete="CASCADE"), primary_key=True)
    facet: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class DatasetCollection(Base):
    __tablename__ = "dataset_collection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DatasetCollectionMember(Base):
    __tablename__ = "dataset_collection_member"

    collection_id: Mapped[int] = mapped_column(ForeignKey("dataset_collection.id", ondelete="CASCADE"),
                                               primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset_record.id", ondelete="CASCADE"), primary_key=True)


class FederationNode(Base):
    """A node agent known to the hub (phta.federation.hub): its Ed25519 public key, pending
    until a hub admin approves it; health as the node last reported it."""

    __tablename__ = "federation_node"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 key, base64
    fingerprint: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | revoked
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(320))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[str | None] = mapped_column(String(64))
    store_fingerprint: Mapped[str | None] = mapped_column(String(64))


class FederationTask(Base):
    """One signed task for one node, part of one network request. ``task_id`` is the idempotency
    key: dispatching the same request again finds the same rows instead of adding new ones."""

    __tablename__ = "federation_task"
    __table_args__ = (UniqueConstraint("request_id", "node_code", name="uq_federation_task_request_node"),)

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    node_code: Mapped[str] = mapped_column(String(64), index=True)
    requester: Mapped[str] = mapped_column(String(320))
    signed_task: Mapped[str] = mapped_column(Text)  # canonical JSON of the signed envelope
    state: Mapped[str] = mapped_column(String(16))  # queued | delivered | answered
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FederationResult(Base):
    """A node's signed answer to one task (verified before it is stored; one per task). ``late``:
    it arrived after the request's deadline and is not part of that request's release."""

    __tablename__ = "federation_result"

    task_id: Mapped[str] = mapped_column(ForeignKey("federation_task.task_id"), primary_key=True)
    node_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    signed_result: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
