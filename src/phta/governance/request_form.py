"""The data access request form: HDR UK Gateway-style questions grouped by the Five Safes,
plus the legal basis and the HDR UK form's approvals, funding and commercial-involvement
questions. Pure data and validation; no storage here.

Nodes are chosen from the registered nodes, which the caller supplies (``submission_problems``'s
``nodes``: the region's node stores and the nodes with an airlock setting); datasets from
``DATASETS``, the data every PHTA node store holds.

A draft may be saved half-filled (only lengths are checked); submitting needs every required
answer, and each problem is reported against the field it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phta.governance.nodes import node_key

TASK_TYPES = {
    "feasibility": "Feasibility counts only",
    "characterisation": "Cohort characterisation (aggregate tables)",
    "evaluation": "Evaluation of a device, diagnostic or AI model",
}
ARTICLE_6 = {
    "6(1)(a)": "6(1)(a) consent",
    "6(1)(e)": "6(1)(e) public task",
    "6(1)(f)": "6(1)(f) legitimate interests",
}
ARTICLE_9 = {
    "9(2)(a)": "9(2)(a) explicit consent",
    "9(2)(h)": "9(2)(h) health or social care",
    "9(2)(i)": "9(2)(i) public health",
    "9(2)(j)": "9(2)(j) research, with safeguards",
}
COMMON_LAW = {
    "consent": "Consent",
    "s251": "Section 251 support (Confidentiality Advisory Group)",
    "s251_exempt": "Section 251 support, with the approval exempting it from the national data opt-out",
    "anonymised": "Anonymised data only",
}
# The datasets a request may ask for: the OMOP CDM domains (and PHTA's variant extension) that
# every node store holds, in words an applicant and a lay reviewer read.
DATASETS = {
    "demographics": "Demographics: year of birth, sex, ethnic group, area deprivation (IMD quintile)",
    "diagnoses": "Diagnoses (SNOMED CT, ICD-10)",
    "medicines": "Prescribed medicines (dm+d)",
    "measurements": "Tests and measurements (LOINC)",
    "procedures": "Procedures",
    "visits": "GP and hospital visits and admissions",
    "deaths": "Deaths",
    "variants": "Germline variants (genomic testing)",
}
ETHICS = {
    "approved": "Approved by a research ethics committee",
    "pending": "Applied for; the decision is pending",
    "not_required": "Not required",
}
DPIA = {"completed": "Completed", "not_completed": "Not completed"}
YES_NO = {"no": "No", "yes": "Yes"}
APPROVALS = "Approvals, funding and commercial involvement"
# Routes that rest on section 251 support: each needs the CAG reference of the approval.
S251_ROUTES = ("s251", "s251_exempt")


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    safe: str  # which of the Five Safes (or "Legal basis") the question belongs to
    kind: str = "text"  # text | long | bool | choice | multi | list
    required: bool = True
    choices: dict[str, str] | None = None
    hint: str = ""
    max_length: int = 4000
    # Choices known only at run time, named here and supplied by the caller ("nodes").
    choices_from: str = ""


QUESTIONS: list[Question] = [
    Question(
        "applicants",
        "Applicants and their roles",
        "Safe people",
        "long",
        hint="One per line: name, organisation, role.",
    ),
    Question(
        "accreditation",
        "Accreditation and training",
        "Safe people",
        "long",
        hint="e.g. ONS Accredited Researcher, information governance training and date.",
    ),
    Question("title", "Project title", "Safe projects", max_length=300),
    Question(
        "lay_summary",
        "Lay summary",
        "Safe projects",
        "long",
        hint="Plain English, for the public register.",
    ),
    Question("public_benefit", "Public benefit", "Safe projects", "long"),
    Question("aims", "Aims and research questions", "Safe projects", "long"),
    Question(
        "nodes",
        "Hospital nodes",
        "Safe settings",
        "list",
        hint="The registered nodes whose data the project needs.",
        choices_from="nodes",
    ),
    Question(
        "tre_only", "Analysis only inside the trusted research environment", "Safe settings", "bool"
    ),
    Question("datasets", "Datasets", "Safe data", "multi", choices=DATASETS),
    Question("cohort", "Cohort definition", "Safe data", "long"),
    Question("fields", "Data fields needed", "Safe data", "long"),
    Question(
        "linkage", "Linkage", "Safe data", "long", required=False, hint="Leave empty if none."
    ),
    Question("pseudonymised", "Pseudonymised data only", "Safe data", "bool"),
    Question("planned_outputs", "Planned outputs", "Safe outputs", "long"),
    Question("disclosure_approach", "Disclosure control approach", "Safe outputs", "long"),
    Question("task_types", "Task types requested", "Safe outputs", "multi", choices=TASK_TYPES),
    Question(
        "duration_months", "Duration (months)", "Safe projects", max_length=3, hint="1 to 60."
    ),
    Question("article6", "UK GDPR Article 6 condition", "Legal basis", "choice", choices=ARTICLE_6),
    Question("article9", "UK GDPR Article 9 condition", "Legal basis", "choice", choices=ARTICLE_9),
    Question(
        "common_law",
        "Common-law duty of confidentiality",
        "Legal basis",
        "choice",
        choices=COMMON_LAW,
    ),
    Question(
        "s251_reference",
        "Section 251 (CAG) reference",
        "Legal basis",
        required=False,
        hint="Required when the route is section 251.",
        max_length=100,
    ),
    Question(
        "opt_out_exemption",
        "Where the section 251 approval exempts the project from the national data opt-out",
        "Legal basis",
        "long",
        required=False,
        hint="Required for the exempted section 251 route: quote the condition or paragraph of the "
        "approval that grants the exemption.",
        max_length=2000,
    ),
]
QUESTIONS += [
    Question("ethics", "Research ethics approval", APPROVALS, "choice", choices=ETHICS),
    Question(
        "iras_id",
        "IRAS ID",
        APPROVALS,
        required=False,
        hint="The Integrated Research Application System number; needed when ethics approval "
        "is approved or applied for.",
        max_length=10,
    ),
    Question(
        "ethics_note",
        "Why ethics approval is not required",
        APPROVALS,
        "long",
        required=False,
        hint="Needed when ethics approval is not required.",
        max_length=2000,
    ),
    Question(
        "funder", "Funder", APPROVALS, hint="Who funds the project; write 'unfunded' if no one.",
        max_length=300,
    ),
    Question("dpia", "Data protection impact assessment (DPIA)", APPROVALS, "choice", choices=DPIA),
    Question(
        "dpia_reference",
        "DPIA reference",
        APPROVALS,
        required=False,
        hint="Needed when the DPIA is completed.",
        max_length=100,
    ),
    Question(
        "commercial",
        "Is a commercial organisation involved?",
        APPROVALS,
        "choice",
        choices=YES_NO,
        hint="As funder, co-applicant, data processor, or with access to the results.",
    ),
    Question(
        "commercial_organisation",
        "Commercial organisation(s)",
        APPROVALS,
        required=False,
        hint="Needed when a commercial organisation is involved (separate several with semicolons); "
        "shown on the public register.",
        max_length=300,
    ),
    Question(
        "commercial_nature",
        "Nature of the commercial involvement",
        APPROVALS,
        "long",
        required=False,
        hint="What the organisation does in the project and what it gets from it.",
        max_length=2000,
    ),
]
BY_NAME = {q.name: q for q in QUESTIONS}
SAFES = list(dict.fromkeys(q.safe for q in QUESTIONS))


def _as_list(value) -> list[str]:
    """A list from checkboxes, a JSON list or comma-separated text (each item may hold commas)."""
    items = value if isinstance(value, list) else [value or ""]
    return [s.strip() for i in items for s in str(i).split(",") if s.strip()]


def normalise(raw: dict) -> dict:
    """Turn submitted form values (strings, lists, checkboxes) into the stored answer types."""
    answers: dict = {}
    for q in QUESTIONS:
        value = raw.get(q.name)
        if q.kind == "bool":
            answers[q.name] = value in (True, "on", "true", "yes", "1")
        elif q.kind in ("list", "multi"):
            answers[q.name] = _as_list(value)
        else:
            answers[q.name] = str(value or "").strip()
    return answers


def json_problems(raw: dict) -> dict[str, str]:
    """Problems with answers sent as JSON (the API), before ``normalise``: a field no question
    has, or a value of the wrong JSON type, would otherwise be dropped or coerced silently."""
    problems = {}
    for name, value in raw.items():
        q = BY_NAME.get(name)
        if q is None:
            problems[name] = f"{name}: no such question (see the form's field names)"
        elif value is None:
            continue
        elif q.kind == "bool" and not isinstance(value, bool):
            problems[name] = f"{q.label}: true or false"
        elif q.kind in ("list", "multi") and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            problems[name] = f"{q.label}: a list of strings"
        elif q.kind not in ("bool", "list", "multi") and (
            isinstance(value, bool) or not isinstance(value, str | int)
        ):
            problems[name] = f"{q.label}: a string"
    return problems


def length_problems(answers: dict) -> dict[str, str]:
    problems = {}
    for q in QUESTIONS:
        value = answers.get(q.name)
        text = ", ".join(value) if isinstance(value, list) else str(value or "")
        if len(text) > q.max_length:
            problems[q.name] = f"{q.label}: at most {q.max_length} characters (now {len(text)})"
    return problems


def submission_problems(answers: dict, nodes: Mapping[str, str] | None = None) -> dict[str, str]:
    """Everything wrong with the answers for submission, keyed by field name.

    ``nodes`` are the registered nodes (code -> name) the request may name; None leaves the node
    names unchecked (callers without a node registry: governance tests, the demo's seeding)."""
    problems = length_problems(answers)
    for q in QUESTIONS:
        value = answers.get(q.name)
        if q.name in problems:
            continue
        if q.kind == "bool":
            if q.required and value is not True:
                problems[q.name] = f"{q.label}: must be confirmed — PHTA supports no other setting"
        elif q.required and not value:
            problems[q.name] = f"{q.label}: required"
        elif q.kind == "choice" and value and value not in (q.choices or {}):
            problems[q.name] = f"{q.label}: choose one of the options"
        elif q.kind == "multi" and any(v not in (q.choices or {}) for v in value or []):
            problems[q.name] = f"{q.label}: unknown option"
    months = answers.get("duration_months")
    if "duration_months" not in problems and not (str(months).isdigit() and 1 <= int(months) <= 60):
        problems["duration_months"] = "Duration (months): a whole number from 1 to 60"
    route = answers.get("common_law")
    if route in S251_ROUTES and not answers.get("s251_reference"):
        problems["s251_reference"] = (
            "Section 251 (CAG) reference: required for the section 251 route"
        )
    if nodes is not None and "nodes" not in problems:
        problem = node_problem(answers.get("nodes") or [], nodes)
        if problem:
            problems["nodes"] = problem
    problems.update(approvals_problems(answers))
    if route == "s251_exempt" and not answers.get("opt_out_exemption"):
        problems["opt_out_exemption"] = (
            "Where the section 251 approval exempts the project from the national data opt-out: "
            "required for this route (without an exemption, choose plain section 251 support)"
        )
    return problems


def node_problem(chosen: list[str], nodes: Mapping[str, str]) -> str | None:
    """Why ``chosen`` are not all registered nodes (None when they are). Node codes compare
    case-insensitively, as ``phta.governance.nodes.node_key``."""
    known = {node_key(code) for code in nodes}
    unknown = [n for n in chosen if node_key(n) not in known]
    if not unknown:
        return None
    if not nodes:
        return "Hospital nodes: no nodes are registered yet (a hub admin registers them)"
    return (f"Hospital nodes: {', '.join(repr(n) for n in unknown)} "
            f"{'is not a registered node' if len(unknown) == 1 else 'are not registered nodes'}; "
            f"choose from {', '.join(nodes)}")


def canonical_nodes(chosen: list[str], nodes: Mapping[str, str]) -> list[str]:
    """The registry's spelling of each chosen node (unknown ones as given), without repeats."""
    spelling = {node_key(code): code for code in nodes}
    return list(dict.fromkeys(spelling.get(node_key(n), n) for n in chosen))


def approvals_problems(answers: dict) -> dict[str, str]:
    """The HDR UK form's conditional answers: an IRAS ID with ethics approval, a reason without
    it, a DPIA reference with a completed DPIA, the organisation and nature of commercial
    involvement."""
    problems = {}
    iras = str(answers.get("iras_id") or "")
    if answers.get("ethics") in ("approved", "pending") and not iras:
        problems["iras_id"] = "IRAS ID: required when ethics approval is approved or applied for"
    if iras and not (iras.isdigit() and 4 <= len(iras) <= 7):
        problems["iras_id"] = "IRAS ID: a number of 4 to 7 digits"
    if answers.get("ethics") == "not_required" and not answers.get("ethics_note"):
        problems["ethics_note"] = "Why ethics approval is not required: required when it is not"
    if answers.get("dpia") == "completed" and not answers.get("dpia_reference"):
        problems["dpia_reference"] = "DPIA reference: required when the DPIA is completed"
    if answers.get("commercial") == "yes":
        for name in ("commercial_organisation", "commercial_nature"):
            if not answers.get(name):
                problems[name] = f"{BY_NAME[name].label}: required when a commercial organisation is involved"
    return problems


@dataclass(frozen=True)
class LegalBasis:
    """The legal basis a request gives, read from its answers (the one place that does)."""

    article6: str
    article9: str
    common_law: str  # a COMMON_LAW key, or "" when not given
    cag_reference: str  # the section 251 approval's reference ("" off the section 251 routes)
    national_opt_out_exemption: str  # where the approval exempts it ("" unless s251_exempt)

    @property
    def national_opt_out_exempt(self) -> bool:
        return self.common_law == "s251_exempt"

    def as_dict(self) -> dict:
        return {"article6": self.article6, "article9": self.article9, "common_law": self.common_law,
                "cag_reference": self.cag_reference,
                "national_opt_out_exempt": self.national_opt_out_exempt,
                "national_opt_out_exemption": self.national_opt_out_exemption}


def legal_basis(answers: dict) -> LegalBasis:
    route = str(answers.get("common_law") or "")
    return LegalBasis(
        str(answers.get("article6") or ""),
        str(answers.get("article9") or ""),
        route,
        str(answers.get("s251_reference") or "") if route in S251_ROUTES else "",
        str(answers.get("opt_out_exemption") or "") if route == "s251_exempt" else "",
    )
