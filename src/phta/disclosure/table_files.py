"""Read a table an analyst wants checked: a crosstab CSV, or a result in our JSON form.

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

JSON: the document written by ``phta.disclosure.results.to_json`` (any result kind).
"""

from __future__ import annotations

import csv
import io
import json

from phta.disclosure.results import (
    AggregateResult,
    Dimension,
    FrequencyTable,
    ResultError,
    from_dict,
)

MARGIN_NAMES = {"total", "all"}


class TableFileError(ValueError):
    """The file cannot be read as a table; the message names the file, line and column."""


def parse_table_file(name: str, text: str) -> AggregateResult:
    if name.lower().endswith(".json"):
        try:
            return from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise TableFileError(f"{name}: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        except ResultError as exc:
            raise TableFileError(f"{name}: {exc}") from exc
    if name.lower().endswith(".csv"):
        return parse_crosstab_csv(name, text)
    raise TableFileError(f"{name}: expected a .csv crosstab or a .json result")


def _split_header(cell: str) -> tuple[str, str]:
    for separator in ("\\", "/"):
        if separator in cell:
            row, col = (part.strip() for part in cell.split(separator, 1))
            return row or "row", col or "column"
    return cell.strip() or "row", "column"


def parse_crosstab_csv(name: str, text: str) -> FrequencyTable:
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
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
        values = []
        for column, cell in zip(header[1:], raw[1:], strict=True):
            try:
                value = int(cell.strip())
            except ValueError:
                raise TableFileError(
                    f"{name}: line {line_no}, column {column!r}: {cell.strip()!r} is not a whole number"
                ) from None
            if value < 0:
                raise TableFileError(f"{name}: line {line_no}, column {column!r}: counts cannot be negative")
            values.append(value)
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
        return FrequencyTable(dimensions=dims, counts=counts,
                              publish_margins=total_col is not None or total_row is not None, title=name)
    except ResultError as exc:
        raise TableFileError(f"{name}: {exc}") from exc


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
