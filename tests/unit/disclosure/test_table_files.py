"""Tables are read in the shapes researchers write them: crosstab CSV, long-format CSV, XLSX.

The fault: ``age_band,sex,n_patients`` could not be read as a table, so the checker's queue said
"Failing cells: no" though a cell held 7. Each shape now gives the same table; what cannot be
read says why."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from phta.disclosure.check import check
from phta.disclosure.policy import load_policy
from phta.disclosure.protected_files import protected_bytes, unchanged
from phta.disclosure.table_files import TableFileError, read_table_file

CROSSTAB = b"age_band \\ sex,F,M\n18-49,7,24\n50-69,40,45\n"
LONG = b"age_band,sex,n_patients\n18-49,F,7\n18-49,M,24\n50-69,F,40\n50-69,M,45\n"


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cells(name, data):
    table = read_table_file(name, data).result
    return {tuple(d.levels[i] for d, i in zip(table.dimensions, index, strict=True)): table.count(index)
            for index in table.indices()}


def test_long_format_xlsx_and_crosstab_are_one_table():
    expected = {("18-49", "F"): 7, ("18-49", "M"): 24, ("50-69", "F"): 40, ("50-69", "M"): 45}
    assert cells("t.csv", CROSSTAB) == expected
    assert cells("l.csv", LONG) == expected
    assert cells("t.xlsx", xlsx([["age_band", "sex", "n_patients"], ["18-49", "F", 7], ["18-49", "M", 24],
                                 ["50-69", "F", 40], ["50-69", "M", 45]])) == expected
    assert cells("x.xlsx", xlsx([["age_band \\ sex", "F", "M"], ["18-49", 7, 24], ["50-69", 40, 45]])) == expected


def test_the_seven_fails_and_the_protected_version_keeps_the_layout():
    table = read_table_file("l.csv", LONG)
    output = check(table.result, load_policy("project"))
    assert output.status == "suppressed" and not unchanged(table, output)
    assert protected_bytes(table, output).decode().splitlines() == [
        "age_band,sex,n_patients", "18-49,F,[c]", "18-49,M,25", "50-69,F,40", "50-69,M,45"]


@pytest.mark.parametrize(("data", "says"), [
    (b"age_band,sex,n_patients\n18-49,F,7\n18-49,F,8\n", "listed twice"),
    (b"age_band,sex,n_patients\n18-49,F,seven\n", "not a whole number"),
    (b"age_band,sex,n_patients\nTotal,F,7\n", "margin"),
    (b"drug,notes\nsalbutamol,fine\n", "not a whole number"),
])
def test_what_cannot_be_read_says_why(data, says):
    with pytest.raises(TableFileError, match=says):
        read_table_file("t.csv", data)


def test_a_broken_workbook_says_so():
    with pytest.raises(TableFileError, match="not a readable XLSX"):
        read_table_file("t.xlsx", b"PK\x03\x04 nonsense")
