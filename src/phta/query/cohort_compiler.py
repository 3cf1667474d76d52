"""Compile a cohort to its SQL statements: the CTEs (candidates, the rules cascade, members) and the
membership, attrition, strata and cell-key statements over them, plus the staged form the
execution path runs on DuckDB. Series inside the cohort compile with
:class:`phta.query.compiler.SeriesCompiler`; this module only assembles the cohort's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import sqlglot.expressions as exp

from phta.cdm import schema
from phta.query import ir
from phta.query.compiler import RECORD_KEY_TABLE, SeriesCompiler, Statement, _Scope
from phta.query.dialects import Dialect, cast, get_dialect
from phta.query.physical import FACTS_TABLE, NONE, PhysicalDesign


@dataclass(frozen=True)
class CompiledCohort:
    """The statements of a cohort query: membership rows, attrition counts, strata counts."""

    membership: Statement
    #: None when compiled without attrition (``attrition=False``)
    attrition: Statement | None
    strata: Statement
    rule_names: tuple[str, ...]
    #: per-cell sums of record keys (only when asked for: the store holds ``phta_record_key``)
    cell_keys: Statement | None = None
    #: the CTEs base, rules_<i>..., flags, members (what :meth:`staged` computes once)
    ctes: exp.With | None = field(default=None, repr=False, compare=False)

    @property
    def results(self) -> tuple[Statement, ...]:
        """The statements whose rows are the result: membership[, attrition], strata[, cell keys]."""
        return tuple(s for s in (self.membership, self.attrition, self.strata, self.cell_keys) if s is not None)

    @property
    def result_names(self) -> tuple[str, ...]:
        """The names of :attr:`results`, in the same order."""
        named = (("membership", self.membership), ("attrition", self.attrition), ("strata", self.strata),
                 ("cell keys", self.cell_keys))
        return tuple(name for name, s in named if s is not None)

    def staged(self) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """The same results as one sequence of statements for one DuckDB connection: the setup
        statements compute each rules step, ``flags`` and ``members`` once into a temporary table
        (dropped with the connection), then the result statements (membership, attrition, strata
        and cell keys if compiled) read them (a one-pass attrition runs as it is). Each plain
        statement recomputes the cohort, so running all of them did the cohort's work four times.
        Returns (setup, results); the statements share nodes with the plain ones, see
        :meth:`Statement.sql`."""
        if self.ctes is None:
            raise ValueError("this cohort was compiled without its CTEs")
        # Built once per compiled cohort (a frozen dataclass: kept beside its fields), so a
        # cohort from the execution path's cache is neither staged nor rendered again.
        kept = self.__dict__.get("_staged")
        if kept is None:
            kept = self.__dict__["_staged"] = self._stage()
        return kept

    def _stage(self) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        # base (every candidate with all the person columns read) is only read by the first step,
        # so it stays a CTE of that step rather than a table of its own: for a cohort of every
        # person (an index date on a census date) that table was the costliest part.
        base, first, *rest = self.ctes.expressions
        first_step = exp.Select(**{**first.this.args, "with_": exp.With(expressions=[base])})
        setup = [_temporary_table(first.alias, first_step)] + [_temporary_table(c.alias, c.this) for c in rest]
        # A result statement over these CTEs reads their tables instead; one with CTEs of its own
        # (attrition counted in one pass, over ``ruled``) runs whole.
        tables = {cte.alias for cte in self.ctes.expressions}

        def body(tree: exp.Expression) -> exp.Expression:
            own = tree.args.get("with_")
            if own is not None and not {cte.alias for cte in own.expressions} <= tables:
                return tree
            return exp.Select(**{k: v for k, v in tree.args.items() if k != "with_"})

        bodies = [body(st.tree) for st in self.results]

        def statements(trees):
            return tuple(Statement(t, _used(t, self.membership.params), self.membership.dialect) for t in trees)

        return statements(setup), statements(bodies)


def _temporary_table(name: str, query: exp.Expression) -> exp.Create:
    return exp.Create(this=exp.table_(name), kind="TABLE", expression=query, replace=True,
                      properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def _used(tree: exp.Expression, params: dict[str, object]) -> dict[str, object]:
    """The parameters ``tree`` binds (an engine refuses values for placeholders a statement lacks)."""
    names = {p.name for p in tree.find_all(exp.Placeholder)}
    return {k: v for k, v in params.items() if k in names}


class _Shape(NamedTuple):
    ctes: exp.With  # base, [rules_<i>...,] flags, members
    lean: exp.With  # the same without members, over a narrower base
    counted: list[str]  # the CTEs whose row counts are the attrition steps (the cascade)
    conditions: list[exp.Expression]  # the rules over base rows (alias b), when applied at once
    cascade: bool


def _cohort_flags(cohort: ir.Cohort, c: SeriesCompiler, attrition: bool = True) -> _Shape:
    """The cohort's CTEs: ``base`` (candidates: persons with their index date), one ``rules_<i>``
    per inclusion rule, ``flags`` (the members with their end date) and ``members`` (their strata).

    The rules cascade: ``rules_<i>`` holds the candidates that met every earlier rule, with rule
    ``i`` evaluated for them alone, so each rule's events are looked up only for the persons still
    in the running (a hand-written query filters the same way). Attrition step ``k`` is the row
    count of ``rules_<k>`` (and of ``flags`` for the last).

    The cascade is built only when attrition is wanted, the engine keeps CTEs it reads twice, and
    the candidates are the persons with entry events. Without attrition it is not needed; on an
    engine that inlines CTEs its steps would be recomputed; when every person is a candidate (a
    census-date index) its first steps are copies of the whole person table, and one pass over
    the candidates counts the attrition in a third of the time (BRCA carriers at 11M: the path
    with attrition 0.88 s -> 0.38 s). Otherwise ``flags`` applies every rule at once (same
    members) and the rules' conditions are returned for that one pass (see :class:`_Shape`)."""
    base = _entry_base(cohort.index_date, c)
    cascade = attrition and base is not None and not c.dialect.inlines_ctes
    if base is None:
        index_date = exp.alias_(c.series(cohort.index_date, _Scope("p")), "index_date", copy=False)
        base = exp.select(exp.Star(), index_date, copy=False).from_(exp.table_("person", alias="p"), copy=False)
    if cohort.universe is not None:
        base = base.where(c.series(cohort.universe, _Scope("p")), copy=False)
    scope = _Scope("b", has_index=True)
    every_row = exp.Column(this=exp.Star(), table=exp.to_identifier("b"))
    # Each step keeps the person columns of base (b.*): the strata of the members are computed from them.
    steps: list[tuple[str, exp.Select]] = []
    previous, passed = "base", _is_candidate()
    conditions: list[exp.Expression] = []
    if cascade:
        for i, rule in enumerate(cohort.rules):
            met = exp.Coalesce(this=c.series(rule.condition, scope), expressions=[exp.false()])
            step = exp.select(every_row.copy(), exp.alias_(met, f"rule_{i}", copy=False), copy=False).from_(
                exp.table_(previous, alias="b"), copy=False).where(passed, copy=False)
            steps.append((f"rules_{i}", step))
            previous, passed = f"rules_{i}", exp.column(f"rule_{i}", "b")
    elif cohort.rules:
        # No attrition wanted: the rules are one conjunction in WHERE (a rule that is false or
        # missing drops the row either way, as COALESCE(rule, FALSE) does in the cascade), so the
        # engine orders them and turns EXISTS into semi joins whose build side filters the scan
        # of the candidates (a BRCA rule prunes the person scan to the carriers' row groups).
        conditions = [c.series(rule.condition, scope) for rule in cohort.rules]
        passed = exp.and_(passed, *conditions, copy=False)
    end = c.series(cohort.end_date, scope) if cohort.end_date is not None else cast(exp.Null(), "DATE")
    flags = exp.select(every_row, exp.alias_(end, "end_date", copy=False), copy=False).from_(
        exp.table_(previous, alias="b"), copy=False).where(passed, copy=False)
    # Strata only for the members (not every person with an index date): the facts join and the
    # strata expressions then touch the few members, and the strata queries share this CTE.
    facts = "pf" if c.physical.person_facts else None
    # Where the engine has row ids (DuckDB), the members' person columns are read again from
    # `person` by the row id base carried, rather than carried through the rules for every
    # candidate: 15k members' rows instead of 150k candidates' (HF over 75 at 11M). Joining on
    # person_id instead would count a person twice on a store with a duplicated person_id.
    row_id = c.dialect.row_id
    strata_scope = _Scope("sp" if row_id else "f", has_index=True, facts=facts, index_row="f")
    strata = {"sex": ir.Sex(), "ethnic_group": ir.EthnicGroup(), "imd_quintile": ir.ImdQuintile(),
              "site": ir.Site(), "age_band": ir.AgeAt(ir.IndexDate())}
    member_cols = [exp.column("person_id", "f")]
    member_cols += [exp.alias_(c.series(strata[name], strata_scope), f"s_{name}", copy=False) for name in cohort.strata]
    members = exp.select(*member_cols, copy=False).from_(exp.table_("flags", alias="f"), copy=False)
    if row_id:
        members = members.join(exp.table_("person", alias="sp"), copy=False, on=exp.EQ(
            this=exp.column(row_id, "sp"), expression=exp.column("person_row", "f")))
    if facts is not None:
        # A join (not a scalar subquery per row) lets the engine build its hash table on the
        # smaller side: the members, not every person in the store.
        members = members.join(exp.table_(FACTS_TABLE, alias=facts), join_type="left",
                               on=exp.EQ(this=exp.column("person_id", facts), expression=exp.column("person_id", "f")), copy=False)
    # base carries only the person columns the rules, end date and strata read: a person row has
    # about twenty, and every candidate's whole row would otherwise be scanned and carried to the
    # members (issue 6: HF-over-75 stratified was 1.5x the hand-written query for that alone).
    # The statements without strata (membership, attrition) get a base narrower still.
    lean_base = base.copy()
    by_rules = _person_columns_read(*(step for _, step in steps), flags)
    by_strata = _person_columns_read(members)
    for b, read in ((base, by_rules | by_strata), (lean_base, by_rules)):
        row = [exp.alias_(exp.column(row_id, "p"), "person_row", copy=False)] if row_id and b is base else []
        b.set("expressions", [exp.column(n, "p") for n in PERSON_COLUMNS if n in read] + row + b.expressions[1:])
    shared = [_cte(name, step) for name, step in steps] + [_cte("flags", flags)]
    ctes = exp.With(expressions=[_cte("base", base), *shared, _cte("members", members)])
    lean = exp.With(expressions=[_cte("base", lean_base), *shared])
    counted = [name for name, _ in steps] + ["flags"]
    return _Shape(ctes, lean, counted, conditions, cascade)


PERSON_COLUMNS = schema.table("person").field_names


def _is_candidate() -> exp.Expression:
    """A row of ``base`` (alias ``b``) is a candidate when it has an index date."""
    return exp.Not(this=exp.Is(this=exp.column("index_date", "b"), expression=exp.Null()))


def _person_columns_read(*trees: exp.Expression) -> set[str]:
    """The ``person`` columns read from the rows of ``base`` (aliases ``b`` and ``f``);
    ``person_id`` always."""
    read = {"person_id"}
    for tree in trees:
        read.update(c.name for c in tree.find_all(exp.Column) if c.table in ("b", "f"))
    return read


def _cte(name: str, query: exp.Expression) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _from(table: str, body: exp.Expression) -> exp.Select:
    """``SELECT body... FROM table`` without SQLGlot parsing the names (compile speed)."""
    return exp.Select(expressions=body if isinstance(body, list) else [body], from_=exp.From(this=exp.table_(table)))


def _entry_base(index_date: ir.Series, c: SeriesCompiler) -> exp.Select | None:
    """``base`` driven by the entry events, when the index date is the first (or last) date of a
    frame that does not depend on the person row: the frame's events grouped by person, joined to
    ``person``. The general form evaluates the index date for every person in the store (a scalar
    subquery per person row); this one touches only the few persons with an entry event, as a
    hand-written query would. Same rows: persons without an entry event have no index date and
    ``flags`` drops them in both forms. None when the shortcut does not apply."""
    if not isinstance(index_date, ir.FirstDate | ir.LastDate):
        return None
    saved = (dict(c.params), c._aliases)
    alias = c.alias("e")
    conds = c.frame(index_date.frame, alias, _Scope("p"))
    if any(col.table == "p" for cond in conds for col in cond.find_all(exp.Column)):
        c.params, c._aliases = saved  # e.g. a window anchored on date of birth: the general form
        return None
    agg = exp.Min if isinstance(index_date, ir.FirstDate) else exp.Max
    domain = index_date.frame.domain
    entry = exp.select(exp.column("person_id", alias),
                       exp.alias_(agg(this=exp.column(domain.start, alias)), "index_date", copy=False), copy=False).from_(
        exp.table_(domain.table, alias=alias), copy=False)
    if conds:
        entry = entry.where(exp.and_(*conds, copy=False), copy=False)
    entry = entry.group_by(exp.column("person_id", alias), copy=False)
    return (exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("p")), exp.column("index_date", "x"), copy=False)
            .from_(exp.Subquery(this=entry, alias=exp.TableAlias(this=exp.to_identifier("x"))), copy=False)
            .join(exp.table_("person", alias="p"),
                  on=exp.EQ(this=exp.column("person_id", "p"), expression=exp.column("person_id", "x")), copy=False))


def compile_cohort(
    cohort: ir.Cohort, dialect: str = "duckdb", physical: PhysicalDesign = NONE, *, cell_keys: bool = False,
    attrition: bool = True,
) -> CompiledCohort:
    """The cohort's statements. They share their CTE nodes instead of each holding a copy (copies
    were most of the compile time): every consumer of a statement's tree copies before it changes
    it (SQLGlot's ``sql()``, :func:`phta.engines.params.bind`, :mod:`phta.query.restrict`).

    With ``attrition=False`` (a request for counts and strata only) there is no attrition
    statement and the rules are applied at once rather than as a cascade of steps: the same
    members, and the engine is free to order the rules (issue 6: a census-date cohort of BRCA
    carriers was 19-97x the hand-written query when every step over every person was kept).

    On an engine that inlines CTEs (Spark), and for a cohort of every person (a census-date index),
    the rules are always applied at once, and attrition is one pass that evaluates every rule
    once per candidate and counts the running conjunctions (see :func:`_cohort_flags`)."""
    c = SeriesCompiler(get_dialect(dialect), physical=physical)
    ctes, lean, counted, conditions, cascade = _cohort_flags(cohort, c, attrition)
    single_pass = attrition and not cascade
    params = dict(c.params)

    membership = _from("flags", [exp.column("person_id"), exp.alias_(exp.column("index_date"), "start_date", copy=False),
                                 exp.column("end_date")])
    membership = membership.order_by(exp.Ordered(this=exp.column("person_id"), nulls_first=True), copy=False)
    membership.set("with_", lean)

    if single_pass:
        attrition_sql = _single_pass_attrition(lean, conditions)
    else:
        # Step k is how many candidates met rules 0..k-1, the row count of the k-th CTE.
        counts = [exp.alias_(exp.Subquery(this=_from(name, exp.Count(this=exp.Star()))), f"n_{k}", copy=False)
                  for k, name in enumerate(counted)]
        attrition_sql = exp.Select(expressions=counts)
        attrition_sql.set("with_", lean)

    if len(cohort.strata) > 1 and c.dialect.inlines_ctes:
        # One aggregate over GROUPING SETS: a union of one GROUP BY per stratum reads `members`
        # once per stratum, and an engine that inlines CTEs computes the cohort again each time.
        strata = _grouping_sets_strata(cohort.strata)
        strata.set("with_", ctes)
    elif cohort.strata:
        parts = [
            _from("members", [exp.alias_(exp.Literal.string(name), "stratum", copy=False),
                              exp.alias_(cast(exp.column(f"s_{name}"), "VARCHAR"), "value", copy=False),
                              exp.alias_(exp.Count(this=exp.Star()), "n", copy=False)])
            .group_by(exp.column(f"s_{name}"), copy=False)
            for name in cohort.strata
        ]
        strata: exp.Expression = parts[0]
        for p in parts[1:]:
            strata = exp.union(strata, p, distinct=False, copy=False)
        strata = exp.Select(expressions=[exp.column("stratum"), exp.column("value"), exp.column("n")],
                            from_=exp.From(this=exp.Subquery(this=strata, alias="s")))
        strata.set("with_", ctes)
    else:  # no strata requested: an empty result of the right shape
        strata = exp.select(exp.alias_(exp.Literal.string(""), "stratum", copy=False),
                            exp.alias_(exp.Literal.string(""), "value", copy=False),
                            exp.alias_(exp.Literal.number(0), "n", copy=False), copy=False).where(exp.false(), copy=False)
        strata.set("with_", lean)

    def stmt(tree):
        # An engine refuses values for placeholders a statement lacks: the one-pass attrition
        # does not read the end date's.
        return Statement(tree, _used(tree, params) if tree is attrition_sql and single_pass else params, c.dialect.name)

    keys = None
    if cell_keys:
        keys = _cell_key_sums(cohort, c.dialect)
        keys.set("with_", ctes)
    return CompiledCohort(stmt(membership), stmt(attrition_sql) if attrition else None, stmt(strata),
                          tuple(r.name for r in cohort.rules),
                          stmt(keys) if keys is not None else None, ctes)


def _grouping_sets_strata(names: tuple[str, ...]) -> exp.Select:
    """Rows (stratum, value, n) of every stratum from one aggregate over ``members``: the grouping
    set a row belongs to is the stratum whose column is grouped (``GROUPING(col) = 0``); a missing
    value of that column stays a row of its own, as in a GROUP BY of that column alone."""
    def col(name: str) -> exp.Column:
        return exp.column(f"s_{name}")

    stratum, value = exp.Case(), exp.Case()
    for name in names:
        grouped = exp.EQ(this=exp.Grouping(expressions=[col(name)]), expression=exp.Literal.number(0))
        stratum = stratum.when(grouped, exp.Literal.string(name), copy=False)
        value = value.when(grouped.copy(), cast(col(name), "VARCHAR"), copy=False)
    sets = exp.GroupingSets(expressions=[exp.paren(col(name), copy=False) for name in names])
    return exp.Select(expressions=[exp.alias_(stratum, "stratum", copy=False), exp.alias_(value, "value", copy=False),
                                   exp.alias_(exp.Count(this=exp.Star()), "n", copy=False)],
                      from_=exp.From(this=exp.table_("members")), group=exp.Group(expressions=[sets]))


def _single_pass_attrition(lean: exp.With, conditions: list[exp.Expression]) -> exp.Select:
    """Attrition in one pass over the candidates: ``ruled`` holds each rule's outcome (missing
    counted as not met, as in the cascade), and step ``k`` counts the candidates meeting rules
    0..k-1. The same numbers as the cascade's row counts; each rule evaluated once per candidate."""
    flags = [exp.alias_(exp.Coalesce(this=cond, expressions=[exp.false()]), f"rule_{i}", copy=False)
             for i, cond in enumerate(conditions)]
    ruled = exp.select(*(flags or [exp.alias_(exp.true(), "candidate", copy=False)]), copy=False).from_(
        exp.table_("base", alias="b"), copy=False).where(_is_candidate(), copy=False)
    counts: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "n_0", copy=False)]
    for k in range(1, len(conditions) + 1):
        met = exp.and_(*(exp.column(f"rule_{i}") for i in range(k)), copy=False)
        when = exp.Case().when(met, exp.Literal.number(1), copy=False)
        counts.append(exp.alias_(exp.Count(this=when), f"n_{k}", copy=False))
    base = lean.expressions[0]  # the narrow base; the flat form's flags and members are not read
    return exp.Select(expressions=counts, from_=exp.From(this=exp.table_("ruled")),
                      with_=exp.With(expressions=[base, _cte("ruled", ruled)]))


_KEY_RESOLUTION = 2**32  # record keys have 32-bit resolution (phta.disclosure.cellkey)


def _cell_key_sums(cohort: ir.Cohort, dialect: Dialect) -> exp.Select:
    """Rows (stratum, value, key_sum): the members' record keys as 32-bit integers, summed per
    stratum cell and for the whole cohort (stratum ``"*"``). Summing integers keeps the cell key
    exact and independent of row order; the caller takes it modulo 2**32. A member without a
    record key contributes 0 (every person has one once the table is built)."""
    key_int = exp.Coalesce(this=cast(exp.Mul(this=exp.column("record_key", "rk"),
                                                  expression=exp.Literal.number(_KEY_RESOLUTION)), "BIGINT"),
                           expressions=[exp.Literal.number(0)])

    def part(stratum: str, value: exp.Expression, group: exp.Expression | None) -> exp.Select:
        select = (
            exp.select(exp.alias_(exp.Literal.string(stratum), "stratum", copy=False), exp.alias_(value, "value", copy=False),
                       exp.alias_(cast(exp.Sum(this=key_int.copy()), dialect.types["key_sum"]), "key_sum", copy=False), copy=False)
            .from_(exp.table_("members", alias="f"), copy=False)
            .join(exp.table_(RECORD_KEY_TABLE, alias="rk"),
                  on=exp.EQ(this=exp.column("person_id", "rk"), expression=exp.column("person_id", "f")), join_type="left", copy=False)
        )
        return select.group_by(group, copy=False) if group is not None else select

    parts = [part("*", cast(exp.Null(), "VARCHAR"), None)]
    for name in cohort.strata:
        parts.append(part(name, cast(exp.column(f"s_{name}", "f"), "VARCHAR"), exp.column(f"s_{name}", "f")))
    union: exp.Expression = parts[0]
    for p in parts[1:]:
        union = exp.union(union, p, distinct=False, copy=False)
    return exp.Select(expressions=[exp.column("stratum"), exp.column("value"), exp.column("key_sum")],
                      from_=exp.From(this=exp.Subquery(this=union, alias="k")))
