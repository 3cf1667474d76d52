"""phta.execution — the single path to patient data (see DESIGN.md).

Public API: :func:`execute`, :class:`ExecutionRequest`, :class:`ExecutionContext`,
:class:`ExecutionPolicy`, purposes and result types.
"""

from phta.engines.errors import EngineError
from phta.execution.definitions import DefinitionError, compiled_sql, load_definition
from phta.execution.optouts import OptOutRegisterMissing, policy_for
from phta.execution.path import UnknownConcepts, execute
from phta.execution.policy import (
    AuditEvent,
    ExecutionPolicy,
    InMemoryAuditSink,
    NotAuthorised,
    ReleaseWithheld,
)
from phta.execution.request import (
    FEASIBILITY,
    LOCAL_CUSTODIAN_QUALITY,
    ExecutionContext,
    ExecutionRequest,
    Purpose,
    RequestError,
)
from phta.execution.results import AppliedOptOut, AttritionStep, CohortResult, Member, StratumCount

__all__ = [
    "FEASIBILITY", "LOCAL_CUSTODIAN_QUALITY", "AppliedOptOut", "AttritionStep", "AuditEvent", "CohortResult",
    "DefinitionError", "EngineError", "ExecutionContext", "ExecutionPolicy", "ExecutionRequest", "InMemoryAuditSink",
    "Member", "NotAuthorised", "OptOutRegisterMissing", "Purpose", "ReleaseWithheld", "RequestError", "StratumCount",
    "UnknownConcepts",
    "compiled_sql", "execute", "load_definition", "policy_for",
]
