"""Every CSV the web app publishes is written here, with formulas neutralised.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or carriage return) as a formula: a project title ``=HYPERLINK("http://x", "Click")``
on the public register would become a live link, or worse, in every downloader's spreadsheet.
OWASP's rule: prefix such a cell with a single quote, so it is shown as the text it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

from fastapi.responses import Response

from phta.csv_cells import FORMULA_STARTS, neutralise

__all__ = ["FORMULA_STARTS", "csv_response", "csv_text", "neutralise"]


def csv_text(columns: list[str], rows: Iterable[Mapping]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow([neutralise(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(columns: list[str], rows: Iterable[Mapping], filename: str) -> Response:
    return Response(csv_text(columns, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
