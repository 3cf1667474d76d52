"""One finding of the airlock's automatic file checks: which rule, where in the file, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileFinding:
    rule: str
    where: str
    explanation: str
