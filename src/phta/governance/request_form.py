"""The data access request form: HDR UK Gateway-style questions grouped by the Five Safes,
plus the legal basis. Pure data and validation; no storage here.

A draft may be saved half-filled (only lengths are checked); submitting needs every required
answer, and each problem is reported against the field it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        "nodes", "Hospital nodes", "Safe settings", "list", hint="Node names, separated by commas."
    ),
    Question(
        "tre_only", "Analysis only inside the trusted research environment", "Safe settings", "bool"
    ),
    Question("datasets", "Datasets", "Safe data", "list", hint="Separated by commas."),
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
BY_NAME = {q.name: q for q in QUESTIONS}
SAFES = list(dict.fromkeys(q.safe for q in QUESTIONS))


def _as_list(value) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [s.strip() for s in (str(i) for i in items) if s.strip()]


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


def submission_problems(answers: dict) -> dict[str, str]:
    """Everything wrong with the answers for submission, keyed by field name."""
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
    if route == "s251_exempt" and not answers.get("opt_out_exemption"):
        problems["opt_out_exemption"] = (
            "Where the section 251 approval exempts the project from the national data opt-out: "
            "required for this route (without an exemption, choose plain section 251 support)"
        )
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
