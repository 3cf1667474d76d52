"""The one path every research use of patient data takes: :func:`execute`.

authorise -> governance rewrites (opt-outs) -> compile -> check concepts -> run -> typed result
-> release ledger (differencing) -> disclosure -> record the release -> audit -> return. Each step
is a hook of the :class:`ExecutionPolicy` or a fixed step here; an exception in any step stops the
run and nothing is returned. The run step uses the node's engine (``request.engine``: DuckDB, or
Spark over the Parquet export); every other step is the same whichever engine runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlglot.expressions as exp

from phta.cdm.extensions import has_variant_table
from phta.cdm.record_keys import has_record_keys
from phta.execution.compiled_cache import compiled_cohort
from phta.execution.node_engine import run_statements
from phta.execution.physical import physical_design
from phta.execution.policy import (
    TOTAL_CELL,
    AuditEvent,
    ExecutionPolicy,
    ReleaseCandidate,
    check_release,
)
from phta.execution.request import ExecutionContext, ExecutionRequest
from phta.execution.results import AttritionStep, CohortResult, Member, StratumCount
from phta.execution.universe import excluded_by_rewrite, node_universe
from phta.query import ir, serial
from phta.query.cohort_compiler import CompiledCohort
from phta.query.compiler import Statement, compile_concept_check, python_value
from phta.query.reference import CohortRows
from phta.query.variants import missing_variant_table, reads_variants


class UnknownConcepts(ir.IRError):
    """The query names concepts the store's vocabulary does not hold."""


class RecordLevelPredicate(ir.IRError):
    """The query names individual persons; only the execution path's own rewrites may."""


def reject_record_level_predicates(query: ir.Cohort) -> None:
    """Refuse a requested query that selects persons by id (``PersonIn``).

    Naming people lets a caller test whether a given person is in a released population (watch the
    answer change or the release ledger refuse), so person-id predicates are reserved for the
    governance rewrites (opt-outs) applied after this check."""
    for node in query.walk():
        if isinstance(node, ir.PersonIn):
            raise RecordLevelPredicate(
                "PersonIn", "person_ids",
                "the query selects persons by id; research queries must use criteria, not person ids")


def execute(request: ExecutionRequest, context: ExecutionContext,
            policy: ExecutionPolicy | None = None) -> CohortResult:
    policy = policy or ExecutionPolicy()
    query_hash = serial.content_hash(request.query)

    def audit(outcome: str) -> None:
        policy.audit(AuditEvent(query_hash, request.purpose.code, request.node, context.user, outcome,
                                dt.datetime.now(dt.UTC), policy.opt_outs))

    try:
        reject_record_level_predicates(request.query)
        policy.authorise(request, context)
    except Exception:
        audit("refused")
        raise
    cohort = policy.governance_rewrite(request.query)
    if not isinstance(cohort, ir.Cohort):
        raise TypeError("the governance rewrite must return a Cohort")
    dialect = request.engine.dialect
    # Checked on the store, which a Spark node's export mirrors (the export would give an empty
    # view): a node without sequencing data says so instead of counting nobody.
    if reads_variants(cohort) and not has_variant_table(request.store):
        raise missing_variant_table()
    # Attrition only when asked for: without it the rules need not be applied one step at a time.
    compiled = compiled_cohort(
        cohort, dialect, physical_design(request.store, cohort, engine=request.engine.kind),
        cell_keys=has_record_keys(request.store), attrition="attrition" in request.outputs,
    )
    check = compile_concept_check(_concept_ids(cohort), dialect) if _concept_ids(cohort) else None
    results = _run(request, compiled, check)
    if check is not None:
        _reject_unknown_concepts(cohort, {r[0] for r in results["concept check"]})
    rows = CohortRows(
        membership=[(r[0], python_value("date", r[1]), python_value("date", r[2])) for r in results["membership"]],
        attrition=[int(v or 0) for v in results["attrition"][0]] if "attrition" in results else [],
        strata=[(r[0], r[1], int(r[2])) for r in results["strata"]],
    )
    result = build_result(rows, cohort, request, query_hash)
    if "cell keys" in results:
        result = replace(result, cell_keys=cell_keys_of(results["cell keys"], cohort))
    candidate = ReleaseCandidate(
        request, query_hash, frozenset(m[0] for m in rows.membership),
        cells=stratum_populations(results.get("stratum members", []), cohort),
        keys={(TOTAL_CELL if s == "*" else (s, v)): k for s, v, k in result.cell_keys or ()},
        universe=lambda: node_universe(request.store, excluded_by_rewrite(cohort)))
    record_release = check_release(policy, candidate, audit)
    result = replace(result, opt_outs=policy.opt_outs, reused=tuple(getattr(record_release, "reused", {}).items()))
    result = policy.disclosure(result, request)
    record_release()
    audit("completed")
    return result


def _run(request: ExecutionRequest, compiled: CompiledCohort, check: Statement | None) -> dict[str, list[tuple]]:
    """Rows of each result statement by name: membership, attrition (if compiled), strata,
    concept check (if any), cell keys (if compiled). DuckDB runs the staged form (the cohort
    computed once into temporary tables on the one connection); Spark runs each statement whole
    (its sessions are shared, so no temporary tables)."""
    staged = request.engine.kind == "duckdb"
    setup, results = compiled.staged() if staged else ((), compiled.results)
    named = dict(zip(compiled.result_names, results, strict=True))
    if compiled.ctes is not None and request.query.strata:
        named["stratum members"] = stratum_members(compiled, request.query.strata, staged=staged)
    if check is not None:
        named["concept check"] = check
    rows = run_statements(request.engine, request.store, [*setup, *named.values()])[len(setup):]
    return dict(zip(named, rows, strict=True))


def stratum_members(compiled: CompiledCohort, strata: tuple[str, ...], *, staged: bool) -> Statement:
    """Rows (person_id, stratum value...) of the members: which persons each stratum cell counts,
    so the release ledger compares cells, not only whole cohorts (the persons stay at the node)."""
    tree = exp.select(exp.column("person_id"), *(exp.column(f"s_{name}") for name in strata)).from_("members")
    if not staged:  # the staged form computed the CTEs into temporary tables already
        tree.set("with_", compiled.ctes)
    membership = compiled.membership
    return Statement(tree, {k: v for k, v in membership.params.items()
                            if k in {p.name for p in tree.find_all(exp.Placeholder)}}, membership.dialect)


def stratum_populations(rows: list[tuple], cohort: ir.Cohort) -> tuple[tuple[tuple[str, str], frozenset[int]], ...]:
    """(stratum, value) -> the persons of that cell, labelled as :func:`build_result` labels them."""
    cells: dict[tuple[str, str], set[int]] = {}
    for row in rows:
        for name, value in zip(cohort.strata, row[1:], strict=True):
            if name == "age_band":
                value = ir.age_band_label(None if value is None else int(value), cohort.age_bands)
            cells.setdefault((name, "unknown" if value is None else str(value)), set()).add(int(row[0]))
    return tuple((cell, frozenset(ids)) for cell, ids in sorted(cells.items()))


def _concept_ids(cohort: ir.Cohort) -> set[int]:
    return {i for cs in cohort.concept_sets() for i in cs.concept_ids()}


def _reject_unknown_concepts(cohort: ir.Cohort, known: set[int]) -> None:
    for cs in cohort.concept_sets():
        missing = sorted(cs.concept_ids() - known)
        if missing:
            raise UnknownConcepts("ConceptSet", "items", f"concepts not in this store's vocabulary: {missing}")


def cell_keys_of(rows: list[tuple], cohort: ir.Cohort) -> tuple[tuple[str, str, float], ...]:
    """Cell keys from (stratum, value, key_sum) rows, merged like the strata counts (ages into
    bands): a merged cell's key is the sum of its parts' keys, all modulo 1."""
    sums: dict[tuple[str, str], int] = {}
    for stratum, value, key_sum in rows:
        if stratum == "*":
            key = ("*", "")
        else:
            if stratum == "age_band":
                value = ir.age_band_label(None if value is None else int(value), cohort.age_bands)
            key = (stratum, "unknown" if value is None else value)
        sums[key] = sums.get(key, 0) + int(key_sum or 0)
    return tuple((s, v, (n % KEY_RESOLUTION) / KEY_RESOLUTION) for (s, v), n in sorted(sums.items()))


KEY_RESOLUTION = 2**32


def build_result(rows: CohortRows, cohort: ir.Cohort, request: ExecutionRequest, query_hash: str) -> CohortResult:
    """Typed result from engine rows (shared with the reference engine in tests)."""
    names = ("index date", *(r.name for r in cohort.rules))
    attrition = tuple(
        AttritionStep(name, n, (rows.attrition[k - 1] - n) if k else 0)
        for k, (name, n) in enumerate(zip(names, rows.attrition, strict=True))
    ) if rows.attrition else ()
    counts: dict[tuple[str, str], int] = {}
    for stratum, value, n in rows.strata:
        if stratum == "age_band":
            value = ir.age_band_label(None if value is None else int(value), cohort.age_bands)
        key = (stratum, "unknown" if value is None else value)
        counts[key] = counts.get(key, 0) + n
    strata = tuple(StratumCount(s, v, n) for (s, v), n in sorted(counts.items()))
    want = request.outputs
    membership = None
    if "membership" in want and request.purpose.record_level_allowed:
        membership = tuple(Member(*m) for m in rows.membership)
    return CohortResult(
        query_hash=query_hash,
        node=request.node,
        purpose=request.purpose.code,
        population_count=len(rows.membership),
        attrition=attrition if "attrition" in want else (),
        strata=strata if "strata" in want else (),
        membership=membership,
        disclosure="not yet applied",
    )
