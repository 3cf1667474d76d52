"""The DSL builds the same IR as hand-written nodes and explains mistakes at the user's line."""

import datetime as dt

import pytest

from phta.query import ir
from phta.query.dsl import (
    DSLError,
    codes,
    cohort,
    conditions,
    date,
    days,
    index_date,
    measurements,
    patients,
)


def test_dsl_builds_ir():
    population = cohort(
        index_date=conditions.where(codes(201826, descendants=True)).first_date(),
        rules={"adult": patients.age_at(index_date) >= 18,
               "recent HbA1c": measurements.where_value(low=48).before(index_date, days=365).exists()},
        end_date=index_date + days(365),
        strata=["sex"],
    )
    t2dm = ir.WhereConcepts(ir.Events("condition"), ir.ConceptSet((ir.ConceptItem(201826, True),)))
    assert population.index_date == ir.FirstDate(t2dm)
    assert population.rules[0] == ir.Rule("adult", ir.Compare("ge", ir.AgeAt(ir.IndexDate()), ir.Literal("int", 18)))
    assert population.rules[1].condition == ir.Exists(ir.WhereDate(
        ir.WhereValue(ir.Events("measurement"), 48), ir.IndexDate(), -365, 0))
    assert population.end_date == ir.AddDays(ir.IndexDate(), ir.Literal("int", 365))


def test_dates_and_arithmetic():
    assert (conditions.first_date() < date("2020-01-01")).node.right == ir.Literal("date", dt.date(2020, 1, 1))
    assert (conditions.last_date() - conditions.first_date()).node == ir.DaysBetween(
        ir.FirstDate(ir.Events("condition")), ir.LastDate(ir.Events("condition")))


def test_mistakes_name_this_line():
    with pytest.raises(DSLError, match=r"test_query_dsl\.py, line \d+: cannot compare a date with text"):
        conditions.first_date() == "yesterday"  # noqa: B015
    with pytest.raises(DSLError, match="not an ISO date"):
        date("01/02/2020")
    with pytest.raises(DSLError, match=r"'&' joins true/false conditions, not a whole number"):
        conditions.exists() & conditions.count()
    with pytest.raises(DSLError, match="impossible window"):
        conditions.between_days(index_date, 5, -5)
    with pytest.raises(DSLError, match="no single truth value"):
        bool(conditions.exists())
    with pytest.raises(DSLError, match=r"rule 'x' must be a condition"):
        cohort(index_date=conditions.first_date(), rules={"x": True})
