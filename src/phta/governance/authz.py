"""Authorisation, decided in one place.

``ACTIONS`` says, for every action the platform offers, which roles may perform it and which
API-token scope a token must carry. ``authorise(principal, action, resource)`` is the only
function that answers "may they?"; the web layer calls it through one FastAPI dependency, and
the authorisation test walks every route of the app against an independent expectations table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phta.governance.principal import Principal
from phta.governance.roles import ALL_ROLES, Role

ANYONE = "anyone"  # including people who are not signed in
SIGNED_IN = frozenset(ALL_ROLES)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] | str  # a set of roles, or ANYONE
    scope: str | None = None  # the token scope needed when the caller uses an API token
    description: str = ""
    # When set, only these roles may act on anyone's resource; the other allowed roles only on
    # their own (``resource.applicant_user_id == principal.user_id``, or the principal is one of
    # ``resource.member_user_ids``: an approved project's co-applicants).
    any_resource_roles: frozenset[str] | None = None
    # When set, a resource that is not the caller's own is open to them (even to
    # ``any_resource_roles``) only while this attribute of it is true: an application not yet
    # submitted belongs to its applicants alone, not to the committee or the hub admin.
    others_only_when: str | None = None


ACTIONS: dict[str, Rule] = {
    "public.read": Rule(ANYONE, None, "public pages and public API"),
    "auth.sign_in": Rule(ANYONE, None, "sign in, enter or enrol a second factor, sign out"),
    "account.read": Rule(SIGNED_IN, "account:read", "see your own account"),
    "account.tokens": Rule(SIGNED_IN, "account:write", "create and revoke your own API tokens"),
    "projects.apply": Rule(frozenset({Role.RESEARCHER, Role.INNOVATOR}), "projects",
                            "draft, submit, withdraw own requests; name co-applicants"),
    "projects.view": Rule(
        frozenset({Role.RESEARCHER, Role.INNOVATOR, Role.COMMITTEE_MEMBER, Role.HUB_ADMIN}), "projects",
        "see a request (applicants: their own)",
        any_resource_roles=frozenset({Role.COMMITTEE_MEMBER, Role.HUB_ADMIN}),
        others_only_when="submitted",
    ),
    "feasibility.run": Rule(frozenset({Role.RESEARCHER, Role.INNOVATOR}), "query",
                            "count patients across the network (protected counts, audited)"),
    "projects.review": Rule(frozenset({Role.COMMITTEE_MEMBER}), "projects", "review requests and decide"),
    "outputs.request": Rule(
        frozenset({Role.RESEARCHER, Role.INNOVATOR}), "outputs",
        "ask for outputs of your approved projects to be released; see your own requests",
        any_resource_roles=frozenset(),
    ),
    "outputs.check": Rule(frozenset({Role.OUTPUT_CHECKER, Role.OUTPUT_CHECKING_LEAD}), "outputs",
                          "check output release requests and decide (the lead: those escalated to them)"),
    "outputs.signoff": Rule(frozenset({Role.DATA_CUSTODIAN}), "outputs", "sign off releases from your node"),
    "outputs.view": Rule(
        frozenset({Role.RESEARCHER, Role.INNOVATOR, Role.OUTPUT_CHECKER, Role.OUTPUT_CHECKING_LEAD,
                   Role.DATA_CUSTODIAN}), "outputs",
        "see an output request and download its files (researchers: their own; checkers and custodians: those they may check)",
        any_resource_roles=frozenset({Role.OUTPUT_CHECKER, Role.OUTPUT_CHECKING_LEAD, Role.DATA_CUSTODIAN}),
    ),
    # The front door (phta.frontdoor): enquirers see and message only their own cases; the hub's
    # account managers (and the hub admin) see and manage every case.
    "frontdoor.enquire": Rule(frozenset({Role.INNOVATOR, Role.RESEARCHER, Role.PUBLIC}), "frontdoor",
                              "make an enquiry at the front door; list your own enquiries"),
    "frontdoor.case": Rule(
        frozenset({Role.INNOVATOR, Role.RESEARCHER, Role.PUBLIC, Role.ACCOUNT_MANAGER, Role.HUB_ADMIN}),
        "frontdoor", "see a case, message on it, add and read its documents (enquirers: their own)",
        any_resource_roles=frozenset({Role.ACCOUNT_MANAGER, Role.HUB_ADMIN}),
    ),
    "frontdoor.manage": Rule(frozenset({Role.ACCOUNT_MANAGER, Role.HUB_ADMIN}), "frontdoor",
                             "work the case queue: pick up, assign, status, tasks, open governance steps"),
    "frontdoor.dashboard": Rule(frozenset({Role.ACCOUNT_MANAGER, Role.HUB_ADMIN}), "frontdoor",
                                "the operator dashboard and its CSV export"),
    "frontdoor.rules": Rule(frozenset({Role.HUB_ADMIN}), "admin",
                            "configure the front door: triage rules, which pathways each account manager takes"),
    "frontdoor.challenges": Rule(
        frozenset({Role.DATA_CUSTODIAN, Role.HUB_ADMIN}), "frontdoor",
        "post NHS teams' challenges on the board; see the responses (custodians: to their own challenges)",
        any_resource_roles=frozenset({Role.HUB_ADMIN}),
    ),
    "frontdoor.respond": Rule(SIGNED_IN, "frontdoor", "respond to a challenge on the challenges board"),
    "library.edit": Rule(frozenset({Role.DATA_CUSTODIAN, Role.HUB_ADMIN}), "library",
                         "edit, import and profile the library records of your organisation's datasets; see its node stores",
                         ),
    "library.collections": Rule(frozenset({Role.HUB_ADMIN}), "admin", "create and change the library's collections"),
    "users.list": Rule(frozenset({Role.HUB_ADMIN, Role.ACCOUNT_MANAGER}), "admin", "list users"),
    "audit.verify": Rule(frozenset({Role.HUB_ADMIN}), "admin", "verify the audit chain"),
}


class NotAuthenticated(Exception):
    """The action needs a signed-in user and there is none (HTTP 401)."""


class Forbidden(Exception):
    """The signed-in user may not do this (HTTP 403). The message names the action, never data."""


class UnknownAction(KeyError):
    pass


def rule_for(action: str) -> Rule:
    try:
        return ACTIONS[action]
    except KeyError:
        raise UnknownAction(f"no authorisation rule for action {action!r}") from None


def authorise(principal: Principal | None, action: str, resource: Any = None) -> None:
    """Return if allowed; raise NotAuthenticated or Forbidden otherwise.

    ``resource`` is for rules that depend on the thing acted on: a route first checks the role
    (no resource), then, once it has loaded the thing, checks again with it.
    """
    rule = rule_for(action)
    if rule.roles == ANYONE:
        return
    if principal is None:
        raise NotAuthenticated(action)
    if not principal.roles & rule.roles:
        raise Forbidden(f"your roles do not allow {action!r}")
    if principal.scopes is not None and (rule.scope is None or rule.scope not in principal.scopes):
        raise Forbidden(f"this API token lacks the {rule.scope!r} scope needed for {action!r}")
    if resource is None or _is_own(resource, principal.user_id):
        return
    staff = rule.any_resource_roles is None or bool(principal.roles & rule.any_resource_roles)
    if not staff:
        raise Forbidden(f"{action!r} is allowed only on your own requests")
    if rule.others_only_when and not getattr(resource, rule.others_only_when):
        raise Forbidden(f"{action!r} on someone else's request needs it to be {rule.others_only_when}")


def _is_own(resource: Any, user_id: int) -> bool:
    """A resource is one's own if one made it or, for a project, is one of its members (an
    approved project's co-applicants: ``ProjectView.member_user_ids``)."""
    return getattr(resource, "applicant_user_id", None) == user_id or user_id in getattr(
        resource, "member_user_ids", ()
    )


def allowed(principal: Principal | None, action: str, resource: Any = None) -> bool:
    try:
        authorise(principal, action, resource)
    except (NotAuthenticated, Forbidden):
        return False
    return True
