"""Circe cohort expression JSON (as ATLAS exports it) -> :class:`~phta.query.ir_circe.CirceCohort`.

Strict: every key is either understood or rejected with an :class:`~phta.query.ir.IRError` naming
its JSON path (``$.InclusionRules[2].expression.CriteriaList[0].Criteria.DrugExposure.LotNumber``),
so no part of a definition is silently ignored. ``null`` values mean "not set", as in Circe.
Circe's defaults are applied here, once, so the IR states them explicitly.
"""

from __future__ import annotations

import math

from phta.query import ir_circe as c
from phta.query import strict_json
from phta.query.circe.domains import (
    CRITERIA,
    UNSUPPORTED_ATTRIBUTES,
    UNSUPPORTED_CRITERIA,
    count_token,
)
from phta.query.ir import IRError
from phta.query.nodes import INT64_MAX

# Keys that carry no semantics (labels, ATLAS bookkeeping).
_METADATA = {"Title", "cdmVersionRange", "name", "description", "id"}


class CirceImportError(IRError):
    """A Circe expression is malformed or uses a feature PHTA does not support; names the JSON path."""

    def __init__(self, path: str, message: str):
        super().__init__("CirceExpression", None, message, path)


def import_expression(doc: str | bytes | dict) -> c.CirceCohort:
    if isinstance(doc, str | bytes):
        try:
            doc = strict_json.loads(doc)
        except strict_json.JsonInputError as e:
            raise CirceImportError(e.path, e.message) from None
    return _Importer().cohort(doc, "$")


def looks_like_circe(doc) -> bool:
    """True for a Circe expression (ATLAS export), false for a PHTA query document."""
    return isinstance(doc, dict) and "PrimaryCriteria" in doc and "phta_query" not in doc


def _obj(v, path: str, known: set[str]) -> dict:
    if not isinstance(v, dict):
        raise CirceImportError(path, f"expected an object, got {type(v).__name__}")
    for k, value in v.items():
        if k not in known and k not in _METADATA and value is not None:
            raise CirceImportError(f"{path}.{k}", f"unsupported Circe feature {k!r}")
    return v


def _list(v, path: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise CirceImportError(path, f"expected a list, got {type(v).__name__}")
    return v


def _int(v, path: str, default=None):
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or int(v) != v:
        raise CirceImportError(path, f"expected an integer, got {v!r}")
    if abs(v) > INT64_MAX:
        raise CirceImportError(path, f"{v} is out of range (integers here fit in 64 bits)")
    return int(v)


def _concept_id(v, path: str) -> int | None:
    # A concept object carries its name, code, vocabulary...; only CONCEPT_ID has meaning here.
    if not isinstance(v, dict):
        raise CirceImportError(path, "expected a concept object")
    concept_id = _int(v.get("CONCEPT_ID"), f"{path}.CONCEPT_ID")
    if concept_id is not None and concept_id < 0:
        raise CirceImportError(f"{path}.CONCEPT_ID", f"concept ids are not negative, got {concept_id}")
    return concept_id


def _bool(v, path: str, default=False):
    if v is None:
        return default
    if not isinstance(v, bool):
        raise CirceImportError(path, f"expected true or false, got {v!r}")
    return v


def _limit(v, path: str) -> str:
    body = _obj(v or {}, path, {"Type"})
    t = body.get("Type") or "First"
    norm = {x.upper(): x for x in c.LIMITS}.get(str(t).upper())
    if norm is None:
        raise CirceImportError(f"{path}.Type", f"expected First, Last or All, got {t!r}")
    return norm


def _wrap(fn):
    """Turn IR validation errors into errors at the JSON path being imported; so too a value of
    the wrong JSON type deep inside (a list where a string belongs), which would otherwise
    surface as a TypeError/AttributeError: the path of the innermost element imported names it."""

    def inner(self, v, path, *a):
        try:
            return fn(self, v, path, *a)
        except CirceImportError:
            raise
        except IRError as e:
            raise CirceImportError(path, str(e)) from None
        except (TypeError, AttributeError, KeyError) as e:
            raise CirceImportError(path, f"a value here has the wrong JSON type ({type(e).__name__}: {e})") from None

    return inner


class _Importer:
    @_wrap
    def cohort(self, v, path) -> c.CirceCohort:
        body = _obj(v, path, {"ConceptSets", "PrimaryCriteria", "AdditionalCriteria", "QualifiedLimit",
                              "ExpressionLimit", "InclusionRules", "EndStrategy", "CensoringCriteria",
                              "CollapseSettings", "CensorWindow"})
        if body.get("PrimaryCriteria") is None:
            raise CirceImportError(f"{path}.PrimaryCriteria", "a cohort expression needs PrimaryCriteria")
        sets = tuple(self.concept_set(x, f"{path}.ConceptSets[{i}]")
                     for i, x in enumerate(_list(body.get("ConceptSets"), f"{path}.ConceptSets")))
        pp = f"{path}.PrimaryCriteria"
        pc = _obj(body["PrimaryCriteria"], pp, {"CriteriaList", "ObservationWindow", "PrimaryCriteriaLimit"})
        primary = tuple(self.criterion(x, f"{pp}.CriteriaList[{i}]")
                        for i, x in enumerate(_list(pc.get("CriteriaList"), f"{pp}.CriteriaList")))
        if not primary:
            raise CirceImportError(f"{pp}.CriteriaList", "needs at least one entry event criterion")
        ow = _obj(pc.get("ObservationWindow") or {}, f"{pp}.ObservationWindow", {"PriorDays", "PostDays"})
        additional = None
        if body.get("AdditionalCriteria") is not None:
            additional = self.group(body["AdditionalCriteria"], f"{path}.AdditionalCriteria")
        rules = []
        for i, r in enumerate(_list(body.get("InclusionRules"), f"{path}.InclusionRules")):
            rp = f"{path}.InclusionRules[{i}]"
            rb = _obj(r, rp, {"expression"})
            name = rb.get("name") or f"Inclusion rule {i + 1}"
            rules.append(c.CirceInclusionRule(name, self.group(rb.get("expression"), f"{rp}.expression")))
        censoring = tuple(self.criterion(x, f"{path}.CensoringCriteria[{i}]")
                          for i, x in enumerate(_list(body.get("CensoringCriteria"), f"{path}.CensoringCriteria")))
        collapse = _obj(body.get("CollapseSettings") or {}, f"{path}.CollapseSettings", {"CollapseType", "EraPad"})
        if collapse.get("CollapseType") not in (None, "ERA"):
            raise CirceImportError(f"{path}.CollapseSettings.CollapseType", "only ERA collapse exists in Circe")
        window = _obj(body.get("CensorWindow") or {}, f"{path}.CensorWindow", {"StartDate", "EndDate"})
        return c.CirceCohort(
            concept_sets=sets, primary=primary,
            prior_days=_int(ow.get("PriorDays"), f"{pp}.ObservationWindow.PriorDays", 0),
            post_days=_int(ow.get("PostDays"), f"{pp}.ObservationWindow.PostDays", 0),
            primary_limit=_limit(pc.get("PrimaryCriteriaLimit"), f"{pp}.PrimaryCriteriaLimit"),
            additional=additional,
            qualified_limit=_limit(body.get("QualifiedLimit"), f"{path}.QualifiedLimit"),
            inclusion_rules=tuple(rules),
            expression_limit=_limit(body.get("ExpressionLimit"), f"{path}.ExpressionLimit"),
            end_strategy=self.end_strategy(body.get("EndStrategy"), f"{path}.EndStrategy"),
            censoring=censoring,
            era_pad=_int(collapse.get("EraPad"), f"{path}.CollapseSettings.EraPad", 0),
            censor_start=window.get("StartDate") or None, censor_end=window.get("EndDate") or None,
        )

    @_wrap
    def concept_set(self, v, path) -> c.CirceConceptSet:
        body = _obj(v, path, {"expression"})
        cs_id = _int(body.get("id"), f"{path}.id")
        if cs_id is None:
            raise CirceImportError(f"{path}.id", "a concept set needs an id")
        expr = _obj(body.get("expression") or {}, f"{path}.expression", {"items"})
        items = []
        for i, it in enumerate(_list(expr.get("items"), f"{path}.expression.items")):
            ip = f"{path}.expression.items[{i}]"
            ib = _obj(it, ip, {"concept", "isExcluded", "includeDescendants", "includeMapped"})
            cid = _concept_id(ib.get("concept"), f"{ip}.concept")
            if cid is None:
                raise CirceImportError(f"{ip}.concept.CONCEPT_ID", "a concept set item needs a CONCEPT_ID")
            items.append(c.CirceConceptItem(cid, _bool(ib.get("includeDescendants"), f"{ip}.includeDescendants"),
                                            _bool(ib.get("includeMapped"), f"{ip}.includeMapped"),
                                            _bool(ib.get("isExcluded"), f"{ip}.isExcluded")))
        return c.CirceConceptSet(cs_id, tuple(items))

    @_wrap
    def criterion(self, v, path) -> c.DomainCriterion:
        if not isinstance(v, dict) or len(v) != 1:
            raise CirceImportError(path, "expected an object with one criterion kind, e.g. {\"ConditionOccurrence\": {...}}")
        ((kind, body),) = v.items()
        path = f"{path}.{kind}"
        if kind in UNSUPPORTED_CRITERIA:
            raise CirceImportError(path, f"unsupported Circe criterion {kind}: {UNSUPPORTED_CRITERIA[kind]}")
        spec = CRITERIA.get(kind)
        if spec is None:
            raise CirceImportError(path, f"unknown Circe criterion kind {kind!r}")
        exclude_flags = {a.exclude_flag for a in spec.attributes.values() if a.exclude_flag}
        known = {"CodesetId", "First", "CorrelatedCriteria", "DateAdjustment", *spec.attributes, *exclude_flags}
        if kind == "CustomEra":
            known |= {"CriteriaList", "GapDays"}
        if spec.concept is None:
            known.discard("CodesetId")
        if not spec.has_first:
            known.discard("First")
        for name, why in UNSUPPORTED_ATTRIBUTES.items():
            if isinstance(body, dict) and body.get(name) is not None:
                raise CirceImportError(f"{path}.{name}", f"unsupported Circe feature {name!r}: {why}")
        body = _obj(body or {}, path, known)
        filters = []
        for name, attr in spec.attributes.items():
            if body.get(name) is None:
                continue
            f = self.filter(name, attr, body[name], f"{path}.{name}", body.get(attr.exclude_flag) if attr.exclude_flag else None)
            if f is not None:
                filters.append(f)
        correlated = None
        if body.get("CorrelatedCriteria") is not None:
            g = self.group(body["CorrelatedCriteria"], f"{path}.CorrelatedCriteria")
            correlated = None if g.is_empty() else g  # Circe ignores an empty correlated group
        adjustment = None
        if body.get("DateAdjustment") is not None:
            ap = f"{path}.DateAdjustment"
            ab = _obj(body["DateAdjustment"], ap, {"StartWith", "StartOffset", "EndWith", "EndOffset"})
            adjustment = c.DateAdjustment(ab.get("StartWith") or "START_DATE", _int(ab.get("StartOffset"), ap, 0),
                                          ab.get("EndWith") or "END_DATE", _int(ab.get("EndOffset"), ap, 0))
        args = (kind, _int(body.get("CodesetId"), f"{path}.CodesetId"), _bool(body.get("First"), f"{path}.First"),
                tuple(filters), correlated, adjustment)
        if kind == "CustomEra":
            members = tuple(self.criterion(x, f"{path}.CriteriaList[{i}]")
                            for i, x in enumerate(_list(body.get("CriteriaList"), f"{path}.CriteriaList")))
            for i, m in enumerate(members):
                if m.kind == "Episode":
                    raise CirceImportError(f"{path}.CriteriaList[{i}].Episode", c.CUSTOM_ERA_EPISODE)
            if not members:
                raise CirceImportError(f"{path}.CriteriaList", "a custom era needs at least one criterion "
                                       "(Circe: CustomEra.CriteriaList can not be null or empty)")
            return c.CustomEraCriterion(*args, members=members, gap_days=_int(body.get("GapDays"), f"{path}.GapDays", 0))
        return c.DomainCriterion(*args)

    def filter(self, name, attr, v, path, exclude):
        kind = attr.filter
        if kind in ("DateFilter", "NumberFilter"):
            b = _obj(v, path, {"Value", "Op", "Extent"})
            op = b.get("Op")
            if op is None:
                raise CirceImportError(f"{path}.Op", "a range needs an Op")
            if not isinstance(op, str):
                raise CirceImportError(f"{path}.Op", f"expected an operator name such as \"gte\", got {op!r}")
            if kind == "DateFilter":
                return c.DateFilter(name, op, b.get("Value"), b.get("Extent"))
            value, extent = b.get("Value"), b.get("Extent")
            if not op.endswith("bt"):
                extent = None
            return c.NumberFilter(name, op, value, extent)
        if kind == "ConceptFilter":
            ids = []
            for i, concept in enumerate(_list(v, path)):
                ids.append(_concept_id(concept, f"{path}[{i}]"))
            if not ids:
                return None  # Circe ignores an empty list
            return c.ConceptFilter(name, tuple(ids), _bool(exclude, path + "Exclude"))
        if kind == "CodesetFilter":
            if attr.bare_codeset:  # a bare codeset id (the *SourceConcept attributes, PayerPlanPeriod's)
                return c.CodesetFilter(name, _int(v, path))
            b = _obj(v, path, {"CodesetId", "IsExclusion"})
            return c.CodesetFilter(name, _int(b.get("CodesetId"), f"{path}.CodesetId"),
                                   _bool(b.get("IsExclusion"), f"{path}.IsExclusion"))
        if kind == "TextFilter":
            b = _obj(v, path, {"Text", "Op"})
            return c.TextFilter(name, b.get("Op") or "contains", b.get("Text") or "")
        if kind == "PeriodFilter":
            b = _obj(v, path, {"StartDate", "EndDate"})
            return c.PeriodFilter(name, b.get("StartDate") or None, b.get("EndDate") or None)
        if kind == "FlagFilter":
            return c.FlagFilter(name, True) if _bool(v, path) else None  # Circe only applies Abnormal=true
        raise CirceImportError(path, f"no importer for {kind}")  # pragma: no cover - table is closed

    @_wrap
    def group(self, v, path) -> c.CriteriaGroup:
        body = _obj(v, path, {"Type", "Count", "CriteriaList", "DemographicCriteriaList", "Groups"})
        gtype = str(body.get("Type") or "ALL").upper()
        criteria = tuple(self.correlated(x, f"{path}.CriteriaList[{i}]")
                         for i, x in enumerate(_list(body.get("CriteriaList"), f"{path}.CriteriaList")))
        demo = tuple(self.demographic(x, f"{path}.DemographicCriteriaList[{i}]")
                     for i, x in enumerate(_list(body.get("DemographicCriteriaList"), f"{path}.DemographicCriteriaList")))
        groups = tuple(self.group(x, f"{path}.Groups[{i}]")
                       for i, x in enumerate(_list(body.get("Groups"), f"{path}.Groups")))
        count = _int(body.get("Count"), f"{path}.Count") if gtype.startswith("AT_") else None
        return c.CriteriaGroup(gtype, criteria, demo, groups, count)

    @_wrap
    def correlated(self, v, path) -> c.CorrelatedCriterion:
        body = _obj(v, path, {"Criteria", "StartWindow", "EndWindow", "RestrictVisit", "IgnoreObservationPeriod",
                              "Occurrence"})
        if body.get("Criteria") is None:
            raise CirceImportError(f"{path}.Criteria", "a correlated criterion needs a Criteria")
        criterion = self.criterion(body["Criteria"], f"{path}.Criteria")
        start = self.window(body.get("StartWindow"), f"{path}.StartWindow", False)
        end = None
        if body.get("EndWindow") is not None:
            end = self.window(body["EndWindow"], f"{path}.EndWindow", True)
        ob = _obj(body.get("Occurrence") or {}, f"{path}.Occurrence", {"Type", "Count", "IsDistinct", "CountColumn"})
        distinct = _bool(ob.get("IsDistinct"), f"{path}.Occurrence.IsDistinct")
        if distinct:
            try:
                count_token(criterion, ob.get("CountColumn"))
            except ValueError as e:
                raise CirceImportError(f"{path}.Occurrence.CountColumn", str(e)) from None
        occurrence = c.Occurrence(_int(ob.get("Type"), f"{path}.Occurrence.Type", 0),
                                  _int(ob.get("Count"), f"{path}.Occurrence.Count", 0), distinct,
                                  ob.get("CountColumn"))
        return c.CorrelatedCriterion(criterion, start, occurrence, end,
                                     _bool(body.get("RestrictVisit"), f"{path}.RestrictVisit"),
                                     _bool(body.get("IgnoreObservationPeriod"), f"{path}.IgnoreObservationPeriod"))

    def window(self, v, path, event_end_default: bool) -> c.Window:
        if v is None:
            raise CirceImportError(path, "a correlated criterion needs a StartWindow")
        b = _obj(v, path, {"Start", "End", "UseIndexEnd", "UseEventEnd"})

        def endpoint(e, p):
            eb = _obj(e or {}, p, {"Days", "Coeff"})
            return c.Endpoint(_int(eb.get("Days"), f"{p}.Days"), _int(eb.get("Coeff"), f"{p}.Coeff", -1))

        return c.Window(endpoint(b.get("Start"), f"{path}.Start"), endpoint(b.get("End"), f"{path}.End"),
                        _bool(b.get("UseIndexEnd"), f"{path}.UseIndexEnd"),
                        _bool(b.get("UseEventEnd"), f"{path}.UseEventEnd", event_end_default))

    @_wrap
    def demographic(self, v, path) -> c.DemographicCriterion:
        body = _obj(v, path, set(c.DEMOGRAPHIC_ATTRIBUTES))
        filters = []
        for name, kind in c.DEMOGRAPHIC_ATTRIBUTES.items():
            if body.get(name) is not None:
                from phta.query.circe.domains import Attribute

                f = self.filter(name, Attribute(kind, name), body[name], f"{path}.{name}", None)
                if f is not None:
                    filters.append(f)
        return c.DemographicCriterion(tuple(filters))

    def end_strategy(self, v, path):
        if v is None:
            return None
        if not isinstance(v, dict) or len(v) != 1:
            raise CirceImportError(path, "expected {\"DateOffset\": {...}} or {\"CustomEra\": {...}}")
        ((kind, body),) = v.items()
        p = f"{path}.{kind}"
        if kind == "DateOffset":
            b = _obj(body or {}, p, {"DateField", "Offset"})
            return c.DateOffsetEnd(b.get("DateField") or "StartDate", _int(b.get("Offset"), f"{p}.Offset", 0))
        if kind == "CustomEra":
            b = _obj(body or {}, p, {"DrugCodesetId", "GapDays", "Offset", "DaysSupplyOverride"})
            cs = _int(b.get("DrugCodesetId"), f"{p}.DrugCodesetId")
            if cs is None:
                raise CirceImportError(f"{p}.DrugCodesetId", "a continuous exposure end needs a drug concept set")
            return c.ContinuousExposureEnd(cs, _int(b.get("GapDays"), f"{p}.GapDays", 0),
                                           _int(b.get("Offset"), f"{p}.Offset", 0),
                                           _int(b.get("DaysSupplyOverride"), f"{p}.DaysSupplyOverride"))
        raise CirceImportError(p, f"unknown end strategy {kind!r}")
