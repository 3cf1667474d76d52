"""Read a table an analyst wants checked: a crosstab or long-format CSV or XLSX sheet, or a
result in our JSON form.

CSV crosstab (counts of distinct persons)::

    age \\ sex,F,M,Total
    0-39,3,50,53
    40-59,40,45,85
    Total,43,95,138

* The header row names the dimensions in its first cell (``row \\ column`` or ``row / column``;
  a bare name means the column dimension is called ``column``) and lists the column levels.
* With a single value column (``age,count``) the table is one-dimensional.
* A column or row labelled ``Total`` or ``All`` (any case) is a margin. Margins are optional;
  when any is present the table is treated as published with all its margins (so secondary
  suppression protects it), and each given total must equal the sum of its cells.

Long format (one row per cell, the count in the last column, whose name says it is a count)::

    age_band,sex,n_patients
    18-49,F,7
    18-49,M,24

* Every column but the last is a dimension; a combination that is not listed counts 0; a
  combination listed twice, or a ``Total``/``All`` row (margins belong in a crosstab), is an error.

XLSX: the one visible worksheet of a workbook, read as a crosstab or long-format table (values,
never formulas: ``phta.disclosure.file_checks`` refuses workbooks with formulas, macros or hidden
sheets before this reads them).

JSON: the document written by ``phta.disclosure.results.to_json`` (any result kind).

``read_table_file`` also returns the table's *layout*: the file's grid with each count replaced by
its cell's key, so ``phta.disclosure.protected_files`` can write the protected version in the
layout the researcher submitted.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from dataclasses import dataclass
from zipfile import BadZipFile

from openpyxl import load_workbook

from phta.disclosure.person_level import (
    COUNT_COLUMN,  # the last column of a long table: n, count, n_patients
)
from phta.disclosure.results import (
    AggregateResult,
    Dimension,
    FrequencyTable,
    ResultError,
    from_dict,
)

MARGIN_NAMES = {"total", "all"}
MAX_XLSX_CELLS = 100_000

Layout = tuple[tuple["str | tuple[str, ...]", ...], ...]  # the file's grid, counts replaced by cell keys


class TableFileError(ValueError):
    """The file cannot be read as a table; the message names the file, line and column."""


@dataclass(frozen=True)
class TableFile:
    result: AggregateResult
    layout: Layout | None  # None for a JSON result (its protected version is the rules' JSON)
    submitted: dict[tuple[str, ...], int] | None = None  # each count as submitted, by cell key


def read_table_file(name: str, data: bytes | str) -> TableFile:
    """The table in a .csv, .xlsx or .json file, with its layout; TableFileError says why not."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        if isinstance(data, str):
            raise TableFileError(f"{name}: an XLSX workbook must be read as bytes")
        return _table_from_rows(name, xlsx_rows(name, data))
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TableFileError(f"{name}: byte {exc.start}: not UTF-8 text") from None
    if lower.endswith(".json"):
        try:
            return TableFile(from_dict(json.loads(data)), None)
        except json.JSONDecodeError as exc:
            raise TableFileError(f"{name}: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        except (ResultError, TypeError, AttributeError, KeyError) as exc:
            raise TableFileError(f"{name}: not a result in PHTA's JSON form ({exc})") from exc
    if lower.endswith(".csv"):
        return _table_from_rows(name, list(csv.reader(io.StringIO(data))))
    raise TableFileError(f"{name}: expected a .csv or .xlsx table or a .json result")


def parse_table_file(name: str, data: bytes | str) -> AggregateResult:
    return read_table_file(name, data).result


def xlsx_rows(name: str, data: bytes) -> list[list[str]]:
    """The values of the workbook's one worksheet as text rows (whole numbers without ``.0``)."""
    try:
        with warnings.catch_warnings():  # openpyxl warns about styles it cannot read: not our concern
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableFileError(f"{name}: not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        if len(book.worksheets) != 1:
            raise TableFileError(f"{name}: {len(book.worksheets)} worksheets; put one table in one worksheet")
        rows, cells = [], 0
        for row in book.worksheets[0].iter_rows(values_only=True):
            cells += len(row)
            if cells > MAX_XLSX_CELLS:
                raise TableFileError(f"{name}: more than {MAX_XLSX_CELLS} cells")
            rows.append([_xlsx_text(v) for v in row])
        while rows and not any(rows[-1]):
            rows.pop()
        width = max((max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows), default=0)
        return [r[:width] + [""] * (width - len(r)) for r in rows]
    finally:
        book.close()


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_from_rows(name: str, rows: list[list[str]]) -> TableFile:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if rows and len(rows[0]) >= 3 and not any(sep in rows[0][0] for sep in "\\/") \
            and COUNT_COLUMN.match(rows[0][-1].strip()):
        return parse_long_rows(name, rows)
    return _crosstab(name, rows)


def parse_long_rows(name: str, rows: list[list[str]]) -> TableFile:
    header = [c.strip() for c in rows[0]]
    dims = header[:-1]
    levels: list[dict[str, None]] = [{} for _ in dims]
    counts: dict[tuple[str, ...], int] = {}
    grid: list[tuple] = [tuple(rows[0])]
    for line_no, raw in enumerate(rows[1:], start=2):
        if len(raw) != len(header):
            raise TableFileError(f"{name}: line {line_no}: {len(raw)} fields, the header has {len(header)}")
        key = tuple(c.strip() for c in raw[:-1])
        for column, level in zip(dims, key, strict=True):
            if level.lower() in MARGIN_NAMES:
                raise TableFileError(f"{name}: line {line_no}, column {column!r}: a {level!r} row is a margin; "
                                     "give margins in a crosstab, or leave them out of a long table")
        if key in counts:
            raise TableFileError(f"{name}: line {line_no}: {' / '.join(key)} is listed twice")
        counts[key] = _count(name, line_no, header[-1], raw[-1])
        for seen, level in zip(levels, key, strict=True):
            seen.setdefault(level)
        grid.append((*raw[:-1], key))
    if not counts:
        raise TableFileError(f"{name}: no data rows")
    dimensions = tuple(Dimension(d, tuple(seen)) for d, seen in zip(dims, levels, strict=True))
    cells = [()]
    for dim in dimensions:
        cells = [(*c, level) for c in cells for level in dim.levels]
    try:
        table = FrequencyTable(dimensions=dimensions, counts=tuple(counts.get(c, 0) for c in cells),
                               publish_margins=False, title=name)
    except ResultError as exc:
        raise TableFileError(f"{name}: {exc}") from exc
    return TableFile(table, tuple(grid), counts)


def _count(name: str, line_no: int, column: str, cell: str) -> int:
    try:
        value = int(cell.strip())
    except ValueError:
        raise TableFileError(f"{name}: line {line_no}, column {column!r}: {cell.strip()!r} is not a whole number") from None
    if value < 0:
        raise TableFileError(f"{name}: line {line_no}, column {column!r}: counts cannot be negative")
    return value


def _split_header(cell: str) -> tuple[str, str]:
    for separator in ("\\", "/"):
        if separator in cell:
            row, col = (part.strip() for part in cell.split(separator, 1))
            return row or "row", col or "column"
    return cell.strip() or "row", "column"


def parse_crosstab_csv(name: str, text: str) -> FrequencyTable:
    return _crosstab(name, list(csv.reader(io.StringIO(text)))).result


def _crosstab(name: str, rows: list[list[str]]) -> TableFile:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise TableFileError(f"{name}: needs a header row and at least one data row")
    header = [c.strip() for c in rows[0]]
    row_dim, col_dim = _split_header(header[0])
    value_cols = header[1:]
    if not value_cols:
        raise TableFileError(f"{name}: line 1: no value columns")
    total_col = next((i for i, c in enumerate(value_cols) if c.lower() in MARGIN_NAMES), None)
    levels_b = [c for i, c in enumerate(value_cols) if i != total_col]
    one_dimensional = len(levels_b) == 1
    body, total_row = [], None
    for line_no, raw in enumerate(rows[1:], start=2):
        if len(raw) != len(header):
            raise TableFileError(f"{name}: line {line_no}: {len(raw)} fields, the header has {len(header)}")
        label = raw[0].strip()
        values = [_count(name, line_no, column, cell) for column, cell in zip(header[1:], raw[1:], strict=True)]
        if label.lower() in MARGIN_NAMES:
            total_row = (line_no, values)
        else:
            body.append((line_no, label, values))
    if not body:
        raise TableFileError(f"{name}: no data rows")
    cells = [[v for i, v in enumerate(values) if i != total_col] for _, _, values in body]
    _check_totals(name, header, body, cells, total_col, total_row)
    if one_dimensional:
        dims = (Dimension(row_dim, tuple(label for _, label, _ in body)),)
        counts = tuple(c[0] for c in cells)
    else:
        dims = (Dimension(row_dim, tuple(label for _, label, _ in body)), Dimension(col_dim, tuple(levels_b)))
        counts = tuple(v for row in cells for v in row)
    try:
        table = FrequencyTable(dimensions=dims, counts=counts,
                               publish_margins=total_col is not None or total_row is not None, title=name)
    except ResultError as exc:
        raise TableFileError(f"{name}: {exc}") from exc
    layout = _crosstab_layout(rows, one_dimensional)
    submitted = {key: int(raw.strip()) for grid_row, raw_row in zip(layout[1:], rows[1:], strict=True)
                 for key, raw in zip(grid_row[1:], raw_row[1:], strict=True)}
    return TableFile(table, layout, submitted)


def _crosstab_layout(rows: list[list[str]], one_dimensional: bool) -> Layout:
    """The grid with each count replaced by its cell's key (margins keyed ``Total``, as the rules
    name them)."""
    def level(label: str) -> str:
        return "Total" if label.strip().lower() in MARGIN_NAMES else label.strip()

    header = rows[0]
    grid: list[tuple] = [tuple(header)]
    for raw in rows[1:]:
        row_label = level(raw[0])
        keys = [(row_label,) if one_dimensional and level(col) != "Total" else
                (row_label,) if one_dimensional else (row_label, level(col)) for col in header[1:]]
        grid.append((raw[0], *keys))
    return tuple(grid)


def _check_totals(name, header, body, cells, total_col, total_row) -> None:
    if total_col is not None:
        for (line_no, _, values), row in zip(body, cells, strict=True):
            if values[total_col] != sum(row):
                raise TableFileError(
                    f"{name}: line {line_no}, column {header[total_col + 1]!r}: total {values[total_col]} "
                    f"is not the sum of the row ({sum(row)})"
                )
    if total_row is not None:
        line_no, values = total_row
        sums = [sum(col) for col in zip(*(v for _, _, v in body), strict=True)]
        for column, given, expected in zip(header[1:], values, sums, strict=True):
            if given != expected:
                raise TableFileError(
                    f"{name}: line {line_no}, column {column!r}: total {given} is not the sum of the column ({expected})"
                )
