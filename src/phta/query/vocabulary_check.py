"""Is a query within its purpose's vocabulary? A pure check, run at validation (before compiling).

:func:`features_used` walks a PHTA cohort (:class:`~phta.query.ir.Cohort`) or an ATLAS/Circe
cohort (:class:`~phta.query.ir_circe.CirceCohort`, or any other IR node) and lists every
vocabulary feature (:data:`phta.query.purpose_vocabulary.FEATURES`) it uses, in walk order, each
with the path and name of the node that uses it. :func:`check_vocabulary` raises
:class:`VocabularyRefused` for the first one the purpose does not allow.

Dates are where identifying detail hides, so they are judged by what a query can learn from
them, not by node kind alone. A *fixed* date is one the query states (a date literal, the index
date of a census cohort whose index is a literal, either shifted by a literal number of days).
A fixed date is calendar-month precision (``calendar_month``) only where it can tell apart
whole months and nothing finer: ``x < 1 March`` or ``x >= 1 March``, ``x <= 31 March`` or
``x > 31 March``, a window on a fixed date that covers whole months, the age or observation
period on the 1st of a month. Anything else on a fixed date is ``exact_date``: equality with a
fixed date, a window on it that starts or ends mid-month, days between it and an event, a fixed
date used any other way. Dates relative to events (windows on the index date or on an event,
days between two events) are ``relative_window``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from phta.query import ir
from phta.query import ir_circe as c
from phta.query.nodes import IRError, Node
from phta.query.purpose_vocabulary import FEATURES, allowed_features


@dataclass(frozen=True)
class Use:
    """One use of a vocabulary feature: by which node, where (a path from the query's root)."""

    feature: str
    node: str
    path: str
    detail: str = ""


class VocabularyRefused(IRError):
    """The query uses a feature its purpose's vocabulary does not allow. Names the node, its
    path, the feature and the purpose (and the data node, when the check ran for one)."""

    def __init__(self, use: Use, purpose: str, data_node: str | None = None):
        feature = FEATURES[use.feature]
        where = f" (node {data_node})" if data_node else ""
        detail = f" ({use.detail})" if use.detail else ""
        message = (f"{feature.title}{detail} is not in the query vocabulary of purpose {purpose!r}{where}: "
                   f"{feature.why}; {feature.instead}")
        super().__init__(use.node, None, message, use.path or "the query")
        self.use, self.purpose, self.data_node = use, purpose, data_node


def check_vocabulary(query: Node, purpose: str, *, data_node: str | None = None) -> None:
    """Raise VocabularyRefused for the first feature of ``query`` that ``purpose`` does not allow."""
    refused = first_refused(query, purpose)
    if refused is not None:
        raise VocabularyRefused(refused, purpose, data_node)


def first_refused(query: Node, purpose: str) -> Use | None:
    allowed = allowed_features(purpose)
    return next((u for u in features_used(query) if u.feature not in allowed), None)


def features_used(query: Node) -> list[Use]:
    walker = _Walker(_fixed_index(query))
    walker.visit(query, "")
    return walker.uses


def _fixed_index(query: Node) -> dt.date | None:
    if isinstance(query, ir.Cohort):
        return _fixed(query.index_date, None)
    return None


def _fixed(node: Node, index: dt.date | None) -> dt.date | None:
    """The date a date expression always has, whoever the person, or None (depends on the person)."""
    if isinstance(node, ir.Literal) and node.value_type == "date":
        return node.value  # type: ignore[return-value]
    if isinstance(node, ir.IndexDate):
        return index
    if isinstance(node, ir.AddDays) and isinstance(node.days, ir.Literal):
        base = _fixed(node.date, index)
        return None if base is None else base + dt.timedelta(days=int(node.days.value))  # type: ignore[arg-type]
    return None


def _mentions_fixed(node: Node, index: dt.date | None) -> bool:
    return any(_fixed(n, index) is not None for n in node.walk())


def _month_start(d: dt.date) -> bool:
    return d.day == 1


def _month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


def _bound_ok(op: str, d: dt.date) -> bool:
    """Whether ``x op d`` tells apart whole months only (``op`` in PHTA or Circe spelling)."""
    if op in ("lt", "ge", "gte"):
        return _month_start(d)
    if op in ("le", "lte", "gt"):
        return _month_end(d)
    return False  # eq, ne: a single day


def _iso(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


_FLIPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
_ETHNIC_ATTRIBUTES = {"Race", "RaceCS", "Ethnicity", "EthnicityCS"}
_AGE_ATTRIBUTES = {"Age", "AgeAtStart", "AgeAtEnd"}
_SIMPLE = {ir.PersonIn: "person_ids", ir.DateOfBirth: "date_of_birth", ir.EthnicCategory: "ethnic_category",
           ir.EthnicGroup: "ethnic_group", ir.Site: "site", c.TextFilter: "free_text",
           c.CorrelatedCriterion: "relative_window"}
_STRATA = {"age_band": "age_in_years", "ethnic_group": "ethnic_group", "site": "site"}


class _Walker:
    def __init__(self, index: dt.date | None):
        self.index = index
        self.uses: list[Use] = []

    def use(self, feature: str, node: Node, path: str, detail: str = "") -> None:
        self.uses.append(Use(feature, type(node).__name__, path, detail))

    def fixed_date(self, ok: bool, node: Node, path: str, day: dt.date) -> None:
        self.use("calendar_month" if ok else "exact_date", node, path, f"on {day.isoformat()}")

    def visit(self, node: Node, path: str) -> None:
        """Children first (so the deepest node is named: DateOfBirth before the Compare holding
        it), then the node's own uses."""
        mine = _Walker(self.index)
        skip = mine.judge(node, path)
        for name, child in _children(node):
            if name.split("[")[0] not in skip:
                self.visit(child, _join(path, name))
        self.uses.extend(mine.uses)

    def judge(self, node: Node, path: str) -> set[str]:
        """Record ``node``'s own uses; return the fields judged with it (not to be walked again)."""
        skip: set[str] = set()
        feature = _SIMPLE.get(type(node))
        if feature is not None:
            self.use(feature, node, path)
        if isinstance(node, ir.Cohort):
            if self.index is not None:
                self.fixed_date(_month_start(self.index), node, _join(path, "index_date"), self.index)
                skip.add("index_date")
            for s in node.strata:
                if s in _STRATA:
                    self.use(_STRATA[s], node, _join(path, "strata"), f"the {s} stratum")
        elif isinstance(node, ir.Literal) and node.value_type == "date":
            self.fixed_date(_month_start(node.value), node, path, node.value)  # type: ignore[arg-type]
        elif isinstance(node, ir.AgeAt | ir.YearAgeAt):
            self.use("age_in_years", node, path)
            day = _fixed(node.date, self.index)
            if day is not None:  # YearAgeAt reads the year only; AgeAt the day, so the 1st of a month
                self.fixed_date(isinstance(node, ir.YearAgeAt) or _month_start(day), node, path, day)
                skip.add("date")
        elif isinstance(node, ir.ObservationPeriodStart | ir.ObservationPeriodEnd):
            day = _fixed(node.date, self.index)
            if day is not None:
                self.fixed_date(_month_start(day), node, path, day)
                skip.add("date")
        elif isinstance(node, ir.WhereDate):
            skip |= self._where_date(node, path)
        elif isinstance(node, ir.Compare) and node.left.type == "date":
            skip |= self._compare_dates(node, path)
        elif isinstance(node, ir.DaysBetween):
            start, end = _fixed(node.start, self.index), _fixed(node.end, self.index)
            if (start is None) != (end is None):
                day = start or end
                self.use("exact_date", node, path, f"days from {day.isoformat()}")  # type: ignore[union-attr]
                skip |= {"start"} if start else {"end"}
            elif start is None:
                self.use("relative_window", node, path)
            else:
                skip |= {"start", "end"}  # a constant: says nothing about anyone
        elif isinstance(node, ir.AddDays):
            if _fixed(node, self.index) is not None:
                skip |= {"date", "days"}  # judged where the shifted date is used
            elif _mentions_fixed(node.date, self.index):
                self.use("exact_date", node, path, "a fixed date shifted by a per-person number of days")
                skip.add("date")
            else:
                self.use("relative_window", node, path)
        elif isinstance(node, ir.HasVariant):
            # a position range can narrow to one allele as surely as naming it
            exact = node.allele is not None or node.hgvs is not None or node.region is not None
            self.use("variant_allele" if exact else "variant_gene", node, path)
        elif isinstance(node, c.DateFilter):
            self._circe_date_filter(node, path)
        elif isinstance(node, c.PeriodFilter):
            self.use("exact_date", node, path, f"{node.attribute} replaces event dates with fixed dates")
        elif isinstance(node, c.NumberFilter) and node.attribute in _AGE_ATTRIBUTES:
            self.use("age_in_years", node, path, node.attribute)
        elif isinstance(node, c.ConceptFilter | c.CodesetFilter) and node.attribute in _ETHNIC_ATTRIBUTES:
            self.use("ethnic_category", node, path, node.attribute)
        elif isinstance(node, c.CirceCohort):
            for name, ok in (("censor_start", _month_start), ("censor_end", _month_end)):
                day = _iso(getattr(node, name))
                if day is not None:
                    self.fixed_date(ok(day), node, _join(path, name), day)
        return skip

    def _where_date(self, node: ir.WhereDate, path: str) -> set[str]:
        anchor = _fixed(node.anchor, self.index)
        if anchor is None:
            self.use("relative_window", node, path)
            return set()
        start = None if node.start_days is None else anchor + dt.timedelta(days=node.start_days)
        end = None if node.end_days is None else anchor + dt.timedelta(days=node.end_days)
        ok = (start is None or _month_start(start)) and (end is None or _month_end(end))
        shown = f"{start.isoformat() if start else '...'} to {end.isoformat() if end else '...'}"
        self.use("calendar_month" if ok else "exact_date", node, path, f"events from {shown}")
        return {"anchor"}

    def _compare_dates(self, node: ir.Compare, path: str) -> set[str]:
        left, right = _fixed(node.left, self.index), _fixed(node.right, self.index)
        if left is None and right is None:
            self.use("relative_window", node, path)
            return set()
        if left is not None and right is not None:
            return {"left", "right"}  # a constant: says nothing about anyone
        op, day = (node.op, right) if right is not None else (_FLIPPED[node.op], left)
        assert day is not None
        self.use("calendar_month" if _bound_ok(op, day) else "exact_date", node, path,
                 f"a date {op} {day.isoformat()}")
        return {"right"} if right is not None else {"left"}

    def _circe_date_filter(self, node: c.DateFilter, path: str) -> None:
        value, extent = dt.date.fromisoformat(node.value), _iso(node.extent)
        if node.op in ("bt", "!bt"):
            ok = _month_start(value) and extent is not None and _month_end(extent)
        else:
            ok = _bound_ok(node.op, value)
        span = f"{value.isoformat()}..{extent.isoformat()}" if extent and node.op.endswith("bt") else value.isoformat()
        self.use("calendar_month" if ok else "exact_date", node, path, f"{node.attribute} {node.op} {span}")


def _children(node: Node):
    for f in fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield f.name, value
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, Node):
                    yield f"{f.name}[{i}]", item


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
