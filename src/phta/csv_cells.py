"""One rule for every CSV the platform writes: a cell a spreadsheet would run as a formula is
shown as text.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or carriage return) as a formula. OWASP's rule: prefix such a cell with a single
quote. Top-level (like :mod:`phta.node_names`) so the web layer and the front door share it.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell as text, with a leading quote if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
