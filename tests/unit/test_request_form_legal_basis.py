"""The legal basis of a data access request: section 251 routes, the CAG reference and the
exemption from the national data opt-out."""

from __future__ import annotations

from phta.governance import request_form
from tests.governance_support import complete_request


def _answers(**changes) -> dict:
    return request_form.normalise({**complete_request(), **changes})


def test_the_exempted_section_251_route_needs_the_reference_and_where_the_exemption_is():
    problems = request_form.submission_problems(_answers(common_law="s251_exempt", s251_reference=""))
    assert set(problems) == {"s251_reference", "opt_out_exemption"}
    assert "plain section 251" in problems["opt_out_exemption"]
    ok = _answers(common_law="s251_exempt", opt_out_exemption="Condition 4 of the approval letter")
    assert request_form.submission_problems(ok) == {}


def test_legal_basis_records_the_exemption_only_on_its_route():
    basis = request_form.legal_basis(_answers(common_law="s251_exempt", opt_out_exemption="Condition 4"))
    assert basis.as_dict() == {"article6": "6(1)(e)", "article9": "9(2)(j)", "common_law": "s251_exempt",
                               "cag_reference": "CAG 21/CAG/0001", "national_opt_out_exempt": True,
                               "national_opt_out_exemption": "Condition 4"}
    plain = request_form.legal_basis(_answers(opt_out_exemption="Condition 4"))  # route s251: ignored
    assert (plain.national_opt_out_exempt, plain.national_opt_out_exemption, plain.cag_reference) == (
        False, "", "CAG 21/CAG/0001")
    consent = request_form.legal_basis(_answers(common_law="consent"))
    assert consent.cag_reference == "" and not consent.national_opt_out_exempt
