"""``phta outputs check FILE --policy P``: per-cell outcomes, reasons and exit codes."""

import json

import pytest
from typer.testing import CliRunner

from phta.cli.main import app
from phta.disclosure.results import Dimension, MagnitudeTable, to_json
from phta.disclosure.table_files import TableFileError, parse_crosstab_csv

runner = CliRunner()
CROSSTAB = "age \\ sex,F,M,Total\n0-39,3,50,53\n40-59,40,45,85\n60+,30,30,60\nTotal,73,125,198\n"


def test_a_table_with_a_small_cell_exits_one_and_says_why(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text(CROSSTAB)
    result = runner.invoke(app, ["outputs", "check", str(path), "--policy", "default"])
    assert result.exit_code == 1, result.output
    assert "0-39 / F" in result.output and "fewer than 10 persons" in result.output
    assert "could be recovered" in result.output  # the secondary suppressions are explained too


def test_json_output_lists_decisions_and_policy_hash(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text(CROSSTAB)
    result = runner.invoke(app, ["outputs", "check", str(path), "--json"])
    data = json.loads(result.output)
    assert data["status"] == "suppressed" and len(data["policy_sha256"]) == 64
    assert {"cell", "rule", "parameters", "outcome", "explanation"} <= set(data["decisions"][0])
    assert [c["value"] for c in data["cells"] if c["cell"] == ["0-39", "F"]] == [None]


def test_a_safe_table_exits_zero(tmp_path):
    path = tmp_path / "safe.csv"
    path.write_text("age,count\n0-39,30\n40+,45\n")
    result = runner.invoke(app, ["outputs", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "pass" in result.output


def test_policy_file_and_node_overrides(tmp_path):
    path = tmp_path / "safe.csv"
    path.write_text("age,count\n0-39,12\n40+,45\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("name: region\nnodes:\n  uhb: {threshold: 15}\n")
    assert runner.invoke(app, ["outputs", "check", str(path), "--policy", str(policy)]).exit_code == 0
    assert runner.invoke(app, ["outputs", "check", str(path), "--policy", str(policy), "--node", "uhb"]).exit_code == 1


def test_json_results_are_accepted(tmp_path):
    table = MagnitudeTable(dimensions=(Dimension("site", ("a", "b")),), sums=(1900.0, 1200.0), contributors=(12, 12),
                           top_values=((1000.0, 800.0), (100.0, 100.0)), publish_margins=False)
    path = tmp_path / "m.json"
    path.write_text(to_json(table))
    result = runner.invoke(app, ["outputs", "check", str(path)])
    assert result.exit_code == 1 and "largest 2 contributions" in result.output


@pytest.mark.parametrize("content, message", [
    ("age,count\n0-39,x\n", "line 2, column 'count'"),
    ("age \\ sex,F,M,Total\n0-39,30,50,81\n", "line 2, column 'Total'"),
    ("age,count\n0-39,1,2\n", "line 2: 3 fields"),
])
def test_bad_files_name_the_line_and_column(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["outputs", "check", str(path)])
    assert result.exit_code == 2 and message in result.output


def test_missing_file_and_unknown_policy_are_clear(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short paths, so the message is not wrapped
    assert "no such file" in runner.invoke(app, ["outputs", "check", "none.csv"]).output
    (tmp_path / "safe.csv").write_text("age,count\n0-39,30\n")
    assert "built-in" in runner.invoke(app, ["outputs", "check", "safe.csv", "--policy", "nope"]).output


def test_crosstab_csv_shape():
    table = parse_crosstab_csv("t.csv", CROSSTAB)
    assert [d.name for d in table.dimensions] == ["age", "sex"] and table.publish_margins
    assert table.counts == (3, 50, 40, 45, 30, 30)
    assert not parse_crosstab_csv("t.csv", "age,F,M\na,1,2\n").publish_margins
    with pytest.raises(TableFileError, match="column 'F'"):
        parse_crosstab_csv("t.csv", "age,F,M\na,1,2\nTotal,2,2\n")


def test_figures_and_reports_get_the_automatic_file_checks(tmp_path):
    svg = tmp_path / "figure.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>')
    assert runner.invoke(app, ["outputs", "check", str(svg)]).exit_code == 0
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>')
    result = runner.invoke(app, ["outputs", "check", str(svg), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["findings"][0]["rule"] == "script"
    csv_with_formula = tmp_path / "t.csv"
    csv_with_formula.write_text("age,count\n0-39,=1+1\n")
    result = runner.invoke(app, ["outputs", "check", str(csv_with_formula)])
    assert result.exit_code == 1 and "formula" in result.output
