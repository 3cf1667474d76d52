"""The report: offline HTML that passes the airlock's checks, JSON with every number, a PDF,
the protocol hash, checklists linked to sections, and withheld cells named with their reason."""

import json
import re

import pytest

from phta.disclosure import Policy
from phta.disclosure.file_checks import check_file
from phta.evaluation.checklists import STARD_2015, TRIPOD_AI, assess
from phta.evaluation.evaluate import run_evaluation
from phta.evaluation.protocol import freeze, parse_protocol
from phta.evaluation.report import build_report, clinician_summary
from phta.evaluation.synthetic import diabetes_population

PROTOCOL = {"title": "DiabRisk evaluation", "index_test": "DiabRisk v1", "outcome": "type 2 diabetes within 1 year",
            "thresholds": [0.05], "subgroups": ["ethnic_group", ["ethnic_group", "imd_quintile"]],
            "bootstrap_replicates": 30}


@pytest.fixture(scope="module")
def result():
    return run_evaluation(freeze(parse_protocol(PROTOCOL)), diabetes_population(6000), Policy())


@pytest.fixture(scope="module")
def report(result):
    return build_report(result)


def test_html_is_self_contained_and_passes_the_airlock_file_checks(report):
    # the release copy passes the allow-list; the viewing copy differs only by its inline figures
    assert check_file("report.html", report.html_for_release.encode()).passed
    assert "<svg" not in report.html_for_release and "Summary for clinicians" in report.html_for_release
    refused = check_file("report.html", report.html.encode()).findings
    assert refused and all("<svg>" in f.where for f in refused)
    assert "<script" not in report.html and "http://" not in report.html.replace("http://www.w3.org", "")
    assert report.html.count("<svg") >= 5  # flow, ROC, PR, calibration (+ by group), decision curve


def test_json_holds_every_number_and_passes_the_airlock_file_checks(report, result):
    assert check_file("report.json", report.json.encode()).passed
    doc = json.loads(report.json)
    assert doc["discrimination"]["auroc"] == result["discrimination"]["auroc"]  # floats round-trip exactly
    assert doc["protocol"]["sha256"] == result["protocol"]["sha256"]


def test_pdf_is_a_pdf(report):
    assert report.pdf.startswith(b"%PDF-") and b"%%EOF" in report.pdf[-64:]


def test_report_names_the_protocol_hash(report, result):
    assert result["protocol"]["sha256"] in report.html


def test_every_reported_checklist_item_links_to_a_section_that_exists(report):
    sections = set(re.findall(r'<section id="([a-z]+)"', report.html))
    for link in re.findall(r'<a href="#([a-z]+)">', report.html):
        assert link in sections
    items = assess(json.loads(report.json))
    assert len(items) == len(STARD_2015) + len(TRIPOD_AI)
    assert {i["status"] for i in items} == {"reported", "not applicable", "not reported"}


def test_a_checklist_item_is_not_reported_when_its_section_is_absent(result):
    without = {k: v for k, v in result.items() if k != "equity"}
    fairness = next(i for i in assess(without) if i["checklist"] == "TRIPOD+AI" and i["item"] == "14")
    assert fairness["status"] == "not reported"


def test_withheld_cells_appear_with_their_reason_and_no_value(report, result):
    groups = result["equity"]["ethnic_group x imd_quintile"]["groups"]
    withheld = [g for g, v in groups.items() if "withheld" in v]
    assert withheld
    doc = json.loads(report.json)
    listed = {w["where"] for w in doc["withheld"]}
    assert f"ethnic_group x imd_quintile: {withheld[0]}" in listed
    assert "withheld: fewer than 10 persons" in report.html


def test_clinician_summary_states_the_finding():
    result = run_evaluation(freeze(parse_protocol({**PROTOCOL, "subgroups": ["ethnic_group"]})),
                            diabetes_population(6000), Policy())
    text = " ".join(clinician_summary(result))
    assert "calibration differs by ethnic_group" in text and "South Asian" in text
