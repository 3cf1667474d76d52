"""A whole evaluation under a frozen protocol: disclosure control on every table (attack and
control), the protocol hash in the result, and the synthetic finding the demo relies on."""

import dataclasses
import json

import numpy as np
import pytest

from phta.disclosure import Policy
from phta.evaluation._arrays import EvaluationError
from phta.evaluation.evaluate import EvaluationData, run_evaluation
from phta.evaluation.protocol import ProtocolError, freeze, parse_protocol
from phta.evaluation.synthetic import diabetes_population

PROTOCOL = {"title": "T2D 1-year risk", "index_test": "DiabRisk v1", "outcome": "type 2 diabetes within 1 year",
            "thresholds": [0.02, 0.05], "subgroups": ["ethnic_group", ["ethnic_group", "imd_quintile"]],
            "bootstrap_replicates": 50, "minimum_cell_size": 10}


@pytest.fixture(scope="module")
def population():
    return diabetes_population(8000)


@pytest.fixture(scope="module")
def result(population):
    return run_evaluation(freeze(parse_protocol(PROTOCOL)), population, Policy())


def test_result_names_the_protocol_hash_and_disclosure_policy(result):
    frozen = freeze(parse_protocol(PROTOCOL))
    assert result["protocol"]["sha256"] == frozen.sha256
    assert result["disclosure_policy"]["sha256"] == Policy().sha256
    json.dumps(result)  # every number is JSON


def test_the_synthetic_model_is_miscalibrated_for_south_asian_people(result):
    eq = result["equity"]["ethnic_group"]
    assert eq["calibration_test"]["p_value"] < 0.01
    assert eq["groups"]["South Asian"]["o_e"] > 1.4
    assert eq["gaps"]["South Asian"]["o_e"]["ci95"][0] > 0


def test_attack_small_intersection_cells_are_withheld_with_the_reason(result):
    groups = result["equity"]["ethnic_group x imd_quintile"]["groups"]
    withheld = {g: v for g, v in groups.items() if "withheld" in v}
    assert withheld, "some ethnic group x IMD cells hold fewer than 10 events"
    for v in withheld.values():
        assert set(v) == {"withheld"} and ("fewer than 10" in v["withheld"] or "protect another" in v["withheld"])
    table = result["equity"]["ethnic_group x imd_quintile"]["table"]
    for cell in table["cells"]:
        if cell["suppressed"]:
            assert cell["value"] is None and cell["reason"]
        elif cell["value"] is not None and not (cell["cell"][-1] == "Total" or cell["cell"][0] == "Total"):
            assert cell["value"] == 0 or cell["value"] >= 10


def test_control_large_groups_are_published_with_rounded_counts(result):
    white = result["equity"]["ethnic_group"]["groups"]["White"]
    assert white["n"] % 5 == 0 and white["auroc"] is not None


def test_attack_a_threshold_whose_2x2_has_a_small_cell_reports_no_accuracy(population):
    # a threshold only the four highest scores reach: its positives are a handful of people,
    # and sensitivity with the published margins would give their number away
    t = float(np.sort(np.asarray(population.score))[-4])
    protocol = freeze(parse_protocol({**PROTOCOL, "thresholds": [t], "subgroups": []}))
    out = run_evaluation(protocol, population, Policy())["accuracy"][f"{t:g}"]
    assert "withheld" in out and "sensitivity" not in out and "fewer than 10" in out["withheld"]


def test_protocol_minimum_cell_size_only_tightens_the_policy(population):
    protocol = freeze(parse_protocol({**PROTOCOL, "minimum_cell_size": 50, "subgroups": ["ethnic_group"]}))
    out = run_evaluation(protocol, population, Policy())
    assert out["disclosure_policy"]["threshold"] == 50
    loose = freeze(parse_protocol({**PROTOCOL, "minimum_cell_size": 1, "subgroups": []}))
    assert run_evaluation(loose, population, Policy())["disclosure_policy"]["threshold"] == 10


def test_a_tampered_protocol_is_refused_before_any_result(population):
    frozen = freeze(parse_protocol(PROTOCOL))
    tampered = dataclasses.replace(frozen, protocol=parse_protocol({**PROTOCOL, "thresholds": [0.9]}))
    with pytest.raises(ProtocolError, match="no longer matches"):
        run_evaluation(tampered, population, Policy())


def test_too_few_events_to_report_anything():
    data = EvaluationData(score=np.linspace(0.01, 0.5, 100), outcome=np.r_[np.ones(3), np.zeros(97)])
    with pytest.raises(EvaluationError, match="fewer than 10 people"):
        run_evaluation(freeze(parse_protocol({**PROTOCOL, "subgroups": []})), data, Policy())


def test_drift_rows_per_model_version(result):
    assert set(result["drift"]) == {"v1", "v2"}
    assert [r["period"] for r in result["drift"]["v2"]] == ["2025Q3", "2025Q4"]


def test_attack_calibration_curves_are_not_drawn_for_groups_whose_percentiles_describe_few_people(result):
    eq = result["equity"]["ethnic_group"]
    shown = {g for g, v in eq["groups"].items() if "withheld" not in v}
    curves = set(eq["calibration_curves"])
    assert curves <= shown
    for g in shown - curves:  # control: a group left out is one with under 200 people
        assert eq["groups"][g]["n"] < 200 + 5
    assert "White" in curves
