"""The roles a person can hold on the platform, and which of them must use a second factor."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PUBLIC = "public"
    INNOVATOR = "innovator"
    RESEARCHER = "researcher"
    DATA_CUSTODIAN = "data_custodian"
    COMMITTEE_MEMBER = "committee_member"  # access committee; lay members carry a flag on the user
    OUTPUT_CHECKER = "output_checker"
    # decides airlock requests the checkers disagreed on that no third checker settled in time
    OUTPUT_CHECKING_LEAD = "output_checking_lead"
    ACCOUNT_MANAGER = "account_manager"
    HUB_ADMIN = "hub_admin"


ALL_ROLES: frozenset[str] = frozenset(r.value for r in Role)

# Roles that can release data, decide access or change the platform: a stolen password alone
# must not be enough for them.
TOTP_REQUIRED: frozenset[str] = frozenset(
    {
        Role.DATA_CUSTODIAN,
        Role.COMMITTEE_MEMBER,
        Role.OUTPUT_CHECKER,
        Role.OUTPUT_CHECKING_LEAD,
        Role.ACCOUNT_MANAGER,  # sees every user and their enquiries
        Role.HUB_ADMIN,
    }
)


class UnknownRoleError(ValueError):
    pass


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise UnknownRoleError(
            f"unknown role {value!r}; choose one of: {', '.join(sorted(ALL_ROLES))}"
        ) from None


def needs_totp(roles: frozenset[str] | set[str]) -> bool:
    return bool(set(roles) & TOTP_REQUIRED)
