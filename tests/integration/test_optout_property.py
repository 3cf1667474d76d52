"""Security property 2: no opted-out person is ever counted.

For random small stores (persons with events), random national and type 1 registers (holding
store persons and people from elsewhere), random data sources, purposes and legal routes, and
random well-typed cohort queries: every number the execution path returns under
``policy_for(purpose, store)`` equals the number it returns, with no opt-out policy at all, over
a copy of the store from which the opted-out persons were physically deleted.

The expected set of deleted persons comes from the decision table as written in
docs/opt-outs.md, restated here independently of ``phta.governance.optouts``.

Surfaces covered: ``SURFACES`` (raw numbers) — the execution path itself and ``phta cohort run
--json --purpose P`` (for the purposes it serves); ``circe_optout.SURFACES`` (ATLAS / Circe
cohorts) — the Circe execution path, its disclosure hook and ``phta cohort run ATLAS.json``;
``GOVERNED_SURFACES`` (protected numbers) — the web's network feasibility JSON API and page
(PHTA cohorts: ``POST /api/v1/feasibility``, ``POST /feasibility``) and its ATLAS network
feasibility JSON API and page (Circe JSON: ``POST /api/v1/feasibility/atlas``, ``POST
/feasibility/atlas``, over ``phta.execution.network_atlas``), driven over HTTP against the real
app signed in as an innovator and a researcher. Protected numbers are compared with the governed
result on the pruned copy under the same cell-key secret: cell-key noise depends only on the
persons in a cell, so the two agree exactly when no opted-out person was counted (stores and
helpers: tests/integration/web_optout.py). Add each new surface that returns patient-derived
numbers (the federated network, evaluation) to one of these.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from phta.cdm import data_source, optout_register
from phta.cdm.pseudonymise import Pseudonymiser, reserved_range_nhs_numbers
from phta.cdm.store import Store
from phta.cli.main import app as cli
from phta.config import load_settings
from phta.execution import (
    AppliedOptOut,
    AttritionStep,
    ExecutionContext,
    ExecutionPolicy,
    ExecutionRequest,
    OptOutRegisterMissing,
    Purpose,
    StratumCount,
    execute,
    policy_for,
)
from phta.execution.network import network_feasibility
from phta.execution.network_atlas import atlas_network_feasibility
from phta.governance import accounts
from phta.governance.roles import Role
from phta.query import ir, serial
from phta.query.circe.importer import import_expression
from phta.query.simple_cohort import SEXES, build_cohort
from phta.query.vocabulary_check import first_refused
from phta.store import open_database
from phta.store.models import Project
from phta.web.app import create_app
from phta.web.network_counts import shown
from tests.airlock_support import principal
from tests.conftest import LiveServer
from tests.governance_support import make_user, sign_in
from tests.integration import circe_optout, web_optout
from tests.integration.query_strategies import research_cohorts, store_from_template, tables
from tests.spec.circe import synthetic as circe_synthetic
from tests.spec.circe.test_differential import expression as circe_expression

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
KEY = bytes(range(32))
PSEUDONYMISER = Pseudonymiser(KEY)
NUMBERS = [str(n) for n in reserved_range_nhs_numbers(12)]  # persons 1..6 and six people elsewhere
ROUTES = ("consent", "s251", "s251_exempt", "anonymised")
PURPOSES = ("custodian_quality", "network_feasibility", "public_statistics", "public_beacon",
            *(f"project-{r}" for r in ROUTES))


def expected_kinds(purpose: str, gp_sourced: bool) -> set[str]:
    """docs/opt-outs.md's decision table, restated."""
    if purpose == "custodian_quality":
        return set()
    kinds = {"type1"} if gp_sourced else set()
    if purpose not in ("project-consent", "project-s251_exempt"):  # explicit consent; s251 with CAG exemption
        kinds.add("national")
    return kinds


@pytest.fixture(scope="module")
def workspace():
    """A template empty store and an operational database with one project per common-law route."""
    with tempfile.TemporaryDirectory() as tmp:
        template = Store.create(Path(tmp) / "template", node_name="optout-node").db_path
        db = open_database(load_settings(Path(tmp) / "data", env={}))
        user = accounts.create_user(db, email="r@test.example", password="a-long-test-password",
                                    roles=[Role.RESEARCHER])
        project_of = {}
        with db.session() as session:
            for route in ROUTES:
                p = Project(applicant_user_id=user, title=route, state="approved", round=1,
                            form=json.dumps({"common_law": route}), created_at=dt.datetime.now(dt.UTC))
                session.add(p)
                session.flush()
                project_of[f"project-{route}"] = f"project:{p.id}"
        yield template, db, project_of, Path(tmp)


def _write_register(path: Path, positions: set[int]) -> Path:
    path.write_text("nhs_number\n" + "".join(f"{NUMBERS[i]}\n" for i in sorted(positions)), encoding="utf-8")
    return path


def _numbers(result) -> tuple:
    return (result.population_count, result.attrition, result.strata, result.membership)


@st.composite
def scenarios(draw):
    data = draw(tables())
    for person in data["person"]:
        person["person_source_value"] = PSEUDONYMISER.pseudonym(NUMBERS[person["person_id"] - 1])
    positions = st.sets(st.integers(0, len(NUMBERS) - 1), max_size=6)
    return {
        "data": data,
        "registers": {"national": draw(positions), "type1": draw(positions)},
        "sources": draw(st.sampled_from([{"gp"}, {"hospital"}, {"gp", "hospital"}, None])),
        "purpose": draw(st.sampled_from(PURPOSES)),
        "query": draw(research_cohorts()),
    }


def _run(store: Store, purpose_code: str, query, policy: ExecutionPolicy):
    outputs = ("count", "strata", "attrition", "membership")
    purpose = Purpose(purpose_code, "test", record_level_allowed=True)
    request = ExecutionRequest.build(query, purpose, store, outputs=outputs)
    context = ExecutionContext("tester", frozenset({"custodian"}), request.node)
    return execute(request, context, policy)


def via_execution_path(store: Store, purpose_code: str, query, db) -> object:
    return _run(store, purpose_code, query, policy_for(purpose_code, store, database=db))


def via_cohort_run_cli(store: Store, purpose_code: str, query, db) -> object | None:
    """`phta cohort run --json --purpose P` (custodian_quality and network_feasibility only)."""
    if purpose_code not in ("custodian_quality", "network_feasibility"):
        return None
    definition = store.path.parent / "query.json"
    definition.write_text(serial.to_json(query), encoding="utf-8")
    out = CliRunner().invoke(cli, ["cohort", "run", str(definition), "--store", str(store.path), "--json",
                                   "--purpose", purpose_code])
    if first_refused(query, purpose_code) is not None:  # outside the purpose's vocabulary: refused, nothing counted
        assert out.exit_code == 1 and "query vocabulary" in out.output, out.output
        return None
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    return SimpleNamespace(
        population_count=got["population_count"],
        attrition=tuple(AttritionStep(**a) for a in got["attrition"]),
        strata=tuple(StratumCount(**s) for s in got["strata"]),
        membership=None,  # the CLI does not ask for record-level membership
        opt_outs=tuple(AppliedOptOut(o["kind"], dt.date.fromisoformat(o["as_of"])) for o in got["opt_outs"]),
    )


SURFACES = {"execution path": via_execution_path, "phta cohort run": via_cohort_run_cli}


@pytest.mark.slow
@SETTINGS
@given(case=scenarios())
def test_no_opted_out_person_is_ever_counted(workspace, case):
    template, db, project_of, _ = workspace
    purpose_code = project_of.get(case["purpose"], case["purpose"])
    with tempfile.TemporaryDirectory() as tmp:
        store = store_from_template(template, Path(tmp) / "node", case["data"])
        if case["sources"] is not None:
            data_source.declare(store, case["sources"])
        for kind, positions in case["registers"].items():
            optout_register.refresh(store, kind, _write_register(Path(tmp) / f"{kind}.csv", positions),
                                    dt.date(2026, 11, 1), PSEUDONYMISER)
        gp_sourced = case["sources"] is None or "gp" in case["sources"]
        kinds = expected_kinds(case["purpose"], gp_sourced)
        opted_out = {i + 1 for k in kinds for i in case["registers"][k]} & {
            p["person_id"] for p in case["data"]["person"]}
        pruned = store_from_template(template, Path(tmp) / "pruned", web_optout.without(case["data"], opted_out))
        expected = _numbers(_run(pruned, purpose_code, case["query"], ExecutionPolicy()))
        for name, surface in SURFACES.items():
            result = surface(store, purpose_code, case["query"], db)
            if result is None:
                continue  # this surface does not serve this purpose
            got = _numbers(result)
            if result.membership is None:  # this surface returns no record-level membership
                got, want = got[:3], expected[:3]
            else:
                want = expected
            assert got == want, name
            assert {o.kind for o in result.opt_outs} == kinds, name
            assert all(o.as_of == dt.date(2026, 11, 1) for o in result.opt_outs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(purpose=st.sampled_from(PURPOSES), sources=st.sampled_from([{"gp"}, {"hospital"}, None]),
       loaded=st.sets(st.sampled_from(["national", "type1"])))
def test_a_missing_register_that_applies_refuses_the_run(workspace, purpose, sources, loaded):
    template, db, project_of, _ = workspace
    purpose_code = project_of.get(purpose, purpose)
    data = {"person": [{"person_id": 1, "year_of_birth": 1970, "gender_concept_id": 8507, "race_concept_id": 0,
                        "ethnicity_concept_id": 0, "person_source_value": PSEUDONYMISER.pseudonym(NUMBERS[0])}]}
    with tempfile.TemporaryDirectory() as tmp:
        store = store_from_template(template, Path(tmp) / "node", data)
        if sources is not None:
            data_source.declare(store, sources)
        for kind in loaded:
            optout_register.refresh(store, kind, _write_register(Path(tmp) / "r.csv", {0}),
                                    dt.date(2026, 11, 1), PSEUDONYMISER)
        needed = expected_kinds(purpose, sources is None or "gp" in sources)
        query = ir.Cohort(ir.Literal("date", dt.date(2020, 1, 1)))  # everyone in the store
        if needed - loaded:
            with pytest.raises(OptOutRegisterMissing):
                via_execution_path(store, purpose_code, query, db)
        else:
            result = via_execution_path(store, purpose_code, query, db)
            assert result.population_count == (0 if needed else 1)


# --- the web: feasibility pages and APIs (protected counts) ----------------------------------
#
# Protected counts on the store with opted-out persons == the governed result on a pruned copy
# under the same cellkey.key (why: tests/integration/web_optout.py, which builds the stores).

WEB_COPIES = 10
PAGE_CONDITION = 313217  # Atrial fibrillation (SNOMED 49436004): a condition the page offers
PAGE_DRUG = 1332418  # Amlodipine (RxNorm 17767): a drug ingredient the page offers


def _replicated(data: dict, copies: int) -> dict:
    """``web_optout.replicated``, with condition and drug concept 1 made into concepts the
    feasibility page offers, so the page's cohorts find people."""
    out = web_optout.replicated(data, copies)
    out["concept"] = data["concept"] + [
        {**data["concept"][0], "concept_id": c, "concept_code": str(c)} for c in (PAGE_CONDITION, PAGE_DRUG)]
    for row in out["condition_occurrence"]:
        row["condition_concept_id"] = PAGE_CONDITION if row["condition_concept_id"] == 1 else row["condition_concept_id"]
    for row in out["drug_exposure"]:
        row["drug_concept_id"] = PAGE_DRUG if row["drug_concept_id"] == 1 else row["drug_concept_id"]
    return out


# Registers name base persons (every copy of that person) and outsiders (positions past the base).
REPLICA_REGISTERS = st.fixed_dictionaries(
    {k: st.sets(st.integers(0, 11), max_size=6) for k in ("national", "type1")})
WEB_SOURCES = st.sampled_from([{"gp"}, {"hospital"}, {"gp", "hospital"}, None])


@st.composite
def web_scenarios(draw):
    page = {"condition": PAGE_CONDITION, "drug": draw(st.sampled_from([None, PAGE_DRUG])),
            "age_min": draw(st.one_of(st.none(), st.integers(0, 100))), "sex": draw(st.sampled_from([None, *SEXES]))}
    page_query = build_cohort(page["condition"], drug_id=page["drug"], age_min=page["age_min"], sex=page["sex"])
    return {
        "base": draw(tables()),  # replicated by the test (a failing case's report stays short)
        "copies": draw(st.integers(3, WEB_COPIES)),
        "registers": draw(REPLICA_REGISTERS),
        "sources": draw(WEB_SOURCES),
        # the API takes any cohort; the page's kind of cohort finds more people, so cells get published
        "query": draw(st.one_of(research_cohorts(), st.just(page_query))),
        "page": {k: "" if v is None else str(v) for k, v in page.items()} | {"age_max": ""},
        "page_query": page_query,
    }


@pytest.fixture(scope="module")
def web(workspace):
    """The real app (uvicorn on loopback) on a data directory whose stores directory is a symlink
    the test re-points, with a researcher (the pages) and an innovator (the APIs) signed in."""
    _template, _db, _projects, tmp = workspace
    settings = load_settings(tmp / "web-data", env={})
    settings.data_dir.mkdir(parents=True)
    emails = {role: make_user(settings, role) for role in ("researcher", "innovator")}
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=120) as researcher, \
            httpx.Client(base_url=server.url, timeout=120) as innovator:
        for client, role in ((researcher, "researcher"), (innovator, "innovator")):
            assert sign_in(client, emails[role]).status_code == 303
        yield SimpleNamespace(settings=settings, db=open_database(settings), page=researcher, api=innovator,
                              innovator=principal(settings, emails["innovator"]))


def _full_and_pruned(template: Path, tmp: Path, base: dict, copies: int, registers, sources, *,
                     replicate=web_optout.replicated, load=store_from_template) -> tuple[Path, Path, set[str]]:
    """(stores root with the opted-out persons, pruned copy's root, register kinds that apply to
    network feasibility) for ``copies`` copies of the ``base`` store."""
    kinds = expected_kinds("network_feasibility", sources is None or "gp" in sources)
    data = replicate(base, copies)
    n = len(base["person"])
    removed = web_optout.opted_out(registers, kinds, n, copies)
    stores = {"registers": registers, "sources": sources, "n": n, "copies": copies, "load": load}
    full = web_optout.node_store(template, tmp / "full", data, **stores)
    pruned = web_optout.node_store(template, tmp / "pruned", web_optout.without(data, removed), **stores)
    return full, pruned, kinds


def _as_json(outcome) -> dict:
    """A network outcome as its API returns it."""
    return json.loads(json.dumps(outcome.to_dict(), default=str))


GOVERNED_SURFACES = ("feasibility API (POST /api/v1/feasibility)", "feasibility page (POST /feasibility)",
                     "ATLAS feasibility API (POST /api/v1/feasibility/atlas)",
                     "ATLAS feasibility page (POST /feasibility/atlas)")


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(case=web_scenarios())
def test_the_web_feasibility_page_and_api_never_count_an_opted_out_person(workspace, web, case):
    with tempfile.TemporaryDirectory() as tmp:
        full, pruned, kinds = _full_and_pruned(workspace[0], Path(tmp), case["base"], case["copies"],
                                               case["registers"], case["sources"], replicate=_replicated)
        # the governed result on the pruned copy: the oracle, straight from the execution path
        web_optout.serve(web.settings, pruned)
        # a query outside network feasibility's vocabulary is refused (400) before any node counts anyone
        refused = first_refused(case["query"], "network_feasibility") is not None
        want = None if refused else _as_json(network_feasibility(web.settings, web.db, web.innovator, case["query"]))
        page_want = network_feasibility(web.settings, web.db, web.innovator, case["page_query"])
        want_page = web_optout.post_page(web.page, "/feasibility", case["page"])  # the page on the pruned copy
        assert web_optout.network_total(want_page) == headline(page_want)
        # the surfaces, on the store holding the opted-out persons
        web_optout.serve(web.settings, full)
        got = web_optout.post_api(web.api, "/api/v1/feasibility", serial.to_json(case["query"]),
                                  form_page="/feasibility", status=400 if refused else 200)
        if not refused:
            assert web_optout.last_run_opt_outs(web.db) == kinds, GOVERNED_SURFACES[0]
            assert got == want, GOVERNED_SURFACES[0]
        got_page = web_optout.post_page(web.page, "/feasibility", case["page"])
        assert web_optout.last_run_opt_outs(web.db) == kinds, GOVERNED_SURFACES[1]
        assert got_page == want_page, GOVERNED_SURFACES[1]
    event("web: the API refused the query (vocabulary)" if refused else
          f"web: the API's network total {'suppressed' if got['total']['suppressed'] else 'published'}")
    event(f"web: the page's network total {'suppressed' if page_want.total.suppressed else 'published'}")


def headline(outcome) -> str:
    """The page's network total: the shown sum, or "withheld" when no node answered (never a 0)."""
    return shown(outcome.total, outcome.threshold, 1) if outcome.nodes else "withheld"


ATLAS_BASE_PERSONS = 6  # the seeded synthetic Circe store's persons, before replication


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(expression=circe_expression(), seed=st.integers(0, 1000), copies=st.integers(3, 8),
       registers=REPLICA_REGISTERS, sources=WEB_SOURCES)
def test_the_atlas_feasibility_page_and_api_never_count_an_opted_out_person(workspace, web, expression, seed,
                                                                            copies, registers, sources):
    """ATLAS network feasibility (phta.web.feasibility_atlas over phta.execution.network_atlas):
    the API and the page on the store with opted-out persons == the governed result on the pruned copy."""
    base = circe_synthetic.tables(seed, ATLAS_BASE_PERSONS)
    definition = json.dumps(expression)
    with tempfile.TemporaryDirectory() as tmp:
        full, pruned, kinds = _full_and_pruned(workspace[0], Path(tmp), base, copies, registers, sources,
                                               load=circe_optout.circe_store)
        web_optout.serve(web.settings, pruned)
        if first_refused(import_expression(expression), "network_feasibility") is not None:
            # outside network feasibility's vocabulary: refused before any node counts anyone
            web_optout.post_api(web.api, "/api/v1/feasibility/atlas", definition, form_page="/feasibility/atlas",
                                status=400)
            event("atlas web: refused (vocabulary)")
            return
        # the governed result on the pruned copy (the oracle), and the page showing it
        oracle = atlas_network_feasibility(web.settings, web.db, web.innovator, import_expression(expression))
        want = _as_json(oracle)
        want_page = web_optout.post_page(web.page, "/feasibility/atlas", {"definition": definition})
        assert web_optout.network_total(want_page).split(" (")[0] == headline(oracle).split(" (")[0]  # then nodes, labels
        web_optout.serve(web.settings, full)
        got = web_optout.post_api(web.api, "/api/v1/feasibility/atlas", definition, form_page="/feasibility/atlas")
        got.pop("unknown_concepts", None)  # the page's note of concepts no node knows: not a count
        assert web_optout.last_run_opt_outs(web.db) == kinds, GOVERNED_SURFACES[2]
        assert got == want, GOVERNED_SURFACES[2]
        got_page = web_optout.post_page(web.page, "/feasibility/atlas", {"definition": definition})
        assert web_optout.last_run_opt_outs(web.db) == kinds, GOVERNED_SURFACES[3]
        assert got_page == want_page, GOVERNED_SURFACES[3]
    event(f"atlas web: the network total {'suppressed' if want['total']['suppressed'] else 'published'}")


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(expression=circe_expression(), seed=st.integers(0, 1000), purpose=st.sampled_from(PURPOSES),
       sources=st.sampled_from([{"gp"}, {"hospital"}, None]),
       registers=st.fixed_dictionaries({k: st.sets(st.integers(0, len(circe_optout.NUMBERS) - 1), max_size=8)
                                        for k in ("national", "type1")}))
def test_no_opted_out_person_is_counted_by_atlas_cohorts(workspace, expression, seed, purpose, sources, registers):
    """ATLAS (Circe) cohorts: each surface on the node store == the same surface on the pruned copy."""
    template, db, project_of, _ = workspace
    purpose_code = project_of.get(purpose, purpose)
    kinds = expected_kinds(purpose, sources is None or "gp" in sources)
    with tempfile.TemporaryDirectory() as tmp:
        store, pruned = circe_optout.stores(template, Path(tmp), seed, registers, sources, kinds)
        for name, surface in circe_optout.SURFACES.items():
            outcome = surface(store, purpose_code, expression, db)
            if outcome is None:
                continue  # this surface does not serve this purpose
            got, applied = outcome
            assert got == circe_optout.expected(surface, pruned, purpose_code, expression), name
            assert {o[0] if isinstance(o, tuple) else o.kind for o in applied} == kinds, name
