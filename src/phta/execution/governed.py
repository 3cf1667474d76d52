"""The execution policy of a real deployment: governance, disclosure control and the audit chain.

``governed_policy(settings, principal, purpose, node=..., database=...)`` fills the hooks of
:class:`ExecutionPolicy` from the platform's parts:

- **authorise**: ``phta.governance.is_use_allowed`` for this principal, purpose and node; a
  refusal raises :class:`NotAuthorised` with governance's reason (before anything is compiled);
- **vocabulary and budget** (also in authorise): the query must keep to the purpose's vocabulary
  (``phta.query.vocabulary_check``: refused at validation, naming the node, the purpose and the
  data node), then, when the entry point charges it, one unit of the user's daily query budget
  (``phta.execution.budget``);
- **governance rewrite** (opt-outs): ``phta.execution.optouts.policy_for`` wraps this policy,
  applying the registers governance says apply (and refusing if one was never loaded);
- **disclosure**: the decision's disclosure policy (``phta.disclosure.load_policy``) applied to the
  cohort's total and to each stratum as a one-way frequency table, with the cell keys the store
  computed (policies that perturb by cell key refuse a result without them). What comes back is
  a :class:`ProtectedCohortResult`: published values only, never the raw counts or cell keys;
- **release ledger**: ``phta.execution.ledger.ledger_check`` under the same disclosure policy for
  every purpose that releases (all but a custodian's own quality checks): a population within
  fewer than the threshold's worth of persons of one released earlier at the node is withheld;
- **audit**: ``phta.audit.record_query_run`` — the query's hash, purpose, node, actor and the
  outcome, never a result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from phta.cdm.store import Store
from phta.config import Settings
from phta.disclosure import Policy, ProtectedOutput, PublishedCell, check, load_policy
from phta.disclosure.policy import strictest
from phta.disclosure.results import Dimension, FrequencyTable
from phta.execution.audit_chain import chain_audit
from phta.execution.budget import charge_query
from phta.execution.circe import CirceRequest, execute_circe
from phta.execution.circe_disclosure import protect_circe
from phta.execution.circe_results import CirceResult, ProtectedCirceResult
from phta.execution.ledger import ledger_check
from phta.execution.optouts import policy_for
from phta.execution.path import execute
from phta.execution.policy import TOTAL_CELL, ExecutionPolicy, NotAuthorised, no_release_ledger
from phta.execution.release_values import reference_levels, reuse_cell, reuse_cells
from phta.execution.request import ExecutionContext, ExecutionRequest, Purpose
from phta.execution.results import CohortResult
from phta.governance import UseDecision, is_use_allowed
from phta.governance.principal import Principal
from phta.node_names import same_node
from phta.query import ir
from phta.query.vocabulary_check import check_vocabulary
from phta.store import Database

#: the controller's own staff checking their own node: nothing is released, so nothing is recorded
NOT_RELEASES = frozenset({"custodian_quality"})
TOTAL_DIMENSION = "cohort"
TOTAL_LEVEL = "all"


@dataclass(frozen=True)
class ProtectedCohortResult(CohortResult):
    """A cohort result after disclosure control: ``population_count`` is the published total (0
    when suppressed: read ``total.suppressed``); ``tables`` hold each stratum's published cells."""

    total: PublishedCell | None = None
    tables: tuple[tuple[str, ProtectedOutput], ...] = ()
    policy_name: str = ""
    policy_sha256: str = ""
    threshold: int = 0  # the policy's threshold, so a page can say "suppressed (<10)"
    legal_basis: str = ""
    #: zeros are reported like 1..threshold-1 (a standing purpose): a level this node does not
    #: list is shown as suppressed, never as 0
    zeros_hidden: bool = False

    def table(self, stratum: str) -> ProtectedOutput | None:
        return dict(self.tables).get(stratum)


def purpose_named(name: str) -> Purpose:
    """The execution path's Purpose for a governance purpose name. Only a custodian's quality
    checks of their own node may ever see record-level output."""
    return Purpose(name, f"governance purpose {name!r}", record_level_allowed=name == "custodian_quality")


def protect(result: CohortResult, policy: Policy, cohort: ir.Cohort | None = None) -> ProtectedCohortResult:
    """Apply ``policy`` to the cohort's total and each stratum; raw counts do not survive.

    Under a policy where small counts look alike (the researcher-facing standing purposes), a
    population under the threshold publishes its total as suppressed and no strata at all, and
    each stratum lists the same levels whoever is in it (``reference_levels``), an empty one
    suppressed like 1..threshold-1: neither the shape nor a label says "nobody". Cells the
    release ledger matched with an earlier population get that population's protected value
    (``phta.execution.release_values``)."""
    perturbs = policy.perturbation == "cell_key"
    reused = dict(result.reused)
    total_key = result.cell_key("*", "")
    total_table = FrequencyTable(
        dimensions=(Dimension(TOTAL_DIMENSION, (TOTAL_LEVEL,)),), counts=(result.population_count,),
        publish_margins=False, title="total",
        cell_keys=(total_key,) if perturbs and total_key is not None else None,
    )
    total = reuse_cell(check(total_table, policy).cells[0], reused.get(TOTAL_CELL), policy)
    tables = []
    hide_strata = policy.small_counts_alike and result.population_count < policy.threshold
    for stratum in () if hide_strata else dict.fromkeys(s.stratum for s in result.strata):
        counts = result.strata_of(stratum)
        if policy.small_counts_alike:
            counts = {**dict.fromkeys(reference_levels(stratum, cohort), 0), **counts}
        levels = tuple(counts)
        keys = tuple(result.cell_key(stratum, level) if level in result.strata_of(stratum) else 0.0
                     for level in levels)
        table = FrequencyTable(
            dimensions=(Dimension(stratum, levels),), counts=tuple(counts[v] for v in levels), title=stratum,
            cell_keys=keys if perturbs and all(k is not None for k in keys) else None,
        )
        mine = {(cell[1],): r for cell, r in reused.items() if len(cell) == 2 and cell[0] == stratum}
        tables.append((stratum, reuse_cells(check(table, policy), mine, policy, margin=total)))
    return ProtectedCohortResult(
        query_hash=result.query_hash, node=result.node, purpose=result.purpose, opt_outs=result.opt_outs,
        population_count=0 if total.suppressed else int(total.value or 0),
        attrition=(), strata=(), membership=None, cell_keys=None,
        disclosure=f"{policy.name} (sha256 {policy.sha256})",
        total=total, tables=tuple(tables), policy_name=policy.name, policy_sha256=policy.sha256,
        threshold=policy.threshold, zeros_hidden=policy.small_counts_alike,
    )


def purpose_policy(settings: Settings, name: str, node: str | None) -> Policy:
    """The policy governance names for the purpose, tightened (never loosened) by the deployment's
    policy file (``PHTA_DISCLOSURE_POLICY``) with ``node``'s overrides: the file sets floors every
    purpose's policy must meet at that node."""
    policy = load_policy(name)
    if settings.disclosure_policy:
        policy = strictest(policy, load_policy(settings.disclosure_policy, node=node))
    return policy


def governed_policy(settings: Settings, principal: Principal | None, purpose: str, *, node: str | None,
                    database: Database, task_type: str = "feasibility",
                    decision: UseDecision | None = None, charge_budget: bool = False) -> ExecutionPolicy:
    """The ExecutionPolicy for ``principal`` using data for ``purpose`` on ``node``; with
    ``charge_budget``, an authorised run takes one unit of the principal's daily query budget."""
    decision = decision or is_use_allowed(principal, purpose, node=node, task_type=task_type, database=database)
    disclosure_policy = purpose_policy(settings, decision.disclosure_policy, node) if decision.allowed else None

    def authorise(request: ExecutionRequest, context: ExecutionContext) -> None:
        if request.purpose.code != purpose or (node is not None and not same_node(request.node, node)):
            raise NotAuthorised("this policy was prepared for another purpose or node")
        if not decision.allowed:
            raise NotAuthorised(decision.reason)
        check_vocabulary(request.query, purpose, data_node=request.node)
        if charge_budget:
            charge_query(settings, database, principal, purpose)

    def disclosure(result: CohortResult, request: ExecutionRequest) -> CohortResult:
        assert disclosure_policy is not None  # authorise refused otherwise
        if isinstance(result, CirceResult):  # an ATLAS cohort (phta.execution.circe): same policy object
            return replace(protect_circe(result, disclosure_policy), legal_basis=decision.legal_basis or "")  # type: ignore[return-value]
        return replace(protect(result, disclosure_policy, request.query), legal_basis=decision.legal_basis or "")

    details = {"disclosure_policy": disclosure_policy.name, "policy_sha256": disclosure_policy.sha256} \
        if disclosure_policy is not None else {"reason": decision.reason}
    release_check = no_release_ledger
    if disclosure_policy is not None and purpose not in NOT_RELEASES:
        release_check = ledger_check(settings.data_dir, disclosure_policy, project=purpose)
    return ExecutionPolicy(authorise=authorise, disclosure=disclosure, audit=chain_audit(database, details),
                           release_check=release_check)


def context_for(principal: Principal | None) -> ExecutionContext:
    if principal is None:
        return ExecutionContext("anonymous", frozenset(), None)
    return ExecutionContext(principal.actor, frozenset(principal.roles), None)


def run_governed(settings: Settings, database: Database, principal: Principal | None, purpose: str,
                 query: ir.Cohort, store, outputs=("count", "strata"), *,
                 charge_budget: bool = True) -> ProtectedCohortResult:
    """Run one cohort query on one node store through the governed path, on the engine the
    settings give that node. ``charge_budget=False``: the caller charged the request already (a
    network request is charged once, not once per node)."""
    request = ExecutionRequest.build(query, purpose_named(purpose), store, outputs=outputs, settings=settings)
    decision = is_use_allowed(principal, purpose, node=request.node, task_type="feasibility", database=database)
    policy = governed_policy(settings, principal, purpose, node=request.node, database=database, decision=decision,
                             charge_budget=charge_budget)
    if decision.allowed:
        # Only an allowed use reaches the opt-out registers: a refused one touches no store table,
        # and its refusal carries governance's reason.
        policy = _with_opt_outs(policy, request, database)
    result = execute(request, context_for(principal), policy)
    assert isinstance(result, ProtectedCohortResult)
    return result


def run_governed_circe(settings: Settings, database: Database, principal: Principal | None, purpose: str,
                       query, store, task_type: str = "feasibility", *,
                       charge_budget: bool = True) -> ProtectedCirceResult:
    """Run one ATLAS / Circe cohort on one node store (on the engine the settings give that node)
    through the governed path: governance's
    authorisation, the opt-out registers that apply, its disclosure policy, the audit chain.

    ``task_type`` is what a project's grant must allow (phta.governance.request_form.TASK_TYPES):
    protected cohort and inclusion-rule counts are feasibility counts."""
    opened = store if isinstance(store, Store) else Store.open(store)
    request = CirceRequest.build(query, purpose_named(purpose), opened, settings=settings)  # on the node's engine
    decision = is_use_allowed(principal, purpose, node=request.node, task_type=task_type, database=database)
    policy = governed_policy(settings, principal, purpose, node=request.node, database=database, decision=decision,
                             charge_budget=charge_budget)
    if decision.allowed:  # as run_governed: a refused use reaches no register
        policy = policy_for(request.purpose, opened, database=database, base=policy)
    result = execute_circe(request, context_for(principal), policy)
    assert isinstance(result, ProtectedCirceResult)
    return result


def _with_opt_outs(policy: ExecutionPolicy, request: ExecutionRequest, database: Database) -> ExecutionPolicy:
    """Wrap with the opt-out rewrite (phta.execution.optouts decides which registers apply)."""
    return policy_for(request.purpose, request.store, database=database, base=policy)
