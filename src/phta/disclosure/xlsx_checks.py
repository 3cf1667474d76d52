"""File checks for XLSX workbooks leaving the airlock.

A workbook is a zip of XML parts, and most of what it can carry is not what a checker sees on
the grid: macros, links to other workbooks or the web, comments, drawings and embedded objects,
hidden sheets, rows or columns, formulas (which a spreadsheet recalculates and can use to fetch
data). Only plain parts are accepted (the list below), and one visible sheet of values. Pure.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile

from openpyxl import load_workbook

from phta.disclosure.file_findings import FileFinding as Finding

ALLOWED_PARTS = re.compile(
    r"^(\[Content_Types\]\.xml|_rels/\.rels|docProps/(app|core)\.xml|xl/workbook\.xml|xl/_rels/workbook\.xml\.rels"
    r"|xl/worksheets/sheet\d+\.xml|xl/styles\.xml|xl/sharedStrings\.xml|xl/theme/theme\d+\.xml)$")
MAX_UNCOMPRESSED = 50 * 1024 * 1024  # a zip bomb stops here


def xlsx_findings(data: bytes) -> tuple[list[Finding], list[list[str]] | None]:
    """(findings, the sheet's rows as text when the workbook could be read)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [Finding("malformed", "file", "not an XLSX workbook (not a zip archive)")], None
    findings = []
    with archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
            return [Finding("size", "file", f"unpacks to more than {MAX_UNCOMPRESSED} bytes")], None
        for member in members:
            if not ALLOWED_PARTS.match(member.filename):
                findings.append(Finding("embedded_content", member.filename,
                                        "a workbook part that is not plain cells (macros, links, comments, drawings, "
                                        "embedded objects or other hidden content)"))
    if findings:
        return findings, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), data_only=False)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        return [Finding("malformed", "file", f"not a readable XLSX workbook ({type(exc).__name__})")], None
    try:
        if book.defined_names:
            findings.append(Finding("hidden_data", "workbook", "defined names are not shown on the grid"))
        if len(book.worksheets) != 1:
            findings.append(Finding("malformed", "workbook", f"{len(book.worksheets)} worksheets: one table per file"))
        rows = []
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                findings.append(Finding("hidden_data", f"sheet {sheet.title!r}", "a hidden sheet"))
            hidden = [f"row {i}" for i, d in sheet.row_dimensions.items() if d.hidden]
            hidden += [f"column {c}" for c, d in sheet.column_dimensions.items() if d.hidden]
            if hidden:
                findings.append(Finding("hidden_data", f"sheet {sheet.title!r}, {hidden[0]}", "hidden rows or columns"))
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        findings.append(Finding("formula", f"sheet {sheet.title!r}, cell {cell.coordinate}",
                                                "a formula, which a spreadsheet would run"))
            rows = [["" if v is None else str(int(v) if isinstance(v, float) and v.is_integer() else v) for v in r]
                    for r in sheet.iter_rows(values_only=True)]
        return findings, rows
    finally:
        book.close()
