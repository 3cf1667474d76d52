"""The operator's dashboard: enquiries by pathway, status, sector and month; time to first
response and to close (working days); conversion to projects; and the CSV export.

Conversion: a case converts when a data access request or an evaluation was opened from it and
the enquirer then drafted a project (a project of theirs created after the link was opened).
CSV cells are neutralised against formula injection: a cell starting with = + - @ tab or CR is
prefixed with an apostrophe, so a spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import select

from phta.csv_cells import neutralise
from phta.frontdoor.cases import CaseView, aware
from phta.governance.working_days import working_days
from phta.store import Database
from phta.store.models import FrontdoorCase, FrontdoorCaseLink, Project

CSV_COLUMNS = ["case", "created", "organisation", "sector", "stage", "needs", "pathway", "status", "outcome",
               "account_manager", "first_response_working_days", "close_working_days", "first_response_overdue",
               "converted"]


def converted_case_ids(database: Database) -> set[int]:
    with database.session() as session:
        links = session.execute(select(FrontdoorCaseLink.case_id, FrontdoorCaseLink.created_at,
                                       FrontdoorCaseLink.kind)).all()
        applicants = dict(session.execute(select(FrontdoorCase.id, FrontdoorCase.applicant_user_id)).all())
        projects = session.execute(select(Project.applicant_user_id, Project.created_at)).all()
    out = set()
    for case_id, opened, kind in links:
        if kind == "feasibility":
            continue
        user = applicants.get(case_id)
        if any(p_user == user and aware(p_at) >= aware(opened) for p_user, p_at in projects):
            out.add(case_id)
    return out


@dataclass(frozen=True)
class Dashboard:
    total: int
    by_pathway: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    by_sector: list[tuple[str, int]]
    by_month: list[tuple[str, int]]
    median_first_response: float | None
    median_close: float | None
    overdue: int
    converted: int

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.total if self.total else 0.0


def first_response_days(case: CaseView) -> int | None:
    return working_days(case.created_at, case.first_response_at) if case.first_response_at else None


def close_days(case: CaseView) -> int | None:
    return working_days(case.created_at, case.closed_at) if case.closed_at else None


def summarise(cases: list[CaseView], converted: set[int]) -> Dashboard:
    def counts(key) -> list[tuple[str, int]]:
        return sorted(Counter(key(c) for c in cases).items())

    firsts = [d for c in cases if (d := first_response_days(c)) is not None]
    closes = [d for c in cases if (d := close_days(c)) is not None]
    return Dashboard(len(cases), counts(lambda c: c.pathway or "none"), counts(lambda c: c.status),
                     counts(lambda c: c.sector), counts(lambda c: c.created_at.strftime("%Y-%m")),
                     median(firsts) if firsts else None, median(closes) if closes else None,
                     sum(c.sla.first_response_overdue for c in cases), len(converted & {c.id for c in cases}))


def to_csv(cases: list[CaseView], converted: set[int], now: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in cases:
        writer.writerow([neutralise(v) for v in (
            c.id, c.created_at.date().isoformat(), c.organisation, c.sector, c.stage, "; ".join(c.needs),
            c.pathway, c.status, c.outcome, c.manager_name, first_response_days(c), close_days(c),
            c.sla.first_response_overdue, c.id in converted)])
    return out.getvalue()
