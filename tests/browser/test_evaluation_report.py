"""The evaluation report opens offline in a real browser: every figure renders, nothing is
fetched from anywhere, and the checklist links land on their sections."""

import pytest

from phta.disclosure import Policy
from phta.evaluation.evaluate import run_evaluation
from phta.evaluation.protocol import freeze, parse_protocol
from phta.evaluation.report import build_report
from phta.evaluation.synthetic import diabetes_population

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    protocol = freeze(parse_protocol({"title": "DiabRisk evaluation", "index_test": "DiabRisk v1",
                                      "outcome": "type 2 diabetes within 1 year", "thresholds": [0.05],
                                      "subgroups": ["ethnic_group"], "bootstrap_replicates": 20}))
    result = run_evaluation(protocol, diabetes_population(5000), Policy())
    html, *_ = build_report(result).write(tmp_path_factory.mktemp("report"))
    return html


def test_report_renders_offline_with_its_figures_and_working_links(page, report_file):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report_file.as_uri())
    assert all(url.startswith("file://") for url in requests), requests
    assert page.locator("h1").inner_text() == "DiabRisk evaluation"
    svgs = page.locator("svg")
    assert svgs.count() >= 5
    for i in range(svgs.count()):
        box = svgs.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    assert "calibration differs by ethnic_group" in page.locator("#summary").inner_text()
    page.locator('#checklist a[href="#equity"]').first.click()
    assert page.evaluate("location.hash") == "#equity"
