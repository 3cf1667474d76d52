"""Automatic checks on files submitted to the output airlock, run before any human checker.

A released file must show only what a checker sees. These checks find what a checker would not
see: scripts and event handlers (SVG/HTML run code), external resources (a page that calls home),
data embedded or hidden beyond what is rendered (comments, metadata, hidden elements, ``data-*``
attributes, ``data:`` URIs, PNG text chunks, bytes after a PNG's end), spreadsheet formulas in
CSV, malformed files, and files over a size limit. Pure: bytes in, a report out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import struct
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from phta.disclosure.file_findings import FileFinding
from phta.disclosure.markup_checks import markup_findings
from phta.disclosure.person_level import person_level_reason
from phta.disclosure.xlsx_checks import xlsx_findings

MB = 1024 * 1024
DEFAULT_LIMITS = {"csv": 5 * MB, "json": 5 * MB, "xlsx": 5 * MB, "png": 10 * MB, "svg": 2 * MB, "html": 5 * MB}
MAX_TEXT_VALUE = 1000  # a longer single value in CSV/JSON is more likely a blob than a statistic
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_ALLOWED_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"bKGD"}
EMBEDDING_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "foreignobject", "portal"}
HIDING_TAGS = {"template", "noscript", "metadata"}
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(\.0*)?\s*(;|$)", re.I)
EXTERNAL_CSS = re.compile(r"@import|url\s*\(", re.I)
EXTERNAL_URL = re.compile(r"^\s*(https?:|//|ftp:)", re.I)


@dataclass(frozen=True)
class FileCheckReport:
    name: str
    kind: str
    size: int
    sha256: str
    findings: tuple[FileFinding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings


def check_file(name: str, data: bytes, limits: dict[str, int] | None = None) -> FileCheckReport:
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = "html" if kind == "htm" else kind
    findings: list[FileFinding] = []
    if kind not in DEFAULT_LIMITS:
        findings.append(FileFinding("file_type", name, f"only {', '.join(sorted(DEFAULT_LIMITS))} files can be released"))
    else:
        if len(data) > limits[kind]:
            findings.append(FileFinding("size", name, f"{len(data)} bytes is over the {limits[kind]}-byte limit for {kind}"))
        else:
            findings.extend(_CHECKERS[kind](data))
    return FileCheckReport(name, kind, len(data), hashlib.sha256(data).hexdigest(), tuple(findings))


def _text(data: bytes) -> tuple[str | None, list[FileFinding]]:
    if b"\x00" in data:
        return None, [FileFinding("malformed", "file", "contains NUL bytes: not a text file")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [FileFinding("malformed", f"byte {exc.start}", "not UTF-8 text")]


def _check_csv(data: bytes) -> list[FileFinding]:
    text, findings = _text(data)
    if text is None:
        return findings
    width = None
    rows = list(csv.reader(io.StringIO(text)))
    reason = person_level_reason(rows)
    if reason:
        findings.append(FileFinding("person_level", "file", reason))
    for line_no, row in enumerate(rows, start=1):
        if not row:
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            findings.append(FileFinding("malformed", f"line {line_no}", f"{len(row)} fields where the header has {width}"))
        for column, cell in enumerate(row, start=1):
            where = f"line {line_no}, column {column}"
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(cell):
                findings.append(FileFinding("formula", where, "starts like a spreadsheet formula, which a spreadsheet would run"))
            if len(cell) > MAX_TEXT_VALUE:
                findings.append(FileFinding("embedded_data", where, f"a value of {len(cell)} characters may hide embedded data"))
    return findings


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_json(data: bytes) -> list[FileFinding]:
    text, findings = _text(data)
    if text is None:
        return findings
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [FileFinding("malformed", f"line {exc.lineno} column {exc.colno}", exc.msg)]

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, str):
            if len(value) > MAX_TEXT_VALUE:
                findings.append(FileFinding("embedded_data", path, f"a string of {len(value)} characters may hide embedded data"))
            if re.search(r"<\s*script|javascript:", value, re.I):
                findings.append(FileFinding("script", path, "contains script markup"))

    walk(document, "$")
    return findings


def _check_xlsx(data: bytes) -> list[FileFinding]:
    findings, rows = xlsx_findings(data)
    if rows is not None:
        reason = person_level_reason(rows)
        if reason:
            findings.append(FileFinding("person_level", "sheet", reason))
        for line_no, row in enumerate(rows, start=1):
            for column, cell in enumerate(row, start=1):
                if len(cell) > MAX_TEXT_VALUE:
                    findings.append(FileFinding("embedded_data", f"row {line_no}, column {column}",
                                                f"a value of {len(cell)} characters may hide embedded data"))
                elif cell[:1] in ("=", "+", "-", "@") and not _is_number(cell):
                    findings.append(FileFinding("formula", f"row {line_no}, column {column}",
                                                "starts like a spreadsheet formula, which a spreadsheet would run"))
    return findings


def _check_png(data: bytes) -> list[FileFinding]:
    if not data.startswith(PNG_SIGNATURE):
        return [FileFinding("malformed", "byte 0", "not a PNG (wrong signature)")]
    findings, offset, seen_end = [], len(PNG_SIGNATURE), False
    while offset < len(data):
        if seen_end:
            findings.append(FileFinding("hidden_data", f"byte {offset}", f"{len(data) - offset} bytes after the image ends (IEND)"))
            break
        if offset + 8 > len(data):
            return [*findings, FileFinding("malformed", f"byte {offset}", "truncated chunk header")]
        length, chunk_type = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        crc = data[offset + 8 + length:offset + 12 + length]
        where = f"chunk {chunk_type.decode('latin-1')!r} at byte {offset}"
        if len(body) != length or len(crc) != 4:
            return [*findings, FileFinding("malformed", where, "truncated chunk")]
        if struct.unpack(">I", crc)[0] != zlib.crc32(chunk_type + body):
            findings.append(FileFinding("malformed", where, "checksum (CRC) does not match"))
        if chunk_type not in PNG_ALLOWED_CHUNKS:
            findings.append(FileFinding("hidden_data", where, "an ancillary chunk (text, metadata or private data) that is not part of the picture"))
        if chunk_type == b"IHDR" and length >= 8:
            width, height = struct.unpack(">II", body[:8])
            if width * height > 50_000_000:
                findings.append(FileFinding("size", where, f"{width}x{height} pixels is too large to review"))
        seen_end = chunk_type == b"IEND"
        offset += 12 + length
    if not seen_end:
        findings.append(FileFinding("malformed", "end of file", "no IEND chunk"))
    return findings


def _attribute_findings(tag: str, attrs: list[tuple[str, str | None]], where: str) -> list[FileFinding]:
    findings = []
    for raw_name, raw_value in attrs:
        name = raw_name.lower().rsplit("}", 1)[-1].split(":")[-1]
        value = raw_value or ""
        if name.startswith("on"):
            findings.append(FileFinding("script", where, f"event handler attribute {raw_name!r} runs code"))
        elif name.startswith("data-"):
            findings.append(FileFinding("hidden_data", where, f"attribute {raw_name!r} carries data that is not rendered"))
        elif name in ("href", "src", "action", "formaction", "srcset", "poster", "background"):
            if _scheme(value) in ("javascript", "vbscript"):
                findings.append(FileFinding("script", where, f"{raw_name} is a javascript: URL"))
            elif re.match(r"^\s*data:", value, re.I):
                findings.append(FileFinding("embedded_data", where, f"{raw_name} embeds a data: URI"))
            elif EXTERNAL_URL.match(value) and not (tag == "a" and name == "href"):
                findings.append(FileFinding("external_resource", where, f"{raw_name} loads {value[:60]!r} from elsewhere"))
        elif name == "hidden" or (name == "style" and HIDDEN_STYLE.search(value)) or (
            name in ("display", "visibility") and value.strip().lower() in ("none", "hidden")
        ):
            findings.append(FileFinding("hidden_data", where, "a hidden element: its content is not rendered"))
        elif name == "style" and EXTERNAL_CSS.search(value):
            findings.append(FileFinding("external_resource", where, "style loads a resource"))
        elif name == "type" and tag == "input" and value.lower() == "hidden":
            findings.append(FileFinding("hidden_data", where, "a hidden form field"))
        elif name == "http-equiv" and value.lower() == "refresh":
            findings.append(FileFinding("script", where, "a meta refresh navigates away"))
    return findings


def _scheme(url: str) -> str:
    """A URL's scheme as a browser reads it: tabs, newlines and control characters inside it are
    ignored (``java&#9;script:`` is ``javascript:``)."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", url)
    return squeezed.split(":", 1)[0].lower() if ":" in squeezed else ""


def _tag_findings(tag: str, where: str) -> list[FileFinding]:
    if tag == "script":
        return [FileFinding("script", where, "a script element runs code")]
    if tag in EMBEDDING_TAGS:
        return [FileFinding("embedded_content", where, f"<{tag}> embeds other content")]
    if tag in HIDING_TAGS:
        return [FileFinding("hidden_data", where, f"<{tag}> content is not rendered")]
    return []


def _check_svg(data: bytes) -> list[FileFinding]:
    text, findings = _text(data)
    if text is None:
        return findings
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.I):
        return [FileFinding("malformed", "prolog", "DOCTYPE/ENTITY declarations are not accepted (entity expansion, external entities)")]
    for match in re.finditer(r"<!--", text):
        findings.append(FileFinding("hidden_data", f"line {text.count(chr(10), 0, match.start()) + 1}", "a comment is not rendered"))
    try:
        root = parse_xml(text)  # defusedxml: refuses entity expansion and external references
    except DefusedXmlException:
        return [*findings, FileFinding("malformed", "prolog", "entity or DTD declarations are not accepted")]
    except ParseError as exc:
        return [*findings, FileFinding("malformed", f"line {exc.position[0]} column {exc.position[1]}", "not well-formed XML")]
    for index, element in enumerate(root.iter()):
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        where = f"<{tag}> (element {index + 1})"
        findings.extend(_tag_findings(tag, where))
        if tag in ("image", "feimage", "use") and any(k.endswith("href") for k in element.attrib):
            href = next(v for k, v in element.attrib.items() if k.endswith("href"))
            if not href.startswith("#"):
                findings.append(FileFinding("embedded_data", where, f"<{tag}> includes content that is not drawn as vectors"))
                continue
        if tag == "style" and element.text and EXTERNAL_CSS.search(element.text):
            findings.append(FileFinding("external_resource", where, "a stylesheet loads a resource"))
        findings.extend(_attribute_findings(tag, list(element.attrib.items()), where))
    return findings + markup_findings(text, "svg")


class _HtmlScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[FileFinding] = []
        self._in_style = False

    def _where(self, tag: str) -> str:
        line, column = self.getpos()
        return f"<{tag}> at line {line} column {column + 1}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = self._where(tag)
        self.findings.extend(_tag_findings(tag, where))
        if tag == "link" and any(k == "href" and v and EXTERNAL_URL.match(v) for k, v in attrs):
            self.findings.append(FileFinding("external_resource", where, "a link loads a resource from elsewhere"))
        self.findings.extend(_attribute_findings(tag, attrs, where))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and EXTERNAL_CSS.search(data):
            self.findings.append(FileFinding("external_resource", self._where("style"), "a stylesheet loads a resource"))

    def handle_comment(self, data: str) -> None:
        line, _ = self.getpos()
        self.findings.append(FileFinding("hidden_data", f"line {line}", "a comment is not rendered"))


def _check_html(data: bytes) -> list[FileFinding]:
    text, findings = _text(data)
    if text is None:
        return findings
    scanner = _HtmlScanner()
    scanner.feed(text)
    scanner.close()
    return findings + scanner.findings + markup_findings(text, "html")


_CHECKERS = {"csv": _check_csv, "json": _check_json, "xlsx": _check_xlsx, "png": _check_png, "svg": _check_svg,
             "html": _check_html}
