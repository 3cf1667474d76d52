"""Circe criterion kinds as data: table, columns, defaults and the attributes each one accepts.

One table shared by the importer (which JSON attributes exist), the SQL compiler and the reference
engine (which column an attribute reads), and docs/circe-compatibility.md (the coverage table).
Column names are OMOP CDM v5.4's; they never come from a query.

An attribute's ``column`` is a column of the criterion's table, ``start_date``/``end_date`` (the
event's dates after Circe's defaults), or a derived value:

- ``@age`` / ``@age_end``: YEAR(event start / end) - person.year_of_birth (Circe's age);
- ``@gender``: person.gender_concept_id; ``@visit_type``: the event's visit's visit_concept_id;
- ``@specialty``: the event's provider's specialty_concept_id;
- ``@place_of_service``: the care site's place_of_service_concept_id;
- ``@duration``: days from start to end; ``@low_ratio`` / ``@high_ratio``: value / range low/high;
- ``@abnormal``: value outside [range_low, range_high] or value concept abnormal (4155142/3).

A criterion's ``count_columns`` are the ``Occurrence.CountColumn`` values Circe can count distinct
for it (its builder's default columns that its SQL template outputs, plus the columns its
``getTableColumnForCriteriaColumn`` maps); anything else fails in Circe, so PHTA rejects it. Values
are read like attribute columns, plus ``@visit`` (the event's visit), ``@one`` (Circe's constant
duration for one-day events) and ``@or0:<column>`` (the column, 0 when null).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attribute:
    filter: str  # the IR filter node kind: DateFilter, NumberFilter, ConceptFilter, CodesetFilter, ...
    column: str
    exclude_flag: str | None = None  # JSON attribute holding "exclude" for a ConceptFilter (XTypeExclude)
    bare_codeset: bool = False  # the JSON value is a bare concept set id, not {"CodesetId", "IsExclusion"}
    before_first: bool = False  # applied before First is ranked (Circe joins it with the codeset)


@dataclass(frozen=True)
class CriterionSpec:
    table: str
    id: str
    concept: str | None
    start: str
    end: str | None  # column holding the end date (None: no end column)
    end_default: str  # "start+1", "days_supply", "none" (end column as is), "start+1 always"
    visit: str | None = "visit_occurrence_id"
    source_concept: str | None = None
    has_first: bool = True
    attributes: dict[str, Attribute] = field(default_factory=dict)
    count_columns: dict[str, str] = field(default_factory=dict)
    count_needs: dict[str, str] = field(default_factory=dict)  # count column -> attribute that must be set


CUSTOM_ERA_TABLE = "@custom_era"  # not an OMOP table: a CustomEra criterion's events are built eras


def _a(kind, column, exclude=None):
    return Attribute(kind, column, exclude)


def _src(column):
    """A *SourceConcept attribute: a bare codeset id on the source concept column, joined before First."""
    return Attribute("CodesetFilter", column, bare_codeset=True, before_first=True)


def _counts(*, visit: bool = True, **columns: str) -> dict[str, str]:
    """Countable columns: start and end date (and the visit) are in every Circe criteria template."""
    return {"START_DATE": "start_date", "END_DATE": "end_date", **({"VISIT_ID": "@visit"} if visit else {}),
            **columns}


D, N, C, S, T, F = "DateFilter", "NumberFilter", "ConceptFilter", "CodesetFilter", "TextFilter", "FlagFilter"

_PERSON = {"Age": _a(N, "@age"), "Gender": _a(C, "@gender"), "GenderCS": _a(S, "@gender")}
_PROVIDER_VISIT = {"ProviderSpecialty": _a(C, "@specialty"), "ProviderSpecialtyCS": _a(S, "@specialty"),
                   "VisitType": _a(C, "@visit_type"), "VisitTypeCS": _a(S, "@visit_type")}
_ERA_PERSON = {"AgeAtStart": _a(N, "@age"), "AgeAtEnd": _a(N, "@age_end"), "Gender": _a(C, "@gender"),
               "GenderCS": _a(S, "@gender")}


def _type(prefix: str, column: str) -> dict[str, Attribute]:
    return {f"{prefix}Type": _a(C, column, f"{prefix}TypeExclude"), f"{prefix}TypeCS": _a(S, column)}


CRITERIA: dict[str, CriterionSpec] = {
    "ConditionOccurrence": CriterionSpec(
        "condition_occurrence", "condition_occurrence_id", "condition_concept_id", "condition_start_date",
        "condition_end_date", "start+1", source_concept="condition_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), "OccurrenceEndDate": _a(D, "end_date"),
                    **_type("Condition", "condition_type_concept_id"), "StopReason": _a(T, "stop_reason"),
                    "ConditionSourceConcept": _src("condition_source_concept_id"),
                    "ConditionStatus": _a(C, "condition_status_concept_id"),
                    "ConditionStatusCS": _a(S, "condition_status_concept_id"), **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="condition_concept_id", DURATION="@duration")),
    "ConditionEra": CriterionSpec(
        "condition_era", "condition_era_id", "condition_concept_id", "condition_era_start_date",
        "condition_era_end_date", "none", visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "OccurrenceCount": _a(N, "condition_occurrence_count"), "EraLength": _a(N, "@duration"),
                    **_ERA_PERSON},
        count_columns=_counts(visit=False, DOMAIN_CONCEPT="condition_concept_id", ERA_OCCURRENCES="condition_occurrence_count", DURATION="@duration")),
    "DrugExposure": CriterionSpec(
        "drug_exposure", "drug_exposure_id", "drug_concept_id", "drug_exposure_start_date",
        "drug_exposure_end_date", "days_supply", source_concept="drug_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"),
                    # Circe compares OccurrenceEndDate with the *start* date for drug exposures.
                    "OccurrenceEndDate": _a(D, "start_date"),
                    **_type("Drug", "drug_type_concept_id"), "StopReason": _a(T, "stop_reason"),
                    "Refills": _a(N, "refills"), "Quantity": _a(N, "quantity"), "DaysSupply": _a(N, "days_supply"),
                    "RouteConcept": _a(C, "route_concept_id"), "RouteConceptCS": _a(S, "route_concept_id"),
                    "LotNumber": _a(T, "lot_number"), "DrugSourceConcept": _src("drug_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="drug_concept_id", DAYS_SUPPLY="days_supply", DURATION="@duration", QUANTITY="quantity", REFILLS="refills")),
    "DrugEra": CriterionSpec(
        "drug_era", "drug_era_id", "drug_concept_id", "drug_era_start_date", "drug_era_end_date", "none",
        visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "OccurrenceCount": _a(N, "drug_exposure_count"), "GapDays": _a(N, "gap_days"),
                    "EraLength": _a(N, "@duration"), **_ERA_PERSON},
        count_columns=_counts(DOMAIN_CONCEPT="drug_concept_id", ERA_OCCURRENCES="drug_exposure_count", GAP_DAYS="gap_days", DURATION="@duration")),
    "DoseEra": CriterionSpec(
        "dose_era", "dose_era_id", "drug_concept_id", "dose_era_start_date", "dose_era_end_date", "none",
        visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "DoseValue": _a(N, "dose_value"), "EraLength": _a(N, "@duration"), **_ERA_PERSON},
        count_columns=_counts(DOMAIN_CONCEPT="drug_concept_id", DURATION="@duration", UNIT="unit_concept_id", VALUE_AS_NUMBER="dose_value")),
    "ProcedureOccurrence": CriterionSpec(
        "procedure_occurrence", "procedure_occurrence_id", "procedure_concept_id", "procedure_date", None,
        "start+1", source_concept="procedure_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Procedure", "procedure_type_concept_id"),
                    "Modifier": _a(C, "modifier_concept_id"), "ModifierCS": _a(S, "modifier_concept_id"),
                    "Quantity": _a(N, "quantity"),
                    "ProcedureSourceConcept": _src("procedure_source_concept_id"), **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="procedure_concept_id", DURATION="@one", QUANTITY="quantity")),
    "Measurement": CriterionSpec(
        "measurement", "measurement_id", "measurement_concept_id", "measurement_date", None, "start+1",
        source_concept="measurement_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"),
                    **_type("Measurement", "measurement_type_concept_id"),
                    "Operator": _a(C, "operator_concept_id"), "OperatorCS": _a(S, "operator_concept_id"),
                    "ValueAsNumber": _a(N, "value_as_number"), "ValueAsConcept": _a(C, "value_as_concept_id"),
                    "ValueAsConceptCS": _a(S, "value_as_concept_id"), "Unit": _a(C, "unit_concept_id"),
                    "UnitCS": _a(S, "unit_concept_id"), "RangeLow": _a(N, "range_low"),
                    "RangeHigh": _a(N, "range_high"), "RangeLowRatio": _a(N, "@low_ratio"),
                    "RangeHighRatio": _a(N, "@high_ratio"), "Abnormal": _a(F, "@abnormal"),
                    "MeasurementSourceConcept": _src("measurement_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="measurement_concept_id", DURATION="@one", VALUE_AS_NUMBER="value_as_number", RANGE_HIGH="range_high", RANGE_LOW="range_low")),
    "Observation": CriterionSpec(
        "observation", "observation_id", "observation_concept_id", "observation_date", None, "start+1",
        source_concept="observation_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"),
                    **_type("Observation", "observation_type_concept_id"),
                    "ValueAsNumber": _a(N, "value_as_number"), "ValueAsString": _a(T, "value_as_string"),
                    "ValueAsConcept": _a(C, "value_as_concept_id"), "ValueAsConceptCS": _a(S, "value_as_concept_id"),
                    "Qualifier": _a(C, "qualifier_concept_id"), "QualifierCS": _a(S, "qualifier_concept_id"),
                    "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "ObservationSourceConcept": _src("observation_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="observation_concept_id", VALUE_AS_NUMBER="value_as_number", DURATION="@one")),
    "VisitOccurrence": CriterionSpec(
        "visit_occurrence", "visit_occurrence_id", "visit_concept_id", "visit_start_date", "visit_end_date",
        "none", source_concept="visit_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), "OccurrenceEndDate": _a(D, "end_date"),
                    "VisitType": _a(C, "visit_type_concept_id", "VisitTypeExclude"),
                    "VisitTypeCS": _a(S, "visit_type_concept_id"),
                    "VisitSourceConcept": _src("visit_source_concept_id"), "VisitLength": _a(N, "@duration"),
                    **_PERSON, "ProviderSpecialty": _a(C, "@specialty"), "ProviderSpecialtyCS": _a(S, "@specialty"),
                    "PlaceOfService": _a(C, "@place_of_service"), "PlaceOfServiceCS": _a(S, "@place_of_service")},
        count_columns=_counts(DOMAIN_CONCEPT="visit_concept_id", DURATION="@duration")),
    "VisitDetail": CriterionSpec(
        "visit_detail", "visit_detail_id", "visit_detail_concept_id", "visit_detail_start_date",
        "visit_detail_end_date", "none", source_concept="visit_detail_source_concept_id",
        attributes={"VisitDetailStartDate": _a(D, "start_date"), "VisitDetailEndDate": _a(D, "end_date"),
                    "VisitDetailTypeCS": _a(S, "visit_detail_type_concept_id"),
                    "VisitDetailSourceConcept": _src("visit_detail_source_concept_id"),
                    "VisitDetailLength": _a(N, "@duration"),
                    # Circe computes VisitDetail age from the visit detail's *end* date.
                    "Age": _a(N, "@age_end"), "GenderCS": _a(S, "@gender"),
                    "ProviderSpecialtyCS": _a(S, "@specialty"), "PlaceOfServiceCS": _a(S, "@place_of_service")},
        count_columns=_counts(visit=False, DOMAIN_CONCEPT="visit_detail_concept_id", DURATION="@duration")),
    "DeviceExposure": CriterionSpec(
        "device_exposure", "device_exposure_id", "device_concept_id", "device_exposure_start_date",
        "device_exposure_end_date", "start+1", source_concept="device_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), "OccurrenceEndDate": _a(D, "end_date"),
                    **_type("Device", "device_type_concept_id"), "UniqueDeviceId": _a(T, "unique_device_id"),
                    "Quantity": _a(N, "quantity"), "DeviceSourceConcept": _src("device_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT},
        count_columns=_counts(DOMAIN_CONCEPT="device_concept_id", QUANTITY="quantity", DURATION="@duration")),
    "Specimen": CriterionSpec(
        "specimen", "specimen_id", "specimen_concept_id", "specimen_date", None, "start+1", visit=None,
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Specimen", "specimen_type_concept_id"),
                    "Quantity": _a(N, "quantity"), "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "AnatomicSite": _a(C, "anatomic_site_concept_id"),
                    "AnatomicSiteCS": _a(S, "anatomic_site_concept_id"),
                    "DiseaseStatus": _a(C, "disease_status_concept_id"),
                    "DiseaseStatusCS": _a(S, "disease_status_concept_id"), "SourceId": _a(T, "specimen_source_id"),
                    **_PERSON},
        count_columns=_counts(DOMAIN_CONCEPT="specimen_concept_id", DURATION="@one")),
    "Death": CriterionSpec(
        "death", "person_id", "cause_concept_id", "death_date", None, "start+1", visit=None, has_first=False,
        source_concept="cause_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Death", "death_type_concept_id"),
                    "DeathSourceConcept": _src("cause_source_concept_id"), **_PERSON},
        count_columns=_counts(DOMAIN_CONCEPT="@or0:cause_concept_id", DURATION="@one")),
    "ObservationPeriod": CriterionSpec(
        "observation_period", "observation_period_id", None, "observation_period_start_date",
        "observation_period_end_date", "none", visit=None,
        attributes={"PeriodStartDate": _a(D, "start_date"), "PeriodEndDate": _a(D, "end_date"),
                    "PeriodType": _a(C, "period_type_concept_id"), "PeriodTypeCS": _a(S, "period_type_concept_id"),
                    "PeriodLength": _a(N, "@duration"), "AgeAtStart": _a(N, "@age"), "AgeAtEnd": _a(N, "@age_end"),
                    "UserDefinedPeriod": _a("PeriodFilter", "@user_period")},
        count_columns=_counts(DOMAIN_CONCEPT="period_type_concept_id", DURATION="@duration")),
    # Circe (PayerPlanPeriodSqlBuilder): no codeset; First is the person's first period of all; the
    # concept attributes are bare codeset ids tested after First; UserDefinedPeriod as ObservationPeriod.
    "PayerPlanPeriod": CriterionSpec(
        "payer_plan_period", "payer_plan_period_id", None, "payer_plan_period_start_date",
        "payer_plan_period_end_date", "none", visit=None,
        attributes={"PeriodStartDate": _a(D, "start_date"), "PeriodEndDate": _a(D, "end_date"),
                    "PeriodLength": _a(N, "@duration"), **_ERA_PERSON,
                    **{f"{name}Concept": Attribute(S, f"{column}_concept_id", bare_codeset=True)
                       for name, column in (("Payer", "payer"), ("Plan", "plan"), ("Sponsor", "sponsor"),
                                            ("StopReason", "stop_reason"), ("PayerSource", "payer_source"),
                                            ("PlanSource", "plan_source"), ("SponsorSource", "sponsor_source"),
                                            ("StopReasonSource", "stop_reason_source"))},
                    "UserDefinedPeriod": _a("PeriodFilter", "@user_period")},  # last: it replaces the dates
        count_columns=_counts(DOMAIN_CONCEPT="payer_concept_id"), count_needs={"DOMAIN_CONCEPT": "PayerConcept"}),
    # Circe (EpisodeSqlBuilder, OMOP CDM v5.4): no visit; an episode without an end date keeps a null end.
    "Episode": CriterionSpec(
        "episode", "episode_id", "episode_concept_id", "episode_start_date", "episode_end_date", "none",
        visit=None,
        attributes={"EpisodeStartDate": _a(D, "start_date"), "EpisodeEndDate": _a(D, "end_date"),
                    "EpisodeNumber": _a(N, "episode_number"), "Age": _a(N, "@age"), "GenderCS": _a(S, "@gender"),
                    "EpisodeObjectConceptCS": _a(S, "episode_object_concept_id"),
                    "EpisodeTypeCS": _a(S, "episode_type_concept_id")},
        # Circe lists DOMAIN_CONCEPT as a default column of Episode, but episode.sql does not output it
        count_columns=_counts(visit=False, DURATION="@duration")),
    # Circe (CustomEraSqlBuilder, customEra.sql): eras of the member criteria's events (see
    # CustomEraCriterion); the "table" is that era query, with these column names.
    "CustomEra": CriterionSpec(
        CUSTOM_ERA_TABLE, "era_id", None, "era_start_date", "era_end_date", "none", visit=None,
        attributes={"StartDate": _a(D, "start_date"), "EndDate": _a(D, "end_date"), "AgeAtStart": _a(N, "@age"),
                    "GenderCS": _a(S, "@gender"), "Duration": _a(N, "@duration")},
        count_columns=_counts(DURATION="@duration")),
}

def count_token(criterion, count_column: str | None) -> str:
    """What a distinct occurrence count of a criterion's events reads (``criterion``: a DomainCriterion);
    ValueError when Circe cannot count it."""
    kind, name = criterion.kind, count_column or "DOMAIN_CONCEPT"  # Circe's default CountColumn
    spec = CRITERIA[kind]
    if name not in spec.count_columns:
        raise ValueError(f"Circe cannot count distinct {name} of {kind}; it counts "
                         f"{', '.join(sorted(spec.count_columns))}")
    needs = spec.count_needs.get(name)
    if needs and needs not in {f.attribute for f in criterion.filters}:
        raise ValueError(f"Circe can count distinct {name} of {kind} only when {kind}.{needs} is set "
                         "(its SQL selects the column only then)")
    for member in getattr(criterion, "members", ()):  # a CustomEra: Circe asks every member for the column
        try:
            count_token(member, name)
        except ValueError as e:
            raise ValueError(f"Circe cannot count distinct {name} of a CustomEra built from {member.kind} "
                             f"(it asks each member criterion for the column): {e}") from None
    return spec.count_columns[name]


# Attributes whose JSON value is a bare concept set id (the *SourceConcept attributes, PayerPlanPeriod's concepts).
CODESET_ID_ATTRIBUTES = {name for spec in CRITERIA.values() for name, a in spec.attributes.items() if a.bare_codeset}

# Attributes ATLAS can emit that the importer rejects, with the reason (the error names the path).
# Evidence: OHDSI circe-be's builders (DrugExposureSqlBuilder, SpecimenSqlBuilder,
# VisitOccurrenceSqlBuilder) and OMOP CDM v5.4's field list ($PHTA_REFERENCE_DIR/omop-cdm-5.4/).
_CDM50 = ("Circe reads drug_exposure.{} (a column of OMOP CDM v5.0 only); OMOP CDM v5.4, which PHTA "
          "stores hold, has no such column, so Circe's SQL fails there too")
UNSUPPORTED_ATTRIBUTES = {
    "DoseUnit": _CDM50.format("dose_unit_concept_id"),
    "DoseUnitCS": _CDM50.format("dose_unit_concept_id"),
    "EffectiveDrugDose": _CDM50.format("effective_drug_dose"),
    "SpecimenSourceConcept": ("Circe parses it but its SQL never applies it (SpecimenSqlBuilder has no clause "
                              "for it; OMOP CDM v5.4 specimen has no source concept column); PHTA refuses it "
                              "rather than ignore it silently"),
    "PlaceOfServiceLocation": ("Circe joins location_history and location.region_concept_id, neither of which "
                               "is in OMOP CDM v5.4"),
}

# Circe criterion kinds ATLAS can emit that the importer does not support, with the reason.
UNSUPPORTED_CRITERIA = {
    "LocationRegion": ("Circe reads location_history and location.region_concept_id, neither of which is in "
                       "OMOP CDM v5.4"),
}
