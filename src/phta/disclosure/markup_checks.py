"""Allow-list checks for SVG figures and HTML reports leaving the airlock.

Looking for known-bad markup lost to crafted files: text hidden by CSS (``display:none`` in a
stylesheet, ``opacity:0%``, ``font-size:0``), data in ``<meta content>``, ``title=`` tooltips
and SVG ``<desc>``, ``java&#9;script:`` links, an SVG ``<animate>`` that sets ``href``, CSS escapes
(``u\\72l(``) and ``image-set(``. So the rule is the other way round: a file may hold only what
an allow-list sanitiser (nh3, the Python binding of the Rust crate ammonia) keeps. The file is
sanitised with the allow-list below; if the sanitiser would change anything (an element,
attribute, URL or style property not on the list) the raw file fails, and the sanitised output is
checked again for what an allow-list cannot see (style values that hide text or call out).
PNG remains the recommended format for figures. Pure: text in, findings out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

from phta.disclosure.file_findings import FileFinding

TEXT_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "div", "span", "strong", "em", "b", "i",
             "small", "sub", "sup", "code", "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
             "figure", "figcaption", "a"}
TABLE_TAGS = {"table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "col", "colgroup"}
DOCUMENT_TAGS = {"html", "head", "body", "title", "main", "section", "article", "header", "footer"}
SVG_TAGS = {"svg", "g", "rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "text", "tspan",
            "title"}
GEOMETRY = {"x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "d", "points", "width", "height",
            "transform", "dx", "dy"}
PAINT = {"fill", "stroke", "stroke-width", "stroke-dasharray", "stroke-linecap", "stroke-linejoin",
         "fill-opacity", "stroke-opacity", "opacity", "font-family", "font-size", "font-weight", "font-style",
         "text-anchor", "dominant-baseline", "style", "class"}
HTML_ATTRIBUTES = {"*": {"class", "style", "lang", "id"}, "a": {"href"}, "th": {"scope", "colspan", "rowspan"},
                   "table": {"border", "cellpadding", "cellspacing"},  # as pandas' to_html writes them
                   "td": {"colspan", "rowspan"}, "col": {"span"}, "colgroup": {"span"}, "html": {"lang"}}
SVG_ATTRIBUTES = {"svg": {"xmlns", "width", "height", "viewBox", "role", "aria-label", "version", *PAINT},
                  **{tag: GEOMETRY | PAINT for tag in SVG_TAGS - {"svg", "title"}}}
STYLE_PROPERTIES = {"color", "background-color", "fill", "stroke", "stroke-width", "font-family", "font-size",
                    "font-weight", "font-style", "text-align", "text-anchor", "vertical-align", "border",
                    "border-collapse", "border-color", "border-style", "border-width", "padding", "margin",
                    "width", "height", "opacity", "fill-opacity", "stroke-opacity"}
WRAPPERS = {"html", "head", "body", "tbody"}
# <meta charset="utf-8"> alone declares the encoding and can carry nothing else; any other
# <meta> (content=, http-equiv=, a charset that is not a plain label) is still refused
# an id (a report's section anchors) may be lower-case words only: no digits, so it cannot carry
# a date, an id number or a count
WORDS_ID = re.compile(r"^[a-z]{1,20}(-[a-z]{1,20}){0,4}$")
CHARSET_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
XML_DECLARATION = re.compile(r"^\s*<\?xml\s+version=\"1\.[01]\"(\s+encoding=\"[A-Za-z0-9_-]+\")?\s*\?>", re.I)
# hiding: a value at which the text is not seen (opacity near 0, a font too small to read)
FADE = {"opacity", "fill-opacity", "stroke-opacity"}
SIZE = {"font-size"}
NUMBER = re.compile(r"^\s*([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)\s*(%|px|pt|em|rem)?\s*(!important)?\s*$", re.I)
CSS_FUNCTION = re.compile(r"([a-z-]+)\s*\(", re.I)
ALLOWED_CSS_FUNCTIONS = {"rgb", "rgba", "hsl", "hsla"}


def sanitise(text: str, kind: str) -> str:
    """The file as the allow-list sanitiser would leave it."""
    svg = kind == "svg"
    allowed = SVG_ATTRIBUTES if svg else HTML_ATTRIBUTES

    def only_listed(tag: str, attribute: str, value: str) -> str | None:
        # ammonia adds title= and lang= to every element by default; only the list counts here
        listed = {a.lower() for a in allowed.get(tag, set()) | allowed.get("*", set())}
        if attribute.lower() == "id" and not WORDS_ID.match(value):
            return None
        return value if attribute.lower() in listed else None

    return nh3.clean(
        text,
        tags=SVG_TAGS if svg else TEXT_TAGS | TABLE_TAGS | DOCUMENT_TAGS,
        attributes=allowed,
        attribute_filter=only_listed,
        url_schemes={"https", "http"},
        link_rel=None,
        strip_comments=True,
        filter_style_properties=STYLE_PROPERTIES,
    )


def markup_findings(text: str, kind: str) -> list[FileFinding]:
    """What the sanitiser would change in ``text`` (each change fails the file) and what it keeps
    that still hides or calls out; the sanitised output is checked again, so a file passes only
    when it is already exactly its own allow-listed form."""
    body = XML_DECLARATION.sub("", text, count=1) if kind == "svg" else text
    clean = sanitise(body, kind)
    findings = []
    change = _first_difference(_events(body), _events(clean))
    if change is not None:
        findings.append(FileFinding("not_allowed", change[0], f"the allow-list sanitiser would change this: {change[1]}"))
    for events in (_events(body), _events(clean)):
        for where, name, value in _styles_and_paint(events):
            problem = _value_problem(name, value)
            if problem and not any(f.where == where and f.explanation == problem[1] for f in findings):
                findings.append(FileFinding(problem[0], where, problem[1]))
    return findings


class _Events(HTMLParser):
    """A canonical event list: tags, attributes (style declarations normalised) and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, tuple, str]] = []

    def _where(self, tag: str) -> str:
        line, column = self.getpos()
        return f"<{tag}> at line {line} column {column + 1}"

    def handle_starttag(self, tag, attrs):
        canonical = tuple(sorted((k, _canonical_style(v) if k == "style" else (v or "")) for k, v in attrs))
        self.events.append(("start", (tag, canonical), self._where(tag)))

    def handle_endtag(self, tag):
        self.events.append(("end", (tag,), self._where(tag)))

    def handle_data(self, data):
        if data.strip():
            self.events.append(("text", (" ".join(data.split()),), f"text at line {self.getpos()[0]}"))

    def handle_comment(self, data):
        self.events.append(("comment", (data,), f"a comment at line {self.getpos()[0]}"))

    def handle_decl(self, decl):
        self.events.append(("declaration", (decl,), f"a declaration at line {self.getpos()[0]}"))

    def handle_pi(self, data):
        self.events.append(("processing instruction", (data,), f"line {self.getpos()[0]}"))

    unknown_decl = handle_decl


def _bare(event: tuple[str, tuple, str]) -> bool:
    """A wrapper element the sanitiser may drop without losing anything: no attribute but lang
    (``<body title="...">`` or ``<html data-x="...">`` would carry data the comparison must see)."""
    return event[0] == "end" or all(name == "lang" for name, _ in event[1][1])


def _charset_only(event: tuple[str, tuple, str]) -> bool:
    if event[0] != "start" or event[1][0] != "meta":
        return False
    attributes = event[1][1]
    return len(attributes) == 1 and attributes[0][0] == "charset" and bool(CHARSET_LABEL.match(attributes[0][1]))


def _events(text: str) -> list[tuple[str, tuple, str]]:
    parser = _Events()
    parser.feed(text)
    parser.close()
    # The sanitiser works on a fragment: it drops the document's <html>, <head> and <body>
    # wrappers and its doctype, and adds the <tbody> an HTML parser implies; none carries content.
    # A void element written <br/> in one and <br> in the other is the same markup.
    return [e for e in parser.events
            if not (e[0] in ("start", "end") and e[1][0] in WRAPPERS and _bare(e))
            and not _charset_only(e)
            and not (e[0] == "declaration" and e[1][0].strip().lower() == "doctype html")
            and not (e[0] == "end" and e[1][0] in ("br", "hr", "col"))]


def _canonical_style(value: str | None) -> str:
    declarations = []
    for part in (value or "").split(";"):
        name, sep, val = part.partition(":")
        if sep:
            declarations.append(f"{name.strip().lower()}:{' '.join(val.split())}")
        elif part.strip():
            declarations.append(part.strip())
    return ";".join(declarations)


def _first_difference(raw, clean) -> tuple[str, str] | None:
    for index, event in enumerate(raw):
        other = clean[index] if index < len(clean) else None
        if other is None or other[:2] != event[:2]:
            kind, detail, where = event
            if kind == "start":
                tag, attrs = detail
                kept = dict(other[1][1]) if other and other[0] == "start" and other[1][0] == tag else None
                if kept is None:
                    return where, f"<{tag}> is not an allowed element (or sits where it is not allowed)"
                dropped = [k for k, v in attrs if kept.get(k) != v]
                return where, f"attribute(s) {', '.join(dropped)} not allowed (or carry a value that is not)"
            return where, f"{kind} {str(detail[0])[:60]!r} is not allowed here"
    if len(clean) > len(raw):
        return clean[len(raw)][2], "the file's markup is not well-formed"
    return None


def _styles_and_paint(events):
    for kind, detail, where in events:
        if kind != "start":
            continue
        for name, value in detail[1]:
            if name == "style":
                for declaration in value.split(";"):
                    prop, _sep, val = declaration.partition(":")
                    yield where, prop.strip().lower(), val
            elif name in FADE | SIZE | {"visibility", "display"}:
                yield where, name, value


def _value_problem(name: str, value: str) -> tuple[str, str] | None:
    if "\\" in value:
        return "hidden_data", f"{name}: a CSS escape (backslash) can disguise what the style does"
    for function in CSS_FUNCTION.findall(value):
        if function.lower() not in ALLOWED_CSS_FUNCTIONS:
            return "external_resource", f"{name}: the CSS function {function}() may load a resource or hide content"
    if name in ("visibility", "display") and value.strip().lower() in ("hidden", "none", "collapse"):
        return "hidden_data", f"{name}: {value.strip()} hides its content"
    match = NUMBER.match(value)
    if match is None:
        return None
    number, unit = float(match.group(1)), (match.group(4) or "").lower()
    if name in FADE and (number / 100 if unit == "%" else number) < 0.1:
        return "hidden_data", f"{name}: {value.strip()} makes its content (nearly) invisible"
    if name in SIZE and (number < 0.5 if unit in ("em", "rem") else number < 6 if unit != "%" else number < 50):
        return "hidden_data", f"{name}: {value.strip()} is too small to read"
    return None
