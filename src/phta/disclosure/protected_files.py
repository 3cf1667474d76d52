"""The protected version of a submitted table: what the disclosure rules would publish, written
as a file the airlock can release instead of the file as submitted.

A CSV or XLSX table comes back as CSV in the layout the researcher submitted (crosstab or long
format), each count replaced by its published value; a suppressed cell reads ``[c]`` (the ONS
symbol for a value withheld for confidentiality). A JSON result comes back as the rules' own
protected output (``ProtectedOutput.to_dict``). Pure: the table, its layout and the rules' output
in, bytes out; ``phta.execution.airlock`` stores them content-addressed beside the original.
"""

from __future__ import annotations

import csv
import io
import json

from phta.disclosure.decisions import ProtectedOutput
from phta.disclosure.table_files import TableFile

SUPPRESSED = "[c]"


def protected_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0]
    suffix = "json" if file_name.lower().endswith(".json") else "csv"
    return f"{stem}.protected.{suffix}"


def protected_bytes(table: TableFile, output: ProtectedOutput) -> bytes:
    if table.layout is None:
        return (json.dumps(output.to_dict(), sort_keys=True, indent=2) + "\n").encode("utf-8")
    published = {cell.cell: cell for cell in output.cells}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in table.layout:
        writer.writerow([_published(published, item) for item in row])
    return out.getvalue().encode("utf-8")


def _published(published: dict, item) -> str:
    if isinstance(item, str):
        return item
    cell = published.get(item)
    if cell is None or cell.suppressed or cell.value is None:
        # a cell the rules did not publish (or that a review rule holds back) is withheld
        return SUPPRESSED
    return str(cell.value)


def unchanged(table: TableFile, output: ProtectedOutput) -> bool:
    """Whether the rules publish every count exactly as submitted, so the file may go as it is.
    A JSON result never may: its protected version is what the rules wrote."""
    if output.status != "pass" or table.submitted is None:
        return False
    published = {cell.cell: cell for cell in output.cells}
    return all(key in published and not published[key].suppressed and published[key].value == value
               for key, value in table.submitted.items())
