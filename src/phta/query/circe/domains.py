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
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attribute:
    filter: str  # the IR filter node kind: DateFilter, NumberFilter, ConceptFilter, CodesetFilter, ...
    column: str
    exclude_flag: str | None = None  # JSON attribute holding "exclude" for a ConceptFilter (XTypeExclude)


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


def _a(kind, column, exclude=None):
    return Attribute(kind, column, exclude)


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
                    "ConditionSourceConcept": _a(S, "condition_source_concept_id"),
                    "ConditionStatus": _a(C, "condition_status_concept_id"),
                    "ConditionStatusCS": _a(S, "condition_status_concept_id"), **_PERSON, **_PROVIDER_VISIT}),
    "ConditionEra": CriterionSpec(
        "condition_era", "condition_era_id", "condition_concept_id", "condition_era_start_date",
        "condition_era_end_date", "none", visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "OccurrenceCount": _a(N, "condition_occurrence_count"), "EraLength": _a(N, "@duration"),
                    **_ERA_PERSON}),
    "DrugExposure": CriterionSpec(
        "drug_exposure", "drug_exposure_id", "drug_concept_id", "drug_exposure_start_date",
        "drug_exposure_end_date", "days_supply", source_concept="drug_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"),
                    # Circe compares OccurrenceEndDate with the *start* date for drug exposures.
                    "OccurrenceEndDate": _a(D, "start_date"),
                    **_type("Drug", "drug_type_concept_id"), "StopReason": _a(T, "stop_reason"),
                    "Refills": _a(N, "refills"), "Quantity": _a(N, "quantity"), "DaysSupply": _a(N, "days_supply"),
                    "RouteConcept": _a(C, "route_concept_id"), "RouteConceptCS": _a(S, "route_concept_id"),
                    "LotNumber": _a(T, "lot_number"), "DrugSourceConcept": _a(S, "drug_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT}),
    "DrugEra": CriterionSpec(
        "drug_era", "drug_era_id", "drug_concept_id", "drug_era_start_date", "drug_era_end_date", "none",
        visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "OccurrenceCount": _a(N, "drug_exposure_count"), "GapDays": _a(N, "gap_days"),
                    "EraLength": _a(N, "@duration"), **_ERA_PERSON}),
    "DoseEra": CriterionSpec(
        "dose_era", "dose_era_id", "drug_concept_id", "dose_era_start_date", "dose_era_end_date", "none",
        visit=None,
        attributes={"EraStartDate": _a(D, "start_date"), "EraEndDate": _a(D, "end_date"),
                    "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "DoseValue": _a(N, "dose_value"), "EraLength": _a(N, "@duration"), **_ERA_PERSON}),
    "ProcedureOccurrence": CriterionSpec(
        "procedure_occurrence", "procedure_occurrence_id", "procedure_concept_id", "procedure_date", None,
        "start+1", source_concept="procedure_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Procedure", "procedure_type_concept_id"),
                    "Modifier": _a(C, "modifier_concept_id"), "ModifierCS": _a(S, "modifier_concept_id"),
                    "Quantity": _a(N, "quantity"),
                    "ProcedureSourceConcept": _a(S, "procedure_source_concept_id"), **_PERSON, **_PROVIDER_VISIT}),
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
                    "MeasurementSourceConcept": _a(S, "measurement_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT}),
    "Observation": CriterionSpec(
        "observation", "observation_id", "observation_concept_id", "observation_date", None, "start+1",
        source_concept="observation_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"),
                    **_type("Observation", "observation_type_concept_id"),
                    "ValueAsNumber": _a(N, "value_as_number"), "ValueAsString": _a(T, "value_as_string"),
                    "ValueAsConcept": _a(C, "value_as_concept_id"), "ValueAsConceptCS": _a(S, "value_as_concept_id"),
                    "Qualifier": _a(C, "qualifier_concept_id"), "QualifierCS": _a(S, "qualifier_concept_id"),
                    "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "ObservationSourceConcept": _a(S, "observation_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT}),
    "VisitOccurrence": CriterionSpec(
        "visit_occurrence", "visit_occurrence_id", "visit_concept_id", "visit_start_date", "visit_end_date",
        "none", source_concept="visit_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), "OccurrenceEndDate": _a(D, "end_date"),
                    "VisitType": _a(C, "visit_type_concept_id", "VisitTypeExclude"),
                    "VisitTypeCS": _a(S, "visit_type_concept_id"),
                    "VisitSourceConcept": _a(S, "visit_source_concept_id"), "VisitLength": _a(N, "@duration"),
                    **_PERSON, "ProviderSpecialty": _a(C, "@specialty"), "ProviderSpecialtyCS": _a(S, "@specialty"),
                    "PlaceOfService": _a(C, "@place_of_service"), "PlaceOfServiceCS": _a(S, "@place_of_service")}),
    "VisitDetail": CriterionSpec(
        "visit_detail", "visit_detail_id", "visit_detail_concept_id", "visit_detail_start_date",
        "visit_detail_end_date", "none", source_concept="visit_detail_source_concept_id",
        attributes={"VisitDetailStartDate": _a(D, "start_date"), "VisitDetailEndDate": _a(D, "end_date"),
                    "VisitDetailTypeCS": _a(S, "visit_detail_type_concept_id"),
                    "VisitDetailSourceConcept": _a(S, "visit_detail_source_concept_id"),
                    "VisitDetailLength": _a(N, "@duration"),
                    # Circe computes VisitDetail age from the visit detail's *end* date.
                    "Age": _a(N, "@age_end"), "GenderCS": _a(S, "@gender"),
                    "ProviderSpecialtyCS": _a(S, "@specialty"), "PlaceOfServiceCS": _a(S, "@place_of_service")}),
    "DeviceExposure": CriterionSpec(
        "device_exposure", "device_exposure_id", "device_concept_id", "device_exposure_start_date",
        "device_exposure_end_date", "start+1", source_concept="device_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), "OccurrenceEndDate": _a(D, "end_date"),
                    **_type("Device", "device_type_concept_id"), "UniqueDeviceId": _a(T, "unique_device_id"),
                    "Quantity": _a(N, "quantity"), "DeviceSourceConcept": _a(S, "device_source_concept_id"),
                    **_PERSON, **_PROVIDER_VISIT}),
    "Specimen": CriterionSpec(
        "specimen", "specimen_id", "specimen_concept_id", "specimen_date", None, "start+1", visit=None,
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Specimen", "specimen_type_concept_id"),
                    "Quantity": _a(N, "quantity"), "Unit": _a(C, "unit_concept_id"), "UnitCS": _a(S, "unit_concept_id"),
                    "AnatomicSite": _a(C, "anatomic_site_concept_id"),
                    "AnatomicSiteCS": _a(S, "anatomic_site_concept_id"),
                    "DiseaseStatus": _a(C, "disease_status_concept_id"),
                    "DiseaseStatusCS": _a(S, "disease_status_concept_id"), "SourceId": _a(T, "specimen_source_id"),
                    **_PERSON}),
    "Death": CriterionSpec(
        "death", "person_id", "cause_concept_id", "death_date", None, "start+1", visit=None, has_first=False,
        source_concept="cause_source_concept_id",
        attributes={"OccurrenceStartDate": _a(D, "start_date"), **_type("Death", "death_type_concept_id"),
                    "DeathSourceConcept": _a(S, "cause_source_concept_id"), **_PERSON}),
    "ObservationPeriod": CriterionSpec(
        "observation_period", "observation_period_id", None, "observation_period_start_date",
        "observation_period_end_date", "none", visit=None,
        attributes={"PeriodStartDate": _a(D, "start_date"), "PeriodEndDate": _a(D, "end_date"),
                    "PeriodType": _a(C, "period_type_concept_id"), "PeriodTypeCS": _a(S, "period_type_concept_id"),
                    "PeriodLength": _a(N, "@duration"), "AgeAtStart": _a(N, "@age"), "AgeAtEnd": _a(N, "@age_end"),
                    "UserDefinedPeriod": _a("PeriodFilter", "@user_period")}),
}

# Attributes whose JSON key holds a concept id of the *source* concept column (a codeset id).
SOURCE_CONCEPT_ATTRIBUTES = {name for spec in CRITERIA.values() for name, a in spec.attributes.items()
                             if name.endswith("SourceConcept")}

# Attributes ATLAS can emit that the importer rejects, with the reason (the error names the path).
UNSUPPORTED_ATTRIBUTES = {
    "DoseUnit": "OMOP CDM v5.4 drug_exposure has no dose_unit_concept_id column",
    "DoseUnitCS": "OMOP CDM v5.4 drug_exposure has no dose_unit_concept_id column",
    "EffectiveDrugDose": "Circe parses it but its SQL ignores it (no such CDM v5 column)",
    "SpecimenSourceConcept": "OMOP CDM v5.4 specimen has no specimen_source_concept_id column",
    "PlaceOfServiceLocation": "needs the location_history table, which PHTA stores do not hold",
}

# Circe criterion kinds ATLAS can emit that the importer does not support, with the reason.
UNSUPPORTED_CRITERIA = {
    "LocationRegion": "needs the location_history table, which PHTA stores do not hold",
    "PayerPlanPeriod": "PHTA stores do not hold payer_plan_period",
    "Episode": "the OMOP 5.4 episode table is not loaded into PHTA stores",
    "CustomEra": "custom era criteria (a newer Circe feature) are not implemented",
}
