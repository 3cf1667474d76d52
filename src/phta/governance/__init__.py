"""phta.governance — identities, roles, sessions, API tokens, authorisation and purposes.

For other parts:
- ``authorise(principal, action, resource=None)`` / ``allowed(...)`` — the one authorisation
  decision (``phta.governance.authz``).
- ``is_use_allowed(principal, purpose, node=None, task_type=None) -> UseDecision`` — whether a
  use of patient data is allowed (``phta.governance.purposes``); the execution path calls it.
"""

from phta.governance.authz import ACTIONS, Forbidden, NotAuthenticated, allowed, authorise
from phta.governance.principal import Principal
from phta.governance.purposes import STANDING_PURPOSES, UseDecision, is_use_allowed
from phta.governance.roles import ALL_ROLES, TOTP_REQUIRED, Role

__all__ = [
    "ACTIONS",
    "ALL_ROLES",
    "STANDING_PURPOSES",
    "TOTP_REQUIRED",
    "Forbidden",
    "NotAuthenticated",
    "Principal",
    "Role",
    "UseDecision",
    "allowed",
    "authorise",
    "is_use_allowed",
]
