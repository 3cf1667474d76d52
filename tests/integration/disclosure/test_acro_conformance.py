"""Conformance with ACRO: on the same crosstabs and magnitude tables with equal parameters, the
same cells fail the threshold, N-K dominance and p-ratio checks.

ACRO counts records; our tables count distinct persons, so each microdata row here is one person
and the two agree. Every cell is non-empty: ACRO treats an empty cell's count of 0 as below the
threshold, while our zeros policy publishes sampling zeros by default (a documented difference).
"""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from phta.disclosure.check import check
from phta.disclosure.policy import Policy
from phta.disclosure.results import Dimension, FrequencyTable, MagnitudeTable

ORACLE = Path(__file__).with_name("acro_oracle.py")
PARAMETER_SETS = [
    {"safe_threshold": 10, "safe_nk_n": 2, "safe_nk_k": 0.90, "safe_pratio_p": 0.10},
    {"safe_threshold": 7, "safe_nk_n": 3, "safe_nk_k": 0.75, "safe_pratio_p": 0.25},
]


def policy_for(params) -> Policy:
    return Policy(threshold=params["safe_threshold"], dominance_n=params["safe_nk_n"],
                  dominance_k=params["safe_nk_k"], p_percent=params["safe_pratio_p"])


def microdata(rng: random.Random) -> list[dict]:
    rows = []
    for a in ("x", "y", "z"):
        for b in ("p", "q", "r"):
            for _ in range(rng.choice([rng.randint(1, 9), rng.randint(2, 30)])):
                # whole numbers keep sums exact, so both sides compute identical ratios
                value = rng.choice([rng.randint(1, 100), rng.randint(1, 100), rng.randint(1000, 50_000)])
                rows.append({"a": a, "b": b, "v": value})
    return rows


def our_tables(rows):
    levels_a, levels_b = sorted({r["a"] for r in rows}), sorted({r["b"] for r in rows})
    dims = (Dimension("a", tuple(levels_a)), Dimension("b", tuple(levels_b)))
    cells = [[r["v"] for r in rows if r["a"] == a and r["b"] == b] for a in levels_a for b in levels_b]
    counts = FrequencyTable(dimensions=dims, counts=tuple(len(c) for c in cells), publish_margins=False)
    sums = MagnitudeTable(dimensions=dims, sums=tuple(sum(c) for c in cells), contributors=tuple(len(c) for c in cells),
                          top_values=tuple(tuple(sorted(c, reverse=True)[:5]) for c in cells), publish_margins=False)
    return counts, sums


def failing(output, rule):
    return sorted([list(cell) for cell in output.suppressed_cells(rule)])


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    rng = random.Random(20261127)
    built = [{"params": params, "rows": microdata(rng)} for params in PARAMETER_SETS for _ in range(15)]
    folder = tmp_path_factory.mktemp("acro")
    (folder / "in.json").write_text(json.dumps(built))
    run = subprocess.run([sys.executable, str(ORACLE), str(folder / "in.json"), str(folder / "out.json")],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return list(zip(built, json.loads((folder / "out.json").read_text()), strict=True))


def test_the_cases_exercise_every_rule(cases):
    seen = {rule for _, acro in cases for part in acro.values() for rule, cells in part.items() if cells}
    assert seen == {"threshold", "dominance", "p_percent"}


def test_same_cells_fail_threshold_in_count_tables(cases):
    for case, acro in cases:
        counts, _ = our_tables(case["rows"])
        assert failing(check(counts, policy_for(case["params"])), "threshold") == acro["counts"]["threshold"]


@pytest.mark.parametrize("rule", ["threshold", "dominance", "p_percent"])
def test_same_cells_fail_in_magnitude_tables(cases, rule):
    for case, acro in cases:
        _, sums = our_tables(case["rows"])
        assert failing(check(sums, policy_for(case["params"])), rule) == acro["sums"][rule], case["params"]
