"""Which opt-out registers apply to a use of a node's data: the decision table.

Two inputs decide it (docs/opt-outs.md gives the reasoning in plain words):

- the **purpose** and, for a project, the **common-law route** its data access request gives for
  setting aside the duty of confidentiality (``consent``, ``s251``, ``s251_exempt`` or
  ``anonymised``);
- whether the store holds **GP-sourced** data (``phta.cdm.data_source``).

The national data opt-out applies to every use beyond individual care except where the route is
explicit consent or section 251 support whose approval explicitly exempts the project from it,
and except a custodian's quality checks of their own data (no disclosure: the data stays with its
controller). Type 1 opt-outs apply to GP-sourced data for every use beyond
direct care except that same custodian case, whatever the project and whatever its route.
Anything unknown (purpose, route) gets both: the table fails safe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from phta.store import Database

NATIONAL = "national"
TYPE1 = "type1"

# Execution-path purpose codes and their governance names (see phta.governance.purposes).
_ALIASES = {"feasibility": "network_feasibility", "custodian-quality": "custodian_quality"}


@dataclass(frozen=True)
class Rule:
    purpose: str  # a standing purpose name, or "project" for project purposes
    route: str | None  # the project's common-law route; None for standing purposes
    national: bool
    type1: bool  # on GP-sourced stores only
    why: str


DECISION_TABLE: tuple[Rule, ...] = (
    Rule("custodian_quality", None, False, False,
         "the controller checking its own data in place: nothing is disclosed, no purpose beyond the "
         "controller's own running of the service"),
    Rule("network_feasibility", None, True, True,
         "planning research from counts of confidential patient information; free-form, repeatable "
         "queries cannot be shown to be anonymised to the ICO code for every query"),
    Rule("public_statistics", None, True, True,
         "public aggregates derived from confidential patient information; people who opted out "
         "expect not to be in them"),
    Rule("public_beacon", None, True, True,
         "variant presence is derived from confidential patient information (genomic data is "
         "highly identifying)"),
    Rule("project", "s251", True, True,
         "section 251 support sets aside the common-law duty; the national data opt-out policy "
         "applies to every section 251 use unless the approval exempts it"),
    Rule("project", "s251_exempt", False, True,
         "section 251 support whose approval (on CAG's advice) explicitly exempts the project from "
         "the national data opt-out; type 1 is a GP objection the exemption does not speak to"),
    Rule("project", "anonymised", True, True,
         "analyses run on pseudonymised record-level data inside the TRE; only the outputs are "
         "anonymised, so the opt-out is applied to the data they are made from"),
    Rule("project", "consent", False, True,
         "explicit consent: the person's own, specific decision overrides the national opt-out; "
         "type 1 is applied whatever the project"),
)
_FALLBACK = Rule("unknown", None, True, True, "unknown purpose or route: fail safe, apply every register")


@dataclass(frozen=True)
class Applicable:
    kinds: tuple[str, ...]  # the registers that must be applied, in a fixed order
    rule: Rule
    gp_sourced: bool


def rule_for(purpose: str, route: str | None = None) -> Rule:
    name = _ALIASES.get(purpose, purpose)
    if name.startswith("project:"):
        name = "project"
    for rule in DECISION_TABLE:
        if rule.purpose == name and (name != "project" or rule.route == route):
            return rule
    return _FALLBACK


def applicable(purpose: str, *, route: str | None = None, gp_sourced: bool) -> Applicable:
    """The registers that apply to ``purpose`` (with its common-law ``route``) on a store."""
    rule = rule_for(purpose, route)
    kinds = tuple(k for k, on in ((NATIONAL, rule.national), (TYPE1, rule.type1 and gp_sourced)) if on)
    return Applicable(kinds, rule, gp_sourced)


# Why the national data opt-out is not applied, in words for the public register.
_NATIONAL_NOT_APPLIED = {
    "consent": "explicit consent",
    "s251_exempt": "the section 251 approval exempts this project",
}


def public_statement(purpose: str, route: str | None = None) -> str:
    """Which opt-outs a purpose (and route) has applied, as the transparency register says it."""
    rule = rule_for(purpose, route)
    if rule.national:
        national = "National data opt-out applied"
    else:
        national = f"National data opt-out not applied ({_NATIONAL_NOT_APPLIED.get(rule.route or '', rule.why)})"
    type1 = "type 1 opt-outs applied to GP data" if rule.type1 else "type 1 opt-outs not applied"
    return f"{national}; {type1}"


def project_route(database: Database, purpose: str) -> str | None:
    """The common-law route in the data access request of a ``project:<id>`` purpose (or None)."""
    from phta.store.models import Project  # deferred: only project purposes need the models

    try:
        project_id = int(purpose.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    with database.session() as session:
        project = session.get(Project, project_id)
        form = None if project is None else project.form
    answers = json.loads(form) if form else {}
    route = answers.get("common_law")
    return route if isinstance(route, str) else None
