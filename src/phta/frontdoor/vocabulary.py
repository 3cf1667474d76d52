"""The fixed words of the front door: what an enquiry can ask, kinds of listing, case states.

Each vocabulary maps a stored key to the label a person reads. Triage rules, the form, the API
and the dashboard all validate against these, so a typo in a rule is an error naming the rule,
not a rule that silently never matches.
"""

from __future__ import annotations

NEEDS: dict[str, str] = {
    "evaluate": "Evaluate a device, diagnostic or AI",
    "trial": "Run a clinical trial or a feasibility study",
    "data": "Access data",
    "space": "Lab or office space",
    "funding": "Investment or funding",
    "scale": "Scale-up, export or IP support",
    "skills": "Skills and recruitment",
}

STAGES: dict[str, str] = {
    "idea": "Idea",
    "prototype": "Prototype",
    "validation": "Clinical validation",
    "market": "On the market",
    "scale_up": "Scale-up",
}

SECTORS: dict[str, str] = {
    "medtech": "Medical devices",
    "diagnostics": "Diagnostics",
    "ai": "AI and digital health",
    "pharma": "Pharmaceuticals and biotech",
    "genomics": "Genomics",
    "academic": "Academic research",
    "investor": "Investor",
    "other": "Other",
}

ASSET_KINDS: dict[str, str] = {
    "test_evaluation": "Testing and evaluation centre",
    "attc": "Advanced therapy treatment centre",
    "crf": "Clinical research facility",
    "trials_unit": "Clinical trials unit",
    "genomics_lab": "Genomics laboratory",
    "incubator": "Incubator",
    "park_space": "Life sciences park: labs and offices",
    "node_store": "Dataset: a hospital node of the regional network",
}

OPPORTUNITY_KINDS: dict[str, str] = {
    "studentship": "Studentship",
    "apprenticeship": "Apprenticeship",
    "internship": "Internship",
    "graduate_role": "Graduate role",
    "training_pathway": "Training pathway",
}

RESPONDER_KINDS: dict[str, str] = {"student": "Student", "entrepreneur": "Entrepreneur", "company": "Company"}

# The case status machine: new -> triaged -> engaged -> in progress -> closed (with an outcome).
STATUSES: dict[str, str] = {
    "new": "New",
    "triaged": "Triaged",
    "engaged": "Engaged",
    "in_progress": "In progress",
    "closed": "Closed",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"triaged", "closed"}),
    "triaged": frozenset({"engaged", "closed"}),
    "engaged": frozenset({"in_progress", "closed"}),
    "in_progress": frozenset({"closed"}),
    "closed": frozenset(),
}
OUTCOMES: dict[str, str] = {
    "project": "Became a project (access request or evaluation)",
    "referred": "Referred to a partner or asset",
    "resolved": "Question answered",
    "no_fit": "Not something the region can help with",
    "withdrawn": "Withdrawn by the enquirer",
}

LINK_KINDS: dict[str, str] = {
    "access_request": "Data access request",
    "feasibility": "Network feasibility query",
    "evaluation": "Evaluation project",
}


def label(vocabulary: dict[str, str], key: str | None) -> str:
    return vocabulary.get(key or "", key or "")
