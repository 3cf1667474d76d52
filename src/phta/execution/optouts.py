"""The default policy factory: opt-outs applied as governance decides, recorded on every run.

``policy_for(purpose, store)`` asks ``phta.governance.optouts`` which registers apply to this
purpose on this store, reads them from the node (``phta.cdm.optout_register``), and returns an
:class:`ExecutionPolicy` whose governance rewrite restricts the cohort's universe so that the
opted-out persons (matched on ``person.person_source_value``, the regional pseudonym) are never
counted, not even as an attrition step. The result and the audit event name each register
applied, with the date of its list.

If a register that applies has never been loaded at the node, the policy refuses the run (and
the refusal is audited): counting people who opted out because a list is missing is the one
failure this module exists to prevent.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot.expressions as exp

from phta.cdm import data_source, optout_register
from phta.cdm.store import Store
from phta.engines import duckdb as duckdb_engine
from phta.execution.audit_chain import chain_audit
from phta.execution.policy import ExecutionPolicy, NotAuthorised, exclude_persons
from phta.execution.request import ExecutionContext, ExecutionRequest, Purpose
from phta.execution.results import AppliedOptOut
from phta.governance import optouts as decisions
from phta.query import ir
from phta.store import Database


class OptOutRegisterMissing(NotAuthorised):
    """An opt-out register that applies to this use has not been loaded at the node."""


def opted_out_person_ids(store: Store, kinds: tuple[str, ...]) -> tuple[int, ...]:
    """person_ids of the store's persons whose regional pseudonym is on any of these registers."""
    if not kinds:
        return ()
    params = {f"k{i}": kind for i, kind in enumerate(kinds, 1)}
    on_register = (exp.select("person_key").from_("phta_optout_register")
                   .where(exp.column("kind").isin(*(exp.Placeholder(this=name) for name in params))))
    tree = (exp.select("person_id").distinct().from_("person")
            .where(exp.column("person_source_value").isin(query=on_register)))
    (rows,) = duckdb_engine.run(store.db_path, [(tree.sql(dialect="duckdb"), params)])
    return tuple(sorted(int(r[0]) for r in rows.rows))


def policy_for(purpose: Purpose | str, store: Store, *, database: Database | None = None,
               base: ExecutionPolicy | None = None) -> ExecutionPolicy:
    """An ExecutionPolicy for ``purpose`` on ``store`` that applies the registers governance
    says apply. ``base`` supplies the other hooks (authorisation, disclosure, audit); with a
    ``database`` and no ``base``, audit events go to the audit chain."""
    code = purpose.code if isinstance(purpose, Purpose) else purpose
    base = base or (ExecutionPolicy(audit=chain_audit(database, record_empty_opt_outs=True)) if database is not None else ExecutionPolicy())
    route = decisions.project_route(database, code) if code.startswith("project:") and database else None
    decision = decisions.applicable(code, route=route, gp_sourced=data_source.sources(store).gp_sourced)
    in_force = {r.kind: r for r in optout_register.registers(store)}
    missing = [k for k in decision.kinds if k not in in_force]
    applied = tuple(AppliedOptOut(k, in_force[k].as_of) for k in decision.kinds if k in in_force)
    excluded = () if missing else opted_out_person_ids(store, decision.kinds)

    def authorise(request: ExecutionRequest, context: ExecutionContext) -> None:
        # The rewrite below was prepared for one store and purpose; never reuse it for another.
        if request.store.path != store.path or request.purpose.code != code:
            raise NotAuthorised("this policy was prepared for another store or purpose")
        if missing:
            raise OptOutRegisterMissing(
                f"the {' and '.join(missing)} opt-out register(s) apply to {code!r} on node {request.node!r} "
                "but have not been loaded there (phta optouts refresh)")
        base.authorise(request, context)

    def rewrite(cohort: ir.Cohort) -> ir.Cohort:
        cohort = base.governance_rewrite(cohort)
        return exclude_persons(cohort, excluded) if excluded else cohort

    return replace(base, authorise=authorise, governance_rewrite=rewrite, opt_outs=applied)
