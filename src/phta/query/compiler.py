"""Compile IR to SQLGlot syntax trees with bound parameters — one handler per node kind.

Every user value (concept ids, dates, numbers, strings, person ids) becomes a named placeholder
(``$p1``) with its value in :attr:`Compiled.params`; table and column names come only from the
OMOP specification (:mod:`phta.query.domains`), never from the query. The tree is rendered by
SQLGlot for the dialect; what differs between dialects lives in :mod:`phta.query.dialects`.

Shape: a patient series is an expression over one row ``p`` of ``person`` (extended with the
index date inside a cohort); an aggregate of an event frame is a correlated scalar subquery over
the domain's table, so date windows anchored on other series need no special plumbing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from functools import singledispatchmethod

import sqlglot.expressions as exp

from phta.cdm import uk
from phta.query import ir
from phta.query.dialects import Dialect, UnsupportedFeature, cast, get_dialect
from phta.query.physical import FACTS_TABLE, NONE, PhysicalDesign
from phta.query.variants import VARIANT_TABLE


@dataclass(frozen=True)
class Statement:
    tree: exp.Expression
    params: dict[str, object]
    dialect: str

    def sql(self, pretty: bool = False) -> str:
        # DuckDB renders without SQLGlot's defensive deep copy (a third of a cohort's compile
        # time, paid on every query): its generator changes nothing in these trees, which
        # tests/unit/test_statement_render.py checks on compiled cohorts. Other dialects' generators
        # do rewrite trees (Spark lifts CTEs, and the statements of a cohort share theirs).
        if pretty:
            return self.tree.sql(dialect=self.dialect, pretty=True, copy=self.dialect != "duckdb")
        # The text is kept: no one changes a statement's tree in place (every consumer copies it
        # first), and a compiled cohort taken from the execution path's cache is rendered again
        # for every query otherwise (0.2 ms a statement, against 2-20 ms queries at 1M persons).
        text = self.__dict__.get("_text")
        if text is None:
            text = self.tree.sql(dialect=self.dialect, copy=self.dialect != "duckdb")
            self.__dict__["_text"] = text  # a frozen dataclass: its fields stay as they are
        return text


@dataclass
class _Scope:
    row: str  # alias of the patient row the series is evaluated on
    has_index: bool = False
    facts: str | None = None  # alias of a joined phta_person_facts row, if the FROM has one
    index_row: str | None = None  # alias of the row holding index_date, when not ``row``


@dataclass
class SeriesCompiler:
    dialect: Dialect
    params: dict[str, object] = field(default_factory=dict)
    _aliases: int = 0
    physical: PhysicalDesign = NONE  # what the store offers (phta.query.physical)

    # --- helpers ----------------------------------------------------------------------------
    def param(self, value) -> exp.Expression:
        name = f"p{len(self.params) + 1}"
        self.params[name] = value
        return exp.Placeholder(this=name)

    def typed_param(self, value, series_type: str) -> exp.Expression:
        # Casting keeps DuckDB's parameter type inference out of date arithmetic and comparisons.
        return cast(self.param(value), self.dialect.types[series_type])

    def alias(self, stem: str) -> str:
        self._aliases += 1
        return f"{stem}{self._aliases}"

    # --- series -----------------------------------------------------------------------------
    @singledispatchmethod
    def series(self, node: ir.Series, scope: _Scope) -> exp.Expression:
        raise UnsupportedFeature(f"{type(node).__name__} has no {self.dialect.name} translation")

    @series.register
    def _(self, node: ir.Literal, scope: _Scope) -> exp.Expression:
        return self.typed_param(node.value, node.value_type)

    @series.register
    def _(self, node: ir.Exists, scope: _Scope) -> exp.Expression:
        return exp.Exists(this=self._frame_select(node.frame, scope, exp.Literal.number(1)))

    @series.register
    def _(self, node: ir.Count, scope: _Scope) -> exp.Expression:
        return exp.Subquery(this=self._frame_select(node.frame, scope, exp.Count(this=exp.Star())))

    @series.register
    def _(self, node: ir.FirstDate, scope: _Scope) -> exp.Expression:
        return self._frame_agg(node.frame, scope, exp.Min, node.frame.domain.start)

    @series.register
    def _(self, node: ir.LastDate, scope: _Scope) -> exp.Expression:
        return self._frame_agg(node.frame, scope, exp.Max, node.frame.domain.start)

    @series.register
    def _(self, node: ir.MinValue, scope: _Scope) -> exp.Expression:
        return self._frame_agg(node.frame, scope, exp.Min, node.frame.domain.value)

    @series.register
    def _(self, node: ir.MaxValue, scope: _Scope) -> exp.Expression:
        return self._frame_agg(node.frame, scope, exp.Max, node.frame.domain.value)

    @series.register
    def _(self, node: ir.Sex, scope: _Scope) -> exp.Expression:
        case = exp.Case(this=exp.column("gender_concept_id", scope.row))
        for concept, sex in uk.SEX_OF_GENDER.items():
            case = case.when(exp.Literal.number(concept), exp.Literal.string(sex), copy=False)
        return case.else_(exp.Literal.string("unknown"))

    @series.register
    def _(self, node: ir.DateOfBirth, scope: _Scope) -> exp.Expression:
        return self._dob(scope)

    @series.register
    def _(self, node: ir.EthnicCategory, scope: _Scope) -> exp.Expression:
        col = exp.column("race_source_value", scope.row)
        known = exp.In(this=col, expressions=[exp.Literal.string(c) for c in uk.NHS_ETHNIC_CATEGORIES])
        return exp.Case().when(known, col.copy(), copy=False)

    @series.register
    def _(self, node: ir.EthnicGroup, scope: _Scope) -> exp.Expression:
        case = exp.Case(this=exp.column("race_source_value", scope.row))
        for code, group in uk.ETHNIC_GROUP_OF.items():
            case = case.when(exp.Literal.string(code), exp.Literal.string(group), copy=False)
        return case.else_(exp.Literal.string("Unknown"))

    @series.register
    def _(self, node: ir.ImdQuintile, scope: _Scope) -> exp.Expression:
        if self.physical.person_facts:
            return self._person_fact("imd_quintile", scope)
        o = self.alias("imd")
        value = exp.column("value_as_number", o)
        # the latest recorded quintile (ties on the date: the highest)
        latest = exp.ArgMax(this=cast(value, "BIGINT"), expression=exp.Struct(
            expressions=[exp.column("observation_date", o), value.copy()])) if self.dialect.latest_by_aggregate else None
        select = (
            exp.select(latest or cast(value, "BIGINT"), copy=False)
            .from_(exp.table_("observation", alias=o), copy=False)
            .where(exp.EQ(this=exp.column("person_id", o), expression=exp.column("person_id", scope.row)), copy=False)
            .where(exp.EQ(this=exp.column("observation_concept_id", o),
                          expression=exp.Literal.number(uk.IMD_QUINTILE_CONCEPT_ID)), copy=False)
            .where(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())), copy=False)
        )
        if latest is None:
            select = select.order_by(exp.Ordered(this=exp.column("observation_date", o), desc=True),
                                     exp.Ordered(this=value.copy(), desc=True), copy=False).limit(1)
        return exp.Subquery(this=select)

    @series.register
    def _(self, node: ir.Site, scope: _Scope) -> exp.Expression:
        if self.physical.person_facts:
            return self._person_fact("site", scope)
        c = self.alias("cs")
        select = (
            exp.select(exp.Max(this=exp.column("care_site_source_value", c)), copy=False)
            .from_(exp.table_("care_site", alias=c), copy=False)
            .where(exp.EQ(this=exp.column("care_site_id", c), expression=exp.column("care_site_id", scope.row)), copy=False)
        )
        return exp.Subquery(this=select)

    @series.register
    def _(self, node: ir.IndexDate, scope: _Scope) -> exp.Expression:
        if not scope.has_index:
            raise ir.IRError("IndexDate", None, "the index date is only defined inside a Cohort")
        return exp.column("index_date", scope.index_row or scope.row)

    @series.register
    def _(self, node: ir.PersonIn, scope: _Scope) -> exp.Expression:
        if not node.person_ids:
            return exp.false()
        if self.dialect.name != "duckdb":
            return exp.In(this=exp.column("person_id", scope.row),
                          expressions=[self.param(p) for p in node.person_ids])
        # DuckDB: one list parameter, unnested. Opt-out rewrites bring tens of thousands of ids,
        # and an IN list of that many placeholders takes DuckDB minutes to bind (bench/optouts.py).
        ids = exp.select(exp.Unnest(expressions=[self.param(list(node.person_ids))]), copy=False).subquery()
        return exp.In(this=exp.column("person_id", scope.row), query=ids)

    @series.register
    def _(self, node: ir.AgeAt, scope: _Scope) -> exp.Expression:
        # Whole years from the parts of the date of birth (missing month/day = 1, as DateOfBirth),
        # not from a date built of them: MAKE_DATE three times per row was most of the cost of an
        # age rule over every person (issue 6). Same value for every real date of birth.
        date = self.series(node.date, scope)
        years = exp.Sub(this=exp.Year(this=date), expression=exp.column("year_of_birth", scope.row))
        birthday = exp.Add(this=exp.Mul(this=self._birth_part(scope, "month_of_birth"), expression=exp.Literal.number(100)),
                           expression=self._birth_part(scope, "day_of_birth"))
        before_birthday = exp.LT(this=_month_day(date.copy()), expression=birthday)
        minus = exp.Case().when(before_birthday, exp.Literal.number(1), copy=False).else_(exp.Literal.number(0))
        return exp.paren(exp.Sub(this=years, expression=minus), copy=False)

    @series.register
    def _(self, node: ir.YearAgeAt, scope: _Scope) -> exp.Expression:
        date = self.series(node.date, scope)
        return exp.paren(exp.Sub(this=exp.Year(this=date), expression=exp.column("year_of_birth", scope.row)), copy=False)

    @series.register
    def _(self, node: ir.ObservationPeriodStart, scope: _Scope) -> exp.Expression:
        return self._observation_period(node.date, scope, exp.Min, "observation_period_start_date")

    @series.register
    def _(self, node: ir.ObservationPeriodEnd, scope: _Scope) -> exp.Expression:
        return self._observation_period(node.date, scope, exp.Max, "observation_period_end_date")

    def _observation_period(self, date: ir.Series, scope: _Scope, agg, column: str) -> exp.Expression:
        o = self.alias("op")
        select = (
            exp.select(agg(this=exp.column(column, o)), copy=False)
            .from_(exp.table_("observation_period", alias=o), copy=False)
            .where(exp.EQ(this=exp.column("person_id", o), expression=exp.column("person_id", scope.row)), copy=False)
            .where(exp.LTE(this=exp.column("observation_period_start_date", o), expression=self.series(date, scope)), copy=False)
            .where(exp.GTE(this=exp.column("observation_period_end_date", o), expression=self.series(date, scope)), copy=False)
        )
        return exp.Subquery(this=select)

    @series.register
    def _(self, node: ir.AddDays, scope: _Scope) -> exp.Expression:
        return self.dialect.add_days(self.series(node.date, scope), self.series(node.days, scope))

    @series.register
    def _(self, node: ir.DaysBetween, scope: _Scope) -> exp.Expression:
        return self.dialect.days_between(self.series(node.start, scope), self.series(node.end, scope))

    @series.register
    def _(self, node: ir.Compare, scope: _Scope) -> exp.Expression:
        sex_test = self._sex_test(node, scope)
        if sex_test is not None:
            return sex_test
        ops = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}
        return exp.paren(ops[node.op](this=self.series(node.left, scope),
                                      expression=self.series(node.right, scope)), copy=False)

    def _sex_test(self, node: ir.Compare, scope: _Scope) -> exp.Expression | None:
        """``sex == 'female'`` (or ``!=``, either way round) as a test of ``gender_concept_id``
        itself, not of the CASE that names it: an integer filter the engine pushes into the scan
        (the CASE compared as text was a third of a census cohort's cost over every person).
        Same truth value for every row, never missing, as the CASE is never missing. None when
        ``node`` is not such a comparison."""
        sides = (node.left, node.right)
        if node.op not in ("eq", "ne") or not any(isinstance(s, ir.Sex) for s in sides):
            return None
        literal = next((s for s in sides if isinstance(s, ir.Literal)), None)
        if literal is None:
            return None
        gender = exp.column("gender_concept_id", scope.row)
        concept = next((c for c, sex in uk.SEX_OF_GENDER.items() if sex == literal.value), None)
        if concept is not None:  # g = c AND g IS NOT NULL: false, not missing, when g is missing
            test = exp.and_(exp.EQ(this=gender, expression=exp.Literal.number(concept)),
                            exp.Not(this=exp.Is(this=gender.copy(), expression=exp.Null())), copy=False)
        elif literal.value == "unknown":
            known = exp.In(this=gender.copy(), expressions=[exp.Literal.number(c) for c in uk.SEX_OF_GENDER])
            test = exp.or_(exp.Is(this=gender, expression=exp.Null()), exp.Not(this=known), copy=False)
        else:  # a word the CASE never gives
            test = exp.false()
        test = exp.paren(test, copy=False)
        return test if node.op == "eq" else exp.Not(this=test)

    @series.register
    def _(self, node: ir.IsMissing, scope: _Scope) -> exp.Expression:
        return exp.paren(exp.Is(this=self.series(node.series, scope), expression=exp.Null()), copy=False)

    @series.register
    def _(self, node: ir.And, scope: _Scope) -> exp.Expression:
        return exp.paren(exp.and_(*[self.series(a, scope) for a in node.args], copy=False), copy=False)

    @series.register
    def _(self, node: ir.Or, scope: _Scope) -> exp.Expression:
        return exp.paren(exp.or_(*[self.series(a, scope) for a in node.args], copy=False), copy=False)

    @series.register
    def _(self, node: ir.Not, scope: _Scope) -> exp.Expression:
        return exp.Not(this=exp.paren(self.series(node.arg, scope), copy=False))

    @series.register
    def _(self, node: ir.HasVariant, scope: _Scope) -> exp.Expression:
        # EXISTS over the variant extension table: false (never missing) without a matching row.
        v = self.alias("v")
        conds: list[exp.Expression] = [
            exp.EQ(this=exp.column("person_id", v), expression=exp.column("person_id", scope.row)),
        ]
        if node.genes:
            conds.append(self._in_words(exp.column("gene", v), node.genes))
        if node.clinical_significance:
            conds.append(self._in_words(exp.column("clinical_significance", v), node.clinical_significance))
        if node.zygosity:
            conds.append(self._in_words(exp.column("zygosity", v), node.zygosity))
        if node.allele is not None:
            a = node.allele
            conds += [exp.EQ(this=exp.column("chrom", v), expression=self.typed_param(a.chrom, "str")),
                      exp.EQ(this=exp.column("pos", v), expression=self.typed_param(a.pos, "int")),
                      exp.EQ(this=exp.column("ref", v), expression=self.typed_param(a.ref, "str")),
                      exp.EQ(this=exp.column("alt", v), expression=self.typed_param(a.alt, "str"))]
        if node.region is not None:
            conds += self._region(node.region, v)
        if node.hgvs is not None:
            hgvs = exp.column("hgvs", v)
            conds.append(exp.paren(exp.or_(
                exp.EQ(this=hgvs, expression=self.typed_param(node.hgvs, "str")),
                exp.StartsWith(this=hgvs.copy(), expression=self.typed_param(node.hgvs + " ", "str")),
                copy=False), copy=False))
        select = (exp.select(exp.Literal.number(1), copy=False)
                  .from_(exp.table_(VARIANT_TABLE, alias=v), copy=False)
                  .where(exp.and_(*conds, copy=False), copy=False))
        return exp.Exists(this=select)

    def _region(self, region: ir.VariantRegion, v: str) -> list[exp.Expression]:
        # first base = pos; last base = pos + length(ref) - 1 (1-based, inclusive: the store's VCF form)
        first = exp.column("pos", v)
        last = exp.Sub(this=exp.Add(this=exp.column("pos", v), expression=exp.Length(this=exp.column("ref", v))),
                       expression=exp.Literal.number(1))
        conds: list[exp.Expression] = [exp.EQ(this=exp.column("chrom", v), expression=self.typed_param(region.chrom, "str"))]
        for column, low, high in ((first, region.first_min, region.first_max), (last, region.last_min, region.last_max)):
            if low is not None:
                conds.append(exp.GTE(this=column.copy(), expression=self.typed_param(low, "int")))
            if high is not None:
                conds.append(exp.LTE(this=column.copy(), expression=self.typed_param(high, "int")))
        return conds

    def _in_words(self, column: exp.Expression, words: tuple[str, ...]) -> exp.Expression:
        return exp.In(this=column, expressions=[self.typed_param(w, "str") for w in words])

    # --- frames -----------------------------------------------------------------------------
    def _frame_agg(self, frame: ir.Frame, scope: _Scope, agg, column: str) -> exp.Expression:
        alias = self.alias("e")
        select = self._frame_select(frame, scope, agg(this=exp.column(column, alias)), alias)
        return exp.Subquery(this=select)

    def _frame_select(self, frame: ir.Frame, scope: _Scope, projection, alias: str | None = None):
        alias = alias or self.alias("e")
        conditions = [exp.EQ(this=exp.column("person_id", alias), expression=exp.column("person_id", scope.row))]
        conditions += self.frame(frame, alias, scope)
        return exp.select(projection, copy=False).from_(exp.table_(frame.domain.table, alias=alias), copy=False).where(
            exp.and_(*conditions, copy=False), copy=False
        )

    @singledispatchmethod
    def frame(self, node: ir.Frame, alias: str, scope: _Scope) -> list[exp.Expression]:
        raise UnsupportedFeature(f"{type(node).__name__} has no {self.dialect.name} translation")

    @frame.register
    def _(self, node: ir.Events, alias: str, scope: _Scope) -> list[exp.Expression]:
        return []

    @frame.register
    def _(self, node: ir.WhereConcepts, alias: str, scope: _Scope) -> list[exp.Expression]:
        column = exp.column(node.domain.concept, alias)
        included = [i for i in node.concepts.items if not i.excluded]
        excluded = [i for i in node.concepts.items if i.excluded]
        conds = [self._in_concepts(column, included)]
        if excluded:
            conds.append(exp.Not(this=exp.paren(self._in_concepts(column.copy(), excluded), copy=False)))
        return [*self.frame(node.source, alias, scope), *conds]

    @frame.register
    def _(self, node: ir.WhereValue, alias: str, scope: _Scope) -> list[exp.Expression]:
        value = exp.column(node.domain.value, alias)
        conds = [exp.Not(this=exp.Is(this=value, expression=exp.Null()))]
        if node.low is not None:
            conds.append(exp.GTE(this=value.copy(), expression=cast(self.param(float(node.low)), "DOUBLE")))
        if node.high is not None:
            conds.append(exp.LTE(this=value.copy(), expression=cast(self.param(float(node.high)), "DOUBLE")))
        if node.unit_concept_ids:
            conds.append(exp.In(this=exp.column(node.domain.unit, alias),
                                expressions=[self.param(u) for u in node.unit_concept_ids]))
        return [*self.frame(node.source, alias, scope), *conds]

    @frame.register
    def _(self, node: ir.WhereDate, alias: str, scope: _Scope) -> list[exp.Expression]:
        column_name = node.domain.start if node.event_date == "start" else node.domain.end
        if column_name is None:
            raise ir.IRError("WhereDate", "event_date", f"domain {node.domain.name!r} has no end date")
        column = exp.column(column_name, alias)
        conds: list[exp.Expression] = [exp.Not(this=exp.Is(this=column, expression=exp.Null()))]
        for days, op in ((node.start_days, exp.GTE), (node.end_days, exp.LTE)):
            if days is not None:
                bound = self.dialect.add_days(self.series(node.anchor, scope), self.typed_param(days, "int"))
                conds.append(op(this=column.copy(), expression=bound))
        return [*self.frame(node.source, alias, scope), *conds]

    def _person_fact(self, column: str, scope: _Scope) -> exp.Expression:
        # One row per person in the facts table (built by phta.cdm.physical with the same rule).
        if scope.facts is not None:
            return exp.column(column, scope.facts)
        f = self.alias("pf")
        return exp.Subquery(this=exp.select(exp.column(column, f), copy=False).from_(exp.table_(FACTS_TABLE, alias=f), copy=False)
                            .where(exp.EQ(this=exp.column("person_id", f), expression=exp.column("person_id", scope.row)), copy=False))

    def _in_concepts(self, column: exp.Expression, items: list[ir.ConceptItem]) -> exp.Expression:
        ids = sorted({i.concept_id for i in items})
        with_descendants = sorted({i.concept_id for i in items if i.descendants})
        if with_descendants and self.physical.descendants is not None:
            # Resolved once per query by the execution path: a plain IN list the engine can push
            # into the scan (and prune row groups by), instead of a semi-join on concept_ancestor.
            resolved = set(ids).union(*(self.physical.descendants.get(c, ()) for c in with_descendants))
            return exp.In(this=column, expressions=[self.param(c) for c in sorted(resolved)])
        own = exp.In(this=column, expressions=[self.param(c) for c in ids])
        if not with_descendants:
            return own
        a = self.alias("ca")
        descendants = (
            exp.select(exp.column("descendant_concept_id", a), copy=False)
            .from_(exp.table_("concept_ancestor", alias=a), copy=False)
            .where(exp.In(this=exp.column("ancestor_concept_id", a),
                          expressions=[self.param(c) for c in with_descendants]), copy=False)
        )
        return exp.paren(exp.or_(own, exp.In(this=column.copy(), query=exp.Subquery(this=descendants)), copy=False), copy=False)

    def _dob(self, scope: _Scope) -> exp.Expression:
        return self.dialect.make_date(exp.column("year_of_birth", scope.row), self._birth_part(scope, "month_of_birth"),
                                      self._birth_part(scope, "day_of_birth"))

    @staticmethod
    def _birth_part(scope: _Scope, column: str) -> exp.Expression:
        """Month or day of birth, 1 where missing (the rule of DateOfBirth)."""
        return exp.Coalesce(this=exp.column(column, scope.row), expressions=[exp.Literal.number(1)])


def _month_day(date: exp.Expression) -> exp.Expression:
    return exp.Add(this=exp.Mul(this=exp.Month(this=date), expression=exp.Literal.number(100)),
                   expression=exp.Day(this=date.copy()))


# --- entry points --------------------------------------------------------------------------


def compile_series_table(columns: dict[str, ir.Series], dialect: str = "duckdb",
                         physical: PhysicalDesign = NONE) -> Statement:
    """One row per person: ``person_id`` and each named series (ordered by person_id)."""
    c = SeriesCompiler(get_dialect(dialect), physical=physical)
    scope = _Scope("p")
    projections = [exp.column("person_id", "p")]
    for name, series in columns.items():
        projections.append(exp.alias_(c.series(series, scope), exp.to_identifier(name, quoted=True), copy=False))
    tree = (exp.select(*projections, copy=False).from_(exp.table_("person", alias="p"), copy=False)
            .order_by(exp.column("person_id", "p"), copy=False))
    return Statement(tree, dict(c.params), c.dialect.name)


RECORD_KEY_TABLE = "phta_record_key"  # built by phta.cdm.record_keys


def python_value(series_type: str, value):
    """Normalise a value fetched from an engine to the IR's Python type for the series type."""
    if value is None:
        return None
    if series_type == "date" and isinstance(value, dt.datetime):
        return value.date()
    if series_type == "float":
        return float(value)
    if series_type == "int":
        return int(value)
    if series_type == "bool":
        return bool(value)
    return value


def compile_concept_check(concept_ids: set[int], dialect: str = "duckdb") -> Statement:
    """Which of these concept ids the store's vocabulary knows (to reject unknown concepts)."""
    c = SeriesCompiler(get_dialect(dialect))
    tree = exp.select("concept_id").from_("concept").where(
        exp.In(this=exp.column("concept_id"), expressions=[c.param(i) for i in sorted(concept_ids)])
    )
    return Statement(tree, dict(c.params), c.dialect.name)


def compile_descendants(ancestor_ids: set[int], dialect: str = "duckdb") -> Statement:
    """(ancestor, descendant) pairs of these concepts in the store's ``concept_ancestor``, so the
    execution path can resolve a query's concept sets once (see :mod:`phta.query.physical`)."""
    c = SeriesCompiler(get_dialect(dialect))
    tree = exp.select("ancestor_concept_id", "descendant_concept_id").from_("concept_ancestor").where(
        exp.In(this=exp.column("ancestor_concept_id"), expressions=[c.param(i) for i in sorted(ancestor_ids)])
    )
    return Statement(tree, dict(c.params), c.dialect.name)


def descendant_ancestors(node: ir.Node) -> set[int]:
    """Concept ids of a query whose descendants it asks for (what compile_descendants resolves)."""
    out: set[int] = set()

    def walk(n) -> None:
        if isinstance(n, ir.ConceptItem):
            if n.descendants:
                out.add(n.concept_id)
            return
        if isinstance(n, ir.Node):
            for f in dataclasses.fields(n):
                walk(getattr(n, f.name))
        elif isinstance(n, tuple):
            for x in n:
                walk(x)

    walk(node)
    return out
