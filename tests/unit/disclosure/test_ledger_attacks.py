"""The release ledger against five attacks, and five harmless controls that must not be flagged.

A checker that flags everything fails the controls; one that flags nothing fails the attacks.
Every scenario runs on both storages (in memory, and the SQLite file a node keeps).
"""

import itertools
from collections.abc import Callable

import pytest

from phta.disclosure.cellkey import cell_key, record_key
from phta.disclosure.check import check
from phta.disclosure.ledger import (
    InMemoryLedgerStorage,
    Population,
    Release,
    ReleaseLedger,
    SqliteLedgerStorage,
    member_digest,
)
from phta.disclosure.policy import Policy
from phta.disclosure.results import TOTAL, Dimension, FrequencyTable

LEDGER_KEY = b"node-ledger-key-for-tests"
RECORD_KEY = b"node-record-key-for-tests"


def people(blocks):
    """Persons from blocks of (how many, attributes); pseudonyms are sequential test labels."""
    _ids = itertools.count(1)
    out = []
    for n, attrs in blocks:
        out.extend({"id": f"P{next(_ids):05d}", **attrs} for _ in range(n))
    return out


def region_population():
    base = {"drug_x": "no", "drug_y": "no", "smoker": "no"}
    return people([
        (20, {**base, "age": "18-39", "sex": "F", "region": "R1"}),
        (19, {**base, "age": "18-39", "sex": "F", "region": "R2"}),
        (1, {**base, "age": "18-39", "sex": "F", "region": "R2", "drug_y": "yes"}),
        (20, {**base, "age": "18-39", "sex": "M", "region": "R1", "smoker": "yes"}),
        (20, {**base, "age": "18-39", "sex": "M", "region": "R2"}),
        (4, {**base, "age": "40-59", "sex": "F", "region": "R1", "drug_x": "yes"}),
        (26, {**base, "age": "40-59", "sex": "F", "region": "R2", "smoker": "yes"}),
        (15, {**base, "age": "40-59", "sex": "M", "region": "R1"}),
        (13, {**base, "age": "40-59", "sex": "M", "region": "R2", "smoker": "yes"}),
        (2, {**base, "age": "40-59", "sex": "M", "region": "R2", "drug_y": "yes"}),
        (14, {**base, "age": "60+", "sex": "F", "region": "R2", "smoker": "yes"}),
        (14, {**base, "age": "60+", "sex": "F", "region": "R2"}),
        (2, {**base, "age": "60+", "sex": "F", "region": "R1"}),
        (12, {**base, "age": "60+", "sex": "M", "region": "R1", "smoker": "yes"}),
        (13, {**base, "age": "60+", "sex": "M", "region": "R1"}),
    ])


def digests(persons):
    return frozenset(member_digest(p["id"], LEDGER_KEY) for p in persons)


def count_release(rid, project, label, persons):
    return Release(rid, project, label, (Population(label, digests(persons)),))


def table_release(rid, project, persons, row, col, policy):
    """Check a row x col table, then record the populations of every *published* cell."""
    rows = sorted({p[row] for p in persons})
    cols = sorted({p[col] for p in persons})
    members = {(r, c): [p for p in persons if p[row] == r and p[col] == c] for r in rows for c in cols}
    table = FrequencyTable(dimensions=(Dimension(row, tuple(rows)), Dimension(col, tuple(cols))),
                           counts=tuple(len(members[r, c]) for r in rows for c in cols))
    output = check(table, policy)
    populations = []
    for cell in output.cells:
        if cell.suppressed:
            continue
        r, c = cell.cell
        who = [p for p in persons if (r == TOTAL or p[row] == r) and (c == TOTAL or p[col] == c)]
        populations.append(Population(f"{row}={r}, {col}={c}", digests(who)))
    return Release(rid, project, f"{row} x {col}", tuple(populations)), output


# --- attacks ------------------------------------------------------------------------------------

def attack_averaging(ledger, persons):
    """Ask for the same people 12 times, phrased differently, and average the noisy answers."""
    policy = Policy(perturbation="cell_key", rounding="none")
    keys = {p["id"]: record_key(p["id"], RECORD_KEY) for p in persons}
    candidates = [persons[:n] for n in range(60, len(persons))]
    cohort = next(c for c in candidates if _noisy(c, keys, policy) != len(c))
    answers, verdicts = [], []
    for i in range(12):
        phrasing = f"query phrasing {i}"  # a different description of the same persons each time
        answers.append(_noisy(cohort, keys, policy))
        verdicts.append(ledger.record(count_release(f"avg-{i}", "proj-a", phrasing, cohort)))
    assert len(set(answers)) == 1 and sum(answers) / len(answers) != len(cohort)  # the average never converges
    return verdicts


def _noisy(cohort, keys, policy):
    table = FrequencyTable(dimensions=(Dimension("cohort", ("all",)),), counts=(len(cohort),), publish_margins=False,
                           cell_keys=(cell_key(keys[p["id"]] for p in cohort),))
    return check(table, policy).cells[0].value


def attack_nested_cohorts(ledger, persons):
    over_40 = [p for p in persons if p["age"] != "18-39"]
    without_x = [p for p in over_40 if p["drug_x"] == "no"]
    return [ledger.record(count_release("n1", "proj-a", "aged 40+", over_40)),
            ledger.record(count_release("n2", "proj-b", "aged 40+ not on drug X", without_x))]


def attack_complement(ledger, persons):
    not_y = [p for p in persons if p["drug_y"] == "no"]
    return [ledger.record(count_release("c1", "proj-a", "everyone", persons)),
            ledger.record(count_release("c2", "proj-a", "everyone not on drug Y", not_y))]


def attack_suppressed_cell_from_margins(ledger, persons):
    release, output = table_release("s1", "proj-a", persons, "age", "drug_x", Policy())
    assert ("40-59", "yes") in output.suppressed_cells("threshold")  # 4 persons, suppressed in the table
    first = ledger.record(release)
    rest_of_row = [p for p in persons if p["age"] == "40-59" and p["drug_x"] == "no"]
    return [first, ledger.record(count_release("s2", "proj-a", "aged 40-59 not on drug X", rest_of_row))]


def attack_linked_tables(ledger, persons):
    first, _ = table_release("l1", "proj-a", persons, "age", "sex", Policy())
    second, _ = table_release("l2", "proj-c", persons, "age", "region", Policy())
    return [ledger.record(first), ledger.record(second)]


ATTACKS: dict[str, Callable] = {
    "averaging repeated queries": attack_averaging,
    "differencing two nested cohorts": attack_nested_cohorts,
    "complements": attack_complement,
    "recovering a suppressed cell from margins": attack_suppressed_cell_from_margins,
    "linking two tables with a shared margin": attack_linked_tables,
}


# --- harmless controls --------------------------------------------------------------------------

def control_disjoint_cohorts(ledger, persons):
    return [ledger.record(count_release("d1", "proj-a", "women", [p for p in persons if p["sex"] == "F"])),
            ledger.record(count_release("d2", "proj-a", "men", [p for p in persons if p["sex"] == "M"]))]


def control_nested_far_apart(ledger, persons):
    return [ledger.record(count_release("f1", "proj-a", "aged 40+", [p for p in persons if p["age"] != "18-39"])),
            ledger.record(count_release("f2", "proj-b", "aged 60+", [p for p in persons if p["age"] == "60+"]))]


def control_large_complement(ledger, persons):
    return [ledger.record(count_release("g1", "proj-a", "everyone", persons)),
            ledger.record(count_release("g2", "proj-a", "not aged 18-39", [p for p in persons if p["age"] != "18-39"]))]


def control_tables_on_other_populations(ledger, persons):
    r1, _ = table_release("o1", "proj-a", [p for p in persons if p["region"] == "R1"], "age", "sex", Policy())
    r2, _ = table_release("o2", "proj-a", [p for p in persons if p["region"] == "R2"], "age", "sex", Policy())
    return [ledger.record(r1), ledger.record(r2)]


def control_shared_margin_without_near_duplicates(ledger, persons):
    first, _ = table_release("m1", "proj-a", persons, "age", "sex", Policy())
    second, _ = table_release("m2", "proj-a", persons, "age", "smoker", Policy())
    return [ledger.record(first), ledger.record(second)]


CONTROLS: dict[str, Callable] = {
    "disjoint cohorts": control_disjoint_cohorts,
    "nested cohorts far apart": control_nested_far_apart,
    "complement of a large group": control_large_complement,
    "tables on other populations": control_tables_on_other_populations,
    "tables sharing only a margin": control_shared_margin_without_near_duplicates,
}


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request, tmp_path):
    storage = InMemoryLedgerStorage() if request.param == "memory" else SqliteLedgerStorage(tmp_path / "ledger.sqlite")
    return ReleaseLedger(storage, Policy())


def test_as_many_controls_as_attacks():
    assert len(ATTACKS) == len(CONTROLS) == 5


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_is_blocked_or_flagged(name, ledger):
    verdicts = ATTACKS[name](ledger, region_population())
    assert any(v.flagged and v.outcome in ("block", "review") for v in verdicts), name


@pytest.mark.parametrize("name", CONTROLS)
def test_no_control_is_flagged(name, ledger):
    verdicts = CONTROLS[name](ledger, region_population())
    assert all(not v.flagged and v.outcome == "release" for v in verdicts), [v.findings for v in verdicts]


def test_review_mode_holds_instead_of_blocking_and_findings_explain(tmp_path):
    ledger = ReleaseLedger(SqliteLedgerStorage(tmp_path / "l.sqlite"), Policy(differencing="review"))
    _, verdict = attack_nested_cohorts(ledger, region_population())
    assert verdict.outcome == "review"
    [finding] = verdict.findings
    assert finding.kind == "differencing" and finding.difference == 4 and finding.earlier_project == "proj-a"
    assert "fewer than 10" in finding.explanation


def test_blocked_releases_are_not_recorded_and_the_file_keeps_only_digests(tmp_path):
    path = tmp_path / "l.sqlite"
    ledger = ReleaseLedger(SqliteLedgerStorage(path), Policy())
    persons = region_population()
    attack_nested_cohorts(ledger, persons)
    reopened = SqliteLedgerStorage(path)
    assert [p.release_id for p in reopened.populations_sized(0, 10_000)] == ["n1"]
    assert persons[0]["id"].encode() not in path.read_bytes()


def test_many_tables_on_one_cohort_are_not_an_averaging_pattern(ledger):
    """The cohort's total recurs as the margin of every table; that alone is not flagged."""
    persons = region_population()
    pairs = [("age", "sex"), ("age", "smoker"), ("sex", "smoker"), ("sex", "age"), ("smoker", "age"),
             ("smoker", "sex"), ("age", "sex")]
    for i, (row, col) in enumerate(pairs):
        release, _ = table_release(f"t{i}", "proj-a", persons, row, col, Policy())
        verdict = ledger.record(release)
        assert not verdict.flagged, verdict.findings
    lone_count = ledger.record(count_release("again", "proj-a", "everyone", persons))
    assert lone_count.outcome == "review" and lone_count.findings[0].kind == "repeated_query"
