"""May this principal use patient data for this purpose? The execution path asks here.

Standing purposes need no project; each has its legal basis and the roles it serves (and
``custodian_quality`` only on nodes held by the custodian's own organisation). Project
purposes (``project:<id>``) need an approved, active, unexpired grant covering the node and
task type, and the principal must be the project's lead applicant or one of its co-applicants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from phta.governance.nodes import custodian_organisation, node_key
from phta.governance.principal import Principal
from phta.governance.roles import ALL_ROLES, Role
from phta.store import Database


@dataclass(frozen=True)
class StandingPurpose:
    name: str
    roles: frozenset[str] | None  # None: anyone, signed in or not
    legal_basis: str
    disclosure_policy: str
    description: str


STANDING_PURPOSES: dict[str, StandingPurpose] = {
    p.name: p
    for p in [
        StandingPurpose(
            "network_feasibility",
            frozenset(ALL_ROLES - {Role.PUBLIC}),
            "UK GDPR 6(1)(e) and 9(2)(j); anonymised aggregate counts (no common-law duty route needed)",
            "feasibility",
            "how many patients like this exist, across the network (registered users)",
        ),
        StandingPurpose(
            "custodian_quality",
            frozenset({Role.DATA_CUSTODIAN}),
            "UK GDPR 6(1)(e) and 9(2)(h); the controller's own data-quality assurance",
            "custodian",
            "a hospital's data team checking the quality of its own node",
        ),
        StandingPurpose(
            "public_statistics",
            None,
            "anonymised aggregate statistics (UK GDPR does not apply to anonymous information)",
            "public",
            "the showcase's public aggregate statistics",
        ),
        StandingPurpose(
            "public_beacon",
            None,
            "anonymised presence/absence of variants (GA4GH Beacon, boolean/count granularity)",
            "beacon",
            "the public Beacon",
        ),
    ]
}


@dataclass(frozen=True)
class UseDecision:
    allowed: bool
    purpose: str
    reason: str
    legal_basis: str | None = None
    disclosure_policy: str | None = None


def is_use_allowed(
    principal: Principal | None,
    purpose: str,
    *,
    node: str | None = None,
    task_type: str | None = None,
    database: Database | None = None,
) -> UseDecision:
    """Decide whether ``principal`` may use patient data for ``purpose`` (on ``node``, for
    ``task_type``). Never raises for an unknown purpose: it is refused with a reason.
    ``database`` is needed for project purposes (to read the grant) and for
    ``custodian_quality`` (to see which organisation holds the node)."""
    standing = STANDING_PURPOSES.get(purpose)
    if standing is not None:
        if standing.roles is None:
            return UseDecision(
                True,
                purpose,
                "standing purpose open to everyone",
                standing.legal_basis,
                standing.disclosure_policy,
            )
        if principal is None:
            return UseDecision(False, purpose, "sign in to use this purpose")
        if not principal.roles & standing.roles:
            return UseDecision(
                False, purpose, f"your roles do not cover the standing purpose {purpose!r}"
            )
        if principal.scopes is not None and "query" not in principal.scopes:
            return UseDecision(False, purpose, "this API token lacks the 'query' scope")
        if purpose == "custodian_quality":
            refusal = _not_their_node(principal, node, database)
            if refusal:
                return UseDecision(False, purpose, refusal)
        return UseDecision(
            True, purpose, "standing purpose", standing.legal_basis, standing.disclosure_policy
        )
    if purpose.startswith("project:"):
        return _project_use(principal, purpose, node, task_type, database)
    return UseDecision(False, purpose, f"unknown purpose {purpose!r}")


def _not_their_node(principal: Principal, node: str | None, database: Database | None) -> str | None:
    """Why this custodian may not check ``node`` (None if they may): a custodian checks only the
    nodes of their own organisation (``phta.governance.nodes``)."""
    if node is None:
        return "custodian quality checks are of one node: name it"
    if database is None:
        return "custodian quality checks need the operational database to see who holds the node"
    holder = custodian_organisation(database, node)
    if holder is None:
        return (f"node {node!r} has no custodian organisation on record "
                f"(a hub admin sets it: phta outputs node NODE --custodian-organisation ORG)")
    if principal.organisation != holder:
        return (f"node {node!r} is held by {holder}; only its data custodians may check its data "
                f"(yours: {principal.organisation or 'no organisation'})")
    return None


def _project_use(principal, purpose, node, task_type, database) -> UseDecision:
    # Deferred: review imports numpy, which most callers of this module never need.
    from phta.governance.review import grant_for

    if principal is None:
        return UseDecision(False, purpose, "sign in to use a project's grant")
    if database is None:
        return UseDecision(False, purpose, "project purposes need the operational database to check the grant")
    if principal.scopes is not None and "query" not in principal.scopes:
        return UseDecision(False, purpose, "this API token lacks the 'query' scope")
    try:
        project_id = int(purpose.split(":", 1)[1])
    except ValueError:
        return UseDecision(False, purpose, f"{purpose!r} is not a project purpose (project:<id>)")
    grant = grant_for(database, project_id)
    if grant is None:
        return UseDecision(False, purpose, "no approved grant for this project")
    if principal.user_id not in grant.member_user_ids:
        return UseDecision(False, purpose, "you are not a member of this project")
    if not grant.active:
        return UseDecision(False, purpose, "the grant waits for the applicant to acknowledge its conditions")
    if grant.expires_at <= datetime.now(UTC):
        return UseDecision(False, purpose, "the grant has expired")
    if node is not None and node_key(node) not in {node_key(n) for n in grant.nodes}:  # as phta.governance.nodes
        return UseDecision(False, purpose, f"the grant does not cover node {node!r}")
    if task_type is not None and task_type not in grant.task_types:
        return UseDecision(False, purpose, f"the grant does not allow {task_type!r} tasks")
    return UseDecision(True, purpose, "approved project grant", "as approved for the project", "project")
