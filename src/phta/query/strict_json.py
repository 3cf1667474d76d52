"""JSON text as queries accept it: no NaN or Infinity, a bounded nesting depth, errors that name
the place.

Python's :func:`json.loads` accepts ``NaN``/``Infinity`` (not JSON; they later break the canonical
form and hashing) and recurses once per nesting level, so a 100,000-deep document ends in a
``RecursionError`` (and a traceback thousands of lines long). Here the depth is measured first,
by a scan that skips strings and does not recurse, and refused before anything is parsed.
"""

from __future__ import annotations

import json
import math
import re

#: Deep enough for any real cohort definition (ATLAS exports nest about 12 levels; a PHTA query
#: a level or two per criterion), far below where parsing or compiling would recurse too deep.
MAX_DEPTH = 100

# A string literal (skipped whole, so brackets inside it do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonInputError(ValueError):
    """The text is not JSON a query may be read from; ``path`` is the JSON path, when known.

    ``kind``: ``"depth"`` (nested too deep), ``"not_finite"`` (NaN, Infinity, 1e400),
    ``"syntax"`` (not JSON at all) or ``"encoding"`` (not UTF-8)."""

    def __init__(self, path: str, message: str, kind: str = "syntax"):
        self.path, self.message, self.kind = path, message, kind
        super().__init__(f"{path}: {message}")


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """True if arrays/objects in ``text`` nest more than ``max_depth`` levels (strings skipped;
    malformed text is measured too, and left to the parser to report)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot nest deeper than it has brackets: the common case costs two scans
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)
    return False


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    if too_deep(text, max_depth):
        raise JsonInputError("$", f"nested more than {max_depth} levels deep; a query never needs that", "depth")


class _NotFinite:
    def __init__(self, word: str):
        self.word = word


def _find_not_finite(value, path: str = "$") -> tuple[str, str] | None:
    stack = [(value, path)]  # iterative: the document may be up to MAX_DEPTH deep
    while stack:
        v, p = stack.pop()
        if isinstance(v, _NotFinite):
            return p, v.word
        if isinstance(v, dict):
            stack.extend((item, f"{p}.{key}") for key, item in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((item, f"{p}[{i}]") for i, item in reversed(list(enumerate(v))))
    return None


def loads(text: str | bytes, max_depth: int = MAX_DEPTH):
    """Parse ``text``; :class:`JsonInputError` names the place of anything refused."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonInputError("$", f"not UTF-8 text (byte {e.start})", "encoding") from None
    check_depth(text, max_depth)
    found: list[bool] = []

    def not_finite(word: str):
        found.append(True)
        return _NotFinite(word)

    def number(literal: str):  # 1e400 would silently become inf
        value = float(literal)
        return value if math.isfinite(value) else not_finite(literal)

    try:
        doc = json.loads(text, parse_constant=not_finite, parse_float=number)
    except json.JSONDecodeError as e:
        raise JsonInputError("$", f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4,300 digits
        raise JsonInputError("$", f"not valid JSON: {str(e).split(';')[0]}") from None
    if found:
        path, word = _find_not_finite(doc) or ("$", "NaN")
        raise JsonInputError(path, f"{word} is not a finite number (JSON has no NaN or Infinity)", "not_finite")
    return doc
