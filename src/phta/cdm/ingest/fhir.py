"""``load_fhir``: a FHIR R4 bulk export (NDJSON, one resource type per file, UK Core) into OMOP.

Each file is streamed line by line; every line is parsed, checked against the FHIR R4 model of
its type (``fhir.resources`` R4B, the R4 line), and mapped (``fhir_map``). References across files
(``Patient/x``, ``Encounter/y``) are resolved through an on-disk SQLite index of id -> OMOP id,
so memory stays bounded for any export size; Patients load first, then Encounters, then the rest.

Per resource type: read = loaded + quarantined + not loaded (entered-in-error). Quarantine rows
name file, line, field and reason, never a value (rule 3). NHS numbers are validated (modulus 11)
and replaced by their keyed pseudonym on the way in; the number itself is never stored.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from phta.cdm.ingest import fhir_map as fm
from phta.cdm.ingest import findings
from phta.cdm.ingest.csv_source import LoadError
from phta.cdm.ingest.session import IngestReport, LoadSession
from phta.cdm.pseudonymise import NHSNumberError, Pseudonymiser
from phta.cdm.uk import GENDER_FEMALE, GENDER_MALE, GENDER_UNKNOWN, NHS_ETHNIC_CATEGORY_CONCEPT

Observer = Callable[[str, int, int], None]  # (file, bytes done, file size)


@dataclass(frozen=True)
class Spec:
    code: str  # the CodeableConcept element
    when: tuple[str, ...]  # date elements, first present wins (a Period's start is used)
    subject: str  # the element referring to the Patient
    default_table: str


SPECS: dict[str, Spec] = {
    "Condition": Spec("code", ("onsetDateTime", "onsetPeriod", "recordedDate"), "subject", "condition_occurrence"),
    "Procedure": Spec("code", ("performedDateTime", "performedPeriod"), "subject", "procedure_occurrence"),
    "Observation": Spec("code", ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
                        "subject", "observation"),
    "MedicationRequest": Spec("medicationCodeableConcept", ("authoredOn",), "subject", "drug_exposure"),
    "MedicationStatement": Spec("medicationCodeableConcept", ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
                                "subject", "drug_exposure"),
    "Immunization": Spec("vaccineCode", ("occurrenceDateTime", "recorded"), "patient", "drug_exposure"),
    "AllergyIntolerance": Spec("code", ("recordedDate", "onsetDateTime"), "patient", "observation"),
}
ORDER = ("Patient", "Encounter", *SPECS)
RESOURCE_TYPES = frozenset(ORDER)


class Rejected(Exception):
    """A resource that is quarantined: the field and the reason (never a value)."""

    def __init__(self, field: str | None, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(reason)


def export_files(src: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """([(resource type, file)] in load order, ignored file names). ``Patient.ndjson`` and
    ``Patient.001.ndjson`` are both Patient files."""
    if not src.is_dir():
        raise LoadError(f"{src}: not a directory of FHIR NDJSON files")
    files, ignored = [], []
    for path in sorted(src.iterdir()):
        kind = path.name.split(".", 1)[0]
        if path.suffix.lower() == ".ndjson" and kind in RESOURCE_TYPES:
            files.append((kind, path))
        elif path.is_file():
            ignored.append(path.name)
    if not files:
        raise LoadError(f"{src}: no NDJSON files named after a supported resource type "
                        f"({', '.join(ORDER)})")
    files.sort(key=lambda item: (ORDER.index(item[0]), item[1].name))
    return files, ignored


class ReferenceIndex:
    """FHIR id -> (OMOP id, person_id), in a SQLite file on disk (bounded memory)."""

    def __init__(self, directory: str) -> None:
        self.db = sqlite3.connect(str(Path(directory) / "refs.sqlite"))
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE ref (kind TEXT, id TEXT, omop_id INTEGER, person_id INTEGER, "
                        "PRIMARY KEY (kind, id)) WITHOUT ROWID")

    def add(self, kind: str, fhir_id: str, omop_id: int, person_id: int) -> bool:
        try:
            self.db.execute("INSERT INTO ref VALUES (?, ?, ?, ?)", (kind, fhir_id, omop_id, person_id))
        except sqlite3.IntegrityError:
            return False
        return True

    def get(self, kind: str, fhir_id: str) -> tuple[int, int] | None:
        row = self.db.execute("SELECT omop_id, person_id FROM ref WHERE kind = ? AND id = ?",
                              (kind, fhir_id)).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        self.db.close()


def _ref_id(resource: dict, element: str, kind: str) -> str | None:
    ref = (resource.get(element) or {}).get("reference") if isinstance(resource.get(element), dict) else None
    if not isinstance(ref, str):
        return None
    ref = ref.split("/_history/")[0]
    if ref.startswith(f"{kind}/"):
        return ref[len(kind) + 1:]
    if ref.startswith("urn:uuid:"):
        return ref[len("urn:uuid:"):]
    return ref.rsplit("/", 2)[-1] if f"/{kind}/" in ref else None


def _validation_reason(exc: pydantic.ValidationError) -> Rejected:
    err = exc.errors(include_input=False, include_url=False)[0]
    kind = err["type"]
    loc = list(err["loc"])
    if kind == "extra_forbidden":
        # The last part is the input's own key (it could be anything, even a name): never repeat it.
        return Rejected(".".join(str(p) for p in loc[:-1]) or None, "an element FHIR R4 does not define")
    field = ".".join(str(p) for p in loc) or None
    last = str(err["loc"][-1]).lower() if err["loc"] else ""
    if "date" in kind or "date" in last or last in ("start", "end", "issued", "recorded", "authoredon"):
        return Rejected(field, "invalid date")
    if kind == "missing":
        return Rejected(field, "missing required element")
    return Rejected(field, f"not valid FHIR R4 ({kind})")


class FhirLoader:
    def __init__(self, session: LoadSession, pseudonymiser: Pseudonymiser | None, index: ReferenceIndex) -> None:
        self.s = session
        self.pseudonymiser = pseudonymiser
        self.index = index
        self.lookup = fm.ConceptLookup(session.con)
        self.new_persons: tuple[int, int] | None = None  # first and last person_id made here
        self.models = {k: get_fhir_model_class(k) for k in ORDER}

    def load_file(self, kind: str, path: Path, observer: Observer | None) -> None:
        counts = self.s.report.counts(kind)
        size, done = path.stat().st_size, 0
        with path.open("rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                done += len(raw)
                if not raw.strip():
                    continue
                counts.read += 1
                try:
                    outcome = self._one(kind, raw)
                except Rejected as rej:
                    self.s.quarantine(kind, path.name, line_no, rej.field, rej.reason)
                    continue
                if outcome == "entered-in-error":
                    counts.not_loaded["entered-in-error"] = counts.not_loaded.get("entered-in-error", 0) + 1
                else:
                    counts.loaded += 1
                    counts.rows_by_table[outcome] = counts.rows_by_table.get(outcome, 0) + 1
                if observer and line_no % 2000 == 0:
                    observer(path.name, done, size)
        if observer:
            observer(path.name, size, size)

    def _one(self, kind: str, raw: bytes) -> str:
        try:
            resource = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Rejected(None, "malformed NDJSON line (not one JSON object)") from None
        if not isinstance(resource, dict):
            raise Rejected(None, "malformed NDJSON line (not one JSON object)")
        if resource.get("resourceType") != kind:
            raise Rejected("resourceType", f"resourceType is not {kind} (this file holds {kind} resources)")
        try:
            self.models[kind].model_validate(resource)
        except pydantic.ValidationError as exc:
            raise _validation_reason(exc) from None
        if fm.is_entered_in_error(resource):
            return "entered-in-error"
        if kind == "Patient":
            return self._patient(resource)
        if kind == "Encounter":
            return self._encounter(resource)
        return self._event(kind, resource)

    def _person(self, resource: dict, element: str) -> int:
        ref = _ref_id(resource, element, "Patient")
        found = self.index.get("Patient", ref) if ref else None
        if found is None:
            raise Rejected(element, "reference to a Patient not in this export")
        return found[1]

    def _visit(self, resource: dict, person_id: int) -> int | None:
        if not resource.get("encounter"):
            return None
        ref = _ref_id(resource, "encounter", "Encounter")
        found = self.index.get("Encounter", ref) if ref else None
        if found is None:
            raise Rejected("encounter", "reference to an Encounter not in this export")
        if found[1] != person_id:
            raise Rejected("encounter", "the Encounter belongs to another Patient")
        return found[0]

    def _patient(self, r: dict) -> str:
        pseudonym = None
        for ident in r.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == fm.NHS_NUMBER_SYSTEM:
                if self.pseudonymiser is None:
                    raise LoadError("Patients carry NHS numbers but no linkage key was given")
                try:
                    pseudonym = self.pseudonymiser.pseudonym(str(ident.get("value", "")), where="identifier")
                except NHSNumberError:
                    raise Rejected("identifier", "invalid NHS number (modulus-11 check failed)") from None
        if r.get("gender") not in (None, "male", "female", "other", "unknown"):
            raise Rejected("gender", "not a FHIR administrative gender (male, female, other, unknown)")
        if not r.get("birthDate"):
            raise Rejected("birthDate", "missing required value (OMOP needs the year of birth)")
        try:
            born, _ = fm.parse_when(r["birthDate"])
        except fm.BadDate:
            raise Rejected("birthDate", "invalid date") from None
        ethnic = None
        for ext in r.get("extension") or []:
            if isinstance(ext, dict) and str(ext.get("url", "")).endswith(fm.ETHNIC_CATEGORY_EXTENSION):
                codings = (ext.get("valueCodeableConcept") or {}).get("coding") or []
                ethnic = next((c.get("code") for c in codings if c.get("code") in NHS_ETHNIC_CATEGORY_CONCEPT), None)
        died = None
        if r.get("deceasedDateTime"):
            try:
                died = fm.parse_when(r["deceasedDateTime"])
            except fm.BadDate:
                raise Rejected("deceasedDateTime", "invalid date") from None
        gender = {"male": GENDER_MALE, "female": GENDER_FEMALE}.get(r.get("gender"), GENDER_UNKNOWN)
        person_id = self.s.next_id("person")
        if r.get("id") is not None and not self.index.add("Patient", str(r["id"]), person_id, person_id):
            raise Rejected("id", "duplicate Patient id in this export")
        partial = len(str(r["birthDate"]))
        self.s.add_row("person", {
            "person_id": person_id, "gender_concept_id": gender, "year_of_birth": born.year,
            "month_of_birth": born.month if partial >= 7 else None,
            "day_of_birth": born.day if partial >= 10 else None,
            "race_concept_id": NHS_ETHNIC_CATEGORY_CONCEPT.get(ethnic or "", 0),
            "race_source_concept_id": NHS_ETHNIC_CATEGORY_CONCEPT.get(ethnic or "", 0),
            "ethnicity_concept_id": 0, "person_source_value": pseudonym,
            "gender_source_value": r.get("gender"), "race_source_value": ethnic,
        })
        first = self.new_persons[0] if self.new_persons else person_id
        self.new_persons = (first, person_id)
        if died is not None:
            self.s.add_row("death", {"person_id": person_id, "death_date": died[0], "death_datetime": died[1],
                                     "death_type_concept_id": fm.EHR_TYPE_CONCEPT_ID})
        return "person"

    def _encounter(self, r: dict) -> str:
        person_id = self._person(r, "subject")
        period = r.get("period") or {}
        if not period.get("start"):
            raise Rejected("period.start", "missing required value (visit start date)")
        try:
            start = fm.parse_when(period["start"])
            end = fm.parse_when(period["end"]) if period.get("end") else start
        except fm.BadDate:
            raise Rejected("period", "invalid date") from None
        code = (r.get("class") or {}).get("code")
        visit_id = self.s.next_id("visit_occurrence")
        if r.get("id") is not None and not self.index.add("Encounter", str(r["id"]), visit_id, person_id):
            raise Rejected("id", "duplicate Encounter id in this export")
        self.s.add_row("visit_occurrence", {
            "visit_occurrence_id": visit_id, "person_id": person_id,
            "visit_concept_id": fm.VISIT_CONCEPT.get(code, 0),
            "visit_start_date": start[0], "visit_start_datetime": start[1],
            "visit_end_date": end[0], "visit_end_datetime": end[1],
            "visit_type_concept_id": fm.EHR_TYPE_CONCEPT_ID, "visit_source_value": code,
        })
        return "visit_occurrence"

    def _when(self, kind: str, r: dict) -> tuple[tuple, object]:
        for element in SPECS[kind].when:
            value = r.get(element)
            if value is None:
                continue
            try:
                if isinstance(value, dict):  # a Period
                    start = fm.parse_when(value.get("start"))
                    end = fm.parse_when(value["end"])[0] if value.get("end") else None
                    return start, end
                return fm.parse_when(value), None
            except fm.BadDate:
                raise Rejected(element, "invalid date") from None
        raise Rejected(SPECS[kind].when[0], "missing required value (no date)")

    def _event(self, kind: str, r: dict) -> str:
        spec = SPECS[kind]
        person_id = self._person(r, spec.subject)
        visit_id = self._visit(r, person_id)
        start, end = self._when(kind, r)
        mapped, system, code = self.lookup.code(r.get(spec.code))
        if mapped is None or mapped.concept_id == 0:
            self.s.unmapped[(kind, fm.shown_code(system), fm.shown_code(code))] += 1
        value = r.get("valueQuantity") if kind == "Observation" else None
        default = spec.default_table
        if kind == "Observation" and value is not None:
            default = "measurement"
        table = fm.DOMAIN_TABLE.get(mapped.domain, default) if mapped and mapped.concept_id else default
        row = fm.event_row(table, row_id=self.s.next_id(table), person_id=person_id, visit_id=visit_id,
                           mapped=mapped, code=code, start=start, end=end)
        if kind == "Observation" and table in ("measurement", "observation"):
            self._values(r, row)
        self.s.add_row(table, row)
        return table

    def _values(self, r: dict, row: dict) -> None:
        quantity = r.get("valueQuantity")
        if quantity:
            unit = quantity.get("code") or quantity.get("unit")
            found = self.lookup.find("UCUM", str(unit)) if unit and quantity.get("system") in (
                None, "http://unitsofmeasure.org") else None
            row["value_as_number"] = quantity.get("value")
            row["unit_concept_id"] = found.concept_id if found else 0
            row["unit_source_value"] = str(unit)[:50] if unit else None
        concept = r.get("valueCodeableConcept")
        if concept:
            mapped, _, _ = self.lookup.code(concept)
            row["value_as_concept_id"] = mapped.concept_id if mapped else 0
        if isinstance(r.get("valueString"), str) and "observation_id" in row:
            row["value_as_string"] = r["valueString"][:60]

    def observation_periods(self) -> None:
        """One observation period per new person, spanning their loaded events (OMOP cohorts
        need one); persons with no events get none."""
        if not self.new_persons:
            return
        self.s.flush()
        con = self.s.con
        dates = " UNION ALL ".join(
            f"SELECT person_id, {c.start_date} AS d, coalesce({c.end_date or c.start_date}, "
            f"{c.start_date}) AS e FROM {t}" for t, c in fm.EVENT_COLUMNS.items()
        ) + " UNION ALL SELECT person_id, visit_start_date, visit_end_date FROM visit_occurrence"
        base = con.execute("SELECT coalesce(max(observation_period_id), 0) FROM observation_period").fetchall()[0][0]
        con.execute(
            f"""INSERT INTO observation_period (observation_period_id, person_id,
                   observation_period_start_date, observation_period_end_date, period_type_concept_id)
            SELECT {int(base)} + row_number() OVER (ORDER BY person_id), person_id, min(d), max(greatest(d, e)),
                   {fm.EHR_TYPE_CONCEPT_ID}
            FROM ({dates}) WHERE person_id >= ? AND person_id <= ?
              AND person_id NOT IN (SELECT person_id FROM observation_period)
            GROUP BY person_id""",
            list(self.new_persons),
        )


def load_fhir(src: str | Path, store_dir: str | Path, *, pseudonymiser: Pseudonymiser | None,
              create: bool = False, node_name: str | None = None,
              observer: Observer | None = None) -> IngestReport:
    """Load a FHIR R4 bulk export folder into a store in one transaction; returns the report."""
    src_path = Path(src).resolve()
    files, ignored = export_files(src_path)
    with tempfile.TemporaryDirectory(prefix="phta-fhir-") as tmp, \
            LoadSession(store_dir, str(src_path), "fhir-r4-ndjson", create=create, node_name=node_name) as session:
        index = ReferenceIndex(tmp)
        if not session.con.execute("SELECT count(*) FROM concept").fetchall()[0][0]:
            session.report.notes.append("the store has no vocabulary, so every code is unmapped (concept 0); "
                                        "load one first (phta load vocabulary)")
        try:
            loader = FhirLoader(session, pseudonymiser, index)
            for kind, path in files:
                loader.load_file(kind, path, observer)
            loader.observation_periods()
            session.flush()
            session.report.findings = findings.store_findings(session.con)  # as load omop reports them
        finally:
            index.close()
        session.report.notes.extend(f"ignored {name}: not NDJSON of a supported resource type"
                                    for name in ignored)
        return session.finish()
