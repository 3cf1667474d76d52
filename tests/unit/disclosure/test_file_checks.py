"""Automatic airlock checks: clean files pass; scripts, hidden and embedded data are found."""

import hashlib
import struct
import zlib

import pytest

from phta.disclosure.file_checks import check_file


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(*extra_chunks: bytes, trailer: bytes = b"") -> bytes:
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x7f"))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra_chunks) + pixels + chunk(b"IEND", b"") + trailer


CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5" fill="#036"/><text x="1" y="9">n=40</text></svg>'
CLEAN_HTML = b"<!doctype html><html><head><title>Table 1</title></head><body><h1>Table 1</h1><table><tr><td style='padding: 2px'>40</td></tr></table></body></html>"

CLEAN = {
    "table.csv": b"age,count\n0-39,40\n40+,-5\n",
    "result.json": b'{"kind": "frequency_table", "counts": [40, 50]}',
    "figure.png": png(),
    "figure.svg": CLEAN_SVG,
    "report.html": CLEAN_HTML,
}


@pytest.mark.parametrize("name", CLEAN)
def test_clean_files_pass(name):
    report = check_file(name, CLEAN[name])
    assert report.passed, report.findings
    assert report.sha256 == hashlib.sha256(CLEAN[name]).hexdigest() and report.size == len(CLEAN[name])


BAD = [
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b"<script>alert(1)</script></svg>"), "script"),
    ("f.svg", CLEAN_SVG.replace(b"<rect ", b'<rect onclick="steal()" '), "script"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b'<a href="javascript:go()"><text>x</text></a></svg>'), "script"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b"<!-- patient list: ... --></svg>"), "hidden_data"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b'<text display="none">secret</text></svg>'), "hidden_data"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b'<g style="visibility:hidden"><text>5</text></g></svg>'), "hidden_data"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b"<metadata>rows...</metadata></svg>"), "hidden_data"),
    ("f.svg", CLEAN_SVG.replace(b"<rect ", b'<rect data-rows="1,2,3" '), "hidden_data"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b'<image href="data:image/png;base64,AAAA"/></svg>'), "embedded_data"),
    ("f.svg", CLEAN_SVG.replace(b"</svg>", b"<foreignObject><p>x</p></foreignObject></svg>"), "embedded_content"),
    ("f.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "malformed"),
    ("f.svg", b"<svg><rect></svg>", "malformed"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b"<script>fetch('x')</script></body>"), "script"),
    ("r.html", CLEAN_HTML.replace(b"<h1>", b'<h1 onmouseover="x()">'), "script"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b"<!-- hidden --></body>"), "hidden_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b'<div style="display: none">3 patients</div></body>'), "hidden_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b"<div hidden>x</div></body>"), "hidden_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b'<input type="hidden" value="x"></body>'), "hidden_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b'<td data-raw="1;2;3">x</td></body>'), "hidden_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b"<img src='data:image/png;base64,AAAA' alt='f'></body>"), "embedded_data"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b"<img src='https://tracker.example/p.png' alt='f'></body>"), "external_resource"),
    ("r.html", CLEAN_HTML.replace(b"</body>", b'<iframe src="x.html"></iframe></body>'), "embedded_content"),
    ("r.html", CLEAN_HTML.replace(b"</head>", b"<style>@import 'https://x.example/a.css';</style></head>"), "external_resource"),
    ("t.csv", b"age,count\n0-39,=HYPERLINK(\"http://x\")\n", "formula"),
    ("t.csv", b"age,count\n0-39,40,9\n", "malformed"),
    ("t.csv", b"age,count\n0-39," + b"A" * 2000 + b"\n", "embedded_data"),
    ("t.csv", b"age,count\n\xff\xfe,1\n", "malformed"),
    ("r.json", b'{"note": "' + b"Q" * 5000 + b'"}', "embedded_data"),
    ("r.json", b'{"note": "<script>x</script>"}', "script"),
    ("r.json", b'{"a": ', "malformed"),
    ("f.png", png(chunk(b"tEXt", b"Comment\x00rows follow")), "hidden_data"),
    ("f.png", png(trailer=b"PK\x03\x04 a zip file"), "hidden_data"),
    ("f.png", png()[:-3], "malformed"),
    ("f.png", b"GIF89a", "malformed"),
    ("f.exe", b"MZ", "file_type"),
]


@pytest.mark.parametrize("name, data, rule", BAD)
def test_problems_are_found_with_their_place(name, data, rule):
    report = check_file(name, data)
    assert not report.passed
    assert rule in {f.rule for f in report.findings}, report.findings
    assert all(f.where and f.explanation for f in report.findings)


def test_size_limits():
    assert [f.rule for f in check_file("t.csv", b"a,b\n" * 100, limits={"csv": 100}).findings] == ["size"]


def test_where_names_the_line():
    report = check_file("r.html", b"<p>ok</p>\n<p>ok</p>\n<script>x()</script>")
    assert report.findings[0].where == "<script> at line 3 column 1"
