"""Compile a :class:`~phta.query.ir_circe.CirceCohort` to SQLGlot trees with bound values.

The statement follows Circe's pipeline as a chain of CTEs: ``codesets`` -> ``primary_events``
(entry events inside an observation period with the prior/post window, First/Last/All) ->
``qualified_events`` (additional criteria, qualified limit) -> ``inclusion_events`` (which rule
each qualified event meets) -> ``included_events`` (all rules met, expression limit) ->
``cohort_ends`` (end strategy, observation period end, censoring events) -> ``cohort_rows`` (the
first end on or after the start) -> ``final_cohort`` (eras collapsed with the pad) -> the censor
window. Four statements share the chain: the cohort rows, the inclusion-rule match masks counted
by event and by person (Circe's modes 0 and 1), and the persons before the censor window.

The trees are built node by node on the shared :class:`~phta.query.dialects.Dialect` (no SQL
text is parsed), so one compiler serves every engine: ``compile_circe(cohort, "spark")`` runs on
a Spark node as ``"duckdb"`` runs on a DuckDB one.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot.expressions as exp

from phta.query import ir_circe as c
from phta.query.circe import trees as t
from phta.query.circe.criteria_sql import CriteriaCompiler, Params, cte, era_sql
from phta.query.compiler import Statement
from phta.query.dialects import cast, get_dialect


@dataclass(frozen=True)
class CompiledCirce:
    cohort: Statement  # person_id, start_date, end_date (one row per era)
    masks_by_event: Statement  # inclusion_rule_mask, n  (qualified events)
    masks_by_person: Statement  # inclusion_rule_mask, n  (each person's best event)
    eras_before_window: Statement  # distinct persons before the censor window (for censor stats)
    rule_names: tuple[str, ...]


def _concepts(items, p: Params, *, mapped: bool = True) -> exp.Expression:
    """The concepts of items (with descendants where asked and, if ``mapped``, the concepts that
    map to them where asked), as one query of ``concept_id``."""
    if not items:
        return t.select([t.col("concept_id")], t.table("concept"), where=t.eq(t.num(1), t.num(0)))
    parts = [t.select([t.col("concept_id")], t.table("concept"),
                      where=t.in_list(t.col("concept_id"), p.ids(sorted({i.concept_id for i in items}))))]
    desc = sorted({i.concept_id for i in items if i.descendants})
    if desc:
        parts.append(t.select(
            [t.col("concept_id", "c")], t.table("concept", "c"),
            joins=[t.join(t.table("concept_ancestor", "ca"),
                          t.eq(t.col("concept_id", "c"), t.col("descendant_concept_id", "ca")))],
            where=exp.And(this=t.is_null(t.col("invalid_reason", "c")),
                          expression=t.in_list(t.col("ancestor_concept_id", "ca"), p.ids(desc)))))
    chosen = [i for i in items if i.mapped] if mapped else []
    if chosen:
        parts.append(t.select(
            [t.alias(t.col("concept_id_1", "cr"), "concept_id")], t.sub(_concepts(chosen, p, mapped=False), "M"),
            joins=[t.join(t.table("concept_relationship", "cr"), t.and_([
                t.eq(t.col("concept_id", "M"), t.col("concept_id_2", "cr")),
                t.eq(t.col("relationship_id", "cr"), exp.Literal.string("Maps to")),
                t.is_null(t.col("invalid_reason", "cr"))]))],
            distinct=True))
    return t.union(parts)


def _concept_set(cs: c.CirceConceptSet, p: Params) -> exp.Select:
    included = [i for i in cs.items if not i.excluded]
    excluded = [i for i in cs.items if i.excluded]
    joins, where = [], None
    if excluded:
        joins = [t.join(t.sub(_concepts(excluded, p), "X"), t.eq(t.col("concept_id", "I"), t.col("concept_id", "X")),
                        "LEFT")]
        where = t.is_null(t.col("concept_id", "X"))
    members = t.select([t.col("concept_id", "I")], t.sub(_concepts(included, p), "I"), joins=joins, where=where,
                       distinct=True)
    return t.select([t.alias(p(cs.id, "INTEGER"), "codeset_id"), t.col("concept_id", "S")], t.sub(members, "S"))


def _nothing(p: Params, **columns: str) -> exp.Select:
    """No rows, with these columns (name -> type)."""
    return t.select([t.alias(p.cast(exp.Null(), kind), name) for name, kind in columns.items()],
                    where=t.eq(t.num(1), t.num(0)))


def _desc(limit: str) -> bool:
    return limit == "Last"


def _columns(alias: str | None, *names: str) -> list[exp.Expression]:
    return [t.col(n, alias) for n in names]


EVENT = ("event_id", "person_id", "start_date", "end_date", "op_start_date", "op_end_date")


def _mask() -> exp.Expression:
    """The bit mask of the inclusion rules an event meets (``I``: its inclusion_events rows)."""
    bit = exp.Coalesce(this=cast(exp.Pow(this=t.num(2), expression=t.col("inclusion_rule_id", "I")), "BIGINT"),
                       expressions=[t.num(0)])
    return cast(exp.Sum(this=bit), "BIGINT")


def compile_circe(cohort: c.CirceCohort, dialect: str = "duckdb") -> CompiledCirce:
    p = Params(get_dialect(dialect))
    cc = CriteriaCompiler(p)
    ctes: list[tuple[str, exp.Expression]] = []
    if cohort.concept_sets:
        ctes.append(("codesets", t.union_all([_concept_set(cs, p) for cs in cohort.concept_sets])))
    else:
        ctes.append(("codesets", _nothing(p, codeset_id="INTEGER", concept_id="BIGINT")))

    criteria = t.union_all([cc.criterion(x) for x in cohort.primary])
    ranked = t.select(
        [*_columns("E", "person_id", "start_date", "end_date"),
         # The ordinal is the event id every later CTE joins on, and Spark (which inlines CTEs)
         # computes this one once per reference: the order must be total, or two computations may
         # number a person's events differently. Entry criteria reading one row tie on sort date
         # and row id (eleven UserDefinedPeriods of one observation period, phenotype library
         # cohort 1071, where duckcdm's own numbering varies from run to run).
         t.alias(t.row_number([t.col("person_id", "E")], [
             t.ordered(t.col("sort_date", "E"), _desc(cohort.primary_limit)),
             *(t.ordered(t.col(n, "E")) for n in ("event_id", "start_date", "end_date", "visit_occurrence_id"))]),
             "ordinal"),
         t.alias(t.col("observation_period_start_date", "OP"), "op_start_date"),
         t.alias(t.col("observation_period_end_date", "OP"), "op_end_date"), t.col("visit_occurrence_id", "E")],
        t.sub(criteria, "E"),
        joins=[t.join(t.table("observation_period", "OP"), t.and_([
            t.eq(t.col("person_id", "E"), t.col("person_id", "OP")),
            t.cmp(">=", t.col("start_date", "E"), t.col("observation_period_start_date", "OP")),
            t.cmp("<=", t.col("start_date", "E"), t.col("observation_period_end_date", "OP"))]))],
        where=exp.And(
            this=t.cmp("<=", p.add_days(t.col("observation_period_start_date", "OP"), p.days(cohort.prior_days)),
                       t.col("start_date", "E")),
            expression=t.cmp("<=", p.add_days(t.col("start_date", "E"), p.days(cohort.post_days)),
                             t.col("observation_period_end_date", "OP"))))
    ctes.append(("primary_events", t.select(
        [t.alias(t.col("ordinal", "P"), "event_id"),
         *_columns("P", "person_id", "start_date", "end_date", "op_start_date", "op_end_date", "visit_occurrence_id")],
        t.sub(ranked, "P"),
        where=t.eq(t.col("ordinal", "P"), t.num(1)) if cohort.primary_limit != "All" else None)))

    joins = []
    if cohort.additional is not None and not cohort.additional.is_empty():
        joins = [t.join(t.sub(cc.group(cohort.additional, cte("primary_events"), 0), "AC"), _same("AC", "pe"))]
    limit_q = cohort.additional is not None and cohort.qualified_limit != "All"  # as Circe: only with AdditionalCriteria
    ranked = t.select(
        [*_columns("pe", *EVENT),
         t.alias(t.row_number([t.col("person_id", "pe")], [
             t.ordered(t.col("start_date", "pe"), _desc(cohort.qualified_limit)), t.ordered(t.col("event_id", "pe"))]),
             "ordinal"), t.col("visit_occurrence_id", "pe")],
        t.table("primary_events", "pe"), joins=joins)
    ctes.append(("qualified_events", t.select(
        _columns(None, *EVENT, "visit_occurrence_id"), t.sub(ranked, "QE"),
        where=t.eq(t.col("ordinal", "QE"), t.num(1)) if limit_q else None)))

    rules = []
    for i, rule in enumerate(cohort.inclusion_rules):
        joins = [] if rule.group.is_empty() else [
            t.join(t.sub(cc.group(rule.group, cte("qualified_events"), 0), "AC"), _same("AC", "pe"))]
        rules.append(t.select([t.alias(t.num(i), "inclusion_rule_id"), *_columns("pe", "person_id", "event_id")],
                              t.table("qualified_events", "pe"), joins=joins))
    ctes.append(("inclusion_events", t.union_all(rules) if rules else
                 _nothing(p, inclusion_rule_id="INTEGER", person_id="BIGINT", event_id="BIGINT")))
    n_rules = len(cohort.inclusion_rules)
    masked = t.select(
        [*_columns("Q", *EVENT), t.alias(_mask(), "inclusion_rule_mask")], t.table("qualified_events", "Q"),
        joins=[t.join(t.table("inclusion_events", "I"), _same("I", "Q"), "LEFT")], group=_columns("Q", *EVENT))
    ranked = t.select(
        [*_columns(None, *EVENT), t.alias(t.row_number([t.col("person_id")], [
            t.ordered(t.col("start_date"), _desc(cohort.expression_limit)), t.ordered(t.col("event_id"))]), "ordinal")],
        t.sub(masked, "MG"),
        where=t.eq(t.col("inclusion_rule_mask", "MG"), t.num((1 << n_rules) - 1)) if n_rules else None)
    ctes.append(("included_events", t.select(
        _columns(None, *EVENT), t.sub(ranked, "R"),
        where=t.eq(t.col("ordinal", "R"), t.num(1)) if cohort.expression_limit != "All" else None)))

    ends = []
    strategy = cohort.end_strategy
    if not isinstance(strategy, c.DateOffsetEnd):  # Circe: exit at the observation period's end
        ends.append(t.select([t.col("event_id"), t.col("person_id"), t.alias(t.col("op_end_date"), "end_date")],
                             t.table("included_events")))
    if isinstance(strategy, c.DateOffsetEnd):
        field = "end_date" if strategy.date_field == "EndDate" else "start_date"
        offset = p.days(strategy.offset)
        shifted = p.add_days(t.col(field), offset)
        end = t.case([(t.cmp(">", shifted, t.col("op_end_date")), t.col("op_end_date"))],
                     p.add_days(t.col(field), offset.copy()))
        ends.append(t.select([t.col("event_id"), t.col("person_id"), t.alias(end, "end_date")],
                             t.table("included_events")))
    elif isinstance(strategy, c.ContinuousExposureEnd):
        ctes.extend(_continuous_exposure(strategy, p))
        ends.append(t.select(_columns(None, "event_id", "person_id", "end_date"), t.table("strategy_ends")))
    for crit in cohort.censoring:
        ends.append(t.select(
            [*_columns("i", "event_id", "person_id"), t.alias(exp.Min(this=t.col("start_date", "C")), "end_date")],
            t.table("included_events", "i"),
            joins=[t.join(t.sub(cc.criterion(crit), "C"), t.and_([
                t.eq(t.col("person_id", "C"), t.col("person_id", "i")),
                t.cmp(">=", t.col("start_date", "C"), t.col("start_date", "i")),
                t.cmp("<=", t.col("start_date", "C"), t.col("op_end_date", "i"))]))],
            group=_columns("i", "event_id", "person_id")))
    ctes.append(("cohort_ends", t.union_all(ends)))
    firsts = t.select(
        [*_columns("I", "event_id", "person_id", "start_date"), t.col("end_date", "CE"),
         t.alias(t.row_number(_columns("I", "person_id", "event_id"), [t.ordered(t.col("end_date", "CE"))]),
                 "ordinal")],
        t.table("included_events", "I"),
        joins=[t.join(t.table("cohort_ends", "CE"), t.and_([
            t.eq(t.col("event_id", "I"), t.col("event_id", "CE")),
            t.eq(t.col("person_id", "I"), t.col("person_id", "CE")),
            t.cmp(">=", t.col("end_date", "CE"), t.col("start_date", "I"))]))])
    ctes.append(("cohort_rows", t.select(_columns(None, "person_id", "start_date", "end_date"), t.sub(firsts, "F"),
                                         where=t.eq(t.col("ordinal", "F"), t.num(1)))))
    pad = p.days(cohort.era_pad)
    ctes.append(("final_cohort", era_sql(t.table("cohort_rows"), pad, pad.copy(), p)))

    def start() -> exp.Expression:
        if not cohort.censor_start:
            return t.col("start_date")
        s = window_start
        return t.case([(t.cmp(">", t.col("start_date"), s.copy()), t.col("start_date"))], s.copy())

    def end() -> exp.Expression:
        if not cohort.censor_end:
            return t.col("end_date")
        e = window_end
        return t.case([(t.cmp("<", t.col("end_date"), e.copy()), t.col("end_date"))], e.copy())

    ctes[1:1] = cc.ctes  # the criteria's own CTEs (correlated criteria's events) read codesets only
    chain_params = dict(p.values)  # every value the chain binds: all but the censor window's
    window_start = p.date(cohort.censor_start) if cohort.censor_start else None
    window_end = p.date(cohort.censor_end) if cohort.censor_end else None
    in_window = t.cmp("<=", start(), end()) if cohort.censor_start or cohort.censor_end else None

    def statement(query: exp.Select, params: dict[str, object]) -> Statement:
        # The statements share the chain's nodes, as a PHTA cohort's statements share theirs:
        # rendering changes no tree (tests/unit/test_circe_trees.py), and whoever rewrites a
        # statement copies it first (phta.query.restrict, cell_keys, the Spark engine's binding).
        return Statement(t.with_ctes(query, ctes), params, dialect)

    def masks(events: exp.Expression) -> exp.Select:
        per_event = t.select([*_columns("Q", "person_id", "event_id"), t.alias(_mask(), "inclusion_rule_mask")],
                             events, joins=[t.join(t.table("inclusion_events", "I"), _same("Q", "I"), "LEFT")],
                             group=_columns("Q", "person_id", "event_id"))
        return t.select([t.col("inclusion_rule_mask"), t.alias(t.count(exp.Star()), "n")], t.sub(per_event, "MG"),
                        group=[t.col("inclusion_rule_mask")], order=[t.ordered(t.col("inclusion_rule_mask"))])

    # Circe's "best" event per person: most rules met, then the earliest first rule, then earliest start.
    counted = t.select(
        [*_columns("Q", "person_id", "event_id", "start_date"),
         t.alias(t.count(t.col("inclusion_rule_id", "I"), distinct=True), "rule_count"),
         t.alias(exp.Coalesce(this=exp.Min(this=t.col("inclusion_rule_id", "I")), expressions=[t.num(0)]),
                 "min_rule_id")],
        t.table("qualified_events", "Q"), joins=[t.join(t.table("inclusion_events", "I"), _same("Q", "I"), "LEFT")],
        group=_columns("Q", "person_id", "event_id", "start_date"))
    ranked = t.select(
        [*_columns("R", "person_id", "event_id"), t.alias(t.row_number([t.col("person_id", "R")], [
            t.ordered(t.col("rule_count", "R"), desc=True), t.ordered(t.col("min_rule_id", "R")),
            t.ordered(t.col("start_date", "R")), t.ordered(t.col("event_id", "R"))]), "rank_value")],
        t.sub(counted, "R"))
    best = t.select(_columns(None, "person_id", "event_id"), t.sub(ranked, "B"),
                    where=t.eq(t.col("rank_value", "B"), t.num(1)))
    cohort_rows = t.select(
        [t.col("person_id"), t.alias(p.cast(start(), "DATE"), "start_date"), t.alias(p.cast(end(), "DATE"), "end_date")],
        t.table("final_cohort"), where=in_window, order=[t.ordered(t.col("person_id")), t.ordered(t.col("start_date"))])
    return CompiledCirce(
        cohort=statement(cohort_rows, dict(p.values)),
        masks_by_event=statement(masks(t.table("qualified_events", "Q")), chain_params),
        masks_by_person=statement(masks(t.sub(best, "Q")), chain_params),
        eras_before_window=statement(t.select([t.alias(t.count(t.col("person_id"), distinct=True), "n")],
                                              t.table("final_cohort")), chain_params),
        rule_names=tuple(r.name for r in cohort.inclusion_rules),
    )


def _same(a: str, b: str) -> exp.Expression:
    return exp.And(this=t.eq(t.col("person_id", a), t.col("person_id", b)),
                   expression=t.eq(t.col("event_id", a), t.col("event_id", b)))


def _continuous_exposure(s: c.ContinuousExposureEnd, p: Params) -> list[tuple[str, exp.Expression]]:
    def start() -> exp.Expression:
        return t.col("drug_exposure_start_date", "de")

    def end() -> exp.Expression:
        if s.days_supply_override is not None:
            return p.add_days(start(), p.days(s.days_supply_override))
        return exp.Coalesce(this=t.col("drug_exposure_end_date", "de"), expressions=[
            p.add_days(start(), t.col("days_supply", "de")), p.add_days(start(), t.num(1))])

    persons = t.select([t.col("person_id")], t.table("included_events"), distinct=True)
    target = t.union_all([t.select(
        [t.col("person_id", "de"), t.alias(start(), "start_date"), t.alias(p.cast(end(), "DATE"), "end_date")],
        t.table("drug_exposure", "de"),
        joins=[t.join(t.sub(persons.copy(), "PS"), t.eq(t.col("person_id", "de"), t.col("person_id", "PS"))),
               t.join(t.table("codesets", "cs"), exp.And(
                   this=t.eq(t.col("codeset_id", "cs"), p(s.drug_codeset_id, "INTEGER")),
                   expression=t.eq(t.col(column, "de"), t.col("concept_id", "cs"))))])
        for column in ("drug_concept_id", "drug_source_concept_id")])
    gap, offset = p.days(s.gap_days), p.days(s.offset)
    eras = era_sql(t.table("drug_target"), t.paren(exp.Add(this=gap, expression=offset)), gap.copy(), p)
    ends = t.select(
        [*_columns("et", "event_id", "person_id"), t.col("end_date", "ERAS")], t.table("included_events", "et"),
        joins=[t.join(t.table("drug_eras", "ERAS"), t.eq(t.col("person_id", "ERAS"), t.col("person_id", "et")))],
        where=exp.Between(this=t.col("start_date", "et"), low=t.col("start_date", "ERAS"),
                          high=t.col("end_date", "ERAS")))
    return [("drug_target", target), ("drug_eras", eras), ("strategy_ends", ends)]
