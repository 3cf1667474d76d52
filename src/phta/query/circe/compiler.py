"""Compile a :class:`~phta.query.ir_circe.CirceCohort` to SQLGlot trees with bound values.

The statement follows Circe's pipeline as a chain of CTEs: ``codesets`` -> ``primary_events``
(entry events inside an observation period with the prior/post window, First/Last/All) ->
``qualified_events`` (additional criteria, qualified limit) -> ``inclusion_events`` (which rule
each qualified event meets) -> ``included_events`` (all rules met, expression limit) ->
``cohort_ends`` (end strategy, observation period end, censoring events) -> ``cohort_rows`` (the
first end on or after the start) -> ``final_cohort`` (eras collapsed with the pad) -> the censor
window. Three statements share the chain: the cohort rows, and the inclusion-rule match masks
counted by event and by person (Circe's modes 0 and 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot

from phta.query import ir_circe as c
from phta.query.circe.criteria_sql import CriteriaCompiler, Params, add_days, era_sql
from phta.query.compiler import Statement


@dataclass(frozen=True)
class CompiledCirce:
    cohort: Statement  # person_id, start_date, end_date (one row per era)
    masks_by_event: Statement  # inclusion_rule_mask, n  (qualified events)
    masks_by_person: Statement  # inclusion_rule_mask, n  (each person's best event)
    eras_before_window: Statement  # distinct persons before the censor window (for censor stats)
    rule_names: tuple[str, ...]


def _concept_set_sql(cs: c.CirceConceptSet, p: Params) -> str:
    def concepts(items):
        if not items:
            return "SELECT concept_id FROM concept WHERE 1 = 0"
        own = f"SELECT concept_id FROM concept WHERE concept_id IN ({p.ids(sorted({i.concept_id for i in items}))})"
        parts = [own]
        desc = sorted({i.concept_id for i in items if i.descendants})
        if desc:
            parts.append("SELECT c.concept_id FROM concept c JOIN concept_ancestor ca "
                         "ON c.concept_id = ca.descendant_concept_id WHERE c.invalid_reason IS NULL "
                         f"AND ca.ancestor_concept_id IN ({p.ids(desc)})")
        q = " UNION ".join(parts)
        mapped = [i for i in items if i.mapped]
        if mapped:
            inner = concepts_plain(mapped)
            q += (f" UNION SELECT DISTINCT cr.concept_id_1 AS concept_id FROM ({inner}) M "
                  "JOIN concept_relationship cr ON M.concept_id = cr.concept_id_2 "
                  "AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL")
        return q

    def concepts_plain(items):
        parts = [f"SELECT concept_id FROM concept WHERE concept_id IN ({p.ids(sorted({i.concept_id for i in items}))})"]
        desc = sorted({i.concept_id for i in items if i.descendants})
        if desc:
            parts.append("SELECT c.concept_id FROM concept c JOIN concept_ancestor ca "
                         "ON c.concept_id = ca.descendant_concept_id WHERE c.invalid_reason IS NULL "
                         f"AND ca.ancestor_concept_id IN ({p.ids(desc)})")
        return " UNION ".join(parts)

    included = [i for i in cs.items if not i.excluded]
    excluded = [i for i in cs.items if i.excluded]
    q = f"SELECT DISTINCT I.concept_id FROM ({concepts(included)}) I"
    if excluded:
        q += f" LEFT JOIN ({concepts(excluded)}) X ON I.concept_id = X.concept_id WHERE X.concept_id IS NULL"
    return f"SELECT {p(cs.id, 'INTEGER')} AS codeset_id, S.concept_id FROM ({q}) S"


def _order(limit: str) -> str:
    return "DESC" if limit == "Last" else "ASC"


def compile_circe(cohort: c.CirceCohort) -> CompiledCirce:
    p = Params()
    cc = CriteriaCompiler(p)
    ctes: list[tuple[str, str]] = []
    if cohort.concept_sets:
        ctes.append(("codesets", " UNION ALL ".join(f"({_concept_set_sql(cs, p)})" for cs in cohort.concept_sets)))
    else:
        ctes.append(("codesets", "SELECT CAST(NULL AS INTEGER) AS codeset_id, CAST(NULL AS BIGINT) AS concept_id "
                                 "WHERE 1 = 0"))

    criteria = " UNION ALL ".join(f"({cc.criterion(x)})" for x in cohort.primary)
    prior, post = p.days(cohort.prior_days), p.days(cohort.post_days)
    ctes.append(("primary_events", (
        "SELECT P.ordinal AS event_id, P.person_id, P.start_date, P.end_date, P.op_start_date, P.op_end_date, "
        "P.visit_occurrence_id FROM (SELECT E.person_id, E.start_date, E.end_date, "
        f"row_number() OVER (PARTITION BY E.person_id ORDER BY E.sort_date {_order(cohort.primary_limit)}, E.event_id) "
        "AS ordinal, OP.observation_period_start_date AS op_start_date, OP.observation_period_end_date AS op_end_date, "
        f"E.visit_occurrence_id FROM ({criteria}) E JOIN observation_period OP ON E.person_id = OP.person_id "
        "AND E.start_date >= OP.observation_period_start_date AND E.start_date <= OP.observation_period_end_date "
        f"WHERE {add_days('OP.observation_period_start_date', prior)} <= E.start_date "
        f"AND {add_days('E.start_date', post)} <= OP.observation_period_end_date) P"
        + (" WHERE P.ordinal = 1" if cohort.primary_limit != "All" else ""))))

    ac = ""
    if cohort.additional is not None and not cohort.additional.is_empty():
        ac = (f" JOIN ({cc.group(cohort.additional, 'primary_events', 0)}) AC "
              "ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id")
    limit_q = cohort.additional is not None and cohort.qualified_limit != "All"  # as Circe: only with AdditionalCriteria
    ctes.append(("qualified_events", (
        "SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date, visit_occurrence_id FROM ("
        "SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.op_start_date, pe.op_end_date, "
        f"row_number() OVER (PARTITION BY pe.person_id ORDER BY pe.start_date {_order(cohort.qualified_limit)}, "
        f"pe.event_id) AS ordinal, pe.visit_occurrence_id FROM primary_events pe{ac}) QE"
        + (" WHERE QE.ordinal = 1" if limit_q else ""))))

    rules = []
    for i, rule in enumerate(cohort.inclusion_rules):
        if rule.group.is_empty():
            rules.append(f"SELECT {i} AS inclusion_rule_id, pe.person_id, pe.event_id FROM qualified_events pe")
        else:
            rules.append(f"SELECT {i} AS inclusion_rule_id, pe.person_id, pe.event_id FROM qualified_events pe "
                         f"JOIN ({cc.group(rule.group, 'qualified_events', 0)}) AC "
                         "ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id")
    ctes.append(("inclusion_events", " UNION ALL ".join(f"({r})" for r in rules) if rules else
                 "SELECT CAST(NULL AS INTEGER) AS inclusion_rule_id, CAST(NULL AS BIGINT) AS person_id, "
                 "CAST(NULL AS BIGINT) AS event_id WHERE 1 = 0"))
    n_rules = len(cohort.inclusion_rules)
    mask = "CAST(SUM(COALESCE(CAST(POWER(2, I.inclusion_rule_id) AS BIGINT), 0)) AS BIGINT)"
    ctes.append(("included_events", (
        "SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date FROM ("
        "SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date, "
        f"row_number() OVER (PARTITION BY person_id ORDER BY start_date {_order(cohort.expression_limit)}, event_id) "
        "AS ordinal FROM (SELECT Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, Q.op_end_date, "
        f"{mask} AS inclusion_rule_mask FROM qualified_events Q LEFT JOIN inclusion_events I "
        "ON I.person_id = Q.person_id AND I.event_id = Q.event_id "
        "GROUP BY Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, Q.op_end_date) MG"
        + (f" WHERE MG.inclusion_rule_mask = {(1 << n_rules) - 1}" if n_rules else "") + ") R"
        + (" WHERE R.ordinal = 1" if cohort.expression_limit != "All" else ""))))

    ends = []
    strategy = cohort.end_strategy
    if not isinstance(strategy, c.DateOffsetEnd):  # Circe: exit at the observation period's end
        ends.append("SELECT event_id, person_id, op_end_date AS end_date FROM included_events")
    if isinstance(strategy, c.DateOffsetEnd):
        field = "end_date" if strategy.date_field == "EndDate" else "start_date"
        shifted = add_days(field, p.days(strategy.offset))
        ends.append(f"SELECT event_id, person_id, CASE WHEN {shifted} > op_end_date THEN op_end_date "
                    f"ELSE {shifted} END AS end_date FROM included_events")
    elif isinstance(strategy, c.ContinuousExposureEnd):
        ctes.extend(_continuous_exposure(strategy, p))
        ends.append("SELECT event_id, person_id, end_date FROM strategy_ends")
    for crit in cohort.censoring:
        ends.append("SELECT i.event_id, i.person_id, MIN(C.start_date) AS end_date FROM included_events i "
                    f"JOIN ({cc.criterion(crit)}) C ON C.person_id = i.person_id AND C.start_date >= i.start_date "
                    "AND C.start_date <= i.op_end_date GROUP BY i.event_id, i.person_id")
    ctes.append(("cohort_ends", " UNION ALL ".join(f"({e})" for e in ends)))
    ctes.append(("cohort_rows", (
        "SELECT person_id, start_date, end_date FROM (SELECT I.event_id, I.person_id, I.start_date, CE.end_date, "
        "row_number() OVER (PARTITION BY I.person_id, I.event_id ORDER BY CE.end_date) AS ordinal "
        "FROM included_events I JOIN cohort_ends CE ON I.event_id = CE.event_id AND I.person_id = CE.person_id "
        "AND CE.end_date >= I.start_date) F WHERE F.ordinal = 1")))
    pad = p.days(cohort.era_pad)
    ctes.append(("final_cohort", era_sql("cohort_rows", "start_date", "end_date", pad, pad)))

    start, end, where = "start_date", "end_date", ""
    if cohort.censor_start or cohort.censor_end:
        if cohort.censor_start:
            s = p.date(cohort.censor_start)
            start = f"CASE WHEN start_date > {s} THEN start_date ELSE {s} END"
        if cohort.censor_end:
            e = p.date(cohort.censor_end)
            end = f"CASE WHEN end_date < {e} THEN end_date ELSE {e} END"
        where = f" WHERE {start} <= {end}"
    with_sql = "WITH " + ", ".join(f"{name} AS ({sql})" for name, sql in ctes) + " "

    def statement(select: str) -> Statement:
        text = with_sql + select
        tree = sqlglot.parse_one(text, read="duckdb")
        used = set(re.findall(r"\$(p\d+)\b", text))
        return Statement(tree, {k: v for k, v in p.values.items() if k in used}, "duckdb")

    masks = ("SELECT inclusion_rule_mask, COUNT(*) AS n FROM (SELECT Q.person_id, Q.event_id, "
             f"{mask} AS inclusion_rule_mask FROM {{events}} Q LEFT JOIN inclusion_events I "
             "ON Q.person_id = I.person_id AND Q.event_id = I.event_id GROUP BY Q.person_id, Q.event_id) MG "
             "GROUP BY inclusion_rule_mask ORDER BY inclusion_rule_mask")
    # Circe's "best" event per person: most rules met, then the earliest first rule, then earliest start.
    best = ("(SELECT person_id, event_id FROM (SELECT R.person_id, R.event_id, row_number() OVER (PARTITION BY "
            "R.person_id ORDER BY R.rule_count DESC, R.min_rule_id ASC, R.start_date ASC, R.event_id ASC) AS rank_value "
            "FROM (SELECT Q.person_id, Q.event_id, Q.start_date, COUNT(DISTINCT I.inclusion_rule_id) AS rule_count, "
            "COALESCE(MIN(I.inclusion_rule_id), 0) AS min_rule_id FROM qualified_events Q LEFT JOIN inclusion_events I "
            "ON Q.person_id = I.person_id AND Q.event_id = I.event_id GROUP BY Q.person_id, Q.event_id, Q.start_date) R"
            ") B WHERE B.rank_value = 1)")
    return CompiledCirce(
        cohort=statement(f"SELECT person_id, CAST({start} AS DATE) AS start_date, CAST({end} AS DATE) AS end_date "
                         f"FROM final_cohort{where} ORDER BY person_id, start_date"),
        masks_by_event=statement(masks.format(events="qualified_events")),
        masks_by_person=statement(masks.format(events=best)),
        eras_before_window=statement("SELECT COUNT(DISTINCT person_id) AS n FROM final_cohort"),
        rule_names=tuple(r.name for r in cohort.inclusion_rules),
    )


def _continuous_exposure(s: c.ContinuousExposureEnd, p: Params) -> list[tuple[str, str]]:
    start = "de.drug_exposure_start_date"
    if s.days_supply_override is not None:
        end = add_days(start, p.days(s.days_supply_override))
    else:
        end = f"COALESCE(de.drug_exposure_end_date, {add_days(start, 'de.days_supply')}, {add_days(start, '1')})"
    cs = p(s.drug_codeset_id, "INTEGER")
    target = " UNION ALL ".join(
        f"(SELECT de.person_id, {start} AS start_date, CAST({end} AS DATE) AS end_date FROM drug_exposure de "
        "JOIN (SELECT DISTINCT person_id FROM included_events) PS ON de.person_id = PS.person_id "
        f"JOIN codesets cs ON cs.codeset_id = {cs} AND de.{col} = cs.concept_id)"
        for col in ("drug_concept_id", "drug_source_concept_id"))
    gap, offset = p.days(s.gap_days), p.days(s.offset)
    eras = era_sql("drug_target", "start_date", "end_date", f"({gap} + {offset})", gap)
    ends = ("SELECT et.event_id, et.person_id, ERAS.end_date FROM included_events et JOIN drug_eras ERAS "
            "ON ERAS.person_id = et.person_id WHERE et.start_date BETWEEN ERAS.start_date AND ERAS.end_date")
    return [("drug_target", target), ("drug_eras", eras), ("strategy_ends", ends)]
