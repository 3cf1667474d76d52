"""``phta evaluate metrics``: the documented JSON keys, and clear errors that never echo a value."""

import csv
import json
import re

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from phta.cli.main import app

runner = CliRunner()


@pytest.fixture
def scored(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    lp = rng.normal(-1, 1, n)
    y = (rng.uniform(size=n) < expit(lp)).astype(int)
    path = tmp_path / "scored.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person", "risk", "old_risk", "diabetes", "ethnicity"])
        for i in range(n):
            w.writerow([f"p{i}", expit(lp[i]), expit(lp[i] + rng.normal()), y[i],
                        ["White", "Asian", "Black"][i % 3]])
    return path, expit(lp), y


def _run(*args):
    return runner.invoke(app, ["evaluate", "metrics", *map(str, args)])


def test_json_has_exactly_the_documented_keys(scored):
    path, p, y = scored
    result = _run(path, "--score", "risk", "--compare", "old_risk", "--outcome", "diabetes",
                  "--group", "ethnicity", "--threshold", "0.2", "--threshold", "0.5",
                  "--net-benefit", "0.1", "--id", "person", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"n", "events", "auroc", "compare", "thresholds", "calibration", "by_group", "net_benefit"}
    assert out["n"] == 400 and out["events"] == int(y.sum())
    assert set(out["auroc"]) == {"estimate", "se", "ci95"}
    assert out["auroc"]["estimate"] == pytest.approx(roc_auc_score(y, p))
    assert set(out["compare"]) == {"auroc", "delong_z", "delong_p"}
    assert set(out["thresholds"]) == {"0.2", "0.5"}
    row = out["thresholds"]["0.5"]
    assert set(row) == {"tp", "fp", "fn", "tn", "sensitivity", "specificity"}
    assert set(row["sensitivity"]) == {"estimate", "wilson", "clopper_pearson"}
    assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == 400
    assert set(out["calibration"]) == {"slope", "citl", "brier", "o_e"}
    assert set(out["by_group"]) == {"White", "Asian", "Black"}
    assert set(out["by_group"]["Asian"]) == {"n", "auroc", "o_e"}
    assert set(out["net_benefit"]["0.1"]) == {"model", "treat_all"}


def test_parts_not_asked_for_are_null(scored):
    path, _, _ = scored
    out = json.loads(_run(path, "--score", "risk", "--outcome", "diabetes", "--json").output)
    assert out["compare"] is None and out["by_group"] is None and out["thresholds"] == {}


def test_table_output_for_people(scored):
    path, _, _ = scored
    result = _run(path, "--score", "risk", "--outcome", "diabetes", "--threshold", "0.5")
    assert result.exit_code == 0 and "AUROC" in result.output and "sensitivity" in result.output


def _write(tmp_path, rows):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(("rows", "args", "message"), [
    (["id,s,y", "a,0.2,0", "b,0.4,1"], ["--score", "score"], "no column 'score' (asked for by --score)"),
    (["id,s,y", "a,0.2,0", "b,SECRET-VALUE,1"], ["--score", "s"], "bad.csv:3: column 's' is not a number"),
    (["id,s,y", "a,0.2,0", "b,nan,1"], ["--score", "s"], "bad.csv:3: column 's' is not a finite number"),
    (["id,s,y", "a,0.2,0", "b,0.4,SECRET-VALUE"], ["--score", "s"], "bad.csv:3: column 'y' must be 0 or 1"),
    (["id,s,y", "SECRET-VALUE,0.2,0", "SECRET-VALUE,0.4,1"], ["--score", "s", "--id", "id"],
     "bad.csv:3: column 'id' repeats the id on line 2"),
    (["id,s,y", "a,0.2,1", "b,0.4,1"], ["--score", "s"], "needs at least one 1 and one 0"),
    (["id,s,y", "a,0.2,0", "b,0.4"], ["--score", "s"], "bad.csv:3: the row has a different number of fields"),
])
def test_bad_input_names_file_line_and_column_but_never_the_value(tmp_path, rows, args, message):
    result = _run(_write(tmp_path, rows), *args, "--outcome", "y", "--json")
    assert result.exit_code == 2
    assert message in result.output
    assert "SECRET-VALUE" not in result.output
    assert "Traceback" not in result.output


def test_net_benefit_needs_a_probability(tmp_path):
    path = _write(tmp_path, ["s,y", "3,0", "5,1", "4,0"])
    result = _run(path, "--score", "s", "--outcome", "y", "--net-benefit", "0.2")
    assert result.exit_code == 2 and "needs a score that is a probability" in result.output


def test_report_command_writes_three_files_naming_the_protocol_hash(tmp_path):
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text("title: demo\nindex_test: DiabRisk v1\noutcome: T2D within 1 year\n"
                        "thresholds: [0.05]\nsubgroups: [ethnic_group]\nbootstrap_replicates: 20\n")
    result = runner.invoke(app, ["evaluate", "report", "--synthetic", "3000", "--protocol", str(protocol),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    sha = re.search(r"sha256 ([0-9a-f]{64})", result.output).group(1)
    assert sha in (tmp_path / "out" / "evaluation-report.html").read_text()
    assert json.loads((tmp_path / "out" / "evaluation-report.json").read_text())["protocol"]["sha256"] == sha
    assert (tmp_path / "out" / "evaluation-report.pdf").read_bytes().startswith(b"%PDF")


def test_report_command_from_a_linked_file(scored, tmp_path):
    path, _, _ = scored
    protocol = tmp_path / "protocol.json"
    protocol.write_text(json.dumps({"title": "t", "index_test": "risk", "outcome": "diabetes", "thresholds": [0.3],
                                    "subgroups": ["ethnicity"], "bootstrap_replicates": 10}))
    result = runner.invoke(app, ["evaluate", "report", str(path), "--protocol", str(protocol), "--out", str(tmp_path / "o"),
                                 "--score", "risk", "--outcome", "diabetes", "--group", "ethnicity", "--id", "person"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "o" / "evaluation-report.json").read_text())
    assert set(doc["equity"]["ethnicity"]["groups"]) == {"White", "Asian", "Black"}


def test_report_command_refuses_an_invalid_protocol_by_field(tmp_path):
    protocol = tmp_path / "p.yaml"
    protocol.write_text("title: t\nindex_test: x\noutcome: y\nminimum_cell_size: 0\n")
    result = runner.invoke(app, ["evaluate", "report", "--synthetic", "100", "--protocol", str(protocol), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "field minimum_cell_size" in result.output


def test_unidentified_calibration_is_null_not_library_noise(tmp_path):
    path = _write(tmp_path, ["s,y", "0.1,0", "0.2,0", "0.3,0", "0.8,1", "0.9,1"])
    result = _run(path, "--score", "s", "--outcome", "y", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["calibration"]["slope"] is None
    assert "Warning" not in result.output
