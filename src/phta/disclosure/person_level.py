"""Does a table file look like person-level data? Then it fails the airlock's file checks.

A 2,000-row CSV of one row per person passed as "not a table": nothing said a checker had to
treat it as record-level data. Now a file of many rows with a column that identifies people
(an id-like name, or a different value on every row where the file has no counts) or that holds
exact dates fails outright: record-level data never leaves through the airlock, and exact dates
are identifying detail (aggregate them to weeks, months or years). Pure: rows in, a reason out.
"""

from __future__ import annotations

import re

MIN_ROWS = 50  # fewer data rows than this is a small table, whatever its columns
ID_COLUMN = re.compile(r"^(id|ids|pid|mrn|nhs|nhsno|nhs_?number|chi|patient|person|subject|participant)"
                       r"([ _-]?(id|no|number|num|key|ref))?$|[ _-](id|no|number|key)$|^(patient|person|subject)",
                       re.I)
DATE_VALUE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?|\d{1,2}/\d{1,2}/\d{2,4})\s*$")
COUNT_COLUMN = re.compile(r"^(n|count|counts|number|freq|frequency|patients|persons|people|total)$"
                          r"|^(n|count|number|num|no)_|_(n|count|counts)$", re.I)


def person_level_reason(rows: list[list[str]]) -> str | None:
    """Why these rows (a header and data rows) look like one row per person, or None."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) - 1 < MIN_ROWS:
        return None
    header, body = [c.strip() for c in rows[0]], rows[1:]
    for name in header:
        if ID_COLUMN.search(name):
            return f"{len(body)} rows with column {name!r}, which names people: person-level data"
    columns = [[r[i] if i < len(r) else "" for r in body] for i in range(len(header))]
    for name, values in zip(header, columns, strict=True):
        if sum(bool(DATE_VALUE.match(v)) for v in values) >= 0.9 * len(values):
            return f"{len(body)} rows with exact dates in column {name!r}: aggregate them to weeks, months or years"
    counts = _counts(header, columns)
    if counts is not None and sum(1 for c in counts if c <= 1) < len(counts) / 2:
        return None  # a table of counts (most above 1), however long
    for name, values in zip(header, columns, strict=True):
        if len(set(values)) == len(values):
            return f"{len(body)} rows and a different {name!r} on every row: one row per person"
    if counts is not None:
        return f"{len(body)} rows whose counts ({header[-1]!r}) are mostly 0 or 1: one row per person"
    return None


def _counts(header: list[str], columns: list[list[str]]) -> list[int] | None:
    if not header or not COUNT_COLUMN.match(header[-1]):
        return None
    try:
        return [int(v) for v in columns[-1]]
    except ValueError:
        return None
